//! Image handling for EyeGAN: decoding untrusted uploads (with a pixel budget checked before
//! decoding), finding and cropping the circular fundus field, resizing, PNG encoding, contact
//! sheets and tensor layout; plus the [`phantom`] generator of synthetic fundus photographs.

mod decode;
mod error;
mod fundus_field;
mod grid;
mod png_codec;
mod preprocess;
mod resize;
mod tensor_layout;

pub mod bad_inputs;
pub mod phantom;

pub use decode::{decode, read_dimensions, DecodeLimits};
pub use error::ImagingError;
pub use fundus_field::{crop_fundus, find_fundus_field, FundusField};
pub use grid::image_grid;
pub use png_codec::{decode_png_rgb, encode_png};
pub use preprocess::{preprocess, PreprocessOptions, Preprocessed, TARGET_SIZE_RANGE};
pub use resize::resize_square;
pub use tensor_layout::{from_chw_f32, to_chw_f32};
