//! Decoding untrusted image bytes (JPEG, PNG, BMP, TIFF) into 8-bit RGB, with a pixel budget that
//! is enforced from the header before any pixel buffer is allocated.

use std::io::Cursor;

use image::{ImageDecoder, ImageError, ImageFormat, ImageReader, RgbImage};

use crate::error::ImagingError;

/// Bounds on what [`decode`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted `width * height`. Checked against the header before decoding.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    /// 40 megapixels: above every fundus camera (a 24 MP DSLR back is ~6000x4000).
    fn default() -> Self {
        Self {
            max_pixels: 40_000_000,
        }
    }
}

/// The formats this crate decodes.
const SUPPORTED: [ImageFormat; 4] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::Bmp,
    ImageFormat::Tiff,
];

/// Bytes per pixel of the widest layout a decoder may produce (16-bit RGBA).
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Head room for decoder-internal tables on top of the pixel buffer.
const DECODER_OVERHEAD_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the width and height from the header only; no pixel data is decoded.
pub fn read_dimensions(bytes: &[u8]) -> Result<(u32, u32), ImagingError> {
    let mut reader = open(bytes)?;
    reader.no_limits();
    let decoder = reader.into_decoder().map_err(classify)?;
    Ok(decoder.dimensions())
}

/// Decodes JPEG, PNG, BMP or TIFF bytes (8/16-bit, gray/RGB/RGBA) into 8-bit RGB.
///
/// Images whose header announces more than `limits.max_pixels` pixels are refused with
/// [`ImagingError::TooLarge`] before decoding; the decoder also runs under a matching memory limit.
/// JPEG EXIF orientation is applied. Alpha is dropped (not composited).
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, ImagingError> {
    let mut reader = open(bytes)?;
    let format = reader.format();
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(
        limits
            .max_pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(DECODER_OVERHEAD_BYTES),
    );
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    if format == Some(ImageFormat::Jpeg) {
        check_jpeg_complete(bytes)?;
    }
    let orientation = decoder.orientation().ok();
    let mut image = image::DynamicImage::from_decoder(decoder).map_err(classify)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    tracing::debug!(width, height, ?format, "decoded image");
    Ok(image.into_rgb8())
}

/// Refuses empty, unknown and unsupported inputs and returns a reader with the sniffed format.
fn open(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImagingError::Corrupt {
            reason: e.to_string(),
        })?;
    match reader.format() {
        Some(format) if SUPPORTED.contains(&format) => Ok(reader),
        _ => Err(ImagingError::NotAnImage {
            signature: signature(bytes),
        }),
    }
}

fn check_dimensions(width: u32, height: u32, limits: &DecodeLimits) -> Result<(), ImagingError> {
    if width == 0 || height == 0 {
        return Err(ImagingError::ZeroSized { width, height });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImagingError::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// The JPEG decoder pads a truncated scan with grey instead of failing; a complete JPEG ends
/// with an end-of-image marker (possibly followed by a little padding).
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), ImagingError> {
    const TAIL_SEARCH: usize = 4096;
    let tail = &bytes[bytes.len().saturating_sub(TAIL_SEARCH)..];
    if tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(ImagingError::Corrupt {
            reason: "JPEG data ends before its end-of-image marker (file truncated?)".into(),
        })
    }
}

/// Maps a decoder error to the user-facing kinds.
fn classify(error: ImageError) -> ImagingError {
    match error {
        ImageError::Limits(e) => ImagingError::Corrupt {
            reason: format!("decoding would exceed the memory limit: {e}"),
        },
        ImageError::Unsupported(e) => ImagingError::Unsupported {
            reason: e.to_string(),
        },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImagingError::Corrupt {
                reason: "the file ends too early (truncated)".into(),
            }
        }
        other => ImagingError::Corrupt {
            reason: other.to_string(),
        },
    }
}

/// The first bytes of the input as hex (and as text when printable), for error messages.
fn signature(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = head
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    format!("{} (\"{}\")", hex.join(" "), text)
}
