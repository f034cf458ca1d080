//! Checkpoints as in-memory blobs (for an object store): safetensors weights including
//! BatchNorm running statistics, safetensors optimizer moments, and a JSON state with configs,
//! counters, seed and random-stream positions. Restoring one continues a run exactly.
//! Keeping the last N checkpoints is the caller's (store's) job.

pub mod classifier;
pub mod gan;

use std::collections::HashMap;

use candle_core::Tensor;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use classifier::{load_classifier, ClassifierCheckpointBlobs, ClassifierCheckpointState};
pub use gan::{load_gan_models, GanCheckpointBlobs, GanCheckpointState};

use crate::error::{NnError, Result};

/// Version of the JSON state layout written by this crate.
pub const CHECKPOINT_FORMAT_VERSION: u32 = 1;

pub(crate) fn state_to_json<T: Serialize>(state: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(state)
        .map_err(|err| NnError::checkpoint("state_json", err.to_string()))
}

pub(crate) fn state_from_json<T: DeserializeOwned>(
    bytes: &[u8],
    version: impl Fn(&T) -> u32,
) -> Result<T> {
    let state: T = serde_json::from_slice(bytes)
        .map_err(|err| NnError::checkpoint("state_json", err.to_string()))?;
    let found = version(&state);
    if found != CHECKPOINT_FORMAT_VERSION {
        return Err(NnError::checkpoint(
            "state_json",
            format!(
                "format_version {found} is not supported (expected {CHECKPOINT_FORMAT_VERSION})"
            ),
        ));
    }
    Ok(state)
}

/// Prefixes every key with `<prefix>.`.
pub(crate) fn prefixed(prefix: &str, tensors: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    tensors
        .into_iter()
        .map(|(key, tensor)| (format!("{prefix}.{key}"), tensor))
        .collect()
}

/// The tensors whose key starts with `<prefix>.`, with the prefix removed.
pub(crate) fn strip_prefix(
    prefix: &str,
    tensors: &HashMap<String, Tensor>,
) -> HashMap<String, Tensor> {
    let head = format!("{prefix}.");
    tensors
        .iter()
        .filter_map(|(key, tensor)| {
            key.strip_prefix(&head)
                .map(|rest| (rest.to_string(), tensor.clone()))
        })
        .collect()
}
