//! The EyeGAN synthetic image generator service (`eyegan.generator.v1.GeneratorService`).
//!
//! - `SubmitGenerate` starts a job ([`GenerateRunner`]) that, per class, samples a trained G
//!   with a seeded noise stream, scores every image with D, keeps those passing the filter
//!   (paper-code ≈ 0.532 by default, paper-text 0.76, none, or a number) until `count` are kept
//!   or `max_attempts` are spent, or takes samples a trainer collected during training; then it
//!   adds every kept image, with provenance, to a NEW version of the base dataset (train split
//!   only) through the dataset service's `AddImages`. Progress is checkpointed after every
//!   batch (kept PNGs as blobs), so a restarted service resumes without duplicating images.
//! - `Sample` streams kept images straight back as PNG pieces.
//! - `GetJob` / `ListJobs` / `CancelJob` / `WatchJob` come from `eyegan_jobs`.
//!
//! Entry point: [`run`] (tests and the binary call it on a bound listener).

mod checkpoint_source;
mod collected;
mod dataset_link;
mod device;
mod error;
mod filter;
mod gan_pair;
mod generate_job;
mod progress_state;
mod runner;
mod sample;
mod service;
mod spec;
mod submission;

use std::future::Future;

use eyegan_dataset::client::DatasetClient;
use eyegan_jobs::{JobLimitArgs, JobLimits, JobManager};
use eyegan_service::{serve, DatasetEndpointArgs, Readiness, Services};
use eyegan_store::Store;
use tokio::net::TcpListener;

pub use checkpoint_source::{
    StoredGanCheckpoint, DISCRIMINATOR_FILE, GENERATOR_FILE, OPTIMIZER_FILE, STATE_FILE,
};
pub use collected::{CollectedManifest, CollectedSample, StoredObject};
pub use error::GeneratorError;
pub use gan_pair::{class_seed, filter_batch, Candidate, FilteredBatch, GanPair};
pub use generate_job::job_marker;
pub use progress_state::{ClassProgress, GenerationState, KeptImage};
pub use runner::{ClassCount, GenerateOutput, GenerateRunner, SERVICE_NAME};
pub use sample::{chunk_png, MAX_CHUNK_BYTES, MAX_SAMPLE_COUNT};
pub use service::GeneratorServer;
pub use spec::{ClassSource, ClassSpec, DatasetVersion, GenerateSpec};

/// Default port of the generator service.
pub const DEFAULT_PORT: u16 = eyegan_service::ports::GENERATOR;

/// Settings of the generator service.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// URL of the dataset service.
    pub dataset_endpoint: String,
    /// Job limits (default: 1 running, 16 queued, last 3 checkpoints kept).
    pub limits: JobLimits,
}

/// The generator binary's own flags.
#[derive(Debug, Clone, clap::Args)]
pub struct GeneratorArgs {
    /// Where the dataset service is.
    #[command(flatten)]
    pub dataset: DatasetEndpointArgs,
    /// Job limits (running, queued, checkpoints kept).
    #[command(flatten)]
    pub limits: JobLimitArgs,
}

impl From<GeneratorArgs> for GeneratorConfig {
    fn from(args: GeneratorArgs) -> Self {
        Self {
            dataset_endpoint: args.dataset.dataset_endpoint,
            limits: args.limits.into(),
        }
    }
}

/// Serves the generator service (with health and reflection) on `listener` over `store` until
/// `shutdown` completes. Unfinished jobs found in the store resume at start; on shutdown,
/// running jobs stop at their next batch (checkpointed) and resume on the next start.
pub async fn run<F>(
    listener: TcpListener,
    store: Store,
    config: GeneratorConfig,
    shutdown: F,
) -> Result<(), GeneratorError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let channel = eyegan_service::service_channel(&config.dataset_endpoint)?;
    let runner = GenerateRunner::new(DatasetClient::from_channel(channel));
    let jobs = JobManager::start(store.clone(), runner, config.limits).await?;
    let readiness = Readiness::new();
    readiness.set_ready();
    let services =
        Services::new().add_service(GeneratorServer::new(jobs.clone(), store).into_server());
    let stopping = jobs.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.shutdown().await;
    };
    serve(listener, services, readiness, shutdown).await?;
    Ok(())
}
