//! Classifier training hyper-parameters.

use serde::{Deserialize, Serialize};

use crate::augment::ClassicalAugmentation;
use crate::config::check_range;
use crate::error::{NnError, Result};
use crate::optim::SgdConfig;

/// How the GMD classifier is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierTrainingConfig {
    /// Images per SGD step (Keras' default 32).
    pub batch_size: usize,
    /// SGD learning rate (paper 0.001).
    pub lr: f64,
    /// SGD momentum (paper 0).
    pub momentum: f64,
    /// Epochs (paper 100).
    pub epochs: u64,
    /// Classical augmentation of training images (off in the paper; the ablation arm's switch).
    pub augmentation: ClassicalAugmentation,
}

impl ClassifierTrainingConfig {
    /// The paper's settings: SGD lr 0.001, momentum 0, 100 epochs, batch 32, no augmentation.
    pub fn paper() -> Self {
        Self {
            batch_size: 32,
            lr: 0.001,
            momentum: 0.0,
            epochs: 100,
            augmentation: ClassicalAugmentation::default(),
        }
    }

    /// The SGD settings.
    pub fn sgd(&self) -> SgdConfig {
        SgdConfig {
            lr: self.lr,
            momentum: self.momentum,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        check_range("classifier_training.batch_size", self.batch_size, 1, 4096)?;
        if self.epochs == 0 {
            return Err(NnError::config(
                "classifier_training.epochs",
                "must be at least 1",
            ));
        }
        self.sgd().validate("classifier_training")?;
        self.augmentation
            .validate("classifier_training.augmentation")
    }
}

impl Default for ClassifierTrainingConfig {
    fn default() -> Self {
        Self::paper()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_preset_and_errors() {
        let paper = ClassifierTrainingConfig::paper();
        paper.validate().unwrap();
        assert_eq!((paper.lr, paper.momentum, paper.epochs), (0.001, 0.0, 100));
        let err = ClassifierTrainingConfig {
            momentum: 1.5,
            ..paper
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("classifier_training.momentum"), "{err}");
    }
}
