//! The dataset service as the trainer sees it: version look-ups at submission and the images of
//! one class of one split when a job runs.

use eyegan_dataset::client::DatasetClient;
use eyegan_jobs::JobError;
use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1::{StreamImagesRequest, VersionSummary};
use eyegan_service::{ConnectError, ServiceError};
use futures::StreamExt;
use tonic::Code;

use crate::spec::TrainGanSpec;

/// Images per `StreamImages` message asked for.
const STREAM_BATCH: u32 = 256;

/// A lazily connected client of the dataset service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DatasetSource {
    client: DatasetClient,
}

impl DatasetSource {
    /// A source for the dataset service at `endpoint`; connects on first use, with the ambient
    /// TLS and token settings ([`eyegan_service::service_channel`]).
    pub fn new(endpoint: &str) -> Result<Self, ConnectError> {
        let channel = eyegan_service::service_channel(endpoint)?;
        Ok(Self {
            client: DatasetClient::from_channel(channel),
        })
    }

    /// The summary of `dataset_id@version` (0 = latest): NOT_FOUND when it does not exist,
    /// UNAVAILABLE when the dataset service cannot be reached.
    pub async fn version(
        &self,
        dataset_id: &str,
        version: u64,
    ) -> Result<VersionSummary, ServiceError> {
        let mut client = self.client.clone();
        let response = client
            .raw()
            .get_version(eyegan_proto::dataset::v1::GetVersionRequest {
                dataset: Some(DatasetRef {
                    dataset_id: dataset_id.to_owned(),
                    version,
                }),
            })
            .await
            .map_err(|status| dataset_error(&status, dataset_id, version))?;
        response.into_inner().version.ok_or_else(|| {
            ServiceError::unavailable("the dataset service answered without a version")
        })
    }

    /// The images of the spec's class and split as CHW vectors in [-1, 1], in stored order.
    /// FAILED_PRECONDITION when the class no longer has the images the job was submitted with.
    pub async fn class_images(&self, spec: &TrainGanSpec) -> Result<Vec<Vec<f32>>, JobError> {
        let mut client = self.client.clone();
        let mut stream = client
            .raw()
            .stream_images(StreamImagesRequest {
                dataset: Some(DatasetRef {
                    dataset_id: spec.dataset_id.clone(),
                    version: spec.version,
                }),
                split: spec.split.to_proto() as i32,
                class_name: spec.class_name.clone(),
                batch_size: STREAM_BATCH,
            })
            .await
            .map_err(|status| dataset_error(&status, &spec.dataset_id, spec.version))?
            .into_inner();
        let mut pngs = Vec::new();
        while let Some(message) = stream.next().await {
            let message =
                message.map_err(|status| dataset_error(&status, &spec.dataset_id, spec.version))?;
            pngs.extend(message.images.into_iter().map(|image| image.png));
        }
        if pngs.len() as u64 != spec.class_images {
            return Err(JobError::FailedPrecondition(format!(
                "class {:?} of {} has {} images in the {} split, the job was submitted with {}",
                spec.class_name,
                spec.dataset_label(),
                pngs.len(),
                spec.split.as_str(),
                spec.class_images
            )));
        }
        let side = spec.model.image_size as u32;
        tokio::task::spawn_blocking(move || decode_all(&pngs, side))
            .await
            .map_err(|error| JobError::Internal(format!("image decoding task failed: {error}")))?
    }
}

fn decode_all(pngs: &[Vec<u8>], side: u32) -> Result<Vec<Vec<f32>>, JobError> {
    pngs.iter()
        .enumerate()
        .map(|(position, png)| {
            let image = eyegan_imaging::decode_png_rgb(png).map_err(|error| {
                JobError::FailedPrecondition(format!(
                    "image {position} of the class is not a readable PNG: {error}"
                ))
            })?;
            if image.width() != side || image.height() != side {
                return Err(JobError::FailedPrecondition(format!(
                    "image {position} of the class is {}x{}, expected {side}x{side}",
                    image.width(),
                    image.height()
                )));
            }
            Ok(eyegan_imaging::to_chw_f32(&image))
        })
        .collect()
}

/// Maps a dataset service error to the trainer's answer.
fn dataset_error(status: &tonic::Status, dataset_id: &str, version: u64) -> ServiceError {
    let label = if version == 0 {
        format!("dataset {dataset_id:?}")
    } else {
        format!("dataset {dataset_id:?} version {version}")
    };
    match status.code() {
        Code::NotFound => ServiceError::not_found(label),
        Code::InvalidArgument => ServiceError::invalid_argument("dataset", status.message()),
        Code::FailedPrecondition => ServiceError::failed_precondition(status.message()),
        code => {
            tracing::warn!(%code, message = status.message(), "dataset service call failed");
            ServiceError::unavailable(format!("the dataset service is unavailable ({code})"))
        }
    }
}
