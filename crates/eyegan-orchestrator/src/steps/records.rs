//! What each step stores in its record: serde mirrors of the proto results the report needs.

use eyegan_proto::classifier::v1::ClassificationMetrics;
use eyegan_proto::common::v1::{
    CheckpointRef, ClassifierEpochMetrics, CollectedSamples, ObjectRef,
};
use eyegan_proto::dataset::v1::VersionSummary;
use serde::{Deserialize, Serialize};

/// A dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetVersion {
    /// Dataset id.
    pub dataset_id: String,
    /// Version number.
    pub version: u64,
}

impl DatasetVersion {
    /// The proto reference.
    pub fn to_proto(&self) -> eyegan_proto::common::v1::DatasetRef {
        eyegan_proto::common::v1::DatasetRef {
            dataset_id: self.dataset_id.clone(),
            version: self.version,
        }
    }
}

/// Images of one class per split (the paper's Tables 1 and 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCountsRecord {
    /// Class name.
    pub class_name: String,
    /// Train images (real + synthetic).
    pub train: u64,
    /// Validation images.
    pub val: u64,
    /// Test images.
    pub test: u64,
    /// Synthetic images (all in train).
    pub synthetic: u64,
}

/// A version with its per-class counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The version.
    pub dataset: DatasetVersion,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Counts per class, in label order.
    pub counts: Vec<ClassCountsRecord>,
}

impl VersionRecord {
    /// From a proto summary.
    pub fn from_summary(summary: &VersionSummary) -> Self {
        let reference = summary.r#ref.clone().unwrap_or_default();
        Self {
            dataset: DatasetVersion {
                dataset_id: reference.dataset_id,
                version: reference.version,
            },
            classes: summary.classes.clone(),
            counts: summary
                .class_counts
                .iter()
                .map(|c| ClassCountsRecord {
                    class_name: c.class_name.clone(),
                    train: c.train,
                    val: c.val,
                    test: c.test,
                    synthetic: c.synthetic,
                })
                .collect(),
        }
    }

    /// Train images of `class`.
    pub fn train_count(&self, class: &str) -> u64 {
        self.counts
            .iter()
            .find(|c| c.class_name == class)
            .map_or(0, |c| c.train)
    }
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// Store key of its JSON record.
    pub key: String,
    /// Job that wrote it.
    pub job_id: String,
    /// Network (proto enum value).
    pub network: i32,
    /// Iteration.
    pub iteration: u64,
    /// Epoch.
    pub epoch: u32,
    /// Class (GANs).
    pub class_name: String,
}

impl From<&CheckpointRef> for CheckpointRecord {
    fn from(c: &CheckpointRef) -> Self {
        Self {
            key: c.key.clone(),
            job_id: c.job_id.clone(),
            network: c.network,
            iteration: c.iteration,
            epoch: c.epoch,
            class_name: c.class_name.clone(),
        }
    }
}

impl CheckpointRecord {
    /// The proto reference.
    pub fn to_proto(&self) -> CheckpointRef {
        CheckpointRef {
            key: self.key.clone(),
            job_id: self.job_id.clone(),
            network: self.network,
            iteration: self.iteration,
            epoch: self.epoch,
            class_name: self.class_name.clone(),
        }
    }
}

/// Samples a GAN collected during training.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectedRecord {
    /// Manifest key.
    pub manifest_key: String,
    /// Manifest SHA-256.
    pub manifest_sha256: String,
    /// Manifest size.
    pub manifest_size: u64,
    /// Images generated.
    pub attempted: u64,
    /// Images kept.
    pub accepted: u64,
    /// Class.
    pub class_name: String,
}

impl From<&CollectedSamples> for CollectedRecord {
    fn from(c: &CollectedSamples) -> Self {
        let manifest = c.manifest.clone().unwrap_or_default();
        Self {
            manifest_key: manifest.key,
            manifest_sha256: manifest.sha256,
            manifest_size: manifest.size,
            attempted: c.attempted,
            accepted: c.accepted,
            class_name: c.class_name.clone(),
        }
    }
}

impl CollectedRecord {
    /// The proto message.
    pub fn to_proto(&self) -> CollectedSamples {
        CollectedSamples {
            manifest: Some(ObjectRef {
                key: self.manifest_key.clone(),
                sha256: self.manifest_sha256.clone(),
                size: self.manifest_size,
            }),
            attempted: self.attempted,
            accepted: self.accepted,
            class_name: self.class_name.clone(),
        }
    }
}

/// One point of a GAN loss curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GanPoint {
    /// Iteration.
    pub iteration: u64,
    /// Discriminator loss.
    pub loss_d: f64,
    /// Generator loss.
    pub loss_g: f64,
    /// Mean D(x).
    pub d_real: f64,
    /// Mean D(G(z)) before the G step.
    pub d_fake: f64,
}

/// Outputs of one GAN step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanRecord {
    /// Class trained on.
    pub class_name: String,
    /// Seed.
    pub seed: u64,
    /// Index of the trainer endpoint that ran it.
    pub trainer: usize,
    /// Job id on that trainer.
    pub job_id: String,
    /// Final G.
    pub generator: CheckpointRecord,
    /// Final D.
    pub discriminator: CheckpointRecord,
    /// Iterations run.
    pub iterations: u64,
    /// Epochs run.
    pub epochs: u32,
    /// Samples collected during training, in that mode.
    pub collected: Option<CollectedRecord>,
    /// Loss curve (subsampled).
    pub curve: Vec<GanPoint>,
    /// Final fixed-noise sample grid, relative to the run folder.
    pub sample_grid: Option<String>,
}

/// Per-class outcome of generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationCountRecord {
    /// Class.
    pub class_name: String,
    /// Images asked for.
    pub requested: u64,
    /// Images generated and scored.
    pub attempted: u64,
    /// Images kept and added.
    pub accepted: u64,
}

/// Outputs of one generation step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateRecord {
    /// Seed.
    pub seed: u64,
    /// The new version with the synthetic images.
    pub version: VersionRecord,
    /// Per-class counts.
    pub per_class: Vec<GenerationCountRecord>,
    /// Generator job id.
    pub job_id: String,
}

/// One classifier epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (from 1).
    pub epoch: u32,
    /// Training loss.
    pub train_loss: f64,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// Validation accuracy.
    pub val_accuracy: Option<f64>,
}

impl From<&ClassifierEpochMetrics> for EpochRecord {
    fn from(m: &ClassifierEpochMetrics) -> Self {
        Self {
            epoch: m.epoch,
            train_loss: m.train_loss,
            train_accuracy: m.train_accuracy,
            val_loss: m.val_loss,
            val_accuracy: m.val_accuracy,
        }
    }
}

/// Outputs of one classifier training step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyRecord {
    /// Arm.
    pub arm: String,
    /// Seed.
    pub seed: u64,
    /// The version trained on.
    pub trained_on: DatasetVersion,
    /// Classifier job id.
    pub job_id: String,
    /// The model.
    pub model: CheckpointRecord,
    /// Epoch whose weights the model holds.
    pub selected_epoch: u32,
    /// Per-epoch metrics.
    pub history: Vec<EpochRecord>,
}

/// One class's one-vs-rest metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetricsRecord {
    /// Class.
    pub class_name: String,
    /// Images of the class.
    pub support: u64,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// Specificity.
    pub specificity: f64,
    /// F1.
    pub f1: f64,
    /// One-vs-rest AUC; `None` when undefined.
    pub auc: Option<f64>,
}

/// Metrics of a model on one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    /// Images evaluated.
    pub total: u64,
    /// Accuracy.
    pub accuracy: f64,
    /// Mean cross-entropy (`None` when not finite).
    pub loss: Option<f64>,
    /// Per class.
    pub per_class: Vec<ClassMetricsRecord>,
    /// Confusion matrix classes.
    pub confusion_classes: Vec<String>,
    /// Row-major counts `[true * n + predicted]`.
    pub confusion: Vec<u64>,
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

impl From<&ClassificationMetrics> for MetricsRecord {
    fn from(m: &ClassificationMetrics) -> Self {
        let confusion = m.confusion.clone().unwrap_or_default();
        Self {
            total: m.total,
            accuracy: m.accuracy,
            loss: finite(m.loss),
            per_class: m
                .per_class
                .iter()
                .map(|c| ClassMetricsRecord {
                    class_name: c.class_name.clone(),
                    support: c.support,
                    precision: c.precision,
                    recall: c.recall,
                    specificity: c.specificity,
                    f1: c.f1,
                    auc: finite(c.auc),
                })
                .collect(),
            confusion_classes: confusion.classes,
            confusion: confusion.counts,
        }
    }
}

/// One test image's prediction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionRecord {
    /// Image id.
    pub image_id: String,
    /// Labelled class.
    pub true_class: String,
    /// Predicted class.
    pub predicted_class: String,
}

/// Outputs of one evaluation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluateRecord {
    /// Arm.
    pub arm: String,
    /// Seed.
    pub seed: u64,
    /// On the train split the arm trained on.
    pub train: MetricsRecord,
    /// On the validation split.
    pub val: Option<MetricsRecord>,
    /// On the real test split.
    pub test: MetricsRecord,
    /// Every test image's prediction, in stored order.
    pub test_predictions: Vec<PredictionRecord>,
}
