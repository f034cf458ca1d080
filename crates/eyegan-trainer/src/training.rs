//! One run of a training job: restore or start the DCGAN, then iterate (on a blocking thread,
//! one iteration per hop) with events, progress, metric rows, sample grids, during-training
//! collection and checkpoints, stopping cleanly on cancel or shutdown.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use candle_core::Device;
use eyegan_jobs::{Checkpoint, CheckpointFile, JobCheckpoints, JobContext, JobError};
use eyegan_nn::{GanCheckpointBlobs, GanTrainer, NnError};
use eyegan_proto::common::v1::job_event::Payload;
use eyegan_proto::common::v1::ArtifactKind;
use eyegan_store::{BlobRef, Store};
use serde::{Deserialize, Serialize};

use crate::artifacts::{
    checkpoint_artifacts, checkpoint_record, completed_epochs, file_artifact, grid_artifact,
};
use crate::collection::{
    end_of_epoch_candidates, keep_candidates, CollectedManifest, CollectionState, MANIFEST_VERSION,
};
use crate::dataset_source::DatasetSource;
use crate::layout::JobLayout;
use crate::metrics_log::{MetricRow, MetricsLog};
use crate::output::{CollectedSummary, GanCheckpointRecord, StoredObject, TrainGanOutput};
use crate::runner::{TrainerRunner, SERVICE};
use crate::sample_grid::render_sample_grid;
use crate::spec::TrainGanSpec;

/// Checkpoint file: G weights and BatchNorm buffers (safetensors, PyTorch DCGAN keys).
pub const FILE_GENERATOR: &str = "generator.safetensors";
/// Checkpoint file: D weights and BatchNorm buffers (safetensors).
pub const FILE_DISCRIMINATOR: &str = "discriminator.safetensors";
/// Checkpoint file: Adam moments of G and D (safetensors).
pub const FILE_OPTIMIZER: &str = "optimizer.safetensors";
/// Checkpoint file: eyegan-nn's `GanCheckpointState` (JSON: configs, counters, RNG positions).
pub const FILE_GAN_STATE: &str = "gan_state.json";

/// The trainer's own state in each checkpoint pointer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Iterations done.
    pub iteration: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// During-training samples collected so far.
    #[serde(default)]
    pub collection: CollectionState,
}

/// Reads the G/D/optimizer/state blobs of a trainer checkpoint.
pub async fn read_gan_blobs(
    checkpoints: &JobCheckpoints,
    checkpoint: &Checkpoint,
) -> Result<GanCheckpointBlobs, JobError> {
    Ok(GanCheckpointBlobs {
        generator: checkpoints
            .read_file(checkpoint, FILE_GENERATOR)
            .await?
            .to_vec(),
        discriminator: checkpoints
            .read_file(checkpoint, FILE_DISCRIMINATOR)
            .await?
            .to_vec(),
        optimizer: checkpoints
            .read_file(checkpoint, FILE_OPTIMIZER)
            .await?
            .to_vec(),
        state_json: checkpoints
            .read_file(checkpoint, FILE_GAN_STATE)
            .await?
            .to_vec(),
    })
}

/// Runs `work` on the trainer on a blocking thread.
async fn on_blocking_thread<T, F>(trainer: GanTrainer, work: F) -> Result<(GanTrainer, T), JobError>
where
    T: Send + 'static,
    F: FnOnce(&mut GanTrainer) -> T + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut trainer = trainer;
        let out = work(&mut trainer);
        (trainer, out)
    })
    .await
    .map_err(|error| JobError::Internal(format!("training thread failed: {error}")))
}

/// An eyegan-nn error as a job error: divergence is the client-visible reason of a FAILED job.
fn model_error(error: NnError) -> JobError {
    match error {
        NnError::Diverged { .. } => JobError::FailedPrecondition(error.to_string()),
        other => JobError::Internal(other.to_string()),
    }
}

/// One attempt of a training job.
pub(crate) struct TrainingRun {
    ctx: JobContext<TrainerRunner>,
    spec: TrainGanSpec,
    store: Store,
    layout: JobLayout,
    checkpoints: JobCheckpoints,
    metrics: MetricsLog,
    collection: CollectionState,
    last_checkpoint: Option<(u64, GanCheckpointRecord)>,
    last_grid: Option<(u64, BlobRef)>,
    total: u64,
}

impl TrainingRun {
    /// Prepares a run of the job behind `ctx`.
    pub(crate) fn new(ctx: JobContext<TrainerRunner>) -> Self {
        let spec = ctx.spec().clone();
        let store = ctx.store().clone();
        let layout = JobLayout::new(ctx.job_prefix());
        let checkpoints = JobCheckpoints::new(
            store.clone(),
            SERVICE,
            ctx.job_id(),
            spec.keep_last_checkpoints as usize,
        );
        let metrics = MetricsLog::new(store.clone(), layout.clone());
        let total = spec.total_iterations();
        Self {
            ctx,
            spec,
            store,
            layout,
            checkpoints,
            metrics,
            collection: CollectionState::default(),
            last_checkpoint: None,
            last_grid: None,
            total,
        }
    }

    /// Trains to the end (or until stopped) and returns the job's output.
    pub(crate) async fn run(mut self, source: &DatasetSource) -> Result<TrainGanOutput, JobError> {
        let images = Arc::new(source.class_images(&self.spec).await?);
        let device = eyegan_nn::parse_device(&self.spec.device).map_err(|error| {
            JobError::FailedPrecondition(format!("device not available on this server: {error}"))
        })?;
        let mut trainer = self.start_or_resume(&device).await?;
        self.ctx
            .report_progress(trainer.iteration(), self.total, "iteration")
            .await?;

        while trainer.iteration() < self.total {
            if self.ctx.is_cancelled() {
                self.save_on_stop(trainer).await?;
                return Err(JobError::Stopped);
            }
            let started = Instant::now();
            let images = images.clone();
            let (stepped, result) =
                on_blocking_thread(trainer, move |trainer| trainer.step(&images)).await?;
            trainer = stepped;
            let step = result.map_err(model_error)?;
            let row = MetricRow {
                iteration: step.iteration,
                epoch: u32::try_from(step.epoch + 1).unwrap_or(u32::MAX),
                loss_d: f64::from(step.loss_d),
                loss_g: f64::from(step.loss_g),
                d_real: f64::from(step.d_real),
                d_fake_before: f64::from(step.d_fake_before),
                d_fake_after: f64::from(step.d_fake_after),
                seconds: started.elapsed().as_secs_f64(),
            };
            self.metrics.push(row);
            self.ctx.emit(Payload::GanIteration(row.to_proto())).await?;
            self.ctx
                .report_progress(step.iteration, self.total, "iteration")
                .await?;
            if step.epoch_completed {
                trainer = self.collect(trainer).await?;
            }
            if step.iteration.is_multiple_of(self.spec.sample_every) {
                trainer = self.store_grid(trainer).await?;
            }
            if step.iteration.is_multiple_of(self.spec.checkpoint_every) {
                trainer = self.save_checkpoint(trainer).await?;
            }
        }
        if self.last_grid.as_ref().map(|(iteration, _)| *iteration) != Some(self.total) {
            trainer = self.store_grid(trainer).await?;
        }
        if self.last_checkpoint.as_ref().map(|(step, _)| *step) != Some(self.total) {
            trainer = self.save_checkpoint(trainer).await?;
        }
        self.finish(trainer).await
    }

    /// A fresh trainer, or the one of the latest checkpoint.
    async fn start_or_resume(&mut self, device: &Device) -> Result<GanTrainer, JobError> {
        let Some(checkpoint) = self.checkpoints.latest().await? else {
            self.metrics.discard_after(0).await?;
            let (model, training, seed) = (self.spec.model, self.spec.training, self.spec.seed);
            let device = device.clone();
            return tokio::task::spawn_blocking(move || {
                GanTrainer::new(model, training, seed, &device)
            })
            .await
            .map_err(|error| JobError::Internal(format!("model setup failed: {error}")))?
            .map_err(model_error);
        };
        let state: RunState = checkpoint.state()?;
        let blobs = read_gan_blobs(&self.checkpoints, &checkpoint).await?;
        let device = device.clone();
        let trainer =
            tokio::task::spawn_blocking(move || GanTrainer::from_checkpoint(&blobs, &device))
                .await
                .map_err(|error| JobError::Internal(format!("model restore failed: {error}")))?
                .map_err(model_error)?;
        if trainer.iteration() != checkpoint.step {
            return Err(JobError::Internal(format!(
                "checkpoint {} holds iteration {}",
                checkpoint.key,
                trainer.iteration()
            )));
        }
        self.metrics.discard_after(checkpoint.step).await?;
        self.collection = state.collection;
        let record = checkpoint_record(&checkpoint, self.ctx.job_id(), &self.spec.class_name)?;
        self.last_checkpoint = Some((checkpoint.step, record));
        tracing::info!(
            iteration = checkpoint.step,
            attempt = self.ctx.attempt(),
            "resuming gan training from checkpoint"
        );
        Ok(trainer)
    }

    /// During-training collection after a completed epoch.
    async fn collect(&mut self, trainer: GanTrainer) -> Result<GanTrainer, JobError> {
        let Some(collection) = self.spec.collection else {
            return Ok(trainer);
        };
        let completed = trainer.epoch();
        if completed < collection.start_epoch || !self.collection.wants_more(&collection) {
            return Ok(trainer);
        }
        let (trainer, result) = on_blocking_thread(trainer, move |trainer| {
            end_of_epoch_candidates(trainer, &collection)
        })
        .await?;
        let (attempted, candidates) =
            result.map_err(|error| JobError::Internal(error.to_string()))?;
        let kept = keep_candidates(
            &self.store,
            &mut self.collection,
            &collection,
            completed,
            attempted,
            candidates,
        )
        .await?;
        tracing::debug!(
            epoch = completed,
            attempted,
            kept,
            "collected end-of-epoch samples"
        );
        Ok(trainer)
    }

    /// Stores the fixed-noise grid of the current iteration.
    async fn store_grid(&mut self, trainer: GanTrainer) -> Result<GanTrainer, JobError> {
        let (trainer, png) =
            on_blocking_thread(trainer, |trainer| render_sample_grid(trainer)).await?;
        let png = png.map_err(|error| JobError::Internal(error.to_string()))?;
        let iteration = trainer.iteration();
        let blob = BlobRef::of(&png);
        self.store
            .put_bytes(&self.layout.grid(iteration), png)
            .await?;
        self.metrics.flush().await?;
        let epoch = completed_epochs(iteration, self.spec.iterations_per_epoch());
        let artifact = grid_artifact(&self.layout, iteration, epoch, &blob);
        self.ctx.emit(Payload::ArtifactStored(artifact)).await?;
        self.last_grid = Some((iteration, blob));
        Ok(trainer)
    }

    /// Saves G, D, optimizer and RNG state (after the metric rows up to this iteration).
    async fn save_checkpoint(&mut self, trainer: GanTrainer) -> Result<GanTrainer, JobError> {
        let (trainer, blobs) = on_blocking_thread(trainer, |trainer| trainer.checkpoint()).await?;
        let blobs = blobs.map_err(model_error)?;
        self.metrics.flush().await?;
        let files = vec![
            CheckpointFile::new(FILE_GENERATOR, Bytes::from(blobs.generator)),
            CheckpointFile::new(FILE_DISCRIMINATOR, Bytes::from(blobs.discriminator)),
            CheckpointFile::new(FILE_OPTIMIZER, Bytes::from(blobs.optimizer)),
            CheckpointFile::new(FILE_GAN_STATE, Bytes::from(blobs.state_json)),
        ];
        let state = RunState {
            iteration: trainer.iteration(),
            epoch: trainer.epoch(),
            collection: self.collection.clone(),
        };
        let checkpoint = self
            .checkpoints
            .save(trainer.iteration(), files, &state)
            .await?;
        let record = checkpoint_record(&checkpoint, self.ctx.job_id(), &self.spec.class_name)?;
        for artifact in checkpoint_artifacts(&checkpoint, &record) {
            self.ctx.emit(Payload::ArtifactStored(artifact)).await?;
        }
        tracing::debug!(iteration = checkpoint.step, "saved gan checkpoint");
        self.last_checkpoint = Some((checkpoint.step, record));
        Ok(trainer)
    }

    /// On cancel or shutdown: keeps the iterations done since the last checkpoint.
    async fn save_on_stop(&mut self, trainer: GanTrainer) -> Result<(), JobError> {
        let saved = self.last_checkpoint.as_ref().map_or(0, |(step, _)| *step);
        if trainer.iteration() > saved {
            self.save_checkpoint(trainer).await?;
        }
        tracing::info!(saved, "gan training stopped on request");
        Ok(())
    }

    /// Writes the combined metrics and the collected manifest; builds the output.
    async fn finish(self, trainer: GanTrainer) -> Result<TrainGanOutput, JobError> {
        let metrics_blob = self.metrics.write_combined().await?;
        let metrics = StoredObject::at(self.layout.metrics_file(), &metrics_blob);
        self.ctx
            .emit(Payload::ArtifactStored(file_artifact(
                "metrics.jsonl",
                ArtifactKind::Metrics,
                &metrics,
                self.total,
            )))
            .await?;
        let (Some((_, checkpoint)), Some((grid_iteration, grid_blob))) =
            (self.last_checkpoint.clone(), self.last_grid.clone())
        else {
            return Err(JobError::Internal(
                "training ended without a final checkpoint and grid".into(),
            ));
        };
        let collected = match self.spec.collection {
            Some(collection) => Some(self.write_manifest(&checkpoint, &collection).await?),
            None => None,
        };
        Ok(TrainGanOutput {
            checkpoint,
            iterations: trainer.iteration(),
            epochs: u32::try_from(trainer.epoch()).unwrap_or(u32::MAX),
            metrics,
            final_sample_grid: StoredObject::at(self.layout.grid(grid_iteration), &grid_blob),
            collected,
        })
    }

    async fn write_manifest(
        &self,
        checkpoint: &GanCheckpointRecord,
        collection: &crate::spec::CollectionSpec,
    ) -> Result<CollectedSummary, JobError> {
        let manifest = CollectedManifest {
            version: MANIFEST_VERSION,
            job_id: self.ctx.job_id().to_owned(),
            dataset_id: self.spec.dataset_id.clone(),
            dataset_version: self.spec.version,
            class_name: self.spec.class_name.clone(),
            image_size: self.spec.model.image_size as u32,
            filter: collection.filter.to_string(),
            min_score: collection.filter.min_score(),
            final_checkpoint: checkpoint.key.clone(),
            attempted: self.collection.attempted,
            accepted: self.collection.samples.len() as u64,
            samples: self.collection.samples.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|error| JobError::Internal(format!("cannot encode the manifest: {error}")))?;
        let blob = BlobRef::of(&bytes);
        let key = self.layout.collected_manifest();
        self.store.put_bytes(&key, bytes).await?;
        let object = StoredObject::at(key, &blob);
        self.ctx
            .emit(Payload::ArtifactStored(file_artifact(
                "collected-samples.json",
                ArtifactKind::CollectedSamples,
                &object,
                self.total,
            )))
            .await?;
        Ok(CollectedSummary {
            manifest: object,
            attempted: manifest.attempted,
            accepted: manifest.accepted,
            class_name: manifest.class_name,
        })
    }
}
