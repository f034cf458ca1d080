//! Calls to the dataset service: resolving a version, finding a version a job already made, and
//! adding kept images as a new version.

use eyegan_dataset::client::DatasetClient;
use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1::{
    add_images_request::Item, AddImagesHeader, AddImagesRequest, ImageSource, NewImage, Provenance,
    VersionSummary,
};
use eyegan_service::ServiceError;
use eyegan_store::{BlobRef, Store};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::progress_state::KeptImage;

/// Messages buffered between the blob reader and the AddImages upload.
const UPLOAD_DEPTH: usize = 16;

/// Maps a dataset-service error to this service's answer: NOT_FOUND and INVALID_ARGUMENT /
/// FAILED_PRECONDITION keep their meaning (about `what`), an unreachable service is UNAVAILABLE.
pub fn dataset_error(status: tonic::Status, what: &str) -> ServiceError {
    match status.code() {
        Code::NotFound => ServiceError::not_found(what),
        Code::InvalidArgument => ServiceError::invalid_argument(what, status.message()),
        Code::FailedPrecondition => {
            ServiceError::failed_precondition(format!("{what}: {}", status.message()))
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            ServiceError::unavailable(format!("the dataset service is unavailable ({what})"))
        }
        _ => ServiceError::internal(format!("dataset service answered {status} for {what}")),
    }
}

/// The summary of a version (0 = latest).
pub async fn get_version(
    client: &mut DatasetClient,
    dataset_id: &str,
    version: u64,
    field: &str,
) -> Result<VersionSummary, ServiceError> {
    let what = if version == 0 {
        format!("dataset {dataset_id:?} ({field})")
    } else {
        format!("dataset {dataset_id:?} version {version} ({field})")
    };
    client
        .raw()
        .get_version(eyegan_proto::dataset::v1::GetVersionRequest {
            dataset: Some(DatasetRef {
                dataset_id: dataset_id.to_owned(),
                version,
            }),
        })
        .await
        .map_err(|status| dataset_error(status, &what))?
        .into_inner()
        .version
        .ok_or_else(|| {
            ServiceError::internal("dataset service sent a version response without a version")
        })
}

/// A version derived from `parent` whose note carries `marker` (made by an earlier run of the
/// same job that stopped before recording its result), if any.
pub async fn find_version_with_marker(
    client: &mut DatasetClient,
    dataset_id: &str,
    parent: u64,
    marker: &str,
) -> Result<Option<VersionSummary>, ServiceError> {
    let versions = client
        .raw()
        .list_versions(eyegan_proto::dataset::v1::ListVersionsRequest {
            dataset_id: dataset_id.to_owned(),
        })
        .await
        .map_err(|status| dataset_error(status, &format!("dataset {dataset_id:?}")))?
        .into_inner()
        .versions;
    Ok(versions
        .into_iter()
        .find(|version| version.parent_version == parent && version.note.contains(marker)))
}

/// Creates a new version of `parent` holding `images` (class name, kept image) in train, with
/// provenance, through `AddImages`. Exact duplicate PNGs (same bytes) are sent once.
pub async fn add_images(
    client: &mut DatasetClient,
    store: &Store,
    parent: DatasetRef,
    note: String,
    images: Vec<(String, KeptImage)>,
) -> Result<VersionSummary, ServiceError> {
    let what = format!("dataset {:?} version {}", parent.dataset_id, parent.version);
    let (sender, receiver) = tokio::sync::mpsc::channel(UPLOAD_DEPTH);
    let store = store.clone();
    let reader = tokio::spawn(async move {
        let header = AddImagesRequest {
            item: Some(Item::Header(AddImagesHeader {
                parent: Some(parent),
                note,
            })),
        };
        if sender.send(header).await.is_err() {
            return Ok(());
        }
        let mut sent = std::collections::HashSet::new();
        for (class_name, image) in images {
            if !sent.insert(image.png.sha256.clone()) {
                tracing::warn!(class = %class_name, index = image.index, "identical image already sent; skipped");
                continue;
            }
            let png = store.get_blob(&image.png).await?;
            let message = AddImagesRequest {
                item: Some(Item::Image(NewImage {
                    class_name,
                    png: png.to_vec(),
                    provenance: Some(Provenance {
                        source: ImageSource::Synthetic as i32,
                        generator_checkpoint: image.checkpoint,
                        seed: image.seed,
                        index: image.index,
                        discriminator_score: image.score,
                    }),
                })),
            };
            if sender.send(message).await.is_err() {
                break;
            }
        }
        Ok::<(), eyegan_store::StoreError>(())
    });
    let response = client.raw().add_images(ReceiverStream::new(receiver)).await;
    let read = reader.await.map_err(ServiceError::internal)?;
    read?;
    response
        .map_err(|status| dataset_error(status, &what))?
        .into_inner()
        .version
        .ok_or_else(|| {
            ServiceError::internal("dataset service sent an AddImages response without a version")
        })
}

/// Stores a PNG as a content-addressed blob.
pub async fn store_png(store: &Store, png: Vec<u8>) -> Result<BlobRef, ServiceError> {
    Ok(store.put_blob(png).await?)
}
