//! GAN checkpoints.

use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{
    prefixed, state_from_json, state_to_json, strip_prefix, CHECKPOINT_FORMAT_VERSION,
};
use crate::config::{DcganConfig, GanTrainingConfig};
use crate::dcgan::{Discriminator, Generator};
use crate::error::{DivergenceReason, NnError, Result};
use crate::gan_trainer::GanTrainer;
use crate::optim::Optimizer;
use crate::rng::{RngState, SeededRng};
use crate::tensor_io::{safetensors_to_tensors, tensors_to_safetensors};

/// A GAN checkpoint as four blobs.
///
/// `generator` and `discriminator` use PyTorch's reference DCGAN `state_dict` keys (see
/// [`Generator`] and [`Discriminator`] for the mapping), so
/// `netG.load_state_dict(safetensors.torch.load_file("generator.safetensors"))` works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GanCheckpointBlobs {
    /// Generator weights and BN buffers (safetensors).
    pub generator: Vec<u8>,
    /// Discriminator weights and BN buffers (safetensors).
    pub discriminator: Vec<u8>,
    /// Adam moments, keys `generator.exp_avg.<param>`, `generator.exp_avg_sq.<param>`,
    /// `discriminator.…` (safetensors).
    pub optimizer: Vec<u8>,
    /// [`GanCheckpointState`] as JSON.
    pub state_json: Vec<u8>,
}

/// The JSON part of a GAN checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanCheckpointState {
    /// Layout version ([`CHECKPOINT_FORMAT_VERSION`]).
    pub format_version: u32,
    /// Architecture.
    pub model: DcganConfig,
    /// Training settings.
    pub training: GanTrainingConfig,
    /// The run's seed.
    pub seed: u64,
    /// Iterations completed.
    pub iteration: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Batches of the current epoch done.
    pub batch_in_epoch: usize,
    /// Consecutive iterations with D pinned.
    pub pinned_streak: u64,
    /// Set when training diverged.
    pub diverged: Option<DivergenceReason>,
    /// Position of the training noise / DiffAugment stream.
    pub rng: RngState,
    /// Adam steps of G.
    pub generator_steps: u64,
    /// Adam steps of D.
    pub discriminator_steps: u64,
}

impl GanCheckpointState {
    /// Parses and version-checks the JSON blob.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        state_from_json(bytes, |state: &Self| state.format_version)
    }
}

/// Loads G and D for generation from a checkpoint's `state_json`, `generator` and
/// `discriminator` blobs (the optimizer blob is not needed).
pub fn load_gan_models(
    state_json: &[u8],
    generator: &[u8],
    discriminator: &[u8],
    device: &Device,
) -> Result<(GanCheckpointState, Generator, Discriminator)> {
    let state = GanCheckpointState::from_json(state_json)?;
    let mut scratch = SeededRng::new(0, 0);
    let g = Generator::new(&state.model, &mut scratch, device, DType::F32)?;
    let d = Discriminator::new(&state.model, &mut scratch, device, DType::F32)?;
    g.params().load(
        &safetensors_to_tensors(generator, device, "generator")?,
        "generator",
    )?;
    d.params().load(
        &safetensors_to_tensors(discriminator, device, "discriminator")?,
        "discriminator",
    )?;
    Ok((state, g, d))
}

impl GanTrainer {
    /// Serializes the complete training state.
    pub fn checkpoint(&self) -> Result<GanCheckpointBlobs> {
        let g_state = self.opt_g.export_state()?;
        let d_state = self.opt_d.export_state()?;
        let mut moments = prefixed("generator", g_state.slots);
        moments.extend(prefixed("discriminator", d_state.slots));
        let state = GanCheckpointState {
            format_version: CHECKPOINT_FORMAT_VERSION,
            model: self.model,
            training: self.training,
            seed: self.seed,
            iteration: self.iteration,
            epoch: self.epoch,
            batch_in_epoch: self.batch_in_epoch,
            pinned_streak: self.pinned_streak,
            diverged: self.diverged.clone(),
            rng: self.rng.state(),
            generator_steps: g_state.step,
            discriminator_steps: d_state.step,
        };
        Ok(GanCheckpointBlobs {
            generator: tensors_to_safetensors(&self.generator.params().tensors()?)?,
            discriminator: tensors_to_safetensors(&self.discriminator.params().tensors()?)?,
            optimizer: tensors_to_safetensors(&moments)?,
            state_json: state_to_json(&state)?,
        })
    }

    /// Restores a trainer from [`Self::checkpoint`]'s blobs onto `device`.
    pub fn from_checkpoint(blobs: &GanCheckpointBlobs, device: &Device) -> Result<Self> {
        let state = GanCheckpointState::from_json(&blobs.state_json)?;
        let mut trainer = GanTrainer::new(state.model, state.training, state.seed, device)?;
        let generator = safetensors_to_tensors(&blobs.generator, device, "generator")?;
        trainer.generator.params().load(&generator, "generator")?;
        let discriminator = safetensors_to_tensors(&blobs.discriminator, device, "discriminator")?;
        trainer
            .discriminator
            .params()
            .load(&discriminator, "discriminator")?;
        let moments = safetensors_to_tensors(&blobs.optimizer, device, "optimizer")?;
        let g_moments = strip_prefix("generator", &moments);
        let d_moments = strip_prefix("discriminator", &moments);
        if g_moments.len() + d_moments.len() != moments.len() {
            return Err(NnError::checkpoint(
                "optimizer",
                "keys must start with `generator.` or `discriminator.`",
            ));
        }
        trainer
            .opt_g
            .import_state(state.generator_steps, &g_moments)?;
        trainer
            .opt_d
            .import_state(state.discriminator_steps, &d_moments)?;
        trainer.rng = SeededRng::from_state(&state.rng)?;
        trainer.iteration = state.iteration;
        trainer.epoch = state.epoch;
        trainer.batch_in_epoch = state.batch_in_epoch;
        trainer.pinned_streak = state.pinned_streak;
        trainer.diverged = state.diverged;
        Ok(trainer)
    }
}
