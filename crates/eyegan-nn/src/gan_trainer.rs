//! Training one DCGAN (one class) iteration by iteration.
//!
//! Each iteration is the reference DCGAN step: a D update on a real batch (label 1) and a
//! detached fake batch (label 0), then a G update through D with real labels. Everything random
//! comes from seeded streams whose positions are checkpointed, so a resumed run is exact.

use candle_core::{DType, Device, Tensor};
use candle_nn::ModuleT;
use serde::{Deserialize, Serialize};

use crate::batches::{images_to_tensor, validate_images, EpochBatches};
use crate::config::{DcganConfig, GanTrainingConfig};
use crate::dcgan::{Discriminator, Generator};
use crate::diff_augment::diff_augment;
use crate::error::{DivergenceReason, NnError, Result};
use crate::filter::{FilterPreset, ScoredImage};
use crate::generation::during_training_candidate;
use crate::loss::{bce_with_logits_const, sigmoid};
use crate::optim::{Adam, Optimizer};
use crate::rng::{derive_seed, streams, SeededRng};

/// Salt of the during-training candidate seeds.
const CANDIDATE_SALT: u64 = 0xE9E6_A11C_A2D1_DA7E;

/// What one iteration measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IterationMetrics {
    /// Iterations completed, this one included (1-based).
    pub iteration: u64,
    /// The (0-based) epoch this iteration belongs to.
    pub epoch: u64,
    /// D loss: BCE(D(x), 1) + BCE(D(G(z)), 0).
    pub loss_d: f32,
    /// G loss: BCE(D(G(z)), 1) after the D update.
    pub loss_g: f32,
    /// Mean D(x) on the real batch.
    pub d_real: f32,
    /// Mean D(G(z)) before the D update.
    pub d_fake_before: f32,
    /// Mean D(G(z)) after the D update (during the G step).
    pub d_fake_after: f32,
    /// Whether this iteration finished an epoch (set by [`GanTrainer::step`]).
    pub epoch_completed: bool,
    /// Whether a fixed-noise sample grid is due (`iteration % sample_every == 0`).
    pub sample_due: bool,
}

/// One DCGAN with its optimizers, random streams and counters.
#[derive(Debug)]
pub struct GanTrainer {
    pub(crate) model: DcganConfig,
    pub(crate) training: GanTrainingConfig,
    pub(crate) seed: u64,
    pub(crate) device: Device,
    pub(crate) generator: Generator,
    pub(crate) discriminator: Discriminator,
    pub(crate) opt_g: Adam,
    pub(crate) opt_d: Adam,
    pub(crate) rng: SeededRng,
    pub(crate) fixed_noise: Tensor,
    pub(crate) iteration: u64,
    pub(crate) epoch: u64,
    pub(crate) batch_in_epoch: usize,
    pub(crate) pinned_streak: u64,
    pub(crate) diverged: Option<DivergenceReason>,
    epoch_cache: Option<(u64, usize, EpochBatches)>,
}

impl GanTrainer {
    /// A fresh DCGAN on `device`, initialised from `seed`.
    pub fn new(
        model: DcganConfig,
        training: GanTrainingConfig,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        model.validate()?;
        training.validate()?;
        let generator = Generator::new(
            &model,
            &mut SeededRng::new(seed, streams::GENERATOR_INIT),
            device,
            DType::F32,
        )?;
        let discriminator = Discriminator::new(
            &model,
            &mut SeededRng::new(seed, streams::DISCRIMINATOR_INIT),
            device,
            DType::F32,
        )?;
        let opt_g = Adam::new(generator.params().trainable_vars(), training.adam())?;
        let opt_d = Adam::new(discriminator.params().trainable_vars(), training.adam())?;
        let fixed_noise = generator.noise(
            &mut SeededRng::new(seed, streams::FIXED_NOISE),
            training.sample_count,
        )?;
        Ok(Self {
            model,
            training,
            seed,
            device: device.clone(),
            generator,
            discriminator,
            opt_g,
            opt_d,
            rng: SeededRng::new(seed, streams::GAN_TRAINING),
            fixed_noise,
            iteration: 0,
            epoch: 0,
            batch_in_epoch: 0,
            pinned_streak: 0,
            diverged: None,
            epoch_cache: None,
        })
    }

    fn augment(&mut self, images: &Tensor) -> Result<Tensor> {
        if self.training.diff_augment {
            diff_augment(images, &self.training.diff_augment_policy, &mut self.rng)
        } else {
            Ok(images.clone())
        }
    }

    fn fail(&mut self, iteration: u64, reason: DivergenceReason) -> NnError {
        tracing::warn!(iteration, %reason, "gan training diverged");
        self.diverged = Some(reason.clone());
        NnError::Diverged { iteration, reason }
    }

    fn finite_loss(&mut self, name: &str, loss: &Tensor) -> Result<f32> {
        let value = loss.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(self.fail(
                self.iteration + 1,
                DivergenceReason::NonFiniteLoss {
                    loss: name.to_string(),
                    value: value.to_string(),
                },
            ))
        }
    }

    fn check_real_batch(&self, real: &Tensor) -> Result<Tensor> {
        let side = self.model.image_size;
        let expected = [self.model.channels, side, side];
        match real.dims() {
            [batch, rest @ ..] if *batch > 0 && rest == expected => {
                Ok(real.to_device(&self.device)?.to_dtype(DType::F32)?)
            }
            dims => Err(NnError::input(
                "real",
                format!(
                    "expected a (batch, {}, {side}, {side}) batch, got {dims:?}",
                    self.model.channels
                ),
            )),
        }
    }

    /// One D update and one G update on the real batch `(b, channels, size, size)` in [-1, 1].
    ///
    /// Fails with [`NnError::Diverged`] on a non-finite loss (that update is not applied) or when
    /// D stays pinned for `divergence_patience` iterations; after that every call fails the same
    /// way. Does not move the epoch counters (see [`Self::step`]).
    pub fn train_iteration(&mut self, real: &Tensor) -> Result<IterationMetrics> {
        if let Some(reason) = &self.diverged {
            return Err(NnError::Diverged {
                iteration: self.iteration,
                reason: reason.clone(),
            });
        }
        let real = self.check_real_batch(real)?;
        let batch = real.dim(0)?;
        let noise = self.generator.noise(&mut self.rng, batch)?;
        let fake = self.generator.forward_t(&noise, true)?;

        let real_in = self.augment(&real)?;
        let fake_in = self.augment(&fake.detach())?;
        let real_logits = self.discriminator.forward_t(&real_in, true)?;
        let fake_logits = self.discriminator.forward_t(&fake_in, true)?;
        let loss_d = (bce_with_logits_const(&real_logits, 1.0)?
            + bce_with_logits_const(&fake_logits, 0.0)?)?;
        let loss_d_value = self.finite_loss("loss_d", &loss_d)?;
        let d_real = mean_probability(&real_logits)?;
        let d_fake_before = mean_probability(&fake_logits)?;
        self.opt_d.step(&loss_d.backward()?)?;

        let fake_in = self.augment(&fake)?;
        let logits = self.discriminator.frozen().forward_t(&fake_in, true)?;
        let loss_g = bce_with_logits_const(&logits, 1.0)?;
        let loss_g_value = self.finite_loss("loss_g", &loss_g)?;
        let d_fake_after = mean_probability(&logits)?;
        self.opt_g.step(&loss_g.backward()?)?;

        self.iteration += 1;
        self.track_pinned(d_real, d_fake_after)?;
        let every = self.training.sample_every;
        Ok(IterationMetrics {
            iteration: self.iteration,
            epoch: self.epoch,
            loss_d: loss_d_value,
            loss_g: loss_g_value,
            d_real,
            d_fake_before,
            d_fake_after,
            epoch_completed: false,
            sample_due: every > 0 && self.iteration.is_multiple_of(every),
        })
    }

    fn track_pinned(&mut self, d_real: f32, d_fake: f32) -> Result<()> {
        let epsilon = self.training.divergence_epsilon as f32;
        let saturated = |p: f32| p <= epsilon || p >= 1.0 - epsilon;
        if saturated(d_real) && saturated(d_fake) {
            self.pinned_streak += 1;
        } else {
            self.pinned_streak = 0;
        }
        let patience = self.training.divergence_patience;
        if patience > 0 && self.pinned_streak >= patience {
            let reason = DivergenceReason::DiscriminatorPinned {
                iterations: self.pinned_streak,
                d_real,
                d_fake,
            };
            return Err(self.fail(self.iteration, reason));
        }
        Ok(())
    }

    /// The next iteration of the standard loop over an in-memory class set (CHW images in
    /// [-1, 1]): takes batch `batch_in_epoch` of the current epoch's seeded shuffle, trains on it
    /// and advances the counters; `epoch_completed` is set on the epoch's last batch.
    pub fn step(&mut self, images: &[Vec<f32>]) -> Result<IterationMetrics> {
        validate_images(images, self.model.image_len())?;
        let batches = match self.epoch_cache.take() {
            Some((epoch, len, batches)) if epoch == self.epoch && len == images.len() => batches,
            _ => EpochBatches::new(
                images.len(),
                self.training.batch_size,
                self.training.last_batch,
                self.seed,
                self.epoch,
            )?,
        };
        let num_batches = batches.len();
        let indices = batches.batch(self.batch_in_epoch).map(<[usize]>::to_vec);
        self.epoch_cache = Some((self.epoch, images.len(), batches));
        let indices = indices.ok_or_else(|| {
            NnError::input(
                "images",
                format!(
                    "resume position batch {} is past the {num_batches} batches of this set",
                    self.batch_in_epoch
                ),
            )
        })?;
        let side = self.model.image_size;
        let real = images_to_tensor(images, &indices, self.model.channels, side, &self.device)?;
        let mut metrics = self.train_iteration(&real)?;
        self.batch_in_epoch += 1;
        if self.batch_in_epoch == num_batches {
            self.batch_in_epoch = 0;
            self.epoch += 1;
            metrics.epoch_completed = true;
        }
        Ok(metrics)
    }

    /// G (eval mode) on the fixed noise: `(sample_count, channels, size, size)` in [-1, 1].
    pub fn sample_grid(&self) -> Result<Tensor> {
        Ok(self.generator.forward_t(&self.fixed_noise, false)?)
    }

    /// The paper's `during-training` mode: one image from a seed fixed by (seed, completed
    /// epochs), scored by D (both in eval mode), returned if it passes `filter`. Call it after
    /// an iteration with `epoch_completed`; the image's `index` is the number of completed epochs.
    pub fn end_of_epoch_candidate(&self, filter: &FilterPreset) -> Result<Option<ScoredImage>> {
        let seed = derive_seed(self.seed ^ CANDIDATE_SALT, self.epoch);
        during_training_candidate(
            &self.generator,
            &self.discriminator,
            filter,
            seed,
            self.epoch,
        )
    }

    /// Iterations completed.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Epochs completed (= the 0-based index of the current epoch).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Batches of the current epoch already trained.
    pub fn batch_in_epoch(&self) -> usize {
        self.batch_in_epoch
    }

    /// Whether the configured number of epochs is done.
    pub fn is_finished(&self) -> bool {
        self.epoch >= self.training.epochs
    }

    /// The divergence that stopped training, if any.
    pub fn divergence(&self) -> Option<&DivergenceReason> {
        self.diverged.as_ref()
    }

    /// The generator.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The discriminator.
    pub fn discriminator(&self) -> &Discriminator {
        &self.discriminator
    }

    /// Architecture.
    pub fn model_config(&self) -> &DcganConfig {
        &self.model
    }

    /// Training settings.
    pub fn training_config(&self) -> &GanTrainingConfig {
        &self.training
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

fn mean_probability(logits: &Tensor) -> Result<f32> {
    Ok(sigmoid(&logits.detach())?
        .mean_all()?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()?)
}
