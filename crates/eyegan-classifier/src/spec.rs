//! The stored request of one training job: every default applied and the dataset version
//! resolved, so a resumed job trains exactly what was submitted.

use eyegan_jobs::JobError;
use eyegan_nn::{ClassifierTrainingConfig, GmdConfig};
use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1::Split;
use eyegan_service::ServiceError;
use serde::{Deserialize, Serialize};

/// A dataset split a job reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitChoice {
    /// The train split.
    Train,
    /// The validation split.
    Val,
    /// The test split.
    Test,
}

impl SplitChoice {
    /// The split of a request field: SPLIT_UNSPECIFIED gives `default`; an unknown value is
    /// INVALID_ARGUMENT naming `field`.
    pub fn from_proto(value: i32, default: Self, field: &str) -> Result<Self, ServiceError> {
        match Split::try_from(value) {
            Ok(Split::Unspecified) => Ok(default),
            Ok(Split::Train) => Ok(Self::Train),
            Ok(Split::Val) => Ok(Self::Val),
            Ok(Split::Test) => Ok(Self::Test),
            Err(_) => Err(ServiceError::invalid_argument(
                field,
                format!("{value} is not a split (1 = train, 2 = val, 3 = test)"),
            )),
        }
    }

    /// The protobuf value.
    pub fn to_proto(self) -> Split {
        match self {
            Self::Train => Split::Train,
            Self::Val => Split::Val,
            Self::Test => Split::Test,
        }
    }

    /// `train`, `val` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
        }
    }
}

/// One resolved dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetVersion {
    /// Dataset id.
    pub dataset_id: String,
    /// Version number (never 0 here).
    pub version: u64,
}

impl DatasetVersion {
    /// The protobuf reference.
    pub fn to_proto(&self) -> DatasetRef {
        DatasetRef {
            dataset_id: self.dataset_id.clone(),
            version: self.version,
        }
    }
}

impl std::fmt::Display for DatasetVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.dataset_id, self.version)
    }
}

/// A training job's request with every default applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    /// The resolved dataset version.
    pub dataset: DatasetVersion,
    /// The version's classes in label order: the model's outputs.
    pub classes: Vec<String>,
    /// Whether the dataset's import cropped the fundus field (Predict does the same).
    pub crop_fundus: bool,
    /// Split trained on.
    pub train_split: SplitChoice,
    /// Split validated on after each epoch; `None` = no validation.
    pub val_split: Option<SplitChoice>,
    /// The network.
    pub model: GmdConfig,
    /// Optimizer, epochs, batch size, augmentation.
    pub training: ClassifierTrainingConfig,
    /// Keep the epoch with the best validation accuracy instead of the last.
    pub select_best_on_val: bool,
    /// Checkpoint every this many epochs (and at the end); at least 1.
    pub checkpoint_every_epochs: u32,
    /// Compute device spec as requested (empty = CUDA when available, else CPU).
    pub device: String,
    /// Seed of initialisation, shuffling and augmentation.
    pub seed: u64,
}

impl TrainSpec {
    /// Checks the invariants a stored spec must keep (also re-checked when a job record is
    /// read back): INVALID_ARGUMENT naming the field.
    pub fn validate(&self) -> Result<(), JobError> {
        let config =
            |error: eyegan_nn::NnError| JobError::invalid_argument("config", error.to_string());
        self.model.validate().map_err(config)?;
        self.training.validate().map_err(config)?;
        if self.model.num_classes != self.classes.len() {
            return Err(JobError::invalid_argument(
                "dataset",
                format!(
                    "{} classes recorded for a {}-class model",
                    self.classes.len(),
                    self.model.num_classes
                ),
            ));
        }
        if self.checkpoint_every_epochs == 0 {
            return Err(JobError::invalid_argument(
                "config.checkpoint_every_epochs",
                "must be at least 1",
            ));
        }
        if self.select_best_on_val && self.val_split.is_none() {
            return Err(JobError::invalid_argument(
                "config.select_best_on_val",
                "needs a validation split (skip_validation is set)",
            ));
        }
        Ok(())
    }

    /// One line for job listings.
    pub fn summary(&self) -> String {
        format!(
            "train classifier dataset={} split={} val={} epochs={} seed={}",
            self.dataset,
            self.train_split.name(),
            self.val_split.map_or("none", SplitChoice::name),
            self.training.epochs,
            self.seed
        )
    }
}
