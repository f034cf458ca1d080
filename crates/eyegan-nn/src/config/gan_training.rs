//! GAN training hyper-parameters.

use serde::{Deserialize, Serialize};

use crate::batches::LastBatch;
use crate::config::check_range;
use crate::diff_augment::DiffAugmentPolicy;
use crate::error::{NnError, Result};
use crate::optim::AdamConfig;

/// How one DCGAN is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GanTrainingConfig {
    /// Images per iteration.
    pub batch_size: usize,
    /// Passes over the class's images (the paper ran 4000).
    pub epochs: u64,
    /// Adam learning rate of both networks.
    pub lr: f64,
    /// Adam β1.
    pub beta1: f64,
    /// Adam β2.
    pub beta2: f64,
    /// Adam ε.
    pub adam_eps: f64,
    /// What happens to the last, smaller batch of an epoch.
    pub last_batch: LastBatch,
    /// Apply DiffAugment to real and fake images before D (off in the paper).
    pub diff_augment: bool,
    /// Which DiffAugment transforms are used when `diff_augment` is on.
    pub diff_augment_policy: DiffAugmentPolicy,
    /// Iterations between fixed-noise sample grids (0: never).
    pub sample_every: u64,
    /// Images in the fixed-noise sample grid.
    pub sample_count: usize,
    /// Consecutive iterations with D pinned before the run is declared diverged (0: never).
    pub divergence_patience: u64,
    /// D counts as pinned when its mean outputs are all within this distance of 0 or 1.
    pub divergence_epsilon: f64,
}

impl GanTrainingConfig {
    /// The paper's settings: Adam lr 2e-4, betas (0.5, 0.999), no weight decay, 4000 epochs,
    /// no DiffAugment. Batch 64 is the pytorch/examples DCGAN default; the paper's listing slices
    /// every batch to its first image (`[:1]`), which `batch_size = 1` reproduces.
    pub fn paper() -> Self {
        Self {
            batch_size: 64,
            epochs: 4000,
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            adam_eps: 1e-8,
            last_batch: LastBatch::Keep,
            diff_augment: false,
            diff_augment_policy: DiffAugmentPolicy::default(),
            sample_every: 500,
            sample_count: 64,
            divergence_patience: 200,
            divergence_epsilon: 1e-3,
        }
    }

    /// The Adam settings of both networks.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.adam_eps,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        check_range("gan_training.batch_size", self.batch_size, 1, 4096)?;
        if self.epochs == 0 {
            return Err(NnError::config("gan_training.epochs", "must be at least 1"));
        }
        self.adam().validate("gan_training")?;
        check_range("gan_training.sample_count", self.sample_count, 1, 1024)?;
        if !(self.divergence_epsilon > 0.0 && self.divergence_epsilon < 0.5) {
            return Err(NnError::config(
                "gan_training.divergence_epsilon",
                "must be in (0, 0.5)",
            ));
        }
        Ok(())
    }
}

impl Default for GanTrainingConfig {
    fn default() -> Self {
        Self::paper()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_preset_and_errors() {
        let paper = GanTrainingConfig::paper();
        paper.validate().unwrap();
        assert_eq!((paper.lr, paper.beta1, paper.beta2), (2e-4, 0.5, 0.999));
        assert!(!paper.diff_augment);
        let err = GanTrainingConfig {
            beta1: 1.0,
            ..paper
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("gan_training.beta1"), "{err}");
        let partial: GanTrainingConfig = serde_json::from_str(r#"{"batch_size": 8}"#).unwrap();
        assert_eq!(partial.batch_size, 8);
        assert_eq!(partial.lr, 2e-4);
    }
}
