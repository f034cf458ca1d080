//! The EyeGAN GMD classifier service (`eyegan.classifier.v1.ClassifierService`).
//!
//! - **Training** is a job of the shared job system ([`eyegan_jobs`]): `SubmitTrainClassifier`
//!   resolves and checks the request against the dataset service, then [`ClassifierRunner`]
//!   fetches the train and validation splits (`StreamImages`), trains
//!   [`eyegan_nn::ClassifierTrainer`] epoch by epoch on a blocking thread (cancellation checked
//!   after every batch), streams and stores the per-epoch metrics, and checkpoints every
//!   `checkpoint_every_epochs` epochs so a restarted service resumes exactly.
//! - **Models** are [`ModelRecord`]s: a JSON record naming the weights, the class names, the
//!   image size and the dataset's fundus-crop setting, so evaluation and prediction map outputs
//!   to class names and preprocess uploads like the import did.
//! - **Evaluate** streams a split through the model in chunks and reports
//!   [`eyegan_metrics::classification_report`] plus per-image predictions.
//! - **Predict** preprocesses one uploaded photograph exactly as the import did and returns the
//!   class probabilities.
//!
//! Entry point: [`run`] serves the service on a listener (tests, the binary, the orchestrator).

mod dataset_source;
mod device;
mod error;
mod evaluate;
mod history;
mod model_record;
mod predict;
mod proto_convert;
pub use proto_convert::MAX_ROTATION_DEGREES;
mod runner;
mod service;
mod spec;
mod upload;

use std::future::Future;

use eyegan_jobs::{JobLimits, JobManager};
use eyegan_service::{serve, Readiness, Services};
use eyegan_store::Store;
use tokio::net::TcpListener;

pub use dataset_source::{DatasetSource, LabelledImages};
pub use device::resolve_device;
pub use error::ClassifierError;
pub use model_record::{load_model, LoadedModel, ModelRecord, StoredObject};
pub use runner::{ClassifierRunner, TrainOutput, SERVICE_NAME};
pub use service::ClassifierServer;
pub use spec::{SplitChoice, TrainSpec};

/// Default port of the classifier service.
pub const DEFAULT_PORT: u16 = eyegan_service::ports::CLASSIFIER;

/// Default largest accepted `Predict` upload, in bytes (64 MiB).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 64 * 1024 * 1024;

/// Default largest accepted `Predict` image, in pixels (checked from the header, before
/// decoding).
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;

/// Settings of the classifier service beyond its store.
#[derive(Debug, Clone)]
pub struct ClassifierConfig {
    /// URL of the dataset service (`http://host:port`).
    pub dataset_endpoint: String,
    /// Job concurrency, queue and checkpoint retention.
    pub limits: JobLimits,
    /// Largest accepted `Predict` upload, in bytes.
    pub max_upload_bytes: u64,
    /// Largest accepted `Predict` image, in pixels.
    pub max_pixels: u64,
}

impl ClassifierConfig {
    /// Defaults with the dataset service at `dataset_endpoint`.
    pub fn new(dataset_endpoint: impl Into<String>) -> Self {
        Self {
            dataset_endpoint: dataset_endpoint.into(),
            limits: JobLimits::default(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Serves the classifier service (with health and reflection) on `listener` over `store` until
/// `shutdown` completes. Unfinished training jobs found in the store resume from their last
/// checkpoint; health reports SERVING once they are queued again. On shutdown running jobs are
/// interrupted at their next batch (they resume on the next start) before the server stops.
pub async fn run<F>(
    listener: TcpListener,
    store: Store,
    config: ClassifierConfig,
    shutdown: F,
) -> Result<(), ClassifierError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let source = DatasetSource::new(&config.dataset_endpoint)?;
    let runner = ClassifierRunner::new(source.clone());
    let jobs = JobManager::start(store.clone(), runner, config.limits.clone()).await?;
    let server = ClassifierServer::new(jobs.clone(), store, source, &config);
    let readiness = Readiness::new();
    readiness.set_ready();
    let services = Services::new().add_service(server.into_server());
    let stop_jobs = jobs.clone();
    let shutdown = async move {
        shutdown.await;
        stop_jobs.shutdown().await;
    };
    serve(listener, services, readiness, shutdown).await?;
    // Idempotent: makes sure no job outlives the server when serving failed early.
    jobs.shutdown().await;
    Ok(())
}
