//! [`ServiceError`]: the errors a request handler answers with, and the ONE mapping from them to
//! gRPC status codes (quickwit-proto `error.rs` style).
//!
//! Client-facing variants carry messages written for the client (naming the field, the missing
//! dataset, the limit). [`ServiceError::Internal`] carries the real cause, which is logged with an
//! error id and replaced by `internal error (error id …)` in the status, so nothing internal
//! (paths, backend messages, backtraces) ever reaches a client.

use std::error::Error as StdError;

use eyegan_store::StoreError;
use tonic::{Code, Status};

/// A boxed error cause.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What a request handler answers with when it fails.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A request field is invalid. → `INVALID_ARGUMENT`.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto (`gan_config.batch_size`).
        field: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A referenced thing does not exist. → `NOT_FOUND`.
    #[error("{what} not found")]
    NotFound {
        /// What is missing, e.g. `dataset "eyes" version 3`.
        what: String,
    },
    /// The thing to create exists already. → `ALREADY_EXISTS`.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What exists, e.g. `dataset "eyes"`.
        what: String,
    },
    /// The request is valid but the system is not in a state to run it (inputs changed under a
    /// job, a frozen split, a finished job). → `FAILED_PRECONDITION`.
    #[error("{reason}")]
    FailedPrecondition {
        /// Why, for the client.
        reason: String,
    },
    /// A limit was reached (queue full, too many streams, upload too large). →
    /// `RESOURCE_EXHAUSTED`.
    #[error("{reason}")]
    ResourceExhausted {
        /// Which limit, for the client.
        reason: String,
    },
    /// The work was cancelled. → `CANCELLED`.
    #[error("{reason}")]
    Cancelled {
        /// Why, for the client.
        reason: String,
    },
    /// A dependency (store, another service) is unreachable or the service is shutting down;
    /// retrying later may succeed. → `UNAVAILABLE`.
    #[error("{reason}")]
    Unavailable {
        /// What is unavailable, for the client (no internal details).
        reason: String,
    },
    /// The caller is not authenticated. → `UNAUTHENTICATED`.
    #[error("{reason}")]
    Unauthenticated {
        /// Why, for the client.
        reason: String,
    },
    /// A bug or an unexpected failure. → `INTERNAL`; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

impl ServiceError {
    /// `INVALID_ARGUMENT` naming `field`.
    pub fn invalid_argument(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// `NOT_FOUND` for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// `FAILED_PRECONDITION` with a reason for the client.
    pub fn failed_precondition(reason: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason: reason.into(),
        }
    }

    /// `RESOURCE_EXHAUSTED` with the limit for the client.
    pub fn resource_exhausted(reason: impl Into<String>) -> Self {
        Self::ResourceExhausted {
            reason: reason.into(),
        }
    }

    /// `UNAVAILABLE` with a reason for the client.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
        }
    }

    /// `INTERNAL` from any error; the error is logged when the status is built, never sent.
    pub fn internal(error: impl Into<BoxError>) -> Self {
        Self::Internal(error.into())
    }

    /// The gRPC code of this error: the one exhaustive mapping.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument { .. } => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::ResourceExhausted { .. } => Code::ResourceExhausted,
            Self::Cancelled { .. } => Code::Cancelled,
            Self::Unavailable { .. } => Code::Unavailable,
            Self::Unauthenticated { .. } => Code::Unauthenticated,
            Self::Internal(_) => Code::Internal,
        }
    }
}

/// Checks a client-supplied name that becomes part of a store key (dataset, class, file name),
/// answering `INVALID_ARGUMENT` naming `field` when it could escape its prefix.
pub fn validate_name(field: &str, value: &str) -> Result<(), ServiceError> {
    eyegan_store::validate_key_segment(value).map_err(|error| match error {
        StoreError::InvalidKey { key, reason } => {
            ServiceError::invalid_argument(field, format!("{key:?}: {reason}"))
        }
        other => ServiceError::internal(other),
    })
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        match error {
            ServiceError::Internal(cause) => {
                let error_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(%error_id, error = %ErrorChain(cause.as_ref()), "internal error");
                Status::new(code, format!("internal error (error id {error_id})"))
            }
            client_facing => Status::new(code, client_facing.to_string()),
        }
    }
}

/// Store errors: missing and existing objects keep their meaning (the key is part of the API,
/// e.g. `ObjectRef.key`); a bad key is the client's; backend failures are `UNAVAILABLE` with a
/// generic message (the cause is logged); corrupt data and the rest are internal.
impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { key } => Self::not_found(format!("stored object {key:?}")),
            StoreError::AlreadyExists { key } => Self::AlreadyExists {
                what: format!("stored object {key:?}"),
            },
            StoreError::InvalidKey { key, reason } => {
                Self::invalid_argument("name", format!("{key:?}: {reason}"))
            }
            StoreError::Backend { .. } => {
                let error_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(%error_id, error = %ErrorChain(&error), "store backend failed");
                Self::unavailable(format!("storage is unavailable (error id {error_id})"))
            }
            StoreError::Corrupt { .. }
            | StoreError::InvalidUrl { .. }
            | StoreError::Encode { .. } => Self::internal(error),
        }
    }
}

/// Displays an error and its `source()` chain as `outer: inner: innermost`.
#[derive(Debug)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// When reading a client's request stream failed because one message was over the server's
/// decode limit (tonic reports that as OUT_OF_RANGE), the reason to answer with
/// RESOURCE_EXHAUSTED; `None` for any other stream failure.
pub fn oversized_message(status: &tonic::Status) -> Option<String> {
    (status.code() == tonic::Code::OutOfRange && status.message().contains("too large")).then(
        || {
            format!(
                "a request message is over this server's --max-message-bytes ({})",
                status.message()
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_facing_errors_keep_their_message_and_code() {
        let status = Status::from(ServiceError::invalid_argument(
            "gan_config.batch_size",
            "must be at least 1",
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid gan_config.batch_size: must be at least 1"
        );
        let status = Status::from(ServiceError::not_found("dataset \"eyes\" version 3"));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "dataset \"eyes\" version 3 not found");
        for (error, code) in [
            (
                ServiceError::AlreadyExists { what: "x".into() },
                Code::AlreadyExists,
            ),
            (
                ServiceError::failed_precondition("x"),
                Code::FailedPrecondition,
            ),
            (
                ServiceError::resource_exhausted("x"),
                Code::ResourceExhausted,
            ),
            (
                ServiceError::Cancelled { reason: "x".into() },
                Code::Cancelled,
            ),
            (ServiceError::unavailable("x"), Code::Unavailable),
            (
                ServiceError::Unauthenticated { reason: "x".into() },
                Code::Unauthenticated,
            ),
        ] {
            assert_eq!(Status::from(error).code(), code);
        }
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let cause = std::io::Error::other("/secret/path/weights.safetensors: permission denied");
        let status = Status::from(ServiceError::internal(cause));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"), "{}", status.message());
        assert!(status.message().starts_with("internal error (error id "));
        assert!(status.details().is_empty());
    }

    #[test]
    fn store_errors_map_without_leaking_backend_details() {
        let backend = StoreError::Backend {
            key: "jobs/j1.json".into(),
            source: object_store_error("disk /var/lib/secret is full"),
        };
        let status = Status::from(ServiceError::from(backend));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("secret"), "{}", status.message());

        let corrupt = StoreError::Corrupt {
            key: "blobs/sha256/ab/ab".into(),
            reason: "sha256 is 00, expected ab".into(),
        };
        let status = Status::from(ServiceError::from(corrupt));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("sha256"), "{}", status.message());

        let missing = StoreError::NotFound {
            key: "datasets/eyes/3.json".into(),
        };
        assert_eq!(
            Status::from(ServiceError::from(missing)).code(),
            Code::NotFound
        );
    }

    #[test]
    fn names_that_escape_their_prefix_are_invalid_arguments() {
        validate_name("class_name", "dr").unwrap();
        let error = validate_name("class_name", "../x").unwrap_err();
        let status = Status::from(error);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().starts_with("invalid class_name: "),
            "{}",
            status.message()
        );
    }

    #[test]
    fn error_chain_shows_every_cause() {
        let outer = ServiceError::internal(std::io::Error::other("disk full"));
        assert_eq!(
            ErrorChain(&outer).to_string(),
            "internal error: disk full: disk full"
        );
    }

    fn object_store_error(message: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "test",
            source: message.into(),
        }
    }
}
