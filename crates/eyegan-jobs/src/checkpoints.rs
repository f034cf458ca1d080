//! Job checkpoints in the store: files first, pointer last, the last N kept.
//!
//! A checkpoint of step `s` is a set of named files plus a small JSON state, stored as
//! ```text
//! jobs/<service>/<job>/checkpoints/<s:020>.<save id>/<file name>   the files (written first)
//! jobs/<service>/<job>/checkpoints/<s:020>.json                    the pointer (written last)
//! ```
//! The pointer records each file's key, size and SHA-256, and reads verify them. Every write is
//! atomic and the pointer is written only after all its files, so a crash leaves at most
//! unreferenced files, never a pointer to nothing. Saving the same step again writes a new file
//! folder, swaps the pointer, then deletes the old folder. Pruning deletes a pointer before its
//! files.

use std::collections::BTreeSet;

use bytes::Bytes;
use eyegan_store::{validate_key_segment, BlobRef, Store};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::persistence::job_prefix;
use crate::record::now_ms;
use crate::JobError;

/// Digits of the zero-padded step in checkpoint keys (so keys sort by step).
const STEP_DIGITS: usize = 20;

/// One file to store in a checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    /// File name, a single store-key segment (e.g. `generator.safetensors`).
    pub name: String,
    /// Contents.
    pub bytes: Bytes,
}

impl CheckpointFile {
    /// A file named `name` holding `bytes`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// A stored checkpoint file, as its pointer names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// File name given at save time.
    pub name: String,
    /// Store key of the file.
    pub key: String,
    /// Lower-case hex SHA-256 of the contents.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A saved checkpoint: the pointer record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Step (iteration, epoch, image count, ...) the checkpoint was taken at.
    pub step: u64,
    /// Store key of this pointer record.
    pub key: String,
    /// When it was saved, milliseconds since the Unix epoch.
    pub saved_at_ms: u64,
    /// The files, in save order.
    pub files: Vec<StoredFile>,
    /// The runner's small JSON state (counters, RNG seeds, offsets, ...).
    pub state: serde_json::Value,
}

impl Checkpoint {
    /// Decodes the runner state saved with the checkpoint.
    pub fn state<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.state.clone()).map_err(|error| {
            JobError::Internal(format!(
                "checkpoint {} has an unreadable state: {error}",
                self.key
            ))
        })
    }

    /// The stored file named `name`, if the checkpoint has one.
    pub fn file(&self, name: &str) -> Option<&StoredFile> {
        self.files.iter().find(|file| file.name == name)
    }
}

/// The checkpoints of one job.
#[derive(Debug, Clone)]
pub struct JobCheckpoints {
    store: Store,
    prefix: String,
    keep: usize,
}

impl JobCheckpoints {
    /// The checkpoints of job `job_id` of `service`, keeping the newest `keep` on save
    /// (0 = keep all).
    pub fn new(store: Store, service: &str, job_id: &str, keep: usize) -> Self {
        Self {
            store,
            prefix: format!("{}/checkpoints", job_prefix(service, job_id)),
            keep,
        }
    }

    /// Key prefix of every checkpoint of the job.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Saves a checkpoint of `step`: the files, then the pointer carrying `state`; then prunes
    /// down to the newest `keep`. Saving an existing step replaces it.
    pub async fn save(
        &self,
        step: u64,
        files: Vec<CheckpointFile>,
        state: &impl Serialize,
    ) -> Result<Checkpoint, JobError> {
        let mut names = BTreeSet::new();
        for file in &files {
            validate_key_segment(&file.name).map_err(|error| {
                JobError::Internal(format!("bad checkpoint file name {:?}: {error}", file.name))
            })?;
            if !names.insert(file.name.as_str()) {
                return Err(JobError::Internal(format!(
                    "checkpoint file name {:?} given twice",
                    file.name
                )));
            }
        }
        let state = serde_json::to_value(state).map_err(|error| {
            JobError::Internal(format!("cannot encode checkpoint state: {error}"))
        })?;
        let pointer_key = self.pointer_key(step);
        let replaced: Option<Checkpoint> = self.store.get_json(&pointer_key).await?;

        let folder = format!(
            "{}/{step:0width$}.{}",
            self.prefix,
            uuid::Uuid::new_v4().simple(),
            width = STEP_DIGITS
        );
        let mut stored = Vec::with_capacity(files.len());
        for file in files {
            let blob = BlobRef::of(&file.bytes);
            let key = format!("{folder}/{}", file.name);
            self.store.put_bytes(&key, file.bytes).await?;
            stored.push(StoredFile {
                name: file.name,
                key,
                sha256: blob.sha256,
                size: blob.size,
            });
        }
        let checkpoint = Checkpoint {
            step,
            key: pointer_key.clone(),
            saved_at_ms: now_ms(),
            files: stored,
            state,
        };
        self.store.put_json(&pointer_key, &checkpoint).await?;
        tracing::debug!(key = %pointer_key, step, "saved checkpoint");

        if let Some(old) = replaced {
            self.delete_files(&old).await;
        }
        self.prune().await;
        Ok(checkpoint)
    }

    /// The checkpoint with the highest step, if any.
    pub async fn latest(&self) -> Result<Option<Checkpoint>, JobError> {
        match self.steps().await?.last() {
            Some(&step) => self.get(step).await,
            None => Ok(None),
        }
    }

    /// The checkpoint of `step`, if saved (and not pruned).
    pub async fn get(&self, step: u64) -> Result<Option<Checkpoint>, JobError> {
        Ok(self.store.get_json(&self.pointer_key(step)).await?)
    }

    /// Steps of every saved checkpoint, ascending.
    pub async fn steps(&self) -> Result<Vec<u64>, JobError> {
        let children = self.store.list_children(&self.prefix).await?;
        let mut steps: Vec<u64> = children
            .iter()
            .filter_map(|name| name.strip_suffix(".json"))
            .filter(|stem| stem.len() == STEP_DIGITS)
            .filter_map(|stem| stem.parse().ok())
            .collect();
        steps.sort_unstable();
        Ok(steps)
    }

    /// Reads the file `name` of `checkpoint`, verifying its size and SHA-256.
    pub async fn read_file(&self, checkpoint: &Checkpoint, name: &str) -> Result<Bytes, JobError> {
        let file = checkpoint.file(name).ok_or_else(|| {
            JobError::Internal(format!(
                "checkpoint {} has no file {name:?}",
                checkpoint.key
            ))
        })?;
        let bytes = self.store.get_bytes(&file.key).await?.ok_or_else(|| {
            JobError::Internal(format!("checkpoint file {} is missing", file.key))
        })?;
        let actual = BlobRef::of(&bytes);
        if actual.size != file.size || actual.sha256 != file.sha256 {
            return Err(JobError::Internal(format!(
                "checkpoint file {} does not match its pointer",
                file.key
            )));
        }
        Ok(bytes)
    }

    fn pointer_key(&self, step: u64) -> String {
        format!("{}/{step:0width$}.json", self.prefix, width = STEP_DIGITS)
    }

    /// Deletes pointers beyond the newest `keep`, each before its files. Failures are logged:
    /// a failed prune leaves extra checkpoints, never a broken one.
    async fn prune(&self) {
        if self.keep == 0 {
            return;
        }
        let steps = match self.steps().await {
            Ok(steps) => steps,
            Err(error) => {
                tracing::warn!(prefix = %self.prefix, %error, "cannot list checkpoints to prune");
                return;
            }
        };
        let excess = steps.len().saturating_sub(self.keep);
        for &step in &steps[..excess] {
            let key = self.pointer_key(step);
            let pruned = async {
                let old: Option<Checkpoint> = self.store.get_json(&key).await?;
                self.store.delete(&key).await?;
                Ok::<_, JobError>(old)
            };
            match pruned.await {
                Ok(Some(old)) => self.delete_files(&old).await,
                Ok(None) => {}
                Err(error) => tracing::warn!(%key, %error, "cannot prune checkpoint"),
            }
        }
    }

    async fn delete_files(&self, checkpoint: &Checkpoint) {
        for file in &checkpoint.files {
            if let Err(error) = self.store.delete(&file.key).await {
                tracing::warn!(key = %file.key, %error, "cannot delete old checkpoint file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoints(keep: usize) -> JobCheckpoints {
        JobCheckpoints::new(Store::in_memory(), "svc", "job1", keep)
    }

    #[tokio::test]
    async fn saves_reads_and_verifies_files() {
        let checkpoints = checkpoints(0);
        assert!(checkpoints.latest().await.unwrap().is_none());
        let files = vec![
            CheckpointFile::new("weights.bin", vec![1u8, 2, 3]),
            CheckpointFile::new("notes.txt", "hi"),
        ];
        let saved = checkpoints.save(7, files, &("count", 7)).await.unwrap();
        let latest = checkpoints.latest().await.unwrap().unwrap();
        assert_eq!(latest, saved);
        assert_eq!(
            latest.state::<(String, u64)>().unwrap(),
            ("count".into(), 7)
        );
        let weights = checkpoints.read_file(&latest, "weights.bin").await.unwrap();
        assert_eq!(&weights[..], &[1, 2, 3]);
        assert!(checkpoints.read_file(&latest, "missing").await.is_err());

        // A file changed behind the pointer's back is detected.
        let key = latest.file("notes.txt").unwrap().key.clone();
        checkpoints.store.put_bytes(&key, "ho").await.unwrap();
        assert!(checkpoints.read_file(&latest, "notes.txt").await.is_err());
    }

    #[tokio::test]
    async fn keeps_the_newest_n_and_deletes_pruned_files() {
        let checkpoints = checkpoints(2);
        let mut first_file_key = String::new();
        for step in [10, 20, 30] {
            let saved = checkpoints
                .save(
                    step,
                    vec![CheckpointFile::new("f", vec![step as u8])],
                    &step,
                )
                .await
                .unwrap();
            if step == 10 {
                first_file_key = saved.files[0].key.clone();
            }
        }
        assert_eq!(checkpoints.steps().await.unwrap(), vec![20, 30]);
        assert!(checkpoints
            .store
            .get_bytes(&first_file_key)
            .await
            .unwrap()
            .is_none());
        let latest = checkpoints.latest().await.unwrap().unwrap();
        assert_eq!(latest.step, 30);
        assert_eq!(latest.state::<u64>().unwrap(), 30);
    }

    #[tokio::test]
    async fn resaving_a_step_replaces_it_and_removes_the_old_files() {
        let checkpoints = checkpoints(0);
        let first = checkpoints
            .save(5, vec![CheckpointFile::new("f", "old")], &1)
            .await
            .unwrap();
        let second = checkpoints
            .save(5, vec![CheckpointFile::new("f", "new")], &2)
            .await
            .unwrap();
        assert_ne!(first.files[0].key, second.files[0].key);
        assert!(checkpoints
            .store
            .get_bytes(&first.files[0].key)
            .await
            .unwrap()
            .is_none());
        let latest = checkpoints.latest().await.unwrap().unwrap();
        assert_eq!(
            &checkpoints.read_file(&latest, "f").await.unwrap()[..],
            b"new"
        );
        assert_eq!(checkpoints.steps().await.unwrap(), vec![5]);
    }

    #[tokio::test]
    async fn rejects_unsafe_and_duplicate_file_names() {
        let checkpoints = checkpoints(0);
        for files in [
            vec![CheckpointFile::new("../escape", "x")],
            vec![CheckpointFile::new("a", "x"), CheckpointFile::new("a", "y")],
        ] {
            assert!(checkpoints.save(1, files, &()).await.is_err());
        }
        assert!(checkpoints.steps().await.unwrap().is_empty());
    }
}
