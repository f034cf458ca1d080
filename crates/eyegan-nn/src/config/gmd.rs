//! Configuration of the paper's GMD classifier.

use serde::{Deserialize, Serialize};

use crate::config::{check_channels, check_image_size, check_range};
use crate::error::{NnError, Result};

/// Convolution padding of the GMD network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GmdPadding {
    /// One pixel of zero padding: 3×3 convolutions keep the side (Keras `padding="same"`).
    Same,
    /// No padding: every 3×3 convolution removes 2 pixels (Keras' default `"valid"`); too small
    /// for 32×32 inputs.
    Valid,
}

/// Widths of the GMD network before the width multiplier.
pub const GMD_CONV_WIDTHS: [usize; 5] = [256, 128, 128, 64, 32];
/// Hidden dense widths before the width multiplier.
pub const GMD_DENSE_WIDTHS: [usize; 2] = [100, 60];

/// GMD classifier configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GmdConfig {
    /// Input side: 32, 64 (paper) or 128.
    pub image_size: usize,
    /// Input channels (3 in the paper).
    pub channels: usize,
    /// Output classes (4 in the paper).
    pub num_classes: usize,
    /// Scales every convolution and hidden dense width (1.0 = paper; small values for tests).
    pub width_multiplier: f64,
    /// Convolution padding.
    pub padding: GmdPadding,
}

impl GmdConfig {
    /// The paper's network at 64×64×3, 4 classes, `same` padding.
    pub fn paper() -> Self {
        Self {
            image_size: 64,
            channels: 3,
            num_classes: 4,
            width_multiplier: 1.0,
            padding: GmdPadding::Same,
        }
    }

    /// A narrow variant (width 1/8) at 32×32 for tests.
    pub fn tiny() -> Self {
        Self {
            image_size: 32,
            width_multiplier: 0.125,
            ..Self::paper()
        }
    }

    /// Checks every field, including that the feature map survives the four poolings.
    pub fn validate(&self) -> Result<()> {
        check_image_size("gmd.image_size", self.image_size)?;
        check_channels("gmd.channels", self.channels)?;
        check_range("gmd.num_classes", self.num_classes, 2, 1000)?;
        if !(self.width_multiplier.is_finite()
            && self.width_multiplier > 0.0
            && self.width_multiplier <= 4.0)
        {
            return Err(NnError::config(
                "gmd.width_multiplier",
                format!("must be in (0, 4], got {}", self.width_multiplier),
            ));
        }
        self.feature_side().map(|_| ())
    }

    fn scaled(&self, width: usize) -> usize {
        ((width as f64 * self.width_multiplier).round() as usize).max(1)
    }

    /// Output channels of the five convolutions.
    pub fn conv_widths(&self) -> [usize; 5] {
        GMD_CONV_WIDTHS.map(|w| self.scaled(w))
    }

    /// Widths of the two hidden dense layers.
    pub fn dense_widths(&self) -> [usize; 2] {
        GMD_DENSE_WIDTHS.map(|w| self.scaled(w))
    }

    /// Zero padding of every 3×3 convolution.
    pub fn conv_padding(&self) -> usize {
        match self.padding {
            GmdPadding::Same => 1,
            GmdPadding::Valid => 0,
        }
    }

    /// Side of the last feature map: conv, conv, pool, then (conv, pool) three times.
    pub fn feature_side(&self) -> Result<usize> {
        let shrink = 2 - 2 * self.conv_padding();
        let mut side = self.image_size;
        let too_small = || {
            NnError::config(
                "gmd.padding",
                format!(
                    "{:?} padding leaves no feature map for {}×{} inputs",
                    self.padding, self.image_size, self.image_size
                ),
            )
        };
        for step in [
            "conv", "conv", "pool", "conv", "pool", "conv", "pool", "conv", "pool",
        ] {
            side = match step {
                "conv" => side
                    .checked_sub(shrink)
                    .filter(|s| *s > 0)
                    .ok_or_else(too_small)?,
                _ => Some(side / 2).filter(|s| *s > 0).ok_or_else(too_small)?,
            };
        }
        Ok(side)
    }

    /// Inputs of the first dense layer (flattened last feature map).
    pub fn flattened_features(&self) -> Result<usize> {
        let side = self.feature_side()?;
        Ok(self.conv_widths()[4] * side * side)
    }

    /// Values per image, `channels × image_size²`.
    pub fn image_len(&self) -> usize {
        self.channels * self.image_size * self.image_size
    }
}

impl Default for GmdConfig {
    fn default() -> Self {
        Self::paper()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_sides_for_both_paddings() {
        assert_eq!(GmdConfig::paper().feature_side().unwrap(), 4);
        let valid = GmdConfig {
            padding: GmdPadding::Valid,
            ..GmdConfig::paper()
        };
        assert_eq!(valid.feature_side().unwrap(), 2);
        let err = GmdConfig {
            image_size: 32,
            ..valid
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("gmd.padding"), "{err}");
        assert_eq!(GmdConfig::tiny().conv_widths(), [32, 16, 16, 8, 4]);
        let err = GmdConfig {
            width_multiplier: 0.0,
            ..GmdConfig::paper()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("gmd.width_multiplier"), "{err}");
    }
}
