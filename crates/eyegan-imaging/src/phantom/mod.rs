//! The fundus phantom: a deterministic generator of colour fundus photographs of four classes
//! (diabetic retinopathy, glaucoma, myopia, normal) for demos and tests.
//!
//! Each image is a pure function of (seed, class, index, size, difficulty). All randomness comes
//! from a ChaCha8 stream keyed by (seed, class, index) and is spent while planning a
//! size-independent [`Scene`](scene::Scene); painting uses only IEEE arithmetic and this
//! crate's own transcendental functions, so pixels are identical on every machine and for any
//! number of threads.

mod anatomy;
mod camera;
mod class;
mod class_signs;
mod detmath;
mod difficulty;
mod folder;
mod frame;
mod fundus_layer;
mod geometry;
mod lesions;
mod noise;
mod paint_lesions;
mod paint_vessels;
mod render;
mod sampling;
mod scene;
mod truth;
mod vessels;

#[cfg(test)]
mod tests;

use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;

use image::RgbImage;
use rayon::prelude::*;

pub use anatomy::Eye;
pub use class::{PhantomClass, UnknownClass};
pub use difficulty::Difficulty;
pub use folder::{contact_sheet, file_name, write_image_folder, FolderSummary};
pub use truth::{LesionCounts, PhantomTruth};

use render::render_scene;
use scene::Scene;

/// Image sides the phantom renders.
pub const SIZE_RANGE: RangeInclusive<u32> = 16..=512;

/// Why a phantom request cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    /// The requested side is outside [`SIZE_RANGE`].
    #[error("phantom image size {size} is outside the supported range 16..=512")]
    SizeOutOfRange {
        /// The requested side.
        size: u32,
    },
    /// A difficulty field is out of range; the message names it.
    #[error("invalid phantom difficulty: {0}")]
    InvalidDifficulty(String),
    /// Writing a file or folder failed.
    #[error("could not write {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// PNG encoding failed.
    #[error("could not encode {path}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The encoder's error.
        source: crate::ImagingError,
    },
}

/// Checks a size and difficulty before rendering.
pub fn validate(size: u32, difficulty: &Difficulty) -> Result<(), PhantomError> {
    if !SIZE_RANGE.contains(&size) {
        return Err(PhantomError::SizeOutOfRange { size });
    }
    difficulty
        .validate()
        .map_err(PhantomError::InvalidDifficulty)
}

/// Renders image `index` of `class` under `seed` as a `size`x`size` RGB photograph.
pub fn try_render(
    seed: u64,
    class: PhantomClass,
    index: u32,
    size: u32,
    difficulty: &Difficulty,
) -> Result<RgbImage, PhantomError> {
    validate(size, difficulty)?;
    Ok(render_scene(
        &Scene::plan(seed, class, index, difficulty),
        size,
    ))
}

/// [`try_render`] for sizes and difficulties known to be valid.
///
/// # Panics
/// When `size` is outside [`SIZE_RANGE`] or `difficulty` fails [`Difficulty::validate`]; use
/// [`try_render`] for values that come from users.
pub fn render(
    seed: u64,
    class: PhantomClass,
    index: u32,
    size: u32,
    difficulty: &Difficulty,
) -> RgbImage {
    match try_render(seed, class, index, size, difficulty) {
        Ok(image) => image,
        Err(e) => panic!("{e}"),
    }
}

/// Renders an image together with the ground truth of what was drawn.
pub fn render_with_truth(
    seed: u64,
    class: PhantomClass,
    index: u32,
    size: u32,
    difficulty: &Difficulty,
) -> Result<(RgbImage, PhantomTruth), PhantomError> {
    validate(size, difficulty)?;
    let scene = Scene::plan(seed, class, index, difficulty);
    Ok((render_scene(&scene, size), PhantomTruth::of(&scene, size)))
}

/// Renders images `indices` of `class` in parallel (rayon's current pool), in index order.
/// Every image is identical to what [`render`] gives for its index.
pub fn render_batch(
    seed: u64,
    class: PhantomClass,
    indices: Range<u32>,
    size: u32,
    difficulty: &Difficulty,
) -> Result<Vec<RgbImage>, PhantomError> {
    validate(size, difficulty)?;
    Ok(indices
        .into_par_iter()
        .map(|index| render_scene(&Scene::plan(seed, class, index, difficulty), size))
        .collect())
}
