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
///
/// The padded square is never built at full resolution: a thin image (say 7x63749, well inside
/// any pixel budget) would otherwise become a 63749x63749 square of 4 gigapixels.
pub fn resize_square(img: &RgbImage, size: u32) -> RgbImage {
    let (width, height) = img.dimensions();
    let side = width.max(height).max(1);
    let left = -(i64::from(side - width) / 2);
    let top = -(i64::from(side - height) / 2);
    resize_window(img, left, top, side, size)
}

/// Resizes the `side`x`side` window of `img` whose top-left corner is at (`left`, `top`) (black
/// wherever it lies outside `img`) to `size`x`size`, like `copy_window` followed by a resize,
/// but with memory and time bounded by the pixels of `img` plus `(4 * size)^2`, whatever `side`.
///
/// When the window is more than [`PRE_REDUCE_FACTOR`] times the target, only the part of `img`
/// inside the window is area-averaged down, and placed on a black square of `4 * size`.
pub(crate) fn resize_window(img: &RgbImage, left: i64, top: i64, side: u32, size: u32) -> RgbImage {
    let size = size.max(1);
    let side = side.max(1);
    let reduced_side = size.saturating_mul(PRE_REDUCE_FACTOR);
    if side <= reduced_side {
        // The window is at most (4 * size)^2 pixels: build it.
        let window = copy_window(img, left, top, side);
        if side == size {
            return window;
        }
        return imageops::resize(&window, size, size, FilterType::Lanczos3);
    }
    let (width, height) = img.dimensions();
    let clamp_x = |x: i64| x.clamp(0, i64::from(width));
    let clamp_y = |y: i64| y.clamp(0, i64::from(height));
    let end = left + i64::from(side);
    let bottom = top + i64::from(side);
    let (x0, x1) = (clamp_x(left), clamp_x(end));
    let (y0, y1) = (clamp_y(top), clamp_y(bottom));
    let mut reduced = RgbImage::new(reduced_side, reduced_side);
    if x0 < x1 && y0 < y1 {
        // Where the content lands in the reduced window; at least one pixel each way.
        let scale = f64::from(reduced_side) / f64::from(side);
        let to_reduced = |offset: i64| {
            ((offset as f64 * scale).round() as i64).clamp(0, i64::from(reduced_side))
        };
        let (rx0, rx1) = (to_reduced(x0 - left), to_reduced(x1 - left));
        let (ry0, ry1) = (to_reduced(y0 - top), to_reduced(y1 - top));
        let rx0 = rx0.min(i64::from(reduced_side) - 1);
        let ry0 = ry0.min(i64::from(reduced_side) - 1);
        let content_width = (rx1 - rx0).max(1) as u32;
        let content_height = (ry1 - ry0).max(1) as u32;
        let content = imageops::crop_imm(
            img,
            x0 as u32,
            y0 as u32,
            (x1 - x0) as u32,
            (y1 - y0) as u32,
        );
        let content = imageops::thumbnail(&*content, content_width, content_height);
        imageops::replace(&mut reduced, &content, rx0, ry0);
    }
    imageops::resize(&reduced, size, size, FilterType::Lanczos3)
}
