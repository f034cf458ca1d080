//! `SubmitTrainClassifierRequest` → [`TrainSpec`]: defaults, validation naming the proto
//! field, then resolution against the dataset version.

use eyegan_nn::{ClassicalAugmentation, ClassifierTrainingConfig, GmdConfig, GmdPadding};
use eyegan_proto::classifier::v1 as pb;
use eyegan_proto::dataset::v1::VersionSummary;
use eyegan_service::ServiceError;

use crate::device::resolve_device;
use crate::spec::{DatasetVersion, SplitChoice, TrainSpec};

/// Largest accepted `config.epochs`.
pub const MAX_EPOCHS: u32 = 100_000;
/// Largest accepted `config.batch_size`.
pub const MAX_BATCH_SIZE: u32 = 4096;
/// Largest rotation the augmentation supports, in degrees.
pub const MAX_ROTATION_DEGREES: f64 = 45.0;

/// A checked request whose dataset version is not resolved yet.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    dataset_id: String,
    version: u64,
    image_size: Option<usize>,
    train_split: SplitChoice,
    val_split: Option<SplitChoice>,
    width_multiplier: f64,
    training: ClassifierTrainingConfig,
    select_best_on_val: bool,
    checkpoint_every_epochs: u32,
    device: String,
    seed: u64,
}

fn invalid(field: &str, reason: impl Into<String>) -> ServiceError {
    ServiceError::invalid_argument(field, reason)
}

/// `value`, or `default` when it is 0; NaN, infinite or negative values are INVALID_ARGUMENT.
fn positive_or_default(value: f64, default: f64, field: &str) -> Result<f64, ServiceError> {
    if !value.is_finite() || value < 0.0 {
        return Err(invalid(
            field,
            format!("must be a finite number > 0, got {value}"),
        ));
    }
    Ok(if value == 0.0 { default } else { value })
}

/// `value`, or `default` when it is 0; above `max` is INVALID_ARGUMENT naming `field`.
fn count_or_default(value: u32, default: u32, max: u32, field: &str) -> Result<u32, ServiceError> {
    match value {
        0 => Ok(default),
        n if n <= max => Ok(n),
        n => Err(invalid(
            field,
            format!("must be between 1 and {max}, got {n}"),
        )),
    }
}

fn augmentation(
    proto: Option<&pb::ClassicalAugmentation>,
) -> Result<ClassicalAugmentation, ServiceError> {
    let Some(proto) = proto else {
        return Ok(ClassicalAugmentation {
            enabled: false,
            ..ClassicalAugmentation::default()
        });
    };
    if proto.vertical_flip {
        return Err(invalid(
            "config.augmentation.vertical_flip",
            "not supported: fundus photographs have a natural up/down orientation",
        ));
    }
    let rotation = proto.rotation_degrees;
    if !rotation.is_finite() || !(0.0..=MAX_ROTATION_DEGREES).contains(&rotation) {
        return Err(invalid(
            "config.augmentation.rotation_degrees",
            format!("must be in [0, {MAX_ROTATION_DEGREES}], got {rotation}"),
        ));
    }
    let brightness = proto.brightness;
    if !brightness.is_finite() || !(0.0..1.0).contains(&brightness) {
        return Err(invalid(
            "config.augmentation.brightness",
            format!("must be in [0, 1), got {brightness}"),
        ));
    }
    Ok(ClassicalAugmentation {
        enabled: proto.horizontal_flip || rotation > 0.0 || brightness > 0.0,
        flips: proto.horizontal_flip,
        max_rotation_deg: rotation as f32,
        brightness: brightness as f32,
    })
}

impl TrainRequest {
    /// Applies the documented defaults and checks every field that does not depend on the
    /// dataset.
    pub fn parse(request: &pb::SubmitTrainClassifierRequest) -> Result<Self, ServiceError> {
        let dataset = request
            .dataset
            .as_ref()
            .ok_or_else(|| invalid("dataset", "must be set"))?;
        if dataset.dataset_id.trim().is_empty() {
            return Err(invalid("dataset.dataset_id", "must not be empty"));
        }
        let train_split =
            SplitChoice::from_proto(request.train_split, SplitChoice::Train, "train_split")?;
        let val_split = if request.skip_validation {
            None
        } else {
            let val = SplitChoice::from_proto(request.val_split, SplitChoice::Val, "val_split")?;
            if val == train_split {
                return Err(invalid(
                    "val_split",
                    format!("must differ from train_split (both are {})", val.name()),
                ));
            }
            Some(val)
        };
        let config = request.config.clone().unwrap_or_default();
        let image_size = match config.image_size {
            0 => None,
            size @ (32 | 64 | 128) => Some(size as usize),
            other => {
                return Err(invalid(
                    "config.image_size",
                    format!("must be 32, 64 or 128 (or 0 = the dataset's), got {other}"),
                ))
            }
        };
        let width_multiplier =
            positive_or_default(config.width_multiplier, 1.0, "config.width_multiplier")?;
        if width_multiplier > 4.0 {
            return Err(invalid(
                "config.width_multiplier",
                format!("must be at most 4, got {width_multiplier}"),
            ));
        }
        let epochs = count_or_default(config.epochs, 100, MAX_EPOCHS, "config.epochs")?;
        let batch_size =
            count_or_default(config.batch_size, 32, MAX_BATCH_SIZE, "config.batch_size")?;
        let lr = positive_or_default(config.lr, 0.001, "config.lr")?;
        let momentum = config.momentum.unwrap_or(0.9);
        if !(0.0..1.0).contains(&momentum) {
            return Err(invalid(
                "config.momentum",
                format!("must be in [0, 1), got {momentum}"),
            ));
        }
        if config.weight_decay != 0.0 {
            return Err(invalid(
                "config.weight_decay",
                format!(
                    "only 0 is supported (the GMD's SGD has no weight decay), got {}",
                    config.weight_decay
                ),
            ));
        }
        if config.select_best_on_val && val_split.is_none() {
            return Err(invalid(
                "config.select_best_on_val",
                "needs a validation split, but skip_validation is set",
            ));
        }
        resolve_device(&config.device, "config.device")?;
        Ok(Self {
            dataset_id: dataset.dataset_id.clone(),
            version: dataset.version,
            image_size,
            train_split,
            val_split,
            width_multiplier,
            training: ClassifierTrainingConfig {
                batch_size: batch_size as usize,
                lr,
                momentum,
                epochs: u64::from(epochs),
                augmentation: augmentation(config.augmentation.as_ref())?,
            },
            select_best_on_val: config.select_best_on_val,
            checkpoint_every_epochs: config.checkpoint_every_epochs.max(1),
            device: config.device.trim().to_owned(),
            seed: request.seed,
        })
    }

    /// The dataset and version as requested (version 0 = the latest).
    pub fn dataset_ref(&self) -> eyegan_proto::common::v1::DatasetRef {
        eyegan_proto::common::v1::DatasetRef {
            dataset_id: self.dataset_id.clone(),
            version: self.version,
        }
    }

    /// The spec on the resolved `version`: FAILED_PRECONDITION when it has no split, fewer than
    /// two classes, a class without training images or an empty validation split;
    /// INVALID_ARGUMENT when `config.image_size` differs from the dataset's.
    pub fn resolve(
        self,
        version: &VersionSummary,
        crop_fundus: bool,
    ) -> Result<TrainSpec, ServiceError> {
        let reference = version.r#ref.clone().unwrap_or_default();
        let dataset = DatasetVersion {
            dataset_id: reference.dataset_id,
            version: reference.version,
        };
        let dataset_image_size = version.image_size as usize;
        if let Some(size) = self.image_size {
            if size != dataset_image_size {
                return Err(invalid(
                    "config.image_size",
                    format!("{size} differs from the dataset's image size {dataset_image_size}"),
                ));
            }
        }
        if version.split.is_none() {
            return Err(ServiceError::failed_precondition(format!(
                "dataset {dataset} has no split yet; call CreateSplit on the dataset service first"
            )));
        }
        if version.classes.len() < 2 {
            return Err(ServiceError::failed_precondition(format!(
                "dataset {dataset} has {} class(es); a classifier needs at least 2",
                version.classes.len()
            )));
        }
        let in_split =
            |counts: &eyegan_proto::dataset::v1::ClassCounts, split: SplitChoice| match split {
                SplitChoice::Train => counts.train,
                SplitChoice::Val => counts.val,
                SplitChoice::Test => counts.test,
            };
        for counts in &version.class_counts {
            if in_split(counts, self.train_split) == 0 {
                return Err(ServiceError::failed_precondition(format!(
                    "class {:?} has no images in the {} split of dataset {dataset}",
                    counts.class_name,
                    self.train_split.name()
                )));
            }
        }
        if let Some(val) = self.val_split {
            if version
                .class_counts
                .iter()
                .all(|counts| in_split(counts, val) == 0)
            {
                return Err(ServiceError::failed_precondition(format!(
                    "the {} split of dataset {dataset} is empty; choose another val_split or set \
                     skip_validation",
                    val.name()
                )));
            }
        }
        let model = GmdConfig {
            image_size: dataset_image_size,
            channels: 3,
            num_classes: version.classes.len(),
            width_multiplier: self.width_multiplier,
            padding: GmdPadding::Same,
        };
        model.validate().map_err(|error| {
            invalid(
                "config",
                format!("the GMD cannot take dataset {dataset}: {error}"),
            )
        })?;
        Ok(TrainSpec {
            dataset,
            classes: version.classes.clone(),
            crop_fundus,
            train_split: self.train_split,
            val_split: self.val_split,
            model,
            training: self.training,
            select_best_on_val: self.select_best_on_val,
            checkpoint_every_epochs: self.checkpoint_every_epochs,
            device: self.device,
            seed: self.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(config: pb::GmdConfig) -> pb::SubmitTrainClassifierRequest {
        pb::SubmitTrainClassifierRequest {
            dataset: Some(eyegan_proto::common::v1::DatasetRef {
                dataset_id: "eyes".into(),
                version: 0,
            }),
            config: Some(config),
            ..Default::default()
        }
    }

    fn field_of(config: pb::GmdConfig) -> String {
        TrainRequest::parse(&request(config))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let parsed = TrainRequest::parse(&request(pb::GmdConfig::default())).unwrap();
        assert_eq!(parsed.training.epochs, 100);
        assert_eq!(parsed.training.batch_size, 32);
        assert_eq!(parsed.training.lr, 0.001);
        assert_eq!(parsed.training.momentum, 0.9);
        assert_eq!(parsed.width_multiplier, 1.0);
        assert_eq!(parsed.val_split, Some(SplitChoice::Val));
        assert!(!parsed.training.augmentation.enabled);
    }

    #[test]
    fn bad_numbers_name_their_field() {
        let cases = [
            (
                pb::GmdConfig {
                    lr: f64::NAN,
                    ..Default::default()
                },
                "config.lr",
            ),
            (
                pb::GmdConfig {
                    lr: -1.0,
                    ..Default::default()
                },
                "config.lr",
            ),
            (
                pb::GmdConfig {
                    epochs: MAX_EPOCHS + 1,
                    ..Default::default()
                },
                "config.epochs",
            ),
            (
                pb::GmdConfig {
                    width_multiplier: f64::INFINITY,
                    ..Default::default()
                },
                "config.width_multiplier",
            ),
            (
                pb::GmdConfig {
                    momentum: Some(1.0),
                    ..Default::default()
                },
                "config.momentum",
            ),
            (
                pb::GmdConfig {
                    weight_decay: 0.1,
                    ..Default::default()
                },
                "config.weight_decay",
            ),
            (
                pb::GmdConfig {
                    image_size: 48,
                    ..Default::default()
                },
                "config.image_size",
            ),
            (
                pb::GmdConfig {
                    device: "tpu:0".into(),
                    ..Default::default()
                },
                "config.device",
            ),
            (
                pb::GmdConfig {
                    augmentation: Some(pb::ClassicalAugmentation {
                        rotation_degrees: 90.0,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "config.augmentation.rotation_degrees",
            ),
        ];
        for (config, field) in cases {
            let message = field_of(config);
            assert!(message.contains(field), "{message} should name {field}");
        }
    }

    #[test]
    fn splits_are_checked() {
        let mut same = request(pb::GmdConfig::default());
        same.val_split = eyegan_proto::dataset::v1::Split::Train as i32;
        assert!(TrainRequest::parse(&same)
            .unwrap_err()
            .to_string()
            .contains("val_split"));
        let mut unknown = request(pb::GmdConfig::default());
        unknown.train_split = 9;
        assert!(TrainRequest::parse(&unknown)
            .unwrap_err()
            .to_string()
            .contains("train_split"));
    }
}
