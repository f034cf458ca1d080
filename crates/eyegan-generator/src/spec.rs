//! The generation job's request as a serde type, built from `SubmitGenerateRequest` with every
//! field checked (INVALID_ARGUMENT naming the field) and every default applied.

use eyegan_nn::FilterPreset;
use eyegan_proto::generator::v1::{
    class_generation::Source, GanCheckpoints, SubmitGenerateRequest,
};
use eyegan_service::ServiceError;
use serde::{Deserialize, Serialize};

use crate::device::resolve_device;
use crate::filter::filter_from_proto;

/// Images per forward pass when the request says 0.
pub const DEFAULT_BATCH_SIZE: usize = 64;
/// Largest accepted batch.
pub const MAX_BATCH_SIZE: usize = 4096;
/// `max_attempts` 0 means this many times the class's count.
pub const DEFAULT_ATTEMPTS_PER_IMAGE: u64 = 20;
/// Largest accepted per-class count.
pub const MAX_COUNT: u64 = 1_000_000;

/// A dataset version (resolved: never 0 inside a spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetVersion {
    /// Dataset id.
    pub dataset_id: String,
    /// Version number.
    pub version: u64,
}

impl std::fmt::Display for DatasetVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.dataset_id, self.version)
    }
}

/// Where one class's images come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassSource {
    /// Sample G, score with D.
    Checkpoints {
        /// Store key of G's checkpoint record.
        generator: String,
        /// Store key of D's checkpoint record; `None` only with the `none` filter.
        discriminator: Option<String>,
    },
    /// Samples a trainer collected during training.
    Collected {
        /// Store key of the manifest.
        manifest: String,
        /// Images the trainer generated in total (reported as attempted).
        attempted: u64,
    },
}

/// One class of a generation job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSpec {
    /// Class name (one of the base dataset's).
    pub class_name: String,
    /// Images to keep.
    pub count: u64,
    /// Attempt cap (resolved default: 20 × count).
    pub max_attempts: u64,
    /// Source.
    pub source: ClassSource,
}

/// A generation job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateSpec {
    /// One entry per class, in request order.
    pub classes: Vec<ClassSpec>,
    /// Which images to keep.
    pub filter: FilterPreset,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Seed of the noise (per class: `class_seed(seed, class)`).
    pub seed: u64,
    /// The version the new one derives from (resolved at submission).
    pub base_dataset: DatasetVersion,
    /// Free text stored with the new version.
    pub version_note: String,
    /// Device as requested ("" = automatic).
    pub device: String,
}

impl GenerateSpec {
    /// Checks a request and applies defaults. The base dataset version is taken as given (0 =
    /// latest); [`crate::submission`] resolves it against the dataset service.
    pub fn from_proto(request: &SubmitGenerateRequest) -> Result<Self, ServiceError> {
        let filter = filter_from_proto(request.filter.as_ref(), FilterPreset::PaperCode, "filter")?;
        let batch_size = batch_size_from_proto(request.batch_size)?;
        if request.classes.is_empty() {
            return Err(ServiceError::invalid_argument(
                "classes",
                "at least one class is required",
            ));
        }
        let mut classes: Vec<ClassSpec> = Vec::with_capacity(request.classes.len());
        for (position, class) in request.classes.iter().enumerate() {
            let field = |name: &str| format!("classes[{position}].{name}");
            if class.class_name.trim().is_empty() {
                return Err(ServiceError::invalid_argument(
                    field("class_name"),
                    "must not be empty",
                ));
            }
            if classes
                .iter()
                .any(|seen| seen.class_name == class.class_name)
            {
                return Err(ServiceError::invalid_argument(
                    field("class_name"),
                    format!("class {:?} is given more than once", class.class_name),
                ));
            }
            if class.count == 0 || class.count > MAX_COUNT {
                return Err(ServiceError::invalid_argument(
                    field("count"),
                    format!("must be 1 to {MAX_COUNT}, got {}", class.count),
                ));
            }
            let source = match &class.source {
                None => {
                    return Err(ServiceError::invalid_argument(
                        field("source"),
                        "set `checkpoints` or `collected`",
                    ))
                }
                Some(Source::Checkpoints(pair)) => {
                    let (generator, discriminator) =
                        checkpoint_keys(pair, &filter, &field("checkpoints"))?;
                    ClassSource::Checkpoints {
                        generator,
                        discriminator,
                    }
                }
                Some(Source::Collected(collected)) => {
                    let manifest = collected
                        .manifest
                        .as_ref()
                        .map(|object| object.key.trim().to_owned())
                        .filter(|key| !key.is_empty())
                        .ok_or_else(|| {
                            ServiceError::invalid_argument(
                                field("collected.manifest"),
                                "must be set",
                            )
                        })?;
                    if !collected.class_name.is_empty() && collected.class_name != class.class_name
                    {
                        return Err(ServiceError::invalid_argument(
                            field("collected.class_name"),
                            format!(
                                "the samples are of class {:?}, not {:?}",
                                collected.class_name, class.class_name
                            ),
                        ));
                    }
                    ClassSource::Collected {
                        manifest,
                        attempted: collected.attempted,
                    }
                }
            };
            let max_attempts = match request.max_attempts {
                0 => class.count.saturating_mul(DEFAULT_ATTEMPTS_PER_IMAGE),
                cap => cap,
            };
            classes.push(ClassSpec {
                class_name: class.class_name.clone(),
                count: class.count,
                max_attempts,
                source,
            });
        }
        let base = request
            .base_dataset
            .as_ref()
            .ok_or_else(|| ServiceError::invalid_argument("base_dataset", "must be set"))?;
        if base.dataset_id.trim().is_empty() {
            return Err(ServiceError::invalid_argument(
                "base_dataset.dataset_id",
                "must not be empty",
            ));
        }
        resolve_device(&request.device, "device")?;
        Ok(Self {
            classes,
            filter,
            batch_size,
            seed: request.seed,
            base_dataset: DatasetVersion {
                dataset_id: base.dataset_id.clone(),
                version: base.version,
            },
            version_note: request.version_note.clone(),
            device: request.device.clone(),
        })
    }

    /// Images asked for over every class.
    pub fn total_requested(&self) -> u64 {
        self.classes.iter().map(|class| class.count).sum()
    }

    /// One-line summary, e.g. `generate dr×100, normal×50 from eyes@2 filter=paper-code`.
    pub fn summary(&self) -> String {
        let classes: Vec<String> = self
            .classes
            .iter()
            .map(|class| {
                let from = match class.source {
                    ClassSource::Checkpoints { .. } => "",
                    ClassSource::Collected { .. } => " (collected)",
                };
                format!("{}x{}{from}", class.class_name, class.count)
            })
            .collect();
        format!(
            "generate {} from {} filter={}",
            classes.join(", "),
            self.base_dataset,
            self.filter
        )
    }
}

/// A request's `batch_size`: 0 = [`DEFAULT_BATCH_SIZE`]; INVALID_ARGUMENT naming `batch_size`
/// above [`MAX_BATCH_SIZE`].
pub fn batch_size_from_proto(value: u32) -> Result<usize, ServiceError> {
    match value as usize {
        0 => Ok(DEFAULT_BATCH_SIZE),
        size if size > MAX_BATCH_SIZE => Err(ServiceError::invalid_argument(
            "batch_size",
            format!("{size} is larger than {MAX_BATCH_SIZE}"),
        )),
        size => Ok(size),
    }
}

/// G's and D's checkpoint keys of a request's pair: G required; D required unless `filter` is
/// `none`.
pub fn checkpoint_keys(
    pair: &GanCheckpoints,
    filter: &FilterPreset,
    field: &str,
) -> Result<(String, Option<String>), ServiceError> {
    let key = |reference: &Option<eyegan_proto::common::v1::CheckpointRef>| {
        reference
            .as_ref()
            .map(|reference| reference.key.trim().to_owned())
            .filter(|key| !key.is_empty())
    };
    let generator = key(&pair.generator).ok_or_else(|| {
        ServiceError::invalid_argument(format!("{field}.generator"), "must be set")
    })?;
    let discriminator = key(&pair.discriminator);
    if discriminator.is_none() && *filter != FilterPreset::None {
        return Err(ServiceError::invalid_argument(
            format!("{field}.discriminator"),
            format!("is required by the {filter} filter (only `none` works without D)"),
        ));
    }
    Ok((generator, discriminator))
}
