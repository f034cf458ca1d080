//! The training job: fetch the splits, train epoch by epoch on a blocking thread, validate,
//! stream and store the metrics, checkpoint, and pick the model.
//!
//! **Which epoch's weights become the model**: the last epoch's, as in the paper (it reports the
//! network after its 100 epochs); with `select_best_on_val` the epoch with the highest
//! validation accuracy (the earliest among ties).
//!
//! **Checkpoints** are taken at epoch boundaries (every `checkpoint_every_epochs` epochs and at
//! the end) and hold the full trainer state (weights, SGD moments, augmentation stream, counters)
//! plus the history so far and the best epoch. A stopped job (cancel or shutdown) keeps its last
//! checkpoint; a restarted service continues from it, re-training any partial epoch from its
//! start with the same seeded shuffle, so the result equals an uninterrupted run.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use candle_core::Device;
use eyegan_jobs::{Checkpoint, CheckpointFile, JobContext, JobError, JobRunner};
use eyegan_nn::{ClassifierCheckpointBlobs, ClassifierTrainer, EpochMetrics, NnError};
use eyegan_proto::common::v1::{
    job_event::Payload, job_result, JobKind, JobResult, TrainClassifierResult,
};
use eyegan_service::ServiceError;
use serde::{Deserialize, Serialize};

use crate::dataset_source::{DatasetSource, LabelledImages};
use crate::device::resolve_device;
use crate::history::{store_history, EpochRecord};
use crate::model_record::{delete_model, save_model, ModelDescription, ModelRecord};
use crate::spec::TrainSpec;

/// The job system's name of this service (jobs live under `jobs/classifier/`).
pub const SERVICE_NAME: &str = "classifier";

const WEIGHTS_FILE: &str = "weights.safetensors";
const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const STATE_FILE: &str = "state.json";

/// The result of a training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutput {
    /// The chosen model.
    pub model: ModelRecord,
    /// The epoch whose weights `model` holds (1-based).
    pub selected_epoch: u32,
    /// Metrics of every epoch.
    pub history: Vec<EpochRecord>,
}

/// The best epoch so far (with `select_best_on_val`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BestEpoch {
    val_accuracy: f64,
    model: ModelRecord,
}

/// Runner state saved with each checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RunState {
    history: Vec<EpochRecord>,
    best: Option<BestEpoch>,
}

/// The splits of one job, decoded.
struct EpochData {
    train: LabelledImages,
    val: Option<LabelledImages>,
}

/// What one epoch on the blocking thread produced.
enum EpochOutcome {
    /// Stopped on request mid-epoch; nothing of the epoch is kept.
    Stopped,
    /// The epoch finished.
    Finished {
        metrics: EpochMetrics,
        validation: Option<(f64, f64)>,
        blobs: ClassifierCheckpointBlobs,
        seconds: f64,
    },
}

/// Trains GMD classifiers as jobs.
#[derive(Debug, Clone)]
pub struct ClassifierRunner {
    source: DatasetSource,
}

impl ClassifierRunner {
    /// A runner reading datasets through `source`.
    pub fn new(source: DatasetSource) -> Self {
        Self { source }
    }
}

fn nn_error(error: NnError) -> JobError {
    match error {
        NnError::Diverged { .. } => {
            JobError::FailedPrecondition(format!("training stopped: {error}"))
        }
        other => JobError::Internal(other.to_string()),
    }
}

fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, JobError> {
    result.map_err(|error| JobError::Internal(format!("training thread failed: {error}")))
}

/// Trains one epoch (stopping after any batch once `ctx` is cancelled), validates, and
/// serializes the trainer.
fn train_one_epoch<R: JobRunner>(
    trainer: &mut ClassifierTrainer,
    data: &EpochData,
    ctx: &JobContext<R>,
) -> Result<EpochOutcome, NnError> {
    let started = Instant::now();
    let finished = trainer.train_epoch(&data.train.images, &data.train.labels, |_| {
        if ctx.is_cancelled() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    let Some(metrics) = finished else {
        return Ok(EpochOutcome::Stopped);
    };
    let validation = match &data.val {
        Some(val) => {
            let (loss, predictions) = trainer.evaluate(&val.images, &val.labels, &val.ids)?;
            let correct = predictions.iter().filter(|p| p.is_correct()).count();
            Some((f64::from(loss), correct as f64 / val.len() as f64))
        }
        None => None,
    };
    Ok(EpochOutcome::Finished {
        metrics,
        validation,
        blobs: trainer.checkpoint()?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

impl ClassifierRunner {
    async fn load_data(&self, spec: &TrainSpec) -> Result<EpochData, ServiceError> {
        let size = spec.model.image_size as u32;
        let train = self
            .source
            .load_split(&spec.dataset, spec.train_split, &spec.classes, size)
            .await?;
        if train.is_empty() {
            return Err(ServiceError::failed_precondition(format!(
                "the {} split of dataset {} is empty",
                spec.train_split.name(),
                spec.dataset
            )));
        }
        let val = match spec.val_split {
            Some(split) => {
                let val = self
                    .source
                    .load_split(&spec.dataset, split, &spec.classes, size)
                    .await?;
                if val.is_empty() {
                    return Err(ServiceError::failed_precondition(format!(
                        "the {} split of dataset {} is empty",
                        split.name(),
                        spec.dataset
                    )));
                }
                Some(val)
            }
            None => None,
        };
        Ok(EpochData { train, val })
    }

    /// A fresh trainer, or the one of the latest checkpoint with its state.
    async fn start_trainer(
        ctx: &JobContext<Self>,
        device: &Device,
    ) -> Result<(ClassifierTrainer, RunState), JobError> {
        let spec = ctx.spec();
        let Some(checkpoint) = ctx.latest_checkpoint().await? else {
            let (model, training, seed) = (spec.model, spec.training, spec.seed);
            let device = device.clone();
            let trainer = joined(
                tokio::task::spawn_blocking(move || {
                    ClassifierTrainer::new(model, training, seed, &device)
                })
                .await,
            )?
            .map_err(nn_error)?;
            return Ok((trainer, RunState::default()));
        };
        let state: RunState = checkpoint.state()?;
        let blobs = read_blobs(ctx, &checkpoint).await?;
        let device = device.clone();
        let trainer = joined(
            tokio::task::spawn_blocking(move || {
                ClassifierTrainer::from_checkpoint(&blobs, &device)
            })
            .await,
        )?
        .map_err(nn_error)?;
        if trainer.epoch() != checkpoint.step || state.history.len() as u64 != checkpoint.step {
            return Err(JobError::Internal(format!(
                "checkpoint {} disagrees with itself",
                checkpoint.key
            )));
        }
        tracing::info!(
            job_id = ctx.job_id(),
            epoch = checkpoint.step,
            "resuming classifier training"
        );
        Ok((trainer, state))
    }

    fn describe(ctx: &JobContext<Self>, epoch: u32) -> ModelDescription {
        let spec = ctx.spec();
        ModelDescription {
            job_id: ctx.job_id().to_owned(),
            epoch,
            dataset: spec.dataset.clone(),
            classes: spec.classes.clone(),
            image_size: spec.model.image_size as u32,
            crop_fundus: spec.crop_fundus,
        }
    }
}

async fn read_blobs(
    ctx: &JobContext<ClassifierRunner>,
    checkpoint: &Checkpoint,
) -> Result<ClassifierCheckpointBlobs, JobError> {
    Ok(ClassifierCheckpointBlobs {
        weights: ctx
            .read_checkpoint_file(checkpoint, WEIGHTS_FILE)
            .await?
            .to_vec(),
        optimizer: ctx
            .read_checkpoint_file(checkpoint, OPTIMIZER_FILE)
            .await?
            .to_vec(),
        state_json: ctx
            .read_checkpoint_file(checkpoint, STATE_FILE)
            .await?
            .to_vec(),
    })
}

fn checkpoint_files(blobs: &ClassifierCheckpointBlobs) -> Vec<CheckpointFile> {
    vec![
        CheckpointFile::new(WEIGHTS_FILE, blobs.weights.clone()),
        CheckpointFile::new(OPTIMIZER_FILE, blobs.optimizer.clone()),
        CheckpointFile::new(STATE_FILE, blobs.state_json.clone()),
    ]
}

impl JobRunner for ClassifierRunner {
    type Spec = TrainSpec;
    type Output = TrainOutput;

    fn service(&self) -> &str {
        SERVICE_NAME
    }

    fn kind(&self) -> JobKind {
        JobKind::TrainClassifier
    }

    fn validate(&self, spec: &TrainSpec) -> Result<(), JobError> {
        spec.validate()
    }

    fn summary(&self, spec: &TrainSpec) -> String {
        spec.summary()
    }

    fn output_to_proto(&self, output: &TrainOutput) -> JobResult {
        JobResult {
            kind: Some(job_result::Kind::TrainClassifier(TrainClassifierResult {
                model: Some(output.model.to_checkpoint_ref()),
                selected_epoch: output.selected_epoch,
                history: output.history.iter().map(EpochRecord::to_proto).collect(),
            })),
        }
    }

    async fn run(&self, ctx: JobContext<Self>) -> Result<TrainOutput, JobError> {
        let spec = ctx.spec().clone();
        let device = resolve_device(&spec.device, "config.device")?;
        let data = Arc::new(self.load_data(&spec).await?);
        ctx.check_cancelled()?;
        let (mut trainer, mut state) = Self::start_trainer(&ctx, &device).await?;
        let store = ctx.store().clone();
        let prefix = ctx.job_prefix();
        store_history(&store, &prefix, &state.history).await?;
        let epochs = spec.training.epochs;
        ctx.report_progress(trainer.epoch(), epochs, "epoch")
            .await?;

        while !trainer.is_finished() {
            let (data, epoch_ctx) = (data.clone(), ctx.clone());
            let (returned, outcome) = joined(
                tokio::task::spawn_blocking(move || {
                    let outcome = train_one_epoch(&mut trainer, &data, &epoch_ctx);
                    (trainer, outcome)
                })
                .await,
            )?;
            trainer = returned;
            let EpochOutcome::Finished {
                metrics,
                validation,
                blobs,
                seconds,
            } = outcome.map_err(nn_error)?
            else {
                return Err(JobError::Stopped);
            };
            let epoch = u32::try_from(trainer.epoch()).unwrap_or(u32::MAX);
            let record = EpochRecord {
                epoch,
                train_loss: f64::from(metrics.train_loss),
                train_accuracy: f64::from(metrics.train_accuracy),
                val_loss: validation.map(|(loss, _)| loss),
                val_accuracy: validation.map(|(_, accuracy)| accuracy),
                learning_rate: spec.training.lr,
                seconds,
            };
            state.history.push(record.clone());
            if let (true, Some((_, accuracy))) = (spec.select_best_on_val, validation) {
                if state
                    .best
                    .as_ref()
                    .is_none_or(|best| accuracy > best.val_accuracy)
                {
                    let model = save_model(
                        &store,
                        &prefix,
                        Self::describe(&ctx, epoch),
                        blobs.weights.clone(),
                        blobs.state_json.clone(),
                    )
                    .await?;
                    if let Some(previous) = state.best.replace(BestEpoch {
                        val_accuracy: accuracy,
                        model,
                    }) {
                        if previous.model.epoch != epoch {
                            delete_model(&store, &previous.model).await;
                        }
                    }
                }
            }
            if trainer.is_finished() || epoch % spec.checkpoint_every_epochs == 0 {
                ctx.save_checkpoint(u64::from(epoch), checkpoint_files(&blobs), &state)
                    .await?;
            }
            store_history(&store, &prefix, &state.history).await?;
            ctx.emit(Payload::ClassifierEpoch(record.to_proto()))
                .await?;
            ctx.report_progress(trainer.epoch(), epochs, "epoch")
                .await?;
            tracing::info!(
                job_id = ctx.job_id(),
                epoch,
                train_loss = record.train_loss,
                train_accuracy = record.train_accuracy,
                val_accuracy = ?record.val_accuracy,
                "classifier epoch finished"
            );
        }

        let model = match state.best.take() {
            Some(best) if spec.select_best_on_val => best.model,
            _ => {
                let epoch = u32::try_from(trainer.epoch()).unwrap_or(u32::MAX);
                let blobs =
                    joined(tokio::task::spawn_blocking(move || trainer.checkpoint()).await)?
                        .map_err(nn_error)?;
                save_model(
                    &store,
                    &prefix,
                    Self::describe(&ctx, epoch),
                    blobs.weights,
                    blobs.state_json,
                )
                .await?
            }
        };
        Ok(TrainOutput {
            selected_epoch: model.epoch,
            model,
            history: state.history,
        })
    }
}
