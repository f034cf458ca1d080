//! The per-epoch training history: streamed as `classifier_epoch` events, stored as
//! `jobs/classifier/<job id>/history.json` (rewritten after every epoch and on resume) and
//! returned by `GetTrainingHistory` and in the job's result.

use eyegan_proto::common::v1::ClassifierEpochMetrics;
use eyegan_service::ServiceError;
use eyegan_store::Store;
use serde::{Deserialize, Serialize};

/// Metrics of one finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, starting at 1.
    pub epoch: u32,
    /// Mean training loss over the epoch (measured before each update).
    pub train_loss: f64,
    /// Training accuracy over the epoch.
    pub train_accuracy: f64,
    /// Validation loss after the epoch.
    pub val_loss: Option<f64>,
    /// Validation accuracy after the epoch.
    pub val_accuracy: Option<f64>,
    /// Learning rate of the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

impl EpochRecord {
    /// The protobuf message.
    pub fn to_proto(&self) -> ClassifierEpochMetrics {
        ClassifierEpochMetrics {
            epoch: self.epoch,
            train_loss: self.train_loss,
            train_accuracy: self.train_accuracy,
            val_loss: self.val_loss,
            val_accuracy: self.val_accuracy,
            learning_rate: self.learning_rate,
            seconds: self.seconds,
        }
    }
}

/// Key of a job's stored history.
pub fn history_key(job_prefix: &str) -> String {
    format!("{job_prefix}/history.json")
}

/// Stores the history of the job under `job_prefix`.
pub async fn store_history(
    store: &Store,
    job_prefix: &str,
    history: &[EpochRecord],
) -> Result<(), ServiceError> {
    Ok(store.put_json(&history_key(job_prefix), &history).await?)
}

/// The stored history of the job under `job_prefix` (empty before its first epoch).
pub async fn read_history(
    store: &Store,
    job_prefix: &str,
) -> Result<Vec<EpochRecord>, ServiceError> {
    Ok(store
        .get_json(&history_key(job_prefix))
        .await?
        .unwrap_or_default())
}
