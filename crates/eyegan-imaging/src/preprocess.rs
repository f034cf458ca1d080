//! The import pipeline of one uploaded photograph: decode, crop to the fundus, resize, PNG.

use image::RgbImage;

use crate::decode::{decode, DecodeLimits};
use crate::error::ImagingError;
use crate::fundus_field::fundus_window;
use crate::png_codec::encode_png;
use crate::resize::resize_window;

/// Smallest and largest accepted `target_size`.
pub const TARGET_SIZE_RANGE: std::ops::RangeInclusive<u32> = 8..=4096;

/// How [`preprocess`] turns a photograph into a training image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreprocessOptions {
    /// Side of the square output in pixels (default 64, as in the paper).
    pub target_size: u32,
    /// Crop the black border around the circular fundus field first (default true).
    pub crop_fundus: bool,
    /// Decoding limits (default: 40 megapixels).
    pub limits: DecodeLimits,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        Self {
            target_size: 64,
            crop_fundus: true,
            limits: DecodeLimits::default(),
        }
    }
}

/// A preprocessed image, in pixels and as PNG bytes.
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// The `target_size`x`target_size` RGB image.
    pub image: RgbImage,
    /// `image` encoded as PNG.
    pub png: Vec<u8>,
    /// Width of the decoded original.
    pub original_width: u32,
    /// Height of the decoded original.
    pub original_height: u32,
}

/// Decodes `bytes`, optionally crops to the fundus field, resizes to a square of
/// `opts.target_size` and encodes PNG.
pub fn preprocess(bytes: &[u8], opts: &PreprocessOptions) -> Result<Preprocessed, ImagingError> {
    if !TARGET_SIZE_RANGE.contains(&opts.target_size) {
        return Err(ImagingError::InvalidArgument {
            name: "target_size",
            reason: format!(
                "{} is outside {}..={}",
                opts.target_size,
                TARGET_SIZE_RANGE.start(),
                TARGET_SIZE_RANGE.end()
            ),
        });
    }
    let original = decode(bytes, &opts.limits)?;
    let (original_width, original_height) = original.dimensions();
    // The square (the fundus window, or the whole image padded to a centred square) is resized
    // without being built at full resolution: a thin image inside the pixel budget can still
    // make a square of billions of pixels.
    let (left, top, side) = if opts.crop_fundus {
        fundus_window(&original)
    } else {
        let side = original_width.max(original_height);
        (
            -(i64::from(side - original_width) / 2),
            -(i64::from(side - original_height) / 2),
            side,
        )
    };
    let image = resize_window(&original, left, top, side, opts.target_size);
    let png = encode_png(&image)?;
    Ok(Preprocessed {
        image,
        png,
        original_width,
        original_height,
    })
}
