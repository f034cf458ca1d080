//! The result of a successful training job as stored in its record, and its protobuf form.

use eyegan_proto::common::v1::{
    job_result, CheckpointRef, CollectedSamples, JobResult, Network, ObjectRef, TrainGanResult,
};
use eyegan_store::BlobRef;
use serde::{Deserialize, Serialize};

/// A stored object: key, SHA-256 and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// Store key.
    pub key: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

impl StoredObject {
    /// The object at `key` with contents described by `blob`.
    pub fn at(key: impl Into<String>, blob: &BlobRef) -> Self {
        Self {
            key: key.into(),
            sha256: blob.sha256.clone(),
            size: blob.size,
        }
    }

    /// The protobuf reference.
    pub fn to_proto(&self) -> ObjectRef {
        ObjectRef {
            key: self.key.clone(),
            sha256: self.sha256.clone(),
            size: self.size,
        }
    }
}

/// A checkpoint of G and D: the job system's pointer record holding both networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GanCheckpointRecord {
    /// Key of the checkpoint pointer (`jobs/trainer/<job>/checkpoints/<step>.json`).
    pub key: String,
    /// Job that wrote it.
    pub job_id: String,
    /// Iterations done.
    pub iteration: u64,
    /// Epochs completed.
    pub epoch: u32,
    /// Class trained on.
    pub class_name: String,
}

impl GanCheckpointRecord {
    /// The protobuf reference for `network` (G and D share the pointer).
    pub fn to_proto(&self, network: Network) -> CheckpointRef {
        CheckpointRef {
            key: self.key.clone(),
            job_id: self.job_id.clone(),
            network: network as i32,
            iteration: self.iteration,
            epoch: self.epoch,
            class_name: self.class_name.clone(),
        }
    }
}

/// Samples collected during training.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectedSummary {
    /// The manifest.
    pub manifest: StoredObject,
    /// Images generated.
    pub attempted: u64,
    /// Images kept.
    pub accepted: u64,
    /// Their class.
    pub class_name: String,
}

/// What a successful job produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainGanOutput {
    /// The final checkpoint (G and D).
    pub checkpoint: GanCheckpointRecord,
    /// Iterations run.
    pub iterations: u64,
    /// Epochs completed.
    pub epochs: u32,
    /// Every metric row (JSON lines).
    pub metrics: StoredObject,
    /// The last sample grid.
    pub final_sample_grid: StoredObject,
    /// During-training samples, when that mode was on.
    pub collected: Option<CollectedSummary>,
}

impl TrainGanOutput {
    /// The protobuf result.
    pub fn to_proto(&self) -> JobResult {
        JobResult {
            kind: Some(job_result::Kind::TrainGan(TrainGanResult {
                generator: Some(self.checkpoint.to_proto(Network::Generator)),
                discriminator: Some(self.checkpoint.to_proto(Network::Discriminator)),
                iterations: self.iterations,
                epochs: self.epochs,
                metrics: Some(self.metrics.to_proto()),
                final_sample_grid: Some(self.final_sample_grid.to_proto()),
                collected_samples: self.collected.as_ref().map(|collected| CollectedSamples {
                    manifest: Some(collected.manifest.to_proto()),
                    attempted: collected.attempted,
                    accepted: collected.accepted,
                    class_name: collected.class_name.clone(),
                }),
            })),
        }
    }
}
