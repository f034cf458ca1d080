//! A loaded G (and optional D) that generates and scores images one batch at a time, by attempt
//! index, so a run can stop and resume at any batch boundary.

use std::sync::Arc;

use candle_core::Device;
use eyegan_nn::batches::images_to_tensor;
use eyegan_nn::generation::image_seed;
use eyegan_nn::{generate_from_seeds, Discriminator, FilterPreset, Generator, ImageScorer};
use eyegan_service::ServiceError;
use eyegan_store::Store;

use crate::checkpoint_source::StoredGanCheckpoint;

/// One generated image with its D score, before filtering.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Attempt index within the run's seed.
    pub index: u64,
    /// Seed of the image's latent vector (`image_seed(run seed, index)`).
    pub seed: u64,
    /// D(G(z)) in [0, 1]; NaN without a discriminator.
    pub score: f32,
    /// CHW pixels in [-1, 1].
    pub pixels: Vec<f32>,
}

impl Candidate {
    /// The image as PNG.
    pub fn encode_png(&self, image_size: usize) -> Result<Vec<u8>, eyegan_imaging::ImagingError> {
        let side = image_size as u32;
        eyegan_imaging::encode_png(&eyegan_imaging::from_chw_f32(&self.pixels, side, side))
    }
}

/// G and the D that scores its images.
pub struct GanPair {
    generator: Generator,
    discriminator: Option<Discriminator>,
    device: Device,
}

impl std::fmt::Debug for GanPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GanPair")
            .field("config", self.generator.config())
            .field("has_discriminator", &self.discriminator.is_some())
            .finish()
    }
}

impl GanPair {
    /// A pair from loaded networks (D absent: every score is NaN).
    pub fn new(generator: Generator, discriminator: Option<Discriminator>, device: Device) -> Self {
        Self {
            generator,
            discriminator,
            device,
        }
    }

    /// Loads G from `generator` and D from `discriminator` (when given) onto `device`.
    pub async fn load(
        store: &Store,
        generator: &StoredGanCheckpoint,
        discriminator: Option<&StoredGanCheckpoint>,
        device: Device,
    ) -> Result<Arc<Self>, ServiceError> {
        let g_blobs = generator.gan_blobs(store).await?;
        let d_blobs = match discriminator {
            Some(d) if d.key() != generator.key() => Some(d.gan_blobs(store).await?),
            _ => None,
        };
        let use_d = discriminator.is_some();
        let key = generator.key().to_owned();
        let pair = tokio::task::spawn_blocking(move || {
            let (_, g, d_same) = g_blobs.build(&device)?;
            let d = match d_blobs {
                Some(blobs) => Some(blobs.build(&device)?.2),
                None if use_d => Some(d_same),
                None => None,
            };
            Ok::<_, eyegan_nn::NnError>(Self::new(g, d, device))
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(|error| {
            ServiceError::failed_precondition(format!(
                "checkpoint {key:?} cannot be loaded: {error}"
            ))
        })?;
        Ok(Arc::new(pair))
    }

    /// Side of the images G makes.
    pub fn image_size(&self) -> usize {
        self.generator.config().image_size
    }

    /// Whether images are scored by a discriminator.
    pub fn has_discriminator(&self) -> bool {
        self.discriminator.is_some()
    }

    /// Generates and scores attempts `first .. first + size` of the run seeded with `run_seed`
    /// (blocking).
    pub fn candidates(
        &self,
        run_seed: u64,
        first: u64,
        size: usize,
    ) -> eyegan_nn::Result<Vec<Candidate>> {
        let seeds: Vec<u64> = (first..first + size as u64)
            .map(|index| image_seed(run_seed, index))
            .collect();
        let images = generate_from_seeds(&self.generator, &seeds)?;
        let scores = match &self.discriminator {
            Some(discriminator) => {
                let config = self.generator.config();
                let indices: Vec<usize> = (0..images.len()).collect();
                let batch = images_to_tensor(
                    &images,
                    &indices,
                    config.channels,
                    config.image_size,
                    &self.device,
                )?;
                discriminator.score(&batch)?
            }
            None => vec![f32::NAN; images.len()],
        };
        Ok(seeds
            .into_iter()
            .zip(scores)
            .zip(images)
            .enumerate()
            .map(|(offset, ((seed, score), pixels))| Candidate {
                index: first + offset as u64,
                seed,
                score,
                pixels,
            })
            .collect())
    }
}

/// The outcome of filtering one batch of candidates in attempt order.
#[derive(Debug)]
pub struct FilteredBatch {
    /// Candidates that passed, in attempt order.
    pub kept: Vec<Candidate>,
    /// Attempts consumed: the whole batch, or up to the attempt that completed `wanted`.
    pub consumed: u64,
}

/// Keeps candidates passing `filter` in attempt order, stopping at the one that makes `wanted`
/// kept images (later attempts of the batch are not consumed), exactly like
/// `eyegan_nn::FilteredGeneration`.
pub fn filter_batch(
    candidates: Vec<Candidate>,
    filter: &FilterPreset,
    wanted: u64,
) -> FilteredBatch {
    let mut kept = Vec::new();
    let mut consumed = 0;
    for candidate in candidates {
        consumed += 1;
        if filter.accepts(candidate.score) {
            kept.push(candidate);
            if kept.len() as u64 >= wanted {
                break;
            }
        }
    }
    FilteredBatch { kept, consumed }
}

/// A class's run seed: derived from the request seed and the class name, so adding a class
/// does not change the images of the others.
pub fn class_seed(seed: u64, class_name: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(class_name.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    eyegan_nn::rng::derive_seed(seed, u64::from_le_bytes(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(index: u64, score: f32) -> Candidate {
        Candidate {
            index,
            seed: index,
            score,
            pixels: Vec::new(),
        }
    }

    #[test]
    fn filtering_stops_at_the_attempt_that_completes_the_count() {
        let batch: Vec<Candidate> = [0.9, 0.1, 0.8, 0.7, 0.95]
            .into_iter()
            .enumerate()
            .map(|(i, s)| candidate(i as u64, s))
            .collect();
        let filter = FilterPreset::MinScore(0.5);
        let all = filter_batch(batch.clone(), &filter, 10);
        assert_eq!(all.consumed, 5);
        let kept: Vec<u64> = all.kept.iter().map(|c| c.index).collect();
        assert_eq!(kept, vec![0, 2, 3, 4]);
        let two = filter_batch(batch, &filter, 2);
        assert_eq!(two.consumed, 3);
        assert_eq!(two.kept.len(), 2);
    }

    #[test]
    fn class_seeds_differ_by_class_and_seed() {
        assert_ne!(class_seed(1, "dr"), class_seed(1, "normal"));
        assert_ne!(class_seed(1, "dr"), class_seed(2, "dr"));
        assert_eq!(class_seed(7, "dr"), class_seed(7, "dr"));
    }
}
