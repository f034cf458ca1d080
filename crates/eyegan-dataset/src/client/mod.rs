//! A typed client of the dataset service: import a local ImageFolder by streaming it, import a
//! phantom, list, split, export to a local folder, and plain-text summaries ([`format_version_summary`],
//! [`format_import_result`]).

mod text;

pub use text::{format_import_result, format_version_summary};

use std::path::{Path, PathBuf};

use eyegan_proto::common::v1::{Chunk, DatasetRef};
use eyegan_proto::dataset::v1::{self as pb, dataset_service_client::DatasetServiceClient};
use eyegan_service::ServiceChannel;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::import::MAX_CHUNK_BYTES;
use crate::server_paths::walk_files;

/// Messages buffered between the folder reader and the upload.
const UPLOAD_CHANNEL_DEPTH: usize = 8;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint URL is malformed or nothing answers there.
    #[error(transparent)]
    Connect(#[from] eyegan_service::ConnectError),
    /// The service answered with an error.
    #[error("the dataset service answered {:?}: {}", .0.code(), .0.message())]
    Status(tonic::Status),
    /// A local file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The service answered something the protocol does not allow.
    #[error("unexpected answer from the dataset service: {0}")]
    Protocol(String),
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        Self::Status(status)
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A connected dataset client. Cheap to clone (clones share the connection).
#[derive(Debug, Clone)]
pub struct DatasetClient {
    inner: DatasetServiceClient<ServiceChannel>,
}

impl DatasetClient {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:50051`).
    pub async fn connect(endpoint: &str) -> Result<Self, ClientError> {
        Ok(Self::from_channel(eyegan_service::connect(endpoint).await?))
    }

    /// A client over an existing channel (a plain [`tonic::transport::Channel`], or a
    /// [`ServiceChannel`] that presents a bearer token).
    pub fn from_channel(channel: impl Into<ServiceChannel>) -> Self {
        Self {
            inner: DatasetServiceClient::new(channel.into()),
        }
    }

    /// The generated client, for calls this wrapper does not cover.
    pub fn raw(&mut self) -> &mut DatasetServiceClient<ServiceChannel> {
        &mut self.inner
    }

    /// Uploads the ImageFolder tree at `folder` (one subfolder per class; hidden files skipped)
    /// as a new dataset. If a local file cannot be read, the upload is cancelled, so the
    /// service publishes nothing.
    pub async fn import_folder(
        &mut self,
        folder: &Path,
        header: pb::ImportHeader,
    ) -> Result<pb::ImportResult, ClientError> {
        let root = folder.to_path_buf();
        let files = tokio::task::spawn_blocking(move || walk_files(&root))
            .await
            .map_err(|e| ClientError::Protocol(format!("folder walk failed: {e}")))?
            .map_err(|e| io_error(folder, std::io::Error::other(e.to_string())))?;
        tracing::info!(folder = %folder.display(), files = files.len(), "uploading folder");

        let (sender, receiver) = mpsc::channel(UPLOAD_CHANNEL_DEPTH);
        let (failed_tx, failed_rx) = oneshot::channel::<ClientError>();
        let reader = tokio::spawn(async move {
            let first = pb::ImportRequest {
                item: Some(pb::import_request::Item::Header(header)),
            };
            if sender.send(first).await.is_err() {
                return;
            }
            for (relative_path, path, _) in files {
                match tokio::fs::read(&path).await {
                    Ok(bytes) => {
                        if !send_file(&sender, relative_path, &bytes).await {
                            return;
                        }
                    }
                    Err(source) => {
                        let _ = failed_tx.send(io_error(&path, source));
                        // Keep the stream open: the caller cancels the call.
                        std::future::pending::<()>().await;
                        return;
                    }
                }
            }
        });
        let call = self.inner.import(ReceiverStream::new(receiver));
        let outcome = tokio::select! {
            response = call => response.map_err(ClientError::from),
            Ok(error) = failed_rx => Err(error),
        };
        reader.abort();
        outcome?
            .into_inner()
            .result
            .ok_or_else(|| ClientError::Protocol("import response without a result".into()))
    }

    /// Renders and imports a phantom dataset.
    pub async fn import_phantom(
        &mut self,
        request: pb::ImportPhantomRequest,
    ) -> Result<pb::ImportResult, ClientError> {
        self.inner
            .import_phantom(request)
            .await?
            .into_inner()
            .result
            .ok_or_else(|| ClientError::Protocol("import response without a result".into()))
    }

    /// Every dataset.
    pub async fn list_datasets(&mut self) -> Result<Vec<pb::Dataset>, ClientError> {
        Ok(self
            .inner
            .list_datasets(pb::ListDatasetsRequest {})
            .await?
            .into_inner()
            .datasets)
    }

    /// Every version of a dataset, oldest first.
    pub async fn list_versions(
        &mut self,
        dataset_id: &str,
    ) -> Result<Vec<pb::VersionSummary>, ClientError> {
        Ok(self
            .inner
            .list_versions(pb::ListVersionsRequest {
                dataset_id: dataset_id.to_owned(),
            })
            .await?
            .into_inner()
            .versions)
    }

    /// One version's summary (`version` 0 = the latest).
    pub async fn get_version(
        &mut self,
        dataset_id: &str,
        version: u64,
    ) -> Result<pb::VersionSummary, ClientError> {
        self.inner
            .get_version(pb::GetVersionRequest {
                dataset: Some(DatasetRef {
                    dataset_id: dataset_id.to_owned(),
                    version,
                }),
            })
            .await?
            .into_inner()
            .version
            .ok_or_else(|| ClientError::Protocol("version response without a version".into()))
    }

    /// Splits a version (see `CreateSplitRequest`).
    pub async fn create_split(
        &mut self,
        request: pb::CreateSplitRequest,
    ) -> Result<pb::VersionSummary, ClientError> {
        self.inner
            .create_split(request)
            .await?
            .into_inner()
            .version
            .ok_or_else(|| ClientError::Protocol("split response without a version".into()))
    }

    /// Exports a version by streaming it back and writing `<folder>/[<split>/]<class>/<id>.png`
    /// locally (the folder is created; existing files are overwritten).
    pub async fn export_to_folder(
        &mut self,
        dataset: DatasetRef,
        split_folders: bool,
        folder: &Path,
    ) -> Result<pb::ExportSummary, ClientError> {
        let mut stream = self
            .inner
            .export_version(pb::ExportVersionRequest {
                dataset: Some(dataset),
                stream: true,
                split_folders,
                ..Default::default()
            })
            .await?
            .into_inner();
        let mut current: Option<(PathBuf, pb::ExportedFile, Vec<u8>)> = None;
        while let Some(message) = stream.next().await {
            match message?.item {
                Some(pb::export_version_response::Item::File(file)) => {
                    finish_file(current.take()).await?;
                    let path = safe_join(folder, &file.relative_path)?;
                    current = Some((path, file, Vec::new()));
                }
                Some(pb::export_version_response::Item::Chunk(Chunk { data })) => {
                    let Some((_, _, bytes)) = current.as_mut() else {
                        return Err(ClientError::Protocol("chunk before any file".into()));
                    };
                    bytes.extend_from_slice(&data);
                }
                Some(pb::export_version_response::Item::Summary(summary)) => {
                    finish_file(current.take()).await?;
                    return Ok(summary);
                }
                None => return Err(ClientError::Protocol("empty export message".into())),
            }
        }
        Err(ClientError::Protocol(
            "export stream ended without a summary".into(),
        ))
    }
}

/// Sends one file as an `ImportFile` and its chunks; false when the call is gone.
async fn send_file(
    sender: &mpsc::Sender<pb::ImportRequest>,
    relative_path: String,
    bytes: &[u8],
) -> bool {
    let start = pb::ImportRequest {
        item: Some(pb::import_request::Item::File(pb::ImportFile {
            relative_path,
            size: bytes.len() as u64,
        })),
    };
    if sender.send(start).await.is_err() {
        return false;
    }
    for piece in bytes.chunks(MAX_CHUNK_BYTES) {
        let chunk = pb::ImportRequest {
            item: Some(pb::import_request::Item::Chunk(Chunk {
                data: piece.to_vec(),
            })),
        };
        if sender.send(chunk).await.is_err() {
            return false;
        }
    }
    true
}

/// Joins a server-supplied relative path under `folder`, refusing anything that escapes it.
fn safe_join(folder: &Path, relative_path: &str) -> Result<PathBuf, ClientError> {
    let mut path = folder.to_path_buf();
    for segment in relative_path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
            return Err(ClientError::Protocol(format!(
                "unsafe exported path {relative_path:?}"
            )));
        }
        path.push(segment);
    }
    Ok(path)
}

/// Writes a completely received export file after checking its size.
async fn finish_file(
    file: Option<(PathBuf, pb::ExportedFile, Vec<u8>)>,
) -> Result<(), ClientError> {
    let Some((path, header, bytes)) = file else {
        return Ok(());
    };
    if bytes.len() as u64 != header.size {
        return Err(ClientError::Protocol(format!(
            "{} announced {} bytes, {} arrived",
            header.relative_path,
            header.size,
            bytes.len()
        )));
    }
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io_error(parent, e))?;
    }
    tokio::fs::write(&path, &bytes)
        .await
        .map_err(|e| io_error(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_paths_cannot_escape_the_folder() {
        let root = Path::new("/tmp/out");
        assert_eq!(
            safe_join(root, "train/dr/a.png").unwrap(),
            root.join("train/dr/a.png")
        );
        for bad in ["../x.png", "a//b.png", "/abs.png", "a/./b.png", "a\\..\\b"] {
            assert!(safe_join(root, bad).is_err(), "{bad:?}");
        }
    }
}
