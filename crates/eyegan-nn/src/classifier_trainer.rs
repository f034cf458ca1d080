//! Training the GMD classifier epoch by epoch, one SGD step per batch.

use std::ops::ControlFlow;

use candle_core::{DType, Device, Tensor};
use candle_nn::ModuleT;
use eyegan_metrics::Prediction;
use serde::{Deserialize, Serialize};

use crate::batches::{validate_images, EpochBatches, LastBatch};
use crate::classifier_inference::validate_labels;
use crate::config::{ClassifierTrainingConfig, GmdConfig};
use crate::error::{NnError, Result};
use crate::gmd::Gmd;
use crate::input_standardization::InputStandardization;
use crate::loss::cross_entropy;
use crate::optim::{Optimizer, Sgd};
use crate::rng::{streams, SeededRng};

/// Metrics of one finished training epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The (0-based) epoch that finished.
    pub epoch: u64,
    /// Mean cross-entropy over the epoch's training images (measured before each update, as
    /// Keras reports it).
    pub train_loss: f32,
    /// Fraction of training images classified correctly (before each update).
    pub train_accuracy: f32,
}

/// Progress after one batch, passed to the `on_batch` callback.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BatchProgress {
    /// The (0-based) epoch.
    pub epoch: u64,
    /// Batches of this epoch done, this one included.
    pub batches_done: usize,
    /// Batches in this epoch.
    pub num_batches: usize,
    /// This batch's mean loss.
    pub loss: f32,
    /// This batch's accuracy.
    pub accuracy: f32,
}

/// Running sums of the current epoch (checkpointed, so a mid-epoch resume reports the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochTotals {
    /// Σ batch loss × batch size.
    pub loss_sum: f64,
    /// Correct predictions.
    pub correct: u64,
    /// Images seen.
    pub seen: u64,
}

/// The GMD network with its optimizer, augmentation stream and counters.
#[derive(Debug)]
pub struct ClassifierTrainer {
    pub(crate) model_config: GmdConfig,
    pub(crate) training: ClassifierTrainingConfig,
    pub(crate) seed: u64,
    pub(crate) device: Device,
    pub(crate) model: Gmd,
    pub(crate) optimizer: Sgd,
    pub(crate) augment_rng: SeededRng,
    pub(crate) epoch: u64,
    pub(crate) batch_in_epoch: usize,
    pub(crate) totals: EpochTotals,
}

impl ClassifierTrainer {
    /// A fresh GMD on `device`, initialised from `seed`.
    pub fn new(
        model_config: GmdConfig,
        training: ClassifierTrainingConfig,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        model_config.validate()?;
        training.validate()?;
        let model = Gmd::new(
            &model_config,
            &mut SeededRng::new(seed, streams::CLASSIFIER_INIT),
            device,
            DType::F32,
        )?;
        let optimizer = Sgd::new(model.params().trainable_vars(), training.sgd())?;
        Ok(Self {
            model_config,
            training,
            seed,
            device: device.clone(),
            model,
            optimizer,
            augment_rng: SeededRng::new(seed, streams::CLASSIFIER_AUGMENT),
            epoch: 0,
            batch_in_epoch: 0,
            totals: EpochTotals::default(),
        })
    }

    fn batch_tensor(&mut self, images: &[Vec<f32>], indices: &[usize]) -> Result<Tensor> {
        let config = self.model_config;
        let augmentation = self.training.augmentation;
        let mut data = Vec::with_capacity(indices.len() * config.image_len());
        for &index in indices {
            let image = &images[index];
            if augmentation.enabled {
                data.extend(augmentation.apply(
                    image,
                    config.channels,
                    config.image_size,
                    &mut self.augment_rng,
                ));
            } else {
                data.extend_from_slice(image);
            }
        }
        let shape = (
            indices.len(),
            config.channels,
            config.image_size,
            config.image_size,
        );
        Ok(Tensor::from_vec(data, shape, &self.device)?)
    }

    /// Trains the current epoch from where it stands: one SGD step per batch of the epoch's
    /// seeded shuffle (last partial batch kept, as Keras). At the very start of training (epoch
    /// 0, batch 0) the network's input standardisation is fitted to `images`; a resumed trainer
    /// keeps the statistics from its checkpoint. After each batch `on_batch` gets the
    /// progress; returning `Break` stops after that batch and returns `Ok(None)` — calling again
    /// continues the same epoch (a `Break` on the epoch's last batch changes nothing: the epoch
    /// is complete). Returns the metrics when the epoch finishes.
    pub fn train_epoch(
        &mut self,
        images: &[Vec<f32>],
        labels: &[u32],
        mut on_batch: impl FnMut(&BatchProgress) -> ControlFlow<()>,
    ) -> Result<Option<EpochMetrics>> {
        validate_images(images, self.model_config.image_len())?;
        validate_labels(labels, images.len(), self.model_config.num_classes)?;
        let batches = EpochBatches::new(
            images.len(),
            self.training.batch_size,
            LastBatch::Keep,
            self.seed,
            self.epoch,
        )?;
        let num_batches = batches.len();
        if self.epoch == 0 && self.batch_in_epoch == 0 {
            self.model
                .set_input_standardization(&InputStandardization::fit(images)?)?;
        }
        if self.batch_in_epoch >= num_batches {
            return Err(NnError::input(
                "images",
                format!(
                    "resume position batch {} is past the {num_batches} batches of this set",
                    self.batch_in_epoch
                ),
            ));
        }
        while let Some(indices) = batches.batch(self.batch_in_epoch) {
            let inputs = self.batch_tensor(images, indices)?;
            let batch_labels: Vec<u32> = indices.iter().map(|&i| labels[i]).collect();
            let targets = Tensor::new(batch_labels.as_slice(), &self.device)?;
            let logits = self.model.forward_t(&inputs, true)?;
            let loss = cross_entropy(&logits, &targets)?;
            let loss_value = loss.to_scalar::<f32>()?;
            if !loss_value.is_finite() {
                return Err(NnError::Diverged {
                    iteration: self.optimizer.steps_taken() + 1,
                    reason: crate::error::DivergenceReason::NonFiniteLoss {
                        loss: "cross_entropy".into(),
                        value: loss_value.to_string(),
                    },
                });
            }
            let predicted: Vec<u32> = logits.argmax(1)?.to_vec1()?;
            let correct = predicted
                .iter()
                .zip(&batch_labels)
                .filter(|(p, l)| p == l)
                .count();
            self.optimizer.step(&loss.backward()?)?;

            let size = indices.len();
            self.totals.loss_sum += f64::from(loss_value) * size as f64;
            self.totals.correct += correct as u64;
            self.totals.seen += size as u64;
            self.batch_in_epoch += 1;
            let progress = BatchProgress {
                epoch: self.epoch,
                batches_done: self.batch_in_epoch,
                num_batches,
                loss: loss_value,
                accuracy: correct as f32 / size as f32,
            };
            if self.batch_in_epoch == num_batches {
                let _ = on_batch(&progress);
                break;
            }
            if on_batch(&progress).is_break() {
                return Ok(None);
            }
        }
        let metrics = EpochMetrics {
            epoch: self.epoch,
            train_loss: (self.totals.loss_sum / self.totals.seen as f64) as f32,
            train_accuracy: self.totals.correct as f32 / self.totals.seen as f32,
        };
        tracing::debug!(
            epoch = metrics.epoch,
            loss = metrics.train_loss,
            accuracy = metrics.train_accuracy,
            "classifier epoch finished"
        );
        self.epoch += 1;
        self.batch_in_epoch = 0;
        self.totals = EpochTotals::default();
        Ok(Some(metrics))
    }

    /// Mean cross-entropy and per-image predictions (chunked, at most 64 images per pass).
    pub fn evaluate(
        &self,
        images: &[Vec<f32>],
        labels: &[u32],
        ids: &[String],
    ) -> Result<(f32, Vec<Prediction>)> {
        self.model.evaluate(images, labels, ids)
    }

    /// Softmax probabilities per image (chunked).
    pub fn predict_probabilities(&self, images: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        self.model.predict_probabilities(images)
    }

    /// Epochs completed.
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

    /// The network.
    pub fn model(&self) -> &Gmd {
        &self.model
    }

    /// Training settings.
    pub fn training_config(&self) -> &ClassifierTrainingConfig {
        &self.training
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
