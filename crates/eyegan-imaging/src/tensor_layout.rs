//! Conversion between 8-bit RGB images and the CHW float layout networks consume.

use image::RgbImage;

/// Planar channel-height-width floats in [-1, 1]: `x / 127.5 - 1`.
pub fn to_chw_f32(img: &RgbImage) -> Vec<f32> {
    let plane = (img.width() * img.height()) as usize;
    let mut out = vec![0.0_f32; 3 * plane];
    for (i, pixel) in img.pixels().enumerate() {
        for (c, &value) in pixel.0.iter().enumerate() {
            out[c * plane + i] = f32::from(value) / 127.5 - 1.0;
        }
    }
    out
}

/// The inverse of [`to_chw_f32`]: values are mapped back with `(x + 1) * 127.5`, rounded and
/// clamped to 0..=255 (NaN becomes 0).
///
/// # Panics
/// When `data.len() != 3 * width * height` (a caller bug, not an input error).
pub fn from_chw_f32(data: &[f32], width: u32, height: u32) -> RgbImage {
    let plane = (width * height) as usize;
    assert_eq!(
        data.len(),
        3 * plane,
        "CHW buffer has {} values, expected 3x{width}x{height}",
        data.len()
    );
    RgbImage::from_fn(width, height, |x, y| {
        let i = (y * width + x) as usize;
        image::Rgb(std::array::from_fn(|c| to_u8(data[c * plane + i])))
    })
}

fn to_u8(value: f32) -> u8 {
    let scaled = ((value + 1.0) * 127.5).round();
    if scaled.is_nan() {
        0
    } else {
        scaled.clamp(0.0, 255.0) as u8
    }
}
