//! PNG encoding, and decoding of PNGs this system stored itself.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, ImageFormat, RgbImage};

use crate::error::ImagingError;

/// Encodes 8-bit RGB as PNG (default compression, adaptive filtering).
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(ImagingError::Encode)?;
    Ok(out)
}

/// Decodes PNG bytes (any bit depth and colour type) into 8-bit RGB.
///
/// Meant for PNGs this system wrote; untrusted uploads go through [`crate::decode`], which also
/// enforces a pixel budget.
pub fn decode_png_rgb(bytes: &[u8]) -> Result<RgbImage, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    image::load_from_memory_with_format(bytes, ImageFormat::Png)
        .map(|image| image.into_rgb8())
        .map_err(|e| ImagingError::Corrupt {
            reason: format!("stored PNG could not be decoded: {e}"),
        })
}
