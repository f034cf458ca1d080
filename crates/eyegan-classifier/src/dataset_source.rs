//! Reading datasets through the dataset service's gRPC API: version summaries, the import's
//! fundus-crop setting, and the decoded images of one split.

use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1::{self as pb, dataset_service_client::DatasetServiceClient};
use eyegan_service::ServiceChannel;
use eyegan_service::{ConnectError, ServiceError};
use futures::{Stream, StreamExt};

use crate::spec::{DatasetVersion, SplitChoice};

/// Images asked for per `StreamImages` batch (the service also keeps batches under 1 MiB).
const STREAM_BATCH: u32 = 64;

/// Decoded, labelled images of one split, in the dataset's stored order.
#[derive(Debug, Clone, Default)]
pub struct LabelledImages {
    /// Image ids.
    pub ids: Vec<String>,
    /// Source file names.
    pub source_files: Vec<String>,
    /// Class labels (indices into the version's classes).
    pub labels: Vec<u32>,
    /// CHW `f32` pixels in [-1, 1].
    pub images: Vec<Vec<f32>>,
}

impl LabelledImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Decodes one streamed batch, checking each image against `classes` and `image_size`.
    pub fn from_batch(
        batch: Vec<pb::Image>,
        classes: &[String],
        image_size: u32,
    ) -> Result<Self, ServiceError> {
        let mut out = Self::default();
        for image in batch {
            let label = image.label;
            if classes.get(label as usize) != Some(&image.class_name) {
                return Err(ServiceError::failed_precondition(format!(
                    "image {} has class {:?} (label {label}), which is not the model's class \
                     {label}; the dataset's classes changed",
                    image.image_id, image.class_name
                )));
            }
            let rgb = eyegan_imaging::decode_png_rgb(&image.png).map_err(|error| {
                ServiceError::internal(format!(
                    "stored image {} is unreadable: {error}",
                    image.image_id
                ))
            })?;
            if rgb.width() != image_size || rgb.height() != image_size {
                return Err(ServiceError::failed_precondition(format!(
                    "image {} is {}x{}, not the expected {image_size}x{image_size}",
                    image.image_id,
                    rgb.width(),
                    rgb.height()
                )));
            }
            out.images.push(eyegan_imaging::to_chw_f32(&rgb));
            out.labels.push(label);
            out.ids.push(image.image_id);
            out.source_files.push(image.source_file);
        }
        Ok(out)
    }

    /// Appends `other`.
    pub fn extend(&mut self, other: Self) {
        self.ids.extend(other.ids);
        self.source_files.extend(other.source_files);
        self.labels.extend(other.labels);
        self.images.extend(other.images);
    }
}

/// A lazily connecting client of the dataset service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DatasetSource {
    channel: ServiceChannel,
}

/// The error of a dataset-service call, re-labelled for this service's client: `field` names
/// the request field that referenced the dataset.
fn upstream(status: tonic::Status, field: &str) -> ServiceError {
    let message = status.message().to_owned();
    match status.code() {
        tonic::Code::NotFound => ServiceError::not_found(
            message
                .strip_suffix(" not found")
                .unwrap_or(&message)
                .to_owned(),
        ),
        tonic::Code::InvalidArgument => ServiceError::invalid_argument(field, message),
        tonic::Code::FailedPrecondition => ServiceError::failed_precondition(message),
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown => {
            ServiceError::unavailable(format!("the dataset service is unavailable: {message}"))
        }
        code => ServiceError::internal(format!("dataset service answered {code:?}: {message}")),
    }
}

impl DatasetSource {
    /// A client of the dataset service at `endpoint`; connects on first use and reconnects.
    pub fn new(endpoint: &str) -> Result<Self, ConnectError> {
        Ok(Self {
            channel: eyegan_service::service_channel(endpoint)?,
        })
    }

    fn client(&self) -> DatasetServiceClient<ServiceChannel> {
        DatasetServiceClient::new(self.channel.clone())
    }

    /// The summary of `reference` (version 0 = the latest). `field` names the request field.
    pub async fn version(
        &self,
        reference: DatasetRef,
        field: &str,
    ) -> Result<pb::VersionSummary, ServiceError> {
        self.client()
            .get_version(pb::GetVersionRequest {
                dataset: Some(reference),
            })
            .await
            .map_err(|status| upstream(status, field))?
            .into_inner()
            .version
            .ok_or_else(|| ServiceError::internal("GetVersion answered without a version"))
    }

    /// Whether the dataset's import cropped the fundus field (unset = true, as the import).
    pub async fn crop_fundus(&self, dataset_id: &str, field: &str) -> Result<bool, ServiceError> {
        let dataset = self
            .client()
            .get_dataset(pb::GetDatasetRequest {
                dataset_id: dataset_id.to_owned(),
            })
            .await
            .map_err(|status| upstream(status, field))?
            .into_inner()
            .dataset
            .ok_or_else(|| ServiceError::internal("GetDataset answered without a dataset"))?;
        Ok(dataset
            .import_options
            .and_then(|options| options.crop_fundus)
            .unwrap_or(true))
    }

    /// The decoded images of one split, batch by batch.
    pub async fn stream_split<'a>(
        &self,
        dataset: &DatasetVersion,
        split: SplitChoice,
        classes: &'a [String],
        image_size: u32,
    ) -> Result<impl Stream<Item = Result<LabelledImages, ServiceError>> + Send + 'a, ServiceError>
    {
        let stream = self
            .client()
            .stream_images(pb::StreamImagesRequest {
                dataset: Some(dataset.to_proto()),
                split: split.to_proto() as i32,
                class_name: String::new(),
                batch_size: STREAM_BATCH,
            })
            .await
            .map_err(|status| upstream(status, "dataset"))?
            .into_inner();
        Ok(stream.map(move |batch| {
            let batch = batch.map_err(|status| upstream(status, "dataset"))?;
            LabelledImages::from_batch(batch.images, classes, image_size)
        }))
    }

    /// Every image of one split, decoded.
    pub async fn load_split(
        &self,
        dataset: &DatasetVersion,
        split: SplitChoice,
        classes: &[String],
        image_size: u32,
    ) -> Result<LabelledImages, ServiceError> {
        let stream = self
            .stream_split(dataset, split, classes, image_size)
            .await?;
        futures::pin_mut!(stream);
        let mut all = LabelledImages::default();
        while let Some(batch) = stream.next().await {
            all.extend(batch?);
        }
        Ok(all)
    }
}
