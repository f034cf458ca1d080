//! `ExportVersion`: a version as an ImageFolder tree (`[<split>/]<class>/<image id>.png`), written
//! to a server folder and/or streamed back file by file in chunks of at most 1 MiB.

use std::path::{Path, PathBuf};

use eyegan_proto::common::v1::Chunk;
use eyegan_proto::dataset::v1::{self as pb, export_version_response::Item};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::DatasetError;
use crate::import::{sha256_hex, MAX_CHUNK_BYTES};
use crate::model::{ImageRecord, VersionRecord};
use crate::repository::Repository;
use crate::server_paths::empty_target_folder;
use crate::summary::split_from_proto;

/// Messages buffered ahead of a slow client.
const CHANNEL_DEPTH: usize = 8;

/// The stream returned to tonic.
pub type ExportStream = ReceiverStream<Result<pb::ExportVersionResponse, tonic::Status>>;

/// A checked export.
#[derive(Debug)]
pub struct ExportPlan {
    /// Images to export, each with its relative path.
    pub files: Vec<(String, ImageRecord)>,
    /// Folder to write into, when asked for.
    pub target: Option<PathBuf>,
    /// Stream the files back.
    pub stream: bool,
}

/// The relative path of an exported image.
pub fn export_path(image: &ImageRecord, split_folders: bool) -> String {
    let file = format!("{}/{}.png", image.class, image.id);
    match (split_folders, image.split) {
        (true, Some(split)) => format!("{split}/{file}"),
        _ => file,
    }
}

/// Checks the request, selects the images and prepares the target folder.
pub async fn plan_export(
    repository: &Repository,
    path_root: Option<&Path>,
    request: pb::ExportVersionRequest,
) -> Result<ExportPlan, DatasetError> {
    let reference = request
        .dataset
        .as_ref()
        .ok_or_else(|| DatasetError::invalid("dataset", "must be set"))?;
    if request.server_path.is_empty() && !request.stream {
        return Err(DatasetError::invalid(
            "server_path",
            "set server_path and/or stream; otherwise nothing is exported",
        ));
    }
    let split = pb::Split::try_from(request.split)
        .map_err(|_| DatasetError::invalid("split", format!("unknown value {}", request.split)))?;
    let version: VersionRecord = repository
        .version(&reference.dataset_id, reference.version, "dataset")
        .await?;
    let wanted = split_from_proto(split);
    if (wanted.is_some() || request.split_folders) && version.split.is_none() {
        return Err(DatasetError::FailedPrecondition(format!(
            "version {} of dataset `{}` has no split yet; call CreateSplit first",
            version.version, version.dataset_id
        )));
    }
    let files = version
        .images
        .into_iter()
        .filter(|image| wanted.is_none() || image.split == wanted)
        .map(|image| (export_path(&image, request.split_folders), image))
        .collect();
    let target = if request.server_path.is_empty() {
        None
    } else {
        let root = path_root.map(Path::to_path_buf);
        let path = request.server_path.clone();
        Some(
            tokio::task::spawn_blocking(move || {
                empty_target_folder(&path, root.as_deref(), "server_path")
            })
            .await??,
        )
    };
    Ok(ExportPlan {
        files,
        target,
        stream: request.stream,
    })
}

/// Runs the export in a task and returns its response stream; the last message is the summary.
pub fn run_export(repository: Repository, plan: ExportPlan) -> ExportStream {
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        let result = export_files(&repository, &plan, &sender).await;
        let message = match result {
            Ok(summary) => Ok(pb::ExportVersionResponse {
                item: Some(Item::Summary(summary)),
            }),
            Err(error) => Err(error.into()),
        };
        let _ = sender.send(message).await;
    });
    ReceiverStream::new(receiver)
}

async fn export_files(
    repository: &Repository,
    plan: &ExportPlan,
    sender: &mpsc::Sender<Result<pb::ExportVersionResponse, tonic::Status>>,
) -> Result<pb::ExportSummary, DatasetError> {
    let mut summary = pb::ExportSummary {
        server_path: plan
            .target
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        ..Default::default()
    };
    let gone = || DatasetError::Cancelled("the export client went away".into());
    for (relative_path, image) in &plan.files {
        let png = repository.store().get_blob(&image.png).await?;
        if let Some(target) = &plan.target {
            let path = target.join(relative_path);
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|source| io_error(parent, source))?;
            }
            tokio::fs::write(&path, &png)
                .await
                .map_err(|source| io_error(&path, source))?;
        }
        if plan.stream {
            let start = pb::ExportedFile {
                relative_path: relative_path.clone(),
                size: png.len() as u64,
                sha256: sha256_hex(&png),
            };
            sender
                .send(Ok(pb::ExportVersionResponse {
                    item: Some(Item::File(start)),
                }))
                .await
                .map_err(|_| gone())?;
            for piece in png.chunks(MAX_CHUNK_BYTES) {
                let chunk = Chunk {
                    data: piece.to_vec(),
                };
                sender
                    .send(Ok(pb::ExportVersionResponse {
                        item: Some(Item::Chunk(chunk)),
                    }))
                    .await
                    .map_err(|_| gone())?;
            }
        }
        summary.files += 1;
        summary.bytes += png.len() as u64;
    }
    tracing::info!(
        files = summary.files,
        bytes = summary.bytes,
        "exported version"
    );
    Ok(summary)
}

fn io_error(path: &Path, source: std::io::Error) -> DatasetError {
    DatasetError::Io {
        path: path.display().to_string(),
        source,
    }
}
