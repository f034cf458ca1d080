//! Why the generator service could not start or stopped.

use eyegan_jobs::JobError;
use eyegan_service::{ConnectError, ServeError};

/// A failure of [`crate::run`].
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// The dataset endpoint is malformed.
    #[error("bad dataset endpoint (--dataset-endpoint / EYEGAN_DATASET_ENDPOINT): {0}")]
    DatasetEndpoint(#[from] ConnectError),
    /// The job system could not start (store unreadable, bad limits).
    #[error("cannot start the job system: {0}")]
    Jobs(#[from] JobError),
    /// The gRPC server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}
