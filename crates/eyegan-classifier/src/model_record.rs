//! A trained model as stored for evaluation and prediction: a JSON record that names the
//! weights and the network's state (config), the class names in output order, the image size
//! and the fundus-crop setting of the dataset it was trained on.
//!
//! Layout (under the job's prefix `jobs/classifier/<job id>`):
//! ```text
//! models/epoch-<NNNNNN>/weights.safetensors   GMD weights (written first)
//! models/epoch-<NNNNNN>/state.json            eyegan-nn classifier state (config, counters)
//! models/epoch-<NNNNNN>.json                  this record (written last); its key is the
//!                                             `CheckpointRef.key` clients pass around
//! ```

use bytes::Bytes;
use candle_core::Device;
use eyegan_nn::{load_classifier, ClassifierCheckpointState, Gmd};
use eyegan_proto::common::v1::{CheckpointRef, Network};
use eyegan_service::ServiceError;
use eyegan_store::{BlobRef, Store};
use serde::{Deserialize, Serialize};

use crate::spec::DatasetVersion;

/// Layout version of [`ModelRecord`].
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// One stored file with its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// Store key.
    pub key: String,
    /// Lower-case hex SHA-256 of the contents.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The stored description of one trained classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// [`MODEL_FORMAT_VERSION`].
    pub format_version: u32,
    /// Store key of this record.
    pub key: String,
    /// Training job that produced it.
    pub job_id: String,
    /// Epochs completed when the weights were taken (1-based epoch number).
    pub epoch: u32,
    /// SGD steps taken when the weights were taken.
    pub iteration: u64,
    /// The dataset version it was trained on.
    pub dataset: DatasetVersion,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Side of the square input images.
    pub image_size: u32,
    /// Whether inputs are cropped to the fundus field before resizing (as the import did).
    pub crop_fundus: bool,
    /// The GMD weights (safetensors).
    pub weights: StoredObject,
    /// The eyegan-nn classifier state JSON (architecture config, counters).
    pub state_json: StoredObject,
}

impl ModelRecord {
    /// The protobuf reference to this model.
    pub fn to_checkpoint_ref(&self) -> CheckpointRef {
        CheckpointRef {
            key: self.key.clone(),
            job_id: self.job_id.clone(),
            network: Network::Classifier as i32,
            iteration: self.iteration,
            epoch: self.epoch,
            class_name: String::new(),
        }
    }
}

/// What a new model record describes (everything but the stored files).
#[derive(Debug, Clone)]
pub struct ModelDescription {
    /// Training job.
    pub job_id: String,
    /// 1-based epoch number.
    pub epoch: u32,
    /// The dataset version.
    pub dataset: DatasetVersion,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Input side.
    pub image_size: u32,
    /// Fundus crop on inputs.
    pub crop_fundus: bool,
}

/// Key of the record of `epoch` of a job whose prefix is `job_prefix`.
pub fn model_key(job_prefix: &str, epoch: u32) -> String {
    format!("{job_prefix}/models/epoch-{epoch:06}.json")
}

async fn put_object(
    store: &Store,
    key: String,
    bytes: Vec<u8>,
) -> Result<StoredObject, ServiceError> {
    let blob = BlobRef::of(&bytes);
    store.put_bytes(&key, bytes).await?;
    Ok(StoredObject {
        key,
        sha256: blob.sha256,
        size: blob.size,
    })
}

async fn get_object(store: &Store, object: &StoredObject) -> Result<Bytes, ServiceError> {
    let bytes = store.get_bytes(&object.key).await?.ok_or_else(|| {
        ServiceError::failed_precondition(format!("model file {} is missing", object.key))
    })?;
    let actual = BlobRef::of(&bytes);
    if actual.sha256 != object.sha256 || actual.size != object.size {
        return Err(ServiceError::internal(format!(
            "model file {} does not match its record",
            object.key
        )));
    }
    Ok(bytes)
}

/// Stores a model: files first, record last. Returns the record.
pub async fn save_model(
    store: &Store,
    job_prefix: &str,
    description: ModelDescription,
    weights: Vec<u8>,
    state_json: Vec<u8>,
) -> Result<ModelRecord, ServiceError> {
    let state = ClassifierCheckpointState::from_json(&state_json)
        .map_err(|error| ServiceError::internal(error.to_string()))?;
    let folder = format!("{job_prefix}/models/epoch-{:06}", description.epoch);
    let weights = put_object(store, format!("{folder}/weights.safetensors"), weights).await?;
    let state_json = put_object(store, format!("{folder}/state.json"), state_json).await?;
    let record = ModelRecord {
        format_version: MODEL_FORMAT_VERSION,
        key: model_key(job_prefix, description.epoch),
        job_id: description.job_id,
        epoch: description.epoch,
        iteration: state.optimizer_steps,
        dataset: description.dataset,
        classes: description.classes,
        image_size: description.image_size,
        crop_fundus: description.crop_fundus,
        weights,
        state_json,
    };
    store.put_json(&record.key, &record).await?;
    Ok(record)
}

/// Deletes a model's record (first) and files. Failures are logged: at worst files stay.
pub async fn delete_model(store: &Store, record: &ModelRecord) {
    for key in [&record.key, &record.weights.key, &record.state_json.key] {
        if let Err(error) = store.delete(key).await {
            tracing::warn!(%key, %error, "cannot delete superseded model file");
        }
    }
}

/// Reads a model record; `field` names the request field holding `key`. NOT_FOUND when there is
/// none; INVALID_ARGUMENT when the key is not a classifier model record.
pub async fn read_model_record(
    store: &Store,
    key: &str,
    field: &str,
) -> Result<ModelRecord, ServiceError> {
    if key.trim().is_empty() {
        return Err(ServiceError::invalid_argument(field, "must not be empty"));
    }
    if !key.starts_with(&format!(
        "{}/",
        eyegan_jobs::persistence::service_prefix(crate::SERVICE_NAME)
    )) || !key.ends_with(".json")
    {
        return Err(ServiceError::invalid_argument(
            field,
            format!("{key:?} is not a classifier model (TrainClassifierResult.model.key)"),
        ));
    }
    let record: Option<ModelRecord> = store.get_json(key).await.map_err(|error| {
        if matches!(error, eyegan_store::StoreError::InvalidKey { .. }) {
            ServiceError::invalid_argument(field, error.to_string())
        } else if matches!(error, eyegan_store::StoreError::Corrupt { .. }) {
            ServiceError::invalid_argument(
                field,
                format!("{key:?} is not a classifier model record"),
            )
        } else {
            ServiceError::from(error)
        }
    })?;
    let record = record.ok_or_else(|| ServiceError::not_found(format!("model {key:?}")))?;
    if record.format_version != MODEL_FORMAT_VERSION || record.key != key {
        return Err(ServiceError::invalid_argument(
            field,
            format!("{key:?} is not a classifier model record of this version"),
        ));
    }
    Ok(record)
}

/// A model ready for inference.
#[derive(Debug)]
pub struct LoadedModel {
    /// Its record.
    pub record: ModelRecord,
    /// The network.
    pub network: Gmd,
}

/// Loads the model whose record is at `key` onto `device`; `field` names the request field.
pub async fn load_model(
    store: &Store,
    key: &str,
    field: &str,
    device: &Device,
) -> Result<LoadedModel, ServiceError> {
    let record = read_model_record(store, key, field).await?;
    let weights = get_object(store, &record.weights).await?;
    let state_json = get_object(store, &record.state_json).await?;
    let device = device.clone();
    let (state, network) =
        tokio::task::spawn_blocking(move || load_classifier(&state_json, &weights, &device))
            .await
            .map_err(ServiceError::internal)?
            .map_err(|error| ServiceError::internal(error.to_string()))?;
    if state.model.num_classes != record.classes.len()
        || state.model.image_size != record.image_size as usize
    {
        return Err(ServiceError::internal(format!(
            "model {key} disagrees with its weights' configuration"
        )));
    }
    Ok(LoadedModel { record, network })
}
