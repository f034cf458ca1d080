//! Opening a backend from a store URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::ObjectStore;

use crate::StoreError;

/// Opens the backend a store URL names. See [`crate::Store::open`] for the accepted forms.
pub(crate) fn open_backend(url: &str) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let invalid = |reason: String| StoreError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    if url.trim().is_empty() {
        return Err(invalid("the store url is empty".to_owned()));
    }
    if url == "memory://" || url == "memory:" {
        return Ok(Arc::new(InMemory::new()));
    }
    if let Some(rest) = url.strip_prefix("file://") {
        return open_local(url, &file_url_path(url, rest)?);
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        return open_s3(url, rest);
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(invalid(format!(
            "unsupported scheme {scheme:?}; use file://, memory:// or s3://"
        )));
    }
    open_local(url, Path::new(url))
}

/// The directory of a `file://` URL: `file:///abs`, `file://localhost/abs`, or (an EyeGAN
/// convenience) `file://relative/dir`, resolved against the working directory.
fn file_url_path(url: &str, rest: &str) -> Result<PathBuf, StoreError> {
    if rest.starts_with('/') || rest.starts_with("localhost/") {
        let parsed = ::url::Url::parse(url).map_err(|error| StoreError::InvalidUrl {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
        return parsed.to_file_path().map_err(|()| StoreError::InvalidUrl {
            url: url.to_owned(),
            reason: "not a local file path".to_owned(),
        });
    }
    if rest.is_empty() {
        return Err(StoreError::InvalidUrl {
            url: url.to_owned(),
            reason: "file:// needs a directory".to_owned(),
        });
    }
    Ok(PathBuf::from(rest))
}

/// A local directory store; the directory is created when missing.
fn open_local(url: &str, dir: &Path) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let invalid = |reason: String| StoreError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|error| {
        invalid(format!(
            "cannot create directory {}: {error}",
            dir.display()
        ))
    })?;
    if !dir.is_dir() {
        return Err(invalid(format!("{} is not a directory", dir.display())));
    }
    let store = LocalFileSystem::new_with_prefix(dir)
        .map_err(|error| invalid(error.to_string()))?
        .with_automatic_cleanup(true)
        .with_fsync(true);
    tracing::debug!(dir = %dir.display(), "opened local store");
    Ok(Arc::new(store))
}

#[cfg(feature = "s3")]
fn open_s3(url: &str, rest: &str) -> Result<Arc<dyn ObjectStore>, StoreError> {
    use object_store::aws::AmazonS3Builder;
    use object_store::prefix::PrefixStore;

    let invalid = |reason: String| StoreError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid("s3:// needs a bucket name".to_owned()));
    }
    // AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
    // AWS_ALLOW_HTTP=true (for plain-HTTP endpoints such as a local MinIO) come from the env.
    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .map_err(|error| invalid(error.to_string()))?;
    let prefix = prefix.trim_matches('/');
    tracing::debug!(bucket, prefix, "opened s3 store");
    if prefix.is_empty() {
        return Ok(Arc::new(s3));
    }
    let prefix = crate::key::parse_key(prefix).map_err(|error| invalid(error.to_string()))?;
    Ok(Arc::new(PrefixStore::new(s3, prefix)))
}

#[cfg(not(feature = "s3"))]
fn open_s3(url: &str, _rest: &str) -> Result<Arc<dyn ObjectStore>, StoreError> {
    Err(StoreError::InvalidUrl {
        url: url.to_owned(),
        reason: "s3:// stores need eyegan-store built with the cargo feature `s3`".to_owned(),
    })
}
