//! Writing phantom data sets as ImageFolder trees, and contact sheets.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use rayon::prelude::*;

use super::class::PhantomClass;
use super::difficulty::Difficulty;
use super::{render_batch, PhantomError};
use crate::grid::image_grid;
use crate::png_codec::encode_png;

/// What [`write_image_folder`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSummary {
    /// Number of PNG files written.
    pub images: usize,
    /// Total bytes of PNG written.
    pub bytes: u64,
}

/// The file name of image `index` of `class`: `<class>_<index:04>.png`.
pub fn file_name(class: PhantomClass, index: u32) -> String {
    format!("{}_{index:04}.png", class.name())
}

/// Renders `per_class` images of every class and writes them as
/// `out/<class>/<class>_<index:04>.png` (rendering and encoding in parallel).
pub fn write_image_folder(
    out: &Path,
    per_class: u32,
    size: u32,
    seed: u64,
    difficulty: &Difficulty,
) -> Result<FolderSummary, PhantomError> {
    let started = Instant::now();
    let mut summary = FolderSummary {
        images: 0,
        bytes: 0,
    };
    for class in PhantomClass::ALL {
        let dir = out.join(class.name());
        std::fs::create_dir_all(&dir).map_err(|source| PhantomError::Io {
            path: dir.clone(),
            source,
        })?;
        let images = render_batch(seed, class, 0..per_class, size, difficulty)?;
        let written: Vec<u64> = images
            .par_iter()
            .enumerate()
            .map(|(i, image)| write_png(&dir.join(file_name(class, i as u32)), image))
            .collect::<Result<_, _>>()?;
        summary.images += written.len();
        summary.bytes += written.iter().sum::<u64>();
    }
    tracing::info!(
        out = %out.display(),
        images = summary.images,
        size,
        seed,
        seconds = started.elapsed().as_secs_f64(),
        "wrote phantom image folder"
    );
    Ok(summary)
}

fn write_png(path: &PathBuf, image: &RgbImage) -> Result<u64, PhantomError> {
    let png = encode_png(image).map_err(|source| PhantomError::Encode {
        path: path.clone(),
        source,
    })?;
    std::fs::write(path, &png).map_err(|source| PhantomError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(png.len() as u64)
}

/// A contact sheet: one row per class (in [`PhantomClass::ALL`] order) of `per_class` images.
pub fn contact_sheet(
    per_class: u32,
    size: u32,
    seed: u64,
    difficulty: &Difficulty,
) -> Result<RgbImage, PhantomError> {
    let mut tiles = Vec::new();
    for class in PhantomClass::ALL {
        tiles.extend(render_batch(seed, class, 0..per_class, size, difficulty)?);
    }
    let padding = (size / 32).max(2);
    Ok(image_grid(&tiles, per_class.max(1), padding))
}
