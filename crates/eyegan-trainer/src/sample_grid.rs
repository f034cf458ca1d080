//! Fixed-noise sample grids: G's images on the job's fixed noise, tiled into one PNG.

use eyegan_nn::batches::tensor_to_images;
use eyegan_nn::{GanTrainer, NnError};

/// Black pixels around and between the tiles.
const GRID_PADDING: u32 = 2;

/// Why a grid could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    /// The generator failed.
    #[error(transparent)]
    Model(#[from] NnError),
    /// PNG encoding failed.
    #[error(transparent)]
    Encode(#[from] eyegan_imaging::ImagingError),
}

/// The PNG of G (eval mode) on the fixed noise: a square-ish grid, `ceil(sqrt(n))` columns.
pub fn render_sample_grid(trainer: &GanTrainer) -> Result<Vec<u8>, GridError> {
    let samples = trainer.sample_grid()?;
    let side = trainer.model_config().image_size as u32;
    let tiles: Vec<_> = tensor_to_images(&samples)?
        .iter()
        .map(|pixels| eyegan_imaging::from_chw_f32(pixels, side, side))
        .collect();
    let columns = (tiles.len() as f64).sqrt().ceil() as u32;
    let grid = eyegan_imaging::image_grid(&tiles, columns, GRID_PADDING);
    Ok(eyegan_imaging::encode_png(&grid)?)
}

/// The PNG of one CHW image of side `side`.
pub fn encode_chw_png(pixels: &[f32], side: u32) -> Result<Vec<u8>, GridError> {
    Ok(eyegan_imaging::encode_png(&eyegan_imaging::from_chw_f32(
        pixels, side, side,
    ))?)
}
