//! Model and training configurations: serde structs with presets and validation that names the
//! offending field.

pub mod classifier_training;
pub mod dcgan;
pub mod gan_training;
pub mod gmd;

pub use classifier_training::ClassifierTrainingConfig;
pub use dcgan::DcganConfig;
pub use gan_training::GanTrainingConfig;
pub use gmd::{GmdConfig, GmdPadding};

use crate::error::{NnError, Result};

/// Image sides the networks support.
pub const SUPPORTED_IMAGE_SIZES: [usize; 3] = [32, 64, 128];

/// Checks that `value` lies in `min..=max`.
pub(crate) fn check_range(field: &str, value: usize, min: usize, max: usize) -> Result<()> {
    if value < min || value > max {
        return Err(NnError::config(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

/// Checks that `value` is one of the supported image sides.
pub(crate) fn check_image_size(field: &str, value: usize) -> Result<()> {
    if !SUPPORTED_IMAGE_SIZES.contains(&value) {
        return Err(NnError::config(
            field,
            format!("must be 32, 64 or 128, got {value}"),
        ));
    }
    Ok(())
}

/// Checks that `value` is 1 (grey) or 3 (RGB).
pub(crate) fn check_channels(field: &str, value: usize) -> Result<()> {
    if value != 1 && value != 3 {
        return Err(NnError::config(
            field,
            format!("must be 1 or 3, got {value}"),
        ));
    }
    Ok(())
}
