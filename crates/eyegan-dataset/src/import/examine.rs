//! Examining one file: hash it, decode and preprocess it, or say precisely why it is refused.
//! Everything here is CPU work meant to run on a blocking thread.

use eyegan_imaging::{preprocess, DecodeLimits, ImagingError, PreprocessOptions};
use sha2::{Digest, Sha256};

use crate::error::DatasetError;

/// Why a file was refused or left out (mirrors the protobuf `FileReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// 0 bytes.
    ZeroByte,
    /// Not a supported image format.
    NotAnImage,
    /// Undecodable image data.
    Corrupt,
    /// The data ends early.
    Truncated,
    /// Too many pixels announced by the header, or too many bytes.
    TooLarge,
    /// Same bytes as another file of the import.
    Duplicate,
    /// Not inside a class folder, or a bad class name.
    BadPath,
    /// An image feature the decoder does not support.
    Unsupported,
    /// Left out by the per-class cap.
    OverCap,
}

impl RejectReason {
    /// A short lower-case label for logs and messages.
    pub fn label(self) -> &'static str {
        match self {
            RejectReason::ZeroByte => "zero-byte file",
            RejectReason::NotAnImage => "not an image",
            RejectReason::Corrupt => "corrupt image",
            RejectReason::Truncated => "truncated image",
            RejectReason::TooLarge => "too large",
            RejectReason::Duplicate => "duplicate",
            RejectReason::BadPath => "bad path",
            RejectReason::Unsupported => "unsupported image",
            RejectReason::OverCap => "over the per-class cap",
        }
    }
}

/// A refused file: the reason and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// Detail for the person who supplied the file.
    pub message: String,
}

/// A file that passed: the stored PNG and what is recorded about the original.
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// The preprocessed PNG bytes.
    pub png: Vec<u8>,
    /// Width of the original.
    pub original_width: u32,
    /// Height of the original.
    pub original_height: u32,
}

/// The result of examining one file's bytes.
#[derive(Debug, Clone)]
pub enum Examination {
    /// Decoded and preprocessed.
    Accepted(Preprocessed),
    /// Refused.
    Rejected(Rejection),
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The preprocessing settings of an import.
#[derive(Debug, Clone, Copy)]
pub struct ExamineOptions {
    /// Side of the stored square image.
    pub target_size: u32,
    /// Crop the black border first.
    pub crop_fundus: bool,
    /// Pixel limit checked from the header before decoding.
    pub max_pixels: u64,
}

/// Decodes and preprocesses `bytes`. Errors are only returned for failures that are not the
/// file's fault (PNG encoding, a bad target size); everything about the file is a [`Rejection`].
pub fn examine(bytes: &[u8], options: &ExamineOptions) -> Result<Examination, DatasetError> {
    let preprocess_options = PreprocessOptions {
        target_size: options.target_size,
        crop_fundus: options.crop_fundus,
        limits: DecodeLimits {
            max_pixels: options.max_pixels,
        },
    };
    match preprocess(bytes, &preprocess_options) {
        Ok(done) => Ok(Examination::Accepted(Preprocessed {
            png: done.png,
            original_width: done.original_width,
            original_height: done.original_height,
        })),
        Err(error) => classify(&error, bytes)
            .map(|reason| {
                Examination::Rejected(Rejection {
                    reason,
                    message: error.to_string(),
                })
            })
            .ok_or_else(|| DatasetError::Internal(format!("preprocessing failed: {error}"))),
    }
}

/// The reason for an imaging error caused by the file, or `None` when the file is not to blame.
fn classify(error: &ImagingError, bytes: &[u8]) -> Option<RejectReason> {
    match error {
        ImagingError::Empty => Some(RejectReason::ZeroByte),
        ImagingError::NotAnImage { .. } => Some(RejectReason::NotAnImage),
        ImagingError::TooLarge { .. } => Some(RejectReason::TooLarge),
        ImagingError::Corrupt { .. } if looks_truncated(bytes) => Some(RejectReason::Truncated),
        ImagingError::Corrupt { .. } | ImagingError::ZeroSized { .. } => {
            Some(RejectReason::Corrupt)
        }
        ImagingError::Unsupported { .. } => Some(RejectReason::Unsupported),
        ImagingError::Encode(_) | ImagingError::InvalidArgument { .. } => None,
    }
}

/// True when the bytes start like a JPEG, PNG or BMP but lack the end their format requires:
/// a JPEG without an end-of-image marker near its end, a PNG without its IEND chunk, a BMP
/// shorter than the size in its header.
fn looks_truncated(bytes: &[u8]) -> bool {
    const JPEG_TAIL: usize = 4096;
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let tail = &bytes[bytes.len().saturating_sub(JPEG_TAIL)..];
        return !tail.windows(2).any(|w| w == [0xFF, 0xD9]);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let tail = &bytes[bytes.len().saturating_sub(12)..];
        return !tail.windows(4).any(|w| w == b"IEND");
    }
    if bytes.starts_with(b"BM") && bytes.len() >= 6 {
        let declared = u32::from_le_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
        return (bytes.len() as u64) < u64::from(declared);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyegan_imaging::bad_inputs;

    fn options() -> ExamineOptions {
        ExamineOptions {
            target_size: 32,
            crop_fundus: true,
            max_pixels: 40_000_000,
        }
    }

    fn reason(bytes: &[u8]) -> RejectReason {
        match examine(bytes, &options()).unwrap() {
            Examination::Rejected(rejection) => rejection.reason,
            Examination::Accepted(_) => panic!("accepted a bad file"),
        }
    }

    #[test]
    fn each_bad_file_gets_its_reason() {
        assert_eq!(reason(&[]), RejectReason::ZeroByte);
        assert_eq!(reason(&bad_inputs::text_file()), RejectReason::NotAnImage);
        assert_eq!(reason(&bad_inputs::corrupt_jpeg()), RejectReason::Corrupt);
        assert_eq!(
            reason(&bad_inputs::truncated_jpeg(200, 150)),
            RejectReason::Truncated
        );
        assert_eq!(
            reason(&bad_inputs::png_claiming_size(100_000, 100_000)),
            RejectReason::TooLarge
        );
        let png = eyegan_imaging::encode_png(&image::RgbImage::new(40, 30)).unwrap();
        assert_eq!(reason(&png[..png.len() / 2]), RejectReason::Truncated);
    }

    #[test]
    fn a_good_jpeg_is_resized_to_the_target() {
        let jpeg = bad_inputs::gradient_jpeg(300, 200);
        let Examination::Accepted(done) = examine(&jpeg, &options()).unwrap() else {
            panic!("rejected a good jpeg");
        };
        assert_eq!((done.original_width, done.original_height), (300, 200));
        let image = eyegan_imaging::decode_png_rgb(&done.png).unwrap();
        assert_eq!(image.dimensions(), (32, 32));
        assert_eq!(sha256_hex(b"abc").len(), 64);
    }
}
