//! The EyeGAN GAN trainer service (`eyegan.trainer.v1.TrainerService`).
//!
//! `SubmitTrainGan` trains one DCGAN (eyegan-nn's [`eyegan_nn::GanTrainer`]) on the images of one
//! class of a dataset split, read from the dataset service, as a job of the shared job system
//! ([`eyegan_jobs`]): per-iteration metrics are streamed as `gan_iteration` events and stored as
//! JSON lines; fixed-noise sample grids are stored as PNGs; G and D are checkpointed (with Adam
//! moments and RNG positions, so a resume is exact) every `checkpoint_every` iterations, at the
//! end and when the job is stopped; in `during_training` mode filtered samples are collected
//! after every epoch. A restarted service resumes unfinished jobs from their last checkpoint.
//!
//! Entry point: [`run`] (tests, the binary, the orchestrator).

mod artifacts;
mod collection;
mod dataset_source;
mod layout;
mod metrics_log;
mod output;
mod request;
mod runner;
mod sample_grid;
mod service;
mod spec;
mod training;

use std::future::Future;

use eyegan_jobs::{JobError, JobLimits, JobManager};
use eyegan_service::{serve, ConnectError, Readiness, ServeError, Services};
use eyegan_store::Store;
use tokio::net::TcpListener;

pub use collection::{CollectedManifest, CollectedSample, MANIFEST_VERSION};
pub use dataset_source::DatasetSource;
pub use layout::JobLayout;
pub use metrics_log::MetricRow;
pub use output::{CollectedSummary, GanCheckpointRecord, StoredObject, TrainGanOutput};
pub use request::CheckedRequest;
pub use runner::{TrainerRunner, SERVICE};
pub use service::{TrainerServer, MAX_CHUNK_BYTES, MAX_ROWS_PER_MESSAGE};
pub use spec::{CollectionSpec, SplitName, TrainGanSpec, TrainingLength};
pub use training::{
    read_gan_blobs, RunState, FILE_DISCRIMINATOR, FILE_GAN_STATE, FILE_GENERATOR, FILE_OPTIMIZER,
};

/// Default port of the trainer service.
pub const DEFAULT_PORT: u16 = eyegan_service::ports::TRAINER;

/// How the trainer runs.
#[derive(Debug, Clone)]
pub struct TrainerConfig {
    /// URL of the dataset service (e.g. `http://127.0.0.1:50051`).
    pub dataset_endpoint: String,
    /// Concurrency limit, queue length and event buffer of the job system. Checkpoint pruning
    /// is per job (`GanConfig.keep_last_checkpoints`), not `keep_checkpoints`.
    pub limits: JobLimits,
}

impl TrainerConfig {
    /// Defaults (one job at a time, 16 queued) with the dataset service at `dataset_endpoint`.
    pub fn new(dataset_endpoint: impl Into<String>) -> Self {
        Self {
            dataset_endpoint: dataset_endpoint.into(),
            limits: JobLimits::default(),
        }
    }
}

/// Why the trainer could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    /// The dataset endpoint is malformed.
    #[error("invalid dataset endpoint: {0}")]
    DatasetEndpoint(#[from] ConnectError),
    /// The job system could not start (store unreadable, bad limits).
    #[error("cannot start the job system: {0}")]
    Jobs(#[from] JobError),
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Serves the trainer (with health and reflection) on `listener` over `store` until `shutdown`
/// completes. Unfinished jobs found in the store resume first; health says SERVING once they
/// are queued. On shutdown, running jobs checkpoint and are left QUEUED (interrupted, not
/// cancelled) for the next start, then the server drains.
pub async fn run<F>(
    listener: TcpListener,
    store: Store,
    config: TrainerConfig,
    shutdown: F,
) -> Result<(), TrainerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let source = DatasetSource::new(&config.dataset_endpoint)?;
    let limits = JobLimits {
        keep_checkpoints: 0,
        ..config.limits
    };
    let jobs = JobManager::start(store, TrainerRunner::new(source.clone()), limits).await?;
    let readiness = Readiness::new();
    readiness.set_ready();
    let services =
        Services::new().add_service(TrainerServer::new(jobs.clone(), source).into_server());
    let stopping = jobs.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("stopping training jobs before the server drains");
        stopping.shutdown().await;
    };
    serve(listener, services, readiness, shutdown).await?;
    Ok(())
}
