//! The trainer's job spec: one GAN training job as stored in its record, every default of the
//! proto resolved (see [`crate::request`] for how a `SubmitTrainGanRequest` becomes one).

use eyegan_nn::{DcganConfig, FilterPreset, GanTrainingConfig};
use eyegan_proto::dataset::v1::Split;
use serde::{Deserialize, Serialize};

/// How long training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingLength {
    /// Whole passes over the class's images.
    Epochs(u64),
    /// A number of iterations (the last epoch may be partial).
    Iterations(u64),
}

/// The `during_training` generation settings, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CollectionSpec {
    /// Images generated after each epoch.
    pub images_per_epoch: u32,
    /// First (1-based) completed epoch after which images are generated.
    pub start_epoch: u64,
    /// Which images are kept.
    pub filter: FilterPreset,
    /// Stop collecting after this many kept images; 0 = no limit.
    pub max_kept: u64,
}

/// One GAN training job, as stored in the job record (every default resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainGanSpec {
    /// Dataset id.
    pub dataset_id: String,
    /// Dataset version (resolved: never 0).
    pub version: u64,
    /// Split trained on (`train`, `val` or `test`).
    pub split: SplitName,
    /// Class trained on.
    pub class_name: String,
    /// Images of the class in the split at submission.
    pub class_images: u64,
    /// G and D architecture.
    pub model: DcganConfig,
    /// Optimiser, batch and sampling settings (`epochs` covers the whole length).
    pub training: GanTrainingConfig,
    /// How long to train.
    pub length: TrainingLength,
    /// Checkpoint interval in iterations.
    pub checkpoint_every: u64,
    /// Sample grid interval in iterations.
    pub sample_every: u64,
    /// Periodic checkpoints kept (0 = all).
    pub keep_last_checkpoints: u32,
    /// Compute device spec (`cpu`, `cuda:N`).
    pub device: String,
    /// Seed of everything random.
    pub seed: u64,
    /// During-training collection, when on.
    pub collection: Option<CollectionSpec>,
}

impl TrainGanSpec {
    /// Iterations per epoch: `ceil(class_images / batch_size)`.
    pub fn iterations_per_epoch(&self) -> u64 {
        (self.class_images).div_ceil(self.training.batch_size.max(1) as u64)
    }

    /// Iterations the whole job runs.
    pub fn total_iterations(&self) -> u64 {
        match self.length {
            TrainingLength::Epochs(epochs) => epochs * self.iterations_per_epoch(),
            TrainingLength::Iterations(iterations) => iterations,
        }
    }

    /// The dataset reference in `id@version` form.
    pub fn dataset_label(&self) -> String {
        format!("{}@{}", self.dataset_id, self.version)
    }
}

/// The split names a spec can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitName {
    /// Training images.
    Train,
    /// Validation images.
    Val,
    /// Test images.
    Test,
}

impl SplitName {
    /// The protobuf split.
    pub fn to_proto(self) -> Split {
        match self {
            Self::Train => Split::Train,
            Self::Val => Split::Val,
            Self::Test => Split::Test,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
        }
    }
}
