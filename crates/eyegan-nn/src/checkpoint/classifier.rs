//! Classifier checkpoints.

use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{state_from_json, state_to_json, CHECKPOINT_FORMAT_VERSION};
use crate::classifier_trainer::{ClassifierTrainer, EpochTotals};
use crate::config::{ClassifierTrainingConfig, GmdConfig};
use crate::error::Result;
use crate::gmd::Gmd;
use crate::optim::Optimizer;
use crate::rng::{RngState, SeededRng};
use crate::tensor_io::{safetensors_to_tensors, tensors_to_safetensors};

/// A classifier checkpoint as three blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifierCheckpointBlobs {
    /// GMD weights (safetensors, keys `conv1.weight` … `dense3.bias`).
    pub weights: Vec<u8>,
    /// SGD momentum buffers, keys `momentum_buffer.<param>` (empty set when momentum is 0).
    pub optimizer: Vec<u8>,
    /// [`ClassifierCheckpointState`] as JSON.
    pub state_json: Vec<u8>,
}

/// The JSON part of a classifier checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierCheckpointState {
    /// Layout version ([`CHECKPOINT_FORMAT_VERSION`]).
    pub format_version: u32,
    /// Architecture.
    pub model: GmdConfig,
    /// Training settings.
    pub training: ClassifierTrainingConfig,
    /// The run's seed.
    pub seed: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Batches of the current epoch done.
    pub batch_in_epoch: usize,
    /// Running sums of the current epoch.
    pub totals: EpochTotals,
    /// Position of the augmentation stream.
    pub augment_rng: RngState,
    /// SGD steps taken.
    pub optimizer_steps: u64,
}

impl ClassifierCheckpointState {
    /// Parses and version-checks the JSON blob.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        state_from_json(bytes, |state: &Self| state.format_version)
    }
}

/// Loads the GMD network for inference from a checkpoint's `state_json` and `weights` blobs.
pub fn load_classifier(
    state_json: &[u8],
    weights: &[u8],
    device: &Device,
) -> Result<(ClassifierCheckpointState, Gmd)> {
    let state = ClassifierCheckpointState::from_json(state_json)?;
    let model = Gmd::new(&state.model, &mut SeededRng::new(0, 0), device, DType::F32)?;
    model.params().load(
        &safetensors_to_tensors(weights, device, "weights")?,
        "weights",
    )?;
    Ok((state, model))
}

impl ClassifierTrainer {
    /// Serializes the complete training state (also valid in the middle of an epoch).
    pub fn checkpoint(&self) -> Result<ClassifierCheckpointBlobs> {
        let optimizer = self.optimizer.export_state()?;
        let state = ClassifierCheckpointState {
            format_version: CHECKPOINT_FORMAT_VERSION,
            model: self.model_config,
            training: self.training,
            seed: self.seed,
            epoch: self.epoch,
            batch_in_epoch: self.batch_in_epoch,
            totals: self.totals,
            augment_rng: self.augment_rng.state(),
            optimizer_steps: optimizer.step,
        };
        Ok(ClassifierCheckpointBlobs {
            weights: tensors_to_safetensors(&self.model.params().tensors()?)?,
            optimizer: tensors_to_safetensors(&optimizer.slots)?,
            state_json: state_to_json(&state)?,
        })
    }

    /// Restores a trainer from [`Self::checkpoint`]'s blobs onto `device`.
    pub fn from_checkpoint(blobs: &ClassifierCheckpointBlobs, device: &Device) -> Result<Self> {
        let state = ClassifierCheckpointState::from_json(&blobs.state_json)?;
        let mut trainer = ClassifierTrainer::new(state.model, state.training, state.seed, device)?;
        let weights = safetensors_to_tensors(&blobs.weights, device, "weights")?;
        trainer.model.params().load(&weights, "weights")?;
        let moments = safetensors_to_tensors(&blobs.optimizer, device, "optimizer")?;
        trainer
            .optimizer
            .import_state(state.optimizer_steps, &moments)?;
        trainer.augment_rng = SeededRng::from_state(&state.augment_rng)?;
        trainer.epoch = state.epoch;
        trainer.batch_in_epoch = state.batch_in_epoch;
        trainer.totals = state.totals;
        Ok(trainer)
    }
}
