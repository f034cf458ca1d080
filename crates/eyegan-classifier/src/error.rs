//! Why the classifier service could not start or stopped with an error.

use eyegan_jobs::JobError;
use eyegan_service::{ConnectError, ServeError};

/// Start-up and serving errors of [`run`](crate::run).
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// `--dataset-endpoint` is not a usable URL.
    #[error("dataset endpoint (--dataset-endpoint / EYEGAN_DATASET_ENDPOINT): {0}")]
    DatasetEndpoint(#[from] ConnectError),
    /// The job manager could not load or resume the stored jobs.
    #[error("cannot start the job manager: {0}")]
    Jobs(#[from] JobError),
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}
