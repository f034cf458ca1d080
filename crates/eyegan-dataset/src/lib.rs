//! The EyeGAN dataset storage service (`eyegan.dataset.v1.DatasetService`).
//!
//! - Imports ImageFolder trees (one subfolder per class) uploaded by a client stream, read from a
//!   server folder or a store prefix, or rendered by the fundus phantom; every file is decoded
//!   under a pixel budget, cropped to the fundus, resized to a square PNG and recorded with its
//!   original size, SHA-256 and source name, or reported with the reason it was refused.
//! - Stores immutable versions in the object store (blobs first, manifests create-only last), so
//!   a failed or cancelled import leaves nothing visible.
//! - Makes stratified, seeded, optionally grouped splits that are frozen once made; derives new
//!   versions with synthetic images (train only); streams and exports versions.
//!
//! Entry points: [`run`] serves the service on a listener (tests, the binary, the orchestrator);
//! [`client::DatasetClient`] is the typed client.

mod add_images;
mod create_split;
mod error;
mod export;
mod model;
mod names;
mod repository;
mod server_paths;
mod service;
mod split;
mod stream_images;
mod summary;

pub mod client;
pub mod import;

use std::future::Future;
use std::time::Duration;

use eyegan_service::{serve, Readiness, ServeError, Services};
use eyegan_store::Store;
use tokio::net::TcpListener;

pub use error::DatasetError;
pub use export::export_path;
pub use model::{
    DatasetRecord, ImageRecord, ImportSettings, ProvenanceRecord, SourceKind, SplitName,
    SplitRecord, SplitSpecRecord, VersionRecord,
};
pub use names::{validate_class_name, validate_dataset_name};
pub use repository::Repository;
pub use service::{DatasetConfig, DatasetServer};
pub use split::{assign_splits, SplitItem, SplitRatios};

/// Default port of the dataset service.
pub const DEFAULT_PORT: u16 = 50051;

/// Wait between store probes while the store is unreachable at start-up.
const STORE_PROBE_RETRY: Duration = Duration::from_secs(2);

/// Serves the dataset service (with health and reflection) on `listener` over `store` until
/// `shutdown` completes. Health reports NOT_SERVING until the store answered a first listing.
pub async fn run<F>(
    listener: TcpListener,
    store: Store,
    config: DatasetConfig,
    shutdown: F,
) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let readiness = Readiness::new();
    let probe = tokio::spawn(probe_store(store.clone(), readiness.clone()));
    let services = Services::new().add_service(DatasetServer::new(store, config).into_server());
    let result = serve(listener, services, readiness, shutdown).await;
    probe.abort();
    result
}

/// Marks the service ready once the store answers.
async fn probe_store(store: Store, readiness: Readiness) {
    loop {
        match store.list_children("datasets").await {
            Ok(datasets) => {
                tracing::info!(store = %store.url(), datasets = datasets.len(), "store is reachable");
                readiness.set_ready();
                return;
            }
            Err(error) => {
                tracing::warn!(store = %store.url(), error = %error, "store is not reachable yet");
                tokio::time::sleep(STORE_PROBE_RETRY).await;
            }
        }
    }
}
