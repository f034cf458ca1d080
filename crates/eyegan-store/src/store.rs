//! The [`Store`] handle: blobs, JSON documents and raw objects over one backend.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::blob::BlobRef;
use crate::key::{parse_key, parse_prefix};
use crate::url::open_backend;
use crate::StoreError;

/// How many blob existence checks [`Store::put_manifest_new`] runs at once.
const MANIFEST_CHECK_CONCURRENCY: usize = 16;

/// A handle on one object store. Cheap to clone: clones share the backend.
///
/// Keys are `/`-separated and every segment must pass
/// [`validate_key_segment`](crate::validate_key_segment).
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn ObjectStore>,
    url: Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

impl Store {
    /// Opens a store by URL:
    /// - `file:///abs/dir` or `file://localhost/abs/dir`: a local directory (created when
    ///   missing); `file://rel/dir` and a plain path (`./eyegan-data`, `/abs/dir`) are accepted too
    ///   and resolved against the working directory. Writes are atomic (staged file + rename) and
    ///   fsynced.
    /// - `memory://`: a fresh, empty in-memory store. Every `open("memory://")` returns a NEW,
    ///   independent store; share one by cloning the returned handle.
    /// - `s3://bucket/optional/prefix`: needs the cargo feature `s3`; endpoint, region and
    ///   credentials come from `AWS_*` variables (`AWS_ENDPOINT`, `AWS_REGION`,
    ///   `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for plain HTTP).
    ///   Create-only writes use conditional puts (`If-None-Match`), supported by AWS S3 and MinIO.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            backend: open_backend(url)?,
            url: Arc::from(url),
        })
    }

    /// A fresh in-memory store (same as `Store::open("memory://")`).
    pub fn in_memory() -> Self {
        Self {
            backend: Arc::new(object_store::memory::InMemory::new()),
            url: Arc::from("memory://"),
        }
    }

    /// The URL this store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stores `bytes` as a content-addressed blob and returns its reference. Idempotent: a blob
    /// already present with the same size is not written again.
    pub async fn put_blob(&self, bytes: impl Into<Bytes>) -> Result<BlobRef, StoreError> {
        let bytes = bytes.into();
        let blob = BlobRef::of(&bytes);
        let key = blob.key();
        let path = parse_key(&key)?;
        match self.backend.head(&path).await {
            Ok(meta) if meta.size == blob.size => return Ok(blob),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(StoreError::from_backend(&key, error)),
        }
        // Overwrite is safe: the content at a blob key is fixed by its hash.
        self.backend
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map_err(|error| StoreError::from_backend(&key, error))?;
        tracing::trace!(sha256 = %blob.sha256, size = blob.size, "stored blob");
        Ok(blob)
    }

    /// Reads a blob and verifies its size and SHA-256: [`StoreError::NotFound`] when missing,
    /// [`StoreError::Corrupt`] on mismatch.
    pub async fn get_blob(&self, blob: &BlobRef) -> Result<Bytes, StoreError> {
        let blob = BlobRef::new(blob.sha256.clone(), blob.size)?;
        let key = blob.key();
        let bytes = self.read(&key).await?;
        blob.verify(&bytes)?;
        Ok(bytes)
    }

    /// True when a blob with this hash and size is present (its content is not re-hashed).
    pub async fn has_blob(&self, blob: &BlobRef) -> Result<bool, StoreError> {
        let blob = BlobRef::new(blob.sha256.clone(), blob.size)?;
        let key = blob.key();
        match self.backend.head(&parse_key(&key)?).await {
            Ok(meta) => Ok(meta.size == blob.size),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(StoreError::from_backend(&key, error)),
        }
    }

    /// Writes a manifest that references blobs, enforcing the write-order rule: every blob in
    /// `references` must already be stored (else [`StoreError::Corrupt`] naming the missing
    /// blob, and nothing is written), then the manifest is created create-only
    /// ([`StoreError::AlreadyExists`] when `key` exists). Callers write blobs first and the
    /// manifest last, so a crash leaves at most unreferenced blobs, never a manifest that points
    /// at nothing.
    pub async fn put_manifest_new<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        references: &[BlobRef],
    ) -> Result<(), StoreError> {
        let missing = futures::stream::iter(references)
            .map(|blob| async move { (blob, self.has_blob(blob).await) })
            .buffer_unordered(MANIFEST_CHECK_CONCURRENCY)
            .filter_map(|(blob, present)| async move {
                match present {
                    Ok(true) => None,
                    Ok(false) => Some(Ok(blob.clone())),
                    Err(error) => Some(Err(error)),
                }
            })
            .boxed()
            .next()
            .await;
        match missing {
            None => self.put_json_new(key, value).await,
            Some(Err(error)) => Err(error),
            Some(Ok(blob)) => Err(StoreError::Corrupt {
                key: key.to_owned(),
                reason: format!("references missing blob {}", blob.key()),
            }),
        }
    }

    /// Writes `value` as pretty JSON at `key` only if nothing is there yet (atomic create):
    /// [`StoreError::AlreadyExists`] otherwise. Use for immutable documents such as dataset
    /// version manifests; use [`Store::put_manifest_new`] when the document references blobs.
    pub async fn put_json_new<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = encode_json(key, value)?;
        self.put_bytes_with_mode(key, bytes, PutMode::Create).await
    }

    /// Writes `value` as pretty JSON at `key`, replacing what is there (atomic overwrite). Use for
    /// mutable records such as job records.
    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = encode_json(key, value)?;
        self.put_bytes_with_mode(key, bytes, PutMode::Overwrite)
            .await
    }

    /// Reads the JSON document at `key`: `Ok(None)` when absent, [`StoreError::Corrupt`] (with
    /// line and column) when it does not decode as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.get_bytes(key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| StoreError::Corrupt {
                key: key.to_owned(),
                reason: format!("invalid json document: {error}"),
            })
    }

    /// Writes raw bytes at `key`, replacing what is there (atomic overwrite).
    pub async fn put_bytes(&self, key: &str, bytes: impl Into<Bytes>) -> Result<(), StoreError> {
        self.put_bytes_with_mode(key, bytes.into(), PutMode::Overwrite)
            .await
    }

    /// Writes raw bytes at `key` only if nothing is there yet: [`StoreError::AlreadyExists`]
    /// otherwise.
    pub async fn put_bytes_new(
        &self,
        key: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<(), StoreError> {
        self.put_bytes_with_mode(key, bytes.into(), PutMode::Create)
            .await
    }

    /// Reads the raw bytes at `key`; `Ok(None)` when absent.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self.read(key).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Deletes the object at `key`; deleting a missing object succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.backend.delete(&parse_key(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(StoreError::from_backend(key, error)),
        }
    }

    /// Every key below `prefix` (recursively), sorted. The prefix matches whole segments:
    /// `jobs` lists `jobs/a.json` but not `jobs2/b.json`. An empty prefix lists the whole store.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let path = parse_prefix(prefix)?;
        let mut keys: Vec<String> = self
            .backend
            .list(path.as_ref())
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(|error| StoreError::from_backend(prefix, error))?;
        keys.sort();
        Ok(keys)
    }

    /// Names of the immediate children of `prefix` (objects and "directories"), sorted and
    /// deduplicated: `datasets` → `["eyes", "phantom"]` for keys `datasets/eyes/...`,
    /// `datasets/phantom/...`.
    pub async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let path = parse_prefix(prefix)?;
        let listing = self
            .backend
            .list_with_delimiter(path.as_ref())
            .await
            .map_err(|error| StoreError::from_backend(prefix, error))?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .chain(listing.objects.iter().map(|meta| &meta.location))
            .filter_map(|child| child.filename().map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn read(&self, key: &str) -> Result<Bytes, StoreError> {
        let path = parse_key(key)?;
        let result = self
            .backend
            .get(&path)
            .await
            .map_err(|error| StoreError::from_backend(key, error))?;
        result
            .bytes()
            .await
            .map_err(|error| StoreError::from_backend(key, error))
    }

    async fn put_bytes_with_mode(
        &self,
        key: &str,
        bytes: Bytes,
        mode: PutMode,
    ) -> Result<(), StoreError> {
        let path = parse_key(key)?;
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.backend
            .put_opts(&path, PutPayload::from_bytes(bytes), options)
            .await
            .map_err(|error| StoreError::from_backend(key, error))?;
        Ok(())
    }
}

fn encode_json<T: Serialize>(key: &str, value: &T) -> Result<Bytes, StoreError> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|source| StoreError::Encode {
            key: key.to_owned(),
            source,
        })
}
