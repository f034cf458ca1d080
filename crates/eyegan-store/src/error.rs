//! The error type of every store operation.

/// What went wrong in a store operation. Every variant names the key or URL involved.
///
/// Messages may contain store keys and backend details: callers that answer clients map this to
/// a gRPC status through `eyegan-service`, which hides `Backend` details.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No object at `key`.
    #[error("object not found: {key}")]
    NotFound {
        /// The missing key.
        key: String,
    },
    /// A create-only write found an object already at `key`.
    #[error("object already exists: {key}")]
    AlreadyExists {
        /// The key that exists.
        key: String,
    },
    /// The object at `key` is not what it should be: hash or size mismatch, undecodable JSON, or
    /// a manifest whose referenced blob is missing.
    #[error("corrupt object {key}: {reason}")]
    Corrupt {
        /// The offending key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A store URL that cannot be opened.
    #[error("invalid store url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (credentials are never part of store URLs).
        url: String,
        /// Why it cannot be opened.
        reason: String,
    },
    /// A key, key segment or blob reference that is unsafe or malformed.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key or segment.
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A value could not be encoded as JSON.
    #[error("cannot encode {key} as json: {source}")]
    Encode {
        /// The key that was being written.
        key: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// The storage backend failed (I/O, network, permissions).
    #[error("store backend error on {key}: {source}")]
    Backend {
        /// The key of the failed operation (empty when not tied to one key).
        key: String,
        /// The backend's error.
        #[source]
        source: object_store::Error,
    },
}

impl StoreError {
    /// Converts a backend error on `key`, turning the backend's not-found and already-exists
    /// answers into [`StoreError::NotFound`] and [`StoreError::AlreadyExists`].
    pub(crate) fn from_backend(key: &str, source: object_store::Error) -> Self {
        match source {
            object_store::Error::NotFound { .. } => Self::NotFound {
                key: key.to_owned(),
            },
            object_store::Error::AlreadyExists { .. } => Self::AlreadyExists {
                key: key.to_owned(),
            },
            source => Self::Backend {
                key: key.to_owned(),
                source,
            },
        }
    }

    /// True for [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}
