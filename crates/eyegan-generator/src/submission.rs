//! Checks of a generation request that need the store or the dataset service: the base
//! version exists (NOT_FOUND) and has a split (FAILED_PRECONDITION), every class is one of its
//! classes (INVALID_ARGUMENT), every checkpoint or manifest exists (NOT_FOUND) and matches the
//! class and the image size (FAILED_PRECONDITION). Resolves `base_dataset.version` 0.

use eyegan_dataset::client::DatasetClient;
use eyegan_proto::common::v1::CheckpointRef;
use eyegan_proto::generator::v1::{class_generation::Source, SubmitGenerateRequest};
use eyegan_service::ServiceError;
use eyegan_store::Store;

use crate::checkpoint_source::StoredGanCheckpoint;
use crate::collected::CollectedManifest;
use crate::dataset_link::get_version;
use crate::spec::{ClassSource, GenerateSpec};

/// Channels of the images the dataset service stores (RGB).
const IMAGE_CHANNELS: usize = 3;

/// Checks `spec` (built from `request`) against the store and the dataset service, and returns
/// it with the base version resolved.
pub async fn check_and_resolve(
    mut spec: GenerateSpec,
    request: &SubmitGenerateRequest,
    store: &Store,
    dataset: &mut DatasetClient,
) -> Result<GenerateSpec, ServiceError> {
    let base = &spec.base_dataset;
    let version = get_version(dataset, &base.dataset_id, base.version, "base_dataset").await?;
    if version.split.is_none() {
        return Err(ServiceError::failed_precondition(format!(
            "base_dataset: version {} of dataset {:?} has no split; call CreateSplit first",
            version.r#ref.as_ref().map_or(0, |r| r.version),
            base.dataset_id
        )));
    }
    spec.base_dataset.version = version.r#ref.as_ref().map_or(0, |r| r.version);
    let image_size = version.image_size as usize;

    for (position, class) in spec.classes.iter().enumerate() {
        let field = |name: &str| format!("classes[{position}].{name}");
        if !version.classes.contains(&class.class_name) {
            return Err(ServiceError::invalid_argument(
                field("class_name"),
                format!(
                    "{:?} is not a class of {} (classes: {})",
                    class.class_name,
                    spec.base_dataset,
                    version.classes.join(", ")
                ),
            ));
        }
        match &class.source {
            ClassSource::Checkpoints {
                generator,
                discriminator,
            } => {
                let refs = match request
                    .classes
                    .get(position)
                    .and_then(|c| c.source.as_ref())
                {
                    Some(Source::Checkpoints(pair)) => {
                        (pair.generator.clone(), pair.discriminator.clone())
                    }
                    _ => (None, None),
                };
                let keys = [
                    ("generator", Some(generator), refs.0),
                    ("discriminator", discriminator.as_ref(), refs.1),
                ];
                for (network, key, reference) in keys {
                    let Some(key) = key else { continue };
                    let name = field(&format!("checkpoints.{network}"));
                    let checkpoint = StoredGanCheckpoint::open(store, key, &name).await?;
                    check_class(&name, &class.class_name, &checkpoint, reference.as_ref())?;
                    let model = checkpoint.model_config(store).await?;
                    if model.image_size != image_size || model.channels != IMAGE_CHANNELS {
                        return Err(ServiceError::failed_precondition(format!(
                            "{name}: the checkpoint makes {}x{}x{} images, {} holds {image_size}x{image_size}x{IMAGE_CHANNELS}",
                            model.image_size, model.image_size, model.channels, spec.base_dataset
                        )));
                    }
                }
            }
            ClassSource::Collected { manifest, .. } => {
                let name = field("collected.manifest");
                let read = CollectedManifest::read(store, manifest, &name).await?;
                if !read.class_name.is_empty() && read.class_name != class.class_name {
                    return Err(ServiceError::failed_precondition(format!(
                        "{name}: the samples are of class {:?}, not {:?}",
                        read.class_name, class.class_name
                    )));
                }
            }
        }
    }
    Ok(spec)
}

/// FAILED_PRECONDITION when the checkpoint (its stored state, or the client's reference) says
/// it was trained on another class.
fn check_class(
    field: &str,
    class_name: &str,
    checkpoint: &StoredGanCheckpoint,
    reference: Option<&CheckpointRef>,
) -> Result<(), ServiceError> {
    let recorded = checkpoint
        .class_name()
        .or(reference.map(|r| r.class_name.as_str()))
        .filter(|name| !name.is_empty());
    match recorded {
        Some(other) if other != class_name => Err(ServiceError::failed_precondition(format!(
            "{field}: the checkpoint was trained on class {other:?}, not {class_name:?}"
        ))),
        _ => Ok(()),
    }
}
