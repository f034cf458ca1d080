//! High-quality resizing to a square.

use image::imageops::{self, FilterType};
use image::RgbImage;

use crate::fundus_field::copy_window;

/// Above this ratio of source to target side, a fast area-averaging pass first brings the image
/// down to this multiple of the target, and Lanczos3 finishes the job.
const PRE_REDUCE_FACTOR: u32 = 4;

/// Resizes to `size`x`size`. A non-square input is first padded with black to a centred square,
/// so the aspect ratio is kept. Downscaling uses area averaging followed by Lanczos3;
/// upscaling uses Lanczos3.
pub fn resize_square(img: &RgbImage, size: u32) -> RgbImage {
    let size = size.max(1);
    let (width, height) = img.dimensions();
    let side = width.max(height).max(1);
    let square;
    let source = if width == height {
        img
    } else {
        let left = -(i64::from(side - width) / 2);
        let top = -(i64::from(side - height) / 2);
        square = copy_window(img, left, top, side);
        &square
    };
    if side == size {
        return source.clone();
    }
    if side > size * PRE_REDUCE_FACTOR {
        let reduced =
            imageops::thumbnail(source, size * PRE_REDUCE_FACTOR, size * PRE_REDUCE_FACTOR);
        return imageops::resize(&reduced, size, size, FilterType::Lanczos3);
    }
    imageops::resize(source, size, size, FilterType::Lanczos3)
}
