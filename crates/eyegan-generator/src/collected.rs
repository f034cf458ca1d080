//! Samples a trainer collected during training (`during_training` generation), as a source.
//!
//! The manifest (`CollectedSamples.manifest`, `jobs/trainer/<job>/collected/manifest.json`, as
//! `eyegan-trainer` writes it; fields not listed here are ignored):
//! ```json
//! { "class_name": "dr", "final_checkpoint": "jobs/trainer/<job>/checkpoints/….json",
//!   "samples": [ { "epoch": 3, "index": 3, "seed": 123, "score": 0.81,
//!                  "png": { "key": "blobs/sha256/ab/ab12…", "sha256": "ab12…", "size": 4100 } } ] }
//! ```
//! Provenance records a sample's own `checkpoint` when present, else `final_checkpoint`, else
//! the manifest key.

use eyegan_service::ServiceError;
use eyegan_store::{BlobRef, Store};
use serde::{Deserialize, Serialize};

/// The manifest of collected samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedManifest {
    /// Class the samples belong to (empty when not recorded).
    #[serde(default)]
    pub class_name: String,
    /// Key of the training job's final checkpoint (empty when not recorded).
    #[serde(default)]
    pub final_checkpoint: String,
    /// The kept samples.
    pub samples: Vec<CollectedSample>,
}

/// One collected sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedSample {
    /// Epoch after which it was generated (1-based).
    pub epoch: u64,
    /// Noise index of the image.
    pub index: u64,
    /// Seed of its latent vector.
    pub seed: u64,
    /// D(G(z)) in [0, 1].
    pub score: f64,
    /// The stored PNG.
    pub png: StoredObject,
    /// Generator checkpoint that made it, when recorded.
    #[serde(default)]
    pub checkpoint: String,
}

/// An object in the store (the JSON twin of `eyegan.common.v1.ObjectRef`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    /// Store key.
    pub key: String,
    /// Lower-case hex SHA-256 (empty when not content-addressed).
    #[serde(default)]
    pub sha256: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
}

impl CollectedManifest {
    /// Reads the manifest at `key`: NOT_FOUND naming `field` when missing, FAILED_PRECONDITION
    /// when unreadable.
    pub async fn read(store: &Store, key: &str, field: &str) -> Result<Self, ServiceError> {
        let bytes = match store.get_bytes(key).await {
            Ok(bytes) => bytes,
            Err(eyegan_store::StoreError::InvalidKey { reason, .. }) => {
                return Err(ServiceError::invalid_argument(field, reason))
            }
            Err(error) => return Err(error.into()),
        }
        .ok_or_else(|| {
            ServiceError::not_found(format!("collected samples manifest {key:?} ({field})"))
        })?;
        serde_json::from_slice(&bytes).map_err(|error| {
            ServiceError::failed_precondition(format!(
                "{field}: {key:?} is not a collected samples manifest: {error}"
            ))
        })
    }

    /// The newest `count` samples (by epoch, then index), oldest first.
    pub fn newest(&self, count: u64) -> Vec<CollectedSample> {
        let mut samples = self.samples.clone();
        samples.sort_by_key(|sample| (sample.epoch, sample.index));
        let skip = samples
            .len()
            .saturating_sub(usize::try_from(count).unwrap_or(usize::MAX));
        samples.split_off(skip)
    }
}

impl StoredObject {
    /// The blob reference, when the object is content-addressed.
    pub fn blob(&self) -> Option<BlobRef> {
        BlobRef::new(self.sha256.clone(), self.size).ok()
    }

    /// Reads the object, verifying its SHA-256 when it has one.
    pub async fn read(&self, store: &Store) -> Result<bytes::Bytes, ServiceError> {
        let bytes = store
            .get_bytes(&self.key)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("stored object {:?}", self.key)))?;
        if let Some(expected) = self.blob() {
            if BlobRef::of(&bytes) != expected {
                return Err(ServiceError::failed_precondition(format!(
                    "stored object {:?} does not match its recorded sha256",
                    self.key
                )));
            }
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(epoch: u64) -> CollectedSample {
        CollectedSample {
            epoch,
            index: epoch,
            seed: epoch * 10,
            score: 0.9,
            png: StoredObject {
                key: format!("k{epoch}"),
                sha256: String::new(),
                size: 0,
            },
            checkpoint: String::new(),
        }
    }

    #[test]
    fn newest_takes_the_latest_epochs_in_order() {
        let manifest = CollectedManifest {
            class_name: "dr".into(),
            final_checkpoint: String::new(),
            samples: vec![sample(3), sample(1), sample(5), sample(2)],
        };
        let epochs: Vec<u64> = manifest.newest(2).iter().map(|s| s.epoch).collect();
        assert_eq!(epochs, vec![3, 5]);
        assert_eq!(manifest.newest(10).len(), 4);
    }
}
