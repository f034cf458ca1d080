//! `SubmitTrainGanRequest` → [`TrainGanSpec`]: every default of the proto applied, every field
//! checked with errors that name it.
//!
//! Checking happens in two stages: [`CheckedRequest::from_proto`] checks what the request alone
//! decides; [`CheckedRequest::resolve`] checks it against the dataset version (class present and
//! non-empty in the split, batch not larger than the class, image size equal to the dataset's)
//! and yields the stored [`TrainGanSpec`].

use eyegan_nn::{DcganConfig, DiffAugmentPolicy, FilterPreset, GanTrainingConfig, LastBatch};
use eyegan_proto::common::v1::{score_filter, FilterPreset as ProtoFilterPreset, ScoreFilter};
use eyegan_proto::dataset::v1::{Split, VersionSummary};
use eyegan_proto::trainer::v1::{
    gan_config, DiffAugmentOp, DuringTrainingGeneration, GanConfig, SubmitTrainGanRequest,
};
use eyegan_service::ServiceError;

use crate::spec::{CollectionSpec, SplitName, TrainGanSpec, TrainingLength};

/// Default image side (`GanConfig.image_size` 0).
pub const DEFAULT_IMAGE_SIZE: u32 = 64;
/// Default latent size (`GanConfig.nz` 0).
pub const DEFAULT_NZ: u32 = 100;
/// Default G and D widths (`GanConfig.ngf`/`ndf` 0).
pub const DEFAULT_WIDTH: u32 = 64;
/// Default batch (`GanConfig.batch_size` 0), capped at the class size.
pub const DEFAULT_BATCH_SIZE: u32 = 128;
/// Default Adam learning rate.
pub const DEFAULT_LR: f64 = 2e-4;
/// Default Adam β1.
pub const DEFAULT_BETA1: f64 = 0.5;
/// Default Adam β2.
pub const DEFAULT_BETA2: f64 = 0.999;
/// Default checkpoint and sample-grid interval, in iterations.
pub const DEFAULT_EVERY: u64 = 500;
/// Default images per sample grid.
pub const DEFAULT_GRID_IMAGES: u32 = 64;
/// Largest sample grid.
pub const MAX_GRID_IMAGES: u32 = 256;
/// Image sides the DCGAN supports.
pub const SUPPORTED_IMAGE_SIZES: [u32; 3] = [32, 64, 128];
/// Longest class name accepted.
const MAX_CLASS_NAME: usize = 128;

/// A request whose own fields are valid; the dataset checks are still to come.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    /// Dataset id.
    pub dataset_id: String,
    /// Version asked for (0 = latest).
    pub version: u64,
    /// Split.
    pub split: SplitName,
    /// Class.
    pub class_name: String,
    /// Batch size asked for (0 = default capped at the class).
    batch_size: u32,
    model: DcganConfig,
    training: GanTrainingConfig,
    length: TrainingLength,
    checkpoint_every: u64,
    sample_every: u64,
    keep_last_checkpoints: u32,
    device: String,
    seed: u64,
    collection: Option<CollectionSpec>,
}

fn invalid(field: &str, reason: impl Into<String>) -> ServiceError {
    ServiceError::invalid_argument(field, reason)
}

fn or_default<T: PartialEq + Default>(value: T, default: T) -> T {
    if value == T::default() {
        default
    } else {
        value
    }
}

impl CheckedRequest {
    /// Applies the proto's defaults and checks every field the request alone decides.
    pub fn from_proto(request: &SubmitTrainGanRequest) -> Result<Self, ServiceError> {
        let dataset = request
            .dataset
            .as_ref()
            .ok_or_else(|| invalid("dataset", "is required"))?;
        if dataset.dataset_id.is_empty() {
            return Err(invalid("dataset.dataset_id", "must not be empty"));
        }
        eyegan_service::validate_name("dataset.dataset_id", &dataset.dataset_id)?;
        let split = match Split::try_from(request.split) {
            Ok(Split::Unspecified | Split::Train) => SplitName::Train,
            Ok(Split::Val) => SplitName::Val,
            Ok(Split::Test) => SplitName::Test,
            Err(_) => {
                return Err(invalid(
                    "split",
                    format!("{} is not a Split", request.split),
                ))
            }
        };
        let class_name = request.class_name.trim();
        if class_name.is_empty() {
            return Err(invalid("class_name", "must not be empty"));
        }
        if class_name.len() > MAX_CLASS_NAME || class_name.chars().any(char::is_control) {
            return Err(invalid(
                "class_name",
                "must be at most 128 characters without control characters",
            ));
        }
        let config = request
            .config
            .as_ref()
            .ok_or_else(|| invalid("config", "is required"))?;
        let (model, training, length) = check_config(config)?;
        let device = check_device(&config.device)?;
        let collection = request
            .during_training
            .as_ref()
            .map(check_collection)
            .transpose()?;
        Ok(Self {
            dataset_id: dataset.dataset_id.clone(),
            version: dataset.version,
            split,
            class_name: class_name.to_owned(),
            batch_size: config.batch_size,
            model,
            training,
            length,
            checkpoint_every: or_default(config.checkpoint_every, DEFAULT_EVERY),
            sample_every: or_default(config.sample_every, DEFAULT_EVERY),
            keep_last_checkpoints: config.keep_last_checkpoints,
            device,
            seed: request.seed,
            collection,
        })
    }

    /// Checks the request against the dataset version it names and returns the job spec.
    pub fn resolve(self, version: &VersionSummary) -> Result<TrainGanSpec, ServiceError> {
        let resolved_version = version.r#ref.as_ref().map_or(self.version, |r| r.version);
        if !version.classes.contains(&self.class_name) {
            return Err(invalid(
                "class_name",
                format!(
                    "{:?} is not a class of {}@{} (classes: {})",
                    self.class_name,
                    self.dataset_id,
                    resolved_version,
                    version.classes.join(", ")
                ),
            ));
        }
        let has_split = version.split.is_some()
            || version
                .split_counts
                .as_ref()
                .is_some_and(|counts| counts.train + counts.val + counts.test > 0);
        if !has_split {
            return Err(ServiceError::failed_precondition(format!(
                "{}@{resolved_version} has no split yet; create one with CreateSplit",
                self.dataset_id
            )));
        }
        let counts = version
            .class_counts
            .iter()
            .find(|counts| counts.class_name == self.class_name);
        let class_images = counts.map_or(0, |counts| match self.split {
            SplitName::Train => counts.train,
            SplitName::Val => counts.val,
            SplitName::Test => counts.test,
        });
        if class_images == 0 {
            return Err(invalid(
                "class_name",
                format!(
                    "class {:?} has no images in the {} split of {}@{resolved_version}",
                    self.class_name,
                    self.split.as_str(),
                    self.dataset_id
                ),
            ));
        }
        let image_size = self.model.image_size as u32;
        if version.image_size != image_size {
            return Err(invalid(
                "config.image_size",
                format!(
                    "{image_size} does not match the dataset's image size {}",
                    version.image_size
                ),
            ));
        }
        let batch_size = if self.batch_size == 0 {
            u64::from(DEFAULT_BATCH_SIZE).min(class_images)
        } else if u64::from(self.batch_size) > class_images {
            return Err(invalid(
                "config.batch_size",
                format!(
                    "{} is larger than the {class_images} images of class {:?} in the {} split",
                    self.batch_size,
                    self.class_name,
                    self.split.as_str()
                ),
            ));
        } else {
            u64::from(self.batch_size)
        };
        let mut training = self.training;
        training.batch_size = batch_size as usize;
        let per_epoch = class_images.div_ceil(batch_size);
        training.epochs = match self.length {
            TrainingLength::Epochs(epochs) => epochs,
            TrainingLength::Iterations(iterations) => iterations.div_ceil(per_epoch).max(1),
        };
        training.sample_every = self.sample_every;
        training
            .validate()
            .map_err(|error| invalid("config", error.to_string()))?;
        Ok(TrainGanSpec {
            dataset_id: self.dataset_id,
            version: resolved_version,
            split: self.split,
            class_name: self.class_name,
            class_images,
            model: self.model,
            training,
            length: self.length,
            checkpoint_every: self.checkpoint_every,
            sample_every: self.sample_every,
            keep_last_checkpoints: self.keep_last_checkpoints,
            device: self.device,
            seed: self.seed,
            collection: self.collection,
        })
    }
}

fn check_width(field: &str, value: u32, default: u32) -> Result<usize, ServiceError> {
    let value = or_default(value, default);
    if value > 1024 {
        return Err(invalid(field, format!("{value} is larger than 1024")));
    }
    Ok(value as usize)
}

fn check_unit_interval(field: &str, value: f64, default: f64) -> Result<f64, ServiceError> {
    let value = or_default(value, default);
    if !(0.0..1.0).contains(&value) {
        return Err(invalid(field, format!("{value} is not in [0, 1)")));
    }
    Ok(value)
}

fn check_config(
    config: &GanConfig,
) -> Result<(DcganConfig, GanTrainingConfig, TrainingLength), ServiceError> {
    let image_size = or_default(config.image_size, DEFAULT_IMAGE_SIZE);
    if !SUPPORTED_IMAGE_SIZES.contains(&image_size) {
        return Err(invalid(
            "config.image_size",
            format!("{image_size} is not one of 32, 64, 128"),
        ));
    }
    let nz = check_width("config.nz", config.nz, DEFAULT_NZ)?;
    let model = DcganConfig {
        image_size: image_size as usize,
        nz,
        ngf: check_width("config.ngf", config.ngf, DEFAULT_WIDTH)?,
        ndf: check_width("config.ndf", config.ndf, DEFAULT_WIDTH)?,
        channels: 3,
    };
    let length = match config.length.as_ref() {
        None => {
            return Err(invalid(
                "config.length",
                "set exactly one of epochs or iterations",
            ))
        }
        Some(gan_config::Length::Epochs(0)) => {
            return Err(invalid("config.epochs", "must be at least 1"))
        }
        Some(gan_config::Length::Iterations(0)) => {
            return Err(invalid("config.iterations", "must be at least 1"))
        }
        Some(gan_config::Length::Epochs(epochs)) => TrainingLength::Epochs(u64::from(*epochs)),
        Some(gan_config::Length::Iterations(iterations)) => TrainingLength::Iterations(*iterations),
    };
    let lr = or_default(config.lr, DEFAULT_LR);
    if !lr.is_finite() || lr <= 0.0 {
        return Err(invalid(
            "config.lr",
            format!("{lr} is not a finite number > 0"),
        ));
    }
    let beta1 = check_unit_interval("config.beta1", config.beta1, DEFAULT_BETA1)?;
    let beta2 = check_unit_interval("config.beta2", config.beta2, DEFAULT_BETA2)?;
    let sample_count = or_default(config.sample_grid_images, DEFAULT_GRID_IMAGES);
    if sample_count > MAX_GRID_IMAGES {
        return Err(invalid(
            "config.sample_grid_images",
            format!("{sample_count} is more than {MAX_GRID_IMAGES}"),
        ));
    }
    let diff_augment_policy = check_diff_augment(&config.diff_augment)?;
    let training = GanTrainingConfig {
        lr,
        beta1,
        beta2,
        last_batch: LastBatch::Keep,
        diff_augment: !config.diff_augment.is_empty(),
        diff_augment_policy,
        sample_count: sample_count as usize,
        ..GanTrainingConfig::paper()
    };
    Ok((model, training, length))
}

fn check_diff_augment(ops: &[i32]) -> Result<DiffAugmentPolicy, ServiceError> {
    let mut policy = DiffAugmentPolicy {
        color: false,
        translation: false,
        cutout: false,
    };
    for (position, &value) in ops.iter().enumerate() {
        let field = format!("config.diff_augment[{position}]");
        match DiffAugmentOp::try_from(value) {
            Ok(DiffAugmentOp::Color) => policy.color = true,
            Ok(DiffAugmentOp::Translation) => policy.translation = true,
            Ok(DiffAugmentOp::Cutout) => policy.cutout = true,
            Ok(DiffAugmentOp::Unspecified) => {
                return Err(invalid(&field, "DIFF_AUGMENT_OP_UNSPECIFIED is not an op"))
            }
            Err(_) => return Err(invalid(&field, format!("{value} is not a DiffAugmentOp"))),
        }
    }
    Ok(policy)
}

fn check_device(device: &str) -> Result<String, ServiceError> {
    let device = device.trim();
    if device.is_empty() {
        return Ok(eyegan_nn::default_device_spec().to_owned());
    }
    eyegan_nn::parse_device(device).map_err(|error| invalid("config.device", error.to_string()))?;
    Ok(device.to_ascii_lowercase())
}

fn check_filter(filter: Option<&ScoreFilter>) -> Result<FilterPreset, ServiceError> {
    match filter.and_then(|filter| filter.rule.as_ref()) {
        None => Ok(FilterPreset::PaperCode),
        Some(&score_filter::Rule::MinScore(score)) => {
            if !(0.0..=1.0).contains(&score) {
                return Err(invalid(
                    "during_training.filter.min_score",
                    format!("{score} is not a number in [0, 1]"),
                ));
            }
            Ok(FilterPreset::MinScore(score as f32))
        }
        Some(&score_filter::Rule::Preset(value)) => match ProtoFilterPreset::try_from(value) {
            Ok(ProtoFilterPreset::Unspecified | ProtoFilterPreset::PaperCode) => {
                Ok(FilterPreset::PaperCode)
            }
            Ok(ProtoFilterPreset::PaperText) => Ok(FilterPreset::PaperText),
            Ok(ProtoFilterPreset::None) => Ok(FilterPreset::None),
            Err(_) => Err(invalid(
                "during_training.filter.preset",
                format!("{value} is not a FilterPreset"),
            )),
        },
    }
}

fn check_collection(generation: &DuringTrainingGeneration) -> Result<CollectionSpec, ServiceError> {
    if generation.images_per_epoch == 0 {
        return Err(invalid(
            "during_training.images_per_epoch",
            "must be at least 1",
        ));
    }
    if generation.images_per_epoch > 4096 {
        return Err(invalid(
            "during_training.images_per_epoch",
            "must be at most 4096",
        ));
    }
    Ok(CollectionSpec {
        images_per_epoch: generation.images_per_epoch,
        start_epoch: u64::from(generation.start_epoch.max(1)),
        filter: check_filter(generation.filter.as_ref())?,
        max_kept: generation.max_kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyegan_proto::common::v1::DatasetRef;
    use eyegan_proto::dataset::v1::{ClassCounts, SplitCounts};

    fn request() -> SubmitTrainGanRequest {
        SubmitTrainGanRequest {
            dataset: Some(DatasetRef {
                dataset_id: "eyes".into(),
                version: 0,
            }),
            class_name: "dr".into(),
            config: Some(GanConfig {
                image_size: 32,
                length: Some(gan_config::Length::Epochs(2)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn version(train: u64) -> VersionSummary {
        VersionSummary {
            r#ref: Some(DatasetRef {
                dataset_id: "eyes".into(),
                version: 3,
            }),
            classes: vec!["dr".into(), "normal".into()],
            class_counts: vec![
                ClassCounts {
                    class_name: "dr".into(),
                    train,
                    ..Default::default()
                },
                ClassCounts {
                    class_name: "normal".into(),
                    label: 1,
                    ..Default::default()
                },
            ],
            split_counts: Some(SplitCounts {
                train,
                ..Default::default()
            }),
            image_size: 32,
            ..Default::default()
        }
    }

    fn field_of(error: ServiceError) -> String {
        match error {
            ServiceError::InvalidArgument { field, .. } => field,
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_proto() {
        let spec = CheckedRequest::from_proto(&request())
            .unwrap()
            .resolve(&version(300))
            .unwrap();
        assert_eq!(spec.version, 3);
        assert_eq!(spec.split, SplitName::Train);
        assert_eq!(
            (spec.model.nz, spec.model.ngf, spec.model.ndf),
            (100, 64, 64)
        );
        assert_eq!(spec.training.batch_size, 128);
        assert_eq!((spec.training.lr, spec.training.beta1), (2e-4, 0.5));
        assert_eq!(spec.training.beta2, 0.999);
        assert_eq!((spec.checkpoint_every, spec.sample_every), (500, 500));
        assert_eq!(spec.training.sample_count, 64);
        assert_eq!(spec.device, "cpu");
        assert_eq!(spec.iterations_per_epoch(), 3);
        assert_eq!(spec.total_iterations(), 6);
        // A small class caps the default batch.
        let small = CheckedRequest::from_proto(&request())
            .unwrap()
            .resolve(&version(10))
            .unwrap();
        assert_eq!(small.training.batch_size, 10);
    }

    #[test]
    fn iterations_set_enough_epochs() {
        let mut request = request();
        let config = request.config.as_mut().unwrap();
        config.length = Some(gan_config::Length::Iterations(7));
        config.batch_size = 4;
        let spec = CheckedRequest::from_proto(&request)
            .unwrap()
            .resolve(&version(10))
            .unwrap();
        assert_eq!(spec.total_iterations(), 7);
        assert_eq!(spec.training.epochs, 3);
    }

    #[test]
    fn bad_fields_are_named() {
        type Edit = fn(&mut SubmitTrainGanRequest);
        let cases: [(Edit, &str); 12] = [
            (|r| r.class_name.clear(), "class_name"),
            (|r| r.dataset = None, "dataset"),
            (|r| r.config = None, "config"),
            (
                |r| r.config.as_mut().unwrap().length = None,
                "config.length",
            ),
            (
                |r| r.config.as_mut().unwrap().length = Some(gan_config::Length::Epochs(0)),
                "config.epochs",
            ),
            (
                |r| r.config.as_mut().unwrap().length = Some(gan_config::Length::Iterations(0)),
                "config.iterations",
            ),
            (|r| r.config.as_mut().unwrap().lr = f64::NAN, "config.lr"),
            (|r| r.config.as_mut().unwrap().lr = -1.0, "config.lr"),
            (|r| r.config.as_mut().unwrap().beta1 = 1.0, "config.beta1"),
            (
                |r| r.config.as_mut().unwrap().image_size = 48,
                "config.image_size",
            ),
            (
                |r| r.config.as_mut().unwrap().device = "tpu".into(),
                "config.device",
            ),
            (
                |r| r.config.as_mut().unwrap().diff_augment = vec![0],
                "config.diff_augment[0]",
            ),
        ];
        for (edit, field) in cases {
            let mut request = request();
            edit(&mut request);
            let error = CheckedRequest::from_proto(&request).unwrap_err();
            assert_eq!(field_of(error), field);
        }
    }

    #[test]
    fn dataset_checks_name_the_field() {
        type Edit = fn(&mut SubmitTrainGanRequest);
        let cases: [(Edit, &str); 4] = [
            (|r| r.class_name = "cataract".into(), "class_name"),
            (|r| r.class_name = "normal".into(), "class_name"),
            (
                |r| r.config.as_mut().unwrap().batch_size = 6,
                "config.batch_size",
            ),
            (
                |r| r.config.as_mut().unwrap().image_size = 64,
                "config.image_size",
            ),
        ];
        for (edit, field) in cases {
            let mut request = request();
            edit(&mut request);
            let checked = CheckedRequest::from_proto(&request).unwrap();
            assert_eq!(field_of(checked.resolve(&version(5)).unwrap_err()), field);
        }
    }

    #[test]
    fn collection_defaults_and_errors() {
        let mut request = request();
        request.during_training = Some(DuringTrainingGeneration {
            images_per_epoch: 1,
            ..Default::default()
        });
        let checked = CheckedRequest::from_proto(&request).unwrap();
        let collection = checked.collection.unwrap();
        assert_eq!(collection.filter, FilterPreset::PaperCode);
        assert_eq!(collection.start_epoch, 1);
        request.during_training = Some(DuringTrainingGeneration {
            images_per_epoch: 1,
            filter: Some(ScoreFilter {
                rule: Some(score_filter::Rule::MinScore(f64::NAN)),
            }),
            ..Default::default()
        });
        let error = CheckedRequest::from_proto(&request).unwrap_err();
        assert_eq!(field_of(error), "during_training.filter.min_score");
    }
}
