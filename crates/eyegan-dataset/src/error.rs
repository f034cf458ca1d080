//! The error type of the dataset service and its mapping to gRPC status codes.

use eyegan_service::ServiceError;
use eyegan_store::StoreError;

/// Why a dataset operation failed.
///
/// `InvalidArgument`, `NotFound`, `AlreadyExists` and `FailedPrecondition` messages are written
/// for the client; `Store`, `Io` and `Internal` details are logged and never sent.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A request field is malformed or out of range.
    #[error("invalid argument `{field}`: {reason}")]
    InvalidArgument {
        /// The field, as named in the protobuf request (e.g. `header.dataset_name`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A dataset, version or path does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (e.g. "dataset `eyes`").
        what: String,
    },
    /// Something to be created already exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What exists (e.g. "dataset `eyes`").
        what: String,
    },
    /// The request is valid but the state does not allow it (e.g. re-splitting a version).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A server limit was reached (e.g. files or bytes of one import).
    #[error("{0}")]
    ResourceExhausted(String),
    /// The client went away or cancelled the stream.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// The object store failed.
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    /// A server-side file operation failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A bug or an unexpected runtime failure (e.g. a panicked worker task).
    #[error("internal error: {0}")]
    Internal(String),
}

impl DatasetError {
    /// An [`DatasetError::InvalidArgument`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A [`DatasetError::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Why reading the client's upload stream failed: a message over `--max-message-bytes` is
    /// [`DatasetError::ResourceExhausted`], anything else [`DatasetError::Cancelled`].
    pub fn upload_stream(status: &tonic::Status) -> Self {
        match eyegan_service::oversized_message(status) {
            Some(reason) => Self::ResourceExhausted(reason),
            None => Self::Cancelled(format!(
                "the upload stream ended with an error: {}",
                status.message()
            )),
        }
    }
}

impl From<tokio::task::JoinError> for DatasetError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::Internal(format!("worker task failed: {error}"))
    }
}

impl From<DatasetError> for ServiceError {
    /// The dataset errors in terms of the shared error type, whose one mapping to gRPC codes
    /// logs internal causes and never sends them.
    fn from(error: DatasetError) -> Self {
        match error {
            DatasetError::InvalidArgument { field, reason } => {
                ServiceError::invalid_argument(field, reason)
            }
            DatasetError::NotFound { what } => ServiceError::not_found(what),
            DatasetError::AlreadyExists { what } => ServiceError::AlreadyExists { what },
            DatasetError::FailedPrecondition(reason) => ServiceError::failed_precondition(reason),
            DatasetError::ResourceExhausted(reason) => ServiceError::resource_exhausted(reason),
            DatasetError::Cancelled(reason) => ServiceError::Cancelled { reason },
            DatasetError::Store(error) => ServiceError::from(error),
            error @ (DatasetError::Io { .. } | DatasetError::Internal(_)) => {
                ServiceError::internal(error)
            }
        }
    }
}

impl From<DatasetError> for tonic::Status {
    fn from(error: DatasetError) -> Self {
        if let DatasetError::Cancelled(reason) = &error {
            tracing::info!(%reason, "request cancelled; nothing was published");
        }
        tonic::Status::from(ServiceError::from(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_keep_their_message_and_internal_ones_hide_it() {
        let status = tonic::Status::from(DatasetError::invalid("seed", "must be set"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("seed"), "{}", status.message());
        let status = tonic::Status::from(DatasetError::FailedPrecondition("frozen".into()));
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);

        let status = tonic::Status::from(DatasetError::Io {
            path: "/secret/dir".into(),
            source: std::io::Error::other("disk on fire"),
        });
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("secret"));
        assert!(!status.message().contains("fire"));
    }
}
