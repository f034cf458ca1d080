//! Looking at the synthetic images of one seed next to the real ones: sample grids per class
//! (the paper's Fig. 7) and the nearest-neighbour memorisation check (each synthetic image's
//! closest real training image of its class, and the closest pairs as a figure).

use std::collections::BTreeMap;

use eyegan_proto::dataset::v1::Split;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::context::StepContext;
use super::images::{stream_split, write_grid, StoredImage};
use super::nearest::{nearest, pixels};
use super::records::{GenerateRecord, VersionRecord};

/// Images per class in each sample grid.
pub const GRID_IMAGES: usize = 8;
/// Closest synthetic/real pairs shown per class.
pub const CLOSEST_PAIRS: usize = 4;

/// A synthetic image and its nearest real training image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRecord {
    /// The synthetic image.
    pub synthetic_id: String,
    /// Its nearest real training image (same class).
    pub train_id: String,
    /// RMS pixel distance in [0, 1].
    pub distance: f64,
}

/// What the inspection found for one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassInspection {
    /// Class.
    pub class_name: String,
    /// Real training images.
    pub real_train: u64,
    /// Synthetic training images.
    pub synthetic: u64,
    /// Grid of real training images, relative to the run folder.
    pub real_grid: Option<String>,
    /// Grid of the synthetic images that joined the training set.
    pub synthetic_grid: Option<String>,
    /// Per synthetic image, the RMS distance to its nearest real training image.
    pub synthetic_nearest: Vec<f64>,
    /// Per real training image, the RMS distance to its nearest other real training image.
    pub real_nearest: Vec<f64>,
    /// The closest synthetic/real pairs, closest first.
    pub closest_pairs: Vec<PairRecord>,
    /// Figure of the closest pairs (synthetic above, real below).
    pub pairs_figure: Option<String>,
}

/// Outputs of one inspection step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectRecord {
    /// Seed.
    pub seed: u64,
    /// Per class, in label order.
    pub classes: Vec<ClassInspection>,
}

/// Inspects the training split of the seed's generated version.
pub async fn inspect(
    ctx: &StepContext,
    split: &VersionRecord,
    generated: &GenerateRecord,
) -> anyhow::Result<InspectRecord> {
    let seed = generated.seed;
    let name = format!("inspect-{seed}");
    let inputs = (&generated.version.dataset, seed, GRID_IMAGES, CLOSEST_PAIRS);
    let classes = split.classes.clone();
    ctx.step(&name, &inputs, |_| async move {
        let images = stream_split(ctx, &generated.version.dataset, Split::Train).await?;
        let mut by_class: BTreeMap<&str, (Vec<&StoredImage>, Vec<&StoredImage>)> = BTreeMap::new();
        for image in &images {
            let entry = by_class.entry(image.class_name.as_str()).or_default();
            if image.synthetic {
                entry.1.push(image);
            } else {
                entry.0.push(image);
            }
        }
        let mut inspected = Vec::new();
        for class in &classes {
            let (real, synthetic) = by_class.remove(class.as_str()).unwrap_or_default();
            inspected.push(inspect_class(ctx, seed, class, &real, &synthetic).await?);
        }
        Ok(InspectRecord {
            seed,
            classes: inspected,
        })
    })
    .await
}

async fn inspect_class(
    ctx: &StepContext,
    seed: u64,
    class: &str,
    real: &[&StoredImage],
    synthetic: &[&StoredImage],
) -> anyhow::Result<ClassInspection> {
    let grid = |kind: &str, images: &[&StoredImage]| -> anyhow::Result<Option<String>> {
        if images.is_empty() {
            return Ok(None);
        }
        let shown: Vec<_> = images.iter().take(GRID_IMAGES).map(|i| &i.pixels).collect();
        write_grid(
            ctx,
            &format!("inspect-{seed}-{class}-{kind}"),
            &shown,
            GRID_IMAGES as u32,
        )
        .map(Some)
    };
    let real_grid = grid("real", real)?;
    let synthetic_grid = grid("synthetic", synthetic)?;
    let real_pixels: Vec<Vec<f32>> = real.iter().map(|i| pixels(&i.pixels)).collect();
    let synthetic_pixels: Vec<Vec<f32>> = synthetic.iter().map(|i| pixels(&i.pixels)).collect();
    let (to_train, within) = tokio::task::spawn_blocking(move || {
        (
            nearest(&synthetic_pixels, &real_pixels, false),
            nearest(&real_pixels, &real_pixels, true),
        )
    })
    .await?;
    // (synthetic index, nearest real index, distance), in synthetic order.
    let found: Vec<(usize, usize, f64)> = to_train
        .iter()
        .enumerate()
        .filter_map(|(s, nearest)| nearest.map(|(r, distance)| (s, r, distance)))
        .collect();
    let synthetic_nearest = found.iter().map(|&(_, _, d)| d).collect();
    let mut closest = found;
    closest.sort_by(|a, b| a.2.total_cmp(&b.2));
    closest.truncate(CLOSEST_PAIRS);
    let pairs_figure = if closest.is_empty() {
        None
    } else {
        let tiles: Vec<&RgbImage> = closest
            .iter()
            .map(|&(s, _, _)| &synthetic[s].pixels)
            .chain(closest.iter().map(|&(_, r, _)| &real[r].pixels))
            .collect();
        Some(write_grid(
            ctx,
            &format!("inspect-{seed}-{class}-closest"),
            &tiles,
            closest.len() as u32,
        )?)
    };
    let pairs = closest
        .iter()
        .map(|&(s, r, distance)| PairRecord {
            synthetic_id: synthetic[s].image_id.clone(),
            train_id: real[r].image_id.clone(),
            distance,
        })
        .collect();
    Ok(ClassInspection {
        class_name: class.to_owned(),
        real_train: real.len() as u64,
        synthetic: synthetic.len() as u64,
        real_grid,
        synthetic_grid,
        synthetic_nearest,
        real_nearest: within.iter().flatten().map(|(_, d)| *d).collect(),
        closest_pairs: pairs,
        pairs_figure,
    })
}
