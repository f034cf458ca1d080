//! DCGAN architecture configuration.

use serde::{Deserialize, Serialize};

use crate::config::{check_channels, check_image_size, check_range};
use crate::error::Result;

/// Sizes of the DCGAN generator and discriminator (PyTorch reference names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcganConfig {
    /// Image side: 32, 64 (reference) or 128; each factor 2 adds or removes one stage.
    pub image_size: usize,
    /// Latent size (reference 100).
    pub nz: usize,
    /// Generator feature width (reference 64).
    pub ngf: usize,
    /// Discriminator feature width (reference 64).
    pub ndf: usize,
    /// Image channels (3 for RGB fundus images).
    pub channels: usize,
}

impl DcganConfig {
    /// The paper's network: 64×64×3, nz 100, ngf = ndf = 64.
    pub fn paper() -> Self {
        Self {
            image_size: 64,
            nz: 100,
            ngf: 64,
            ndf: 64,
            channels: 3,
        }
    }

    /// A small network for tests and smoke runs: 32×32×3, nz 16, ngf = ndf = 8.
    pub fn tiny() -> Self {
        Self {
            image_size: 32,
            nz: 16,
            ngf: 8,
            ndf: 8,
            channels: 3,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        check_image_size("dcgan.image_size", self.image_size)?;
        check_range("dcgan.nz", self.nz, 1, 4096)?;
        check_range("dcgan.ngf", self.ngf, 1, 1024)?;
        check_range("dcgan.ndf", self.ndf, 1, 1024)?;
        check_channels("dcgan.channels", self.channels)
    }

    /// Number of (transposed) convolutions in G and in D: log2(image_size) − 1.
    pub fn num_stages(&self) -> usize {
        (self.image_size.trailing_zeros() as usize).saturating_sub(1)
    }

    /// Values per image, `channels × image_size²`.
    pub fn image_len(&self) -> usize {
        self.channels * self.image_size * self.image_size
    }
}

impl Default for DcganConfig {
    fn default() -> Self {
        Self::paper()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_errors_name_the_field() {
        DcganConfig::paper().validate().unwrap();
        DcganConfig::tiny().validate().unwrap();
        assert_eq!(DcganConfig::paper().num_stages(), 5);
        let err = DcganConfig {
            image_size: 48,
            ..DcganConfig::paper()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("dcgan.image_size"), "{err}");
        let err = DcganConfig {
            nz: 0,
            ..DcganConfig::paper()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("dcgan.nz"), "{err}");
        let parsed: Result<DcganConfig, _> = serde_json::from_str(
            r#"{"image_size":64,"nz":1,"ngf":1,"ndf":1,"channels":3,"bogus":1}"#,
        );
        assert!(parsed.is_err());
    }
}
