//! `StreamImages`: the images of a version (one split and/or class) in batches under 1 MiB.

use eyegan_proto::dataset::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::DatasetError;
use crate::model::{ImageRecord, VersionRecord};
use crate::repository::Repository;
use crate::summary::{image_to_proto, split_from_proto};

/// Default images per batch.
pub const DEFAULT_BATCH_SIZE: u32 = 64;

/// Largest accepted batch size.
pub const MAX_BATCH_SIZE: u32 = 1024;

/// A batch is sent once its PNG bytes reach this size.
const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Batches buffered ahead of a slow client.
const CHANNEL_DEPTH: usize = 4;

/// The stream returned to tonic.
pub type ImageStream = ReceiverStream<Result<pb::StreamImagesResponse, tonic::Status>>;

/// The checked selection of a `StreamImagesRequest`.
#[derive(Debug)]
pub struct Selection {
    /// The version.
    pub version: VersionRecord,
    /// Images selected, in stored order.
    pub images: Vec<ImageRecord>,
    /// Images per batch.
    pub batch_size: usize,
}

/// Loads the version and selects its images.
pub async fn select_images(
    repository: &Repository,
    request: &pb::StreamImagesRequest,
) -> Result<Selection, DatasetError> {
    let reference = request
        .dataset
        .as_ref()
        .ok_or_else(|| DatasetError::invalid("dataset", "must be set"))?;
    let split = pb::Split::try_from(request.split)
        .map_err(|_| DatasetError::invalid("split", format!("unknown value {}", request.split)))?;
    let batch_size = match request.batch_size {
        0 => DEFAULT_BATCH_SIZE,
        n if n <= MAX_BATCH_SIZE => n,
        n => {
            return Err(DatasetError::invalid(
                "batch_size",
                format!("{n} is above {MAX_BATCH_SIZE}"),
            ))
        }
    };
    let version = repository
        .version(&reference.dataset_id, reference.version, "dataset")
        .await?;
    if !request.class_name.is_empty() && version.label_of(&request.class_name).is_none() {
        return Err(DatasetError::invalid(
            "class_name",
            format!(
                "{:?} is not a class of this version (classes: {})",
                request.class_name,
                version.classes.join(", ")
            ),
        ));
    }
    let wanted_split = split_from_proto(split);
    if wanted_split.is_some() && version.split.is_none() {
        return Err(DatasetError::FailedPrecondition(format!(
            "version {} of dataset `{}` has no split yet; call CreateSplit first",
            version.version, version.dataset_id
        )));
    }
    let images = version
        .images
        .iter()
        .filter(|image| wanted_split.is_none() || image.split == wanted_split)
        .filter(|image| request.class_name.is_empty() || image.class == request.class_name)
        .cloned()
        .collect();
    Ok(Selection {
        version,
        images,
        batch_size: batch_size as usize,
    })
}

/// Starts sending the selected images; the task stops when the client goes away.
pub fn stream_selection(repository: Repository, selection: Selection) -> ImageStream {
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        let mut batch = Vec::new();
        let mut batch_bytes = 0usize;
        for image in &selection.images {
            let png = match repository.store().get_blob(&image.png).await {
                Ok(png) => png,
                Err(error) => {
                    let _ = sender.send(Err(DatasetError::from(error).into())).await;
                    return;
                }
            };
            if !batch.is_empty() && batch_bytes + png.len() > MAX_BATCH_BYTES {
                batch_bytes = 0;
                if !send(&sender, std::mem::take(&mut batch)).await {
                    return;
                }
            }
            let label = selection.version.label_of(&image.class).unwrap_or(u32::MAX);
            batch_bytes += png.len();
            batch.push(image_to_proto(image, label, png.to_vec()));
            if batch.len() >= selection.batch_size {
                batch_bytes = 0;
                if !send(&sender, std::mem::take(&mut batch)).await {
                    return;
                }
            }
        }
        if !batch.is_empty() {
            send(&sender, batch).await;
        }
    });
    ReceiverStream::new(receiver)
}

/// Sends one batch; false when the client went away.
async fn send(
    sender: &mpsc::Sender<Result<pb::StreamImagesResponse, tonic::Status>>,
    images: Vec<pb::Image>,
) -> bool {
    let delivered = sender
        .send(Ok(pb::StreamImagesResponse { images }))
        .await
        .is_ok();
    if !delivered {
        tracing::debug!("image stream client went away");
    }
    delivered
}
