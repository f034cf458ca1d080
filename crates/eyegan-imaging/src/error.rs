//! The error type of every fallible operation in this crate.

use thiserror::Error;

/// Why an image could not be read, processed or written.
///
/// The `Display` text is meant for the person who supplied the file: it says what is wrong with
/// the bytes, not where in the code it was noticed.
#[derive(Debug, Error)]
pub enum ImagingError {
    /// The input had no bytes at all.
    #[error("the file is empty (0 bytes)")]
    Empty,

    /// The bytes are not in any supported image format.
    #[error("not a supported image (JPEG, PNG, BMP or TIFF); the file starts with {signature}")]
    NotAnImage {
        /// The first bytes of the input, printed as hex, to help recognise what it really is.
        signature: String,
    },

    /// The header announces more pixels than the configured limit; nothing was decoded.
    #[error(
        "the image is {width}x{height} pixels, more than the allowed {max_pixels} pixels; \
         it was refused before decoding"
    )]
    TooLarge {
        /// Width announced by the header.
        width: u32,
        /// Height announced by the header.
        height: u32,
        /// The configured maximum of `width * height`.
        max_pixels: u64,
    },

    /// The file looks like an image but cannot be decoded: truncated, damaged or malformed.
    #[error("the image is corrupt or truncated: {reason}")]
    Corrupt {
        /// What the decoder found wrong.
        reason: String,
    },

    /// The image has a zero width or height.
    #[error("the image has no pixels ({width}x{height})")]
    ZeroSized {
        /// Width announced by the header.
        width: u32,
        /// Height announced by the header.
        height: u32,
    },

    /// The image uses a feature of its format that the decoder does not support.
    #[error("the image uses an unsupported feature: {reason}")]
    Unsupported {
        /// What is unsupported.
        reason: String,
    },

    /// Encoding an image as PNG failed.
    #[error("could not encode the image as PNG")]
    Encode(#[source] image::ImageError),

    /// A caller passed an argument outside its documented range.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}
