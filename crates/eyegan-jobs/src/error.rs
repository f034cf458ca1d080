//! The error type of the job system. Its gRPC mapping is the shared one of `eyegan-service`:
//! `JobError` → [`ServiceError`] → [`Status`].

use eyegan_service::{ErrorChain, ServiceError};
use eyegan_store::StoreError;
use tonic::{Code, Status};

/// What went wrong in a job operation or inside a job's run.
///
/// Runners return it from [`JobRunner::validate`](crate::JobRunner::validate) and
/// [`JobRunner::run`](crate::JobRunner::run); the manager returns it from every call.
/// Client-facing variants carry messages meant for clients; [`JobError::Store`] and
/// [`JobError::Internal`] carry details that are logged, never sent. `?` converts it into a
/// `tonic::Status` or a [`ServiceError`], and a [`ServiceError`] into it.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A request field is invalid; `field` names it (e.g. `spec.epochs`).
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The offending field, as the client spells it.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A referenced thing (job, dataset, checkpoint, ...) does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `job "5c1f..."`.
        what: String,
    },
    /// The thing to create exists already (a request id reused for a different request).
    #[error("{what} already exists")]
    AlreadyExists {
        /// What exists.
        what: String,
    },
    /// The request is valid but the system is not in a state that allows it (cancelling a
    /// finished job, inputs changed under a job).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The service's job queue is full.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The service is shutting down or a dependency is unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// The job was asked to stop (cancel or service shutdown). Runners return this, usually via
    /// [`JobContext::check_cancelled`](crate::JobContext::check_cancelled), when they notice
    /// cancellation; the manager then records CANCELLED or re-queues the job for resumption.
    #[error("job stopped on request")]
    Stopped,
    /// The object store failed. Logged in full; clients see a generic message.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an unexpected condition. Logged in full; clients see "internal error".
    #[error("internal error: {0}")]
    Internal(String),
}

impl JobError {
    /// An [`JobError::InvalidArgument`] for `field`.
    pub fn invalid_argument(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A [`JobError::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// The gRPC code this error maps to (the shared mapping of [`ServiceError`]).
    pub fn code(&self) -> Code {
        match self {
            Self::Store(StoreError::NotFound { .. }) => Code::NotFound,
            Self::Store(StoreError::AlreadyExists { .. }) => Code::AlreadyExists,
            Self::Store(StoreError::InvalidKey { .. }) => Code::InvalidArgument,
            Self::Store(StoreError::Backend { .. }) => Code::Unavailable,
            Self::Store(_) => Code::Internal,
            other => ServiceError::from(other.without_store()).code(),
        }
    }

    /// The text stored as a failed job's reason: the error's own text for client-facing
    /// variants, a generic text for store and internal errors (whose details may name paths or
    /// backends, and are logged instead).
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(StoreError::Backend { .. }) => "storage is unavailable".to_owned(),
            Self::Store(_) => "internal storage error".to_owned(),
            Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Converts to a gRPC status through the shared mapping; internals are logged, not sent.
    pub fn into_status(self) -> Status {
        Status::from(ServiceError::from(self))
    }

    /// A copy of a non-store error (store errors are not `Clone`; they become internal).
    fn without_store(&self) -> Self {
        match self {
            Self::InvalidArgument { field, reason } => Self::invalid_argument(field, reason),
            Self::NotFound { what } => Self::not_found(what),
            Self::AlreadyExists { what } => Self::AlreadyExists { what: what.clone() },
            Self::FailedPrecondition(reason) => Self::FailedPrecondition(reason.clone()),
            Self::ResourceExhausted(reason) => Self::ResourceExhausted(reason.clone()),
            Self::Unavailable(reason) => Self::Unavailable(reason.clone()),
            Self::Stopped => Self::Stopped,
            Self::Store(error) => Self::Internal(error.to_string()),
            Self::Internal(detail) => Self::Internal(detail.clone()),
        }
    }
}

impl From<JobError> for ServiceError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::InvalidArgument { field, reason } => Self::invalid_argument(field, reason),
            JobError::NotFound { what } => Self::not_found(what),
            JobError::AlreadyExists { what } => Self::AlreadyExists { what },
            JobError::FailedPrecondition(reason) => Self::failed_precondition(reason),
            JobError::ResourceExhausted(reason) => Self::resource_exhausted(reason),
            JobError::Unavailable(reason) => Self::unavailable(reason),
            JobError::Stopped => Self::Cancelled {
                reason: "job stopped on request".to_owned(),
            },
            JobError::Store(error) => Self::from(error),
            JobError::Internal(detail) => Self::internal(detail),
        }
    }
}

impl From<ServiceError> for JobError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidArgument { field, reason } => {
                Self::invalid_argument(field, reason)
            }
            ServiceError::NotFound { what } => Self::not_found(what),
            ServiceError::AlreadyExists { what } => Self::AlreadyExists { what },
            ServiceError::FailedPrecondition { reason } => Self::FailedPrecondition(reason),
            ServiceError::ResourceExhausted { reason } => Self::ResourceExhausted(reason),
            ServiceError::Cancelled { .. } => Self::Stopped,
            ServiceError::Unavailable { reason } => Self::Unavailable(reason),
            unexpected @ (ServiceError::Unauthenticated { .. } | ServiceError::Internal(_)) => {
                Self::Internal(ErrorChain(&unexpected).to_string())
            }
        }
    }
}

impl From<JobError> for Status {
    fn from(error: JobError) -> Self {
        error.into_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_keep_their_message_and_internals_are_hidden() {
        let status = JobError::invalid_argument("spec.target", "must be positive").into_status();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid spec.target: must be positive");

        let internal = JobError::Internal("/secret/path exploded".into());
        assert_eq!(internal.code(), Code::Internal);
        assert_eq!(internal.public_message(), "internal error");
        let status = internal.into_status();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"), "{}", status.message());

        let store = JobError::Store(StoreError::Corrupt {
            key: "jobs/x/job.json".into(),
            reason: "bad".into(),
        });
        assert_eq!(store.code(), Code::Internal);
        assert_eq!(store.public_message(), "internal storage error");
        let status = store.into_status();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("jobs/x"), "{}", status.message());
    }

    #[test]
    fn codes_agree_with_the_shared_mapping() {
        let errors = [
            JobError::invalid_argument("f", "r"),
            JobError::not_found("job"),
            JobError::AlreadyExists { what: "x".into() },
            JobError::FailedPrecondition("x".into()),
            JobError::ResourceExhausted("x".into()),
            JobError::Unavailable("x".into()),
            JobError::Stopped,
            JobError::Internal("x".into()),
            JobError::Store(StoreError::NotFound { key: "k".into() }),
            JobError::Store(StoreError::InvalidKey {
                key: "k".into(),
                reason: "r".into(),
            }),
            JobError::Store(StoreError::Backend {
                key: "k".into(),
                source: object_store::Error::Generic {
                    store: "test",
                    source: "disk /secret full".into(),
                },
            }),
        ];
        for error in errors {
            let code = error.code();
            assert_eq!(error.into_status().code(), code);
        }
    }

    #[test]
    fn service_errors_convert_for_runners() {
        let error = JobError::from(ServiceError::invalid_argument("class_name", "empty"));
        assert_eq!(error.to_string(), "invalid class_name: empty");
        let error = JobError::from(ServiceError::not_found("dataset \"eyes\""));
        assert_eq!(error.code(), Code::NotFound);
        let error = JobError::from(ServiceError::internal("disk on fire"));
        assert_eq!(error.public_message(), "internal error");
    }
}
