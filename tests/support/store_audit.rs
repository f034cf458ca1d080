//! Checking a `file://` store after crashes: every blob hashes to its name, every JSON document
//! parses, every reference with a SHA-256 (dataset images, checkpoint files, model weights,
//! collected samples) points at a present object of that hash and size; and snapshots that show
//! what existed before a kill is still there, byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Every object of a store: key → SHA-256 (hex) of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Key → hash.
    pub objects: BTreeMap<String, String>,
}

/// What [`verify`] checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditCounts {
    /// Blobs re-hashed.
    pub blobs: usize,
    /// JSON documents parsed.
    pub documents: usize,
    /// Dataset versions (`datasets/<id>/versions/<n>.json`).
    pub dataset_versions: usize,
    /// Job checkpoints (`jobs/<service>/<job>/checkpoints/<step>.json`).
    pub checkpoints: usize,
    /// References (objects with `sha256` and `size`) verified.
    pub references: usize,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Keys of the store below `root`, skipping object_store's staging files (`name#n`: a write
/// that a kill interrupted before its rename, invisible to readers).
fn keys(root: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if !path.to_string_lossy().contains('#') {
                let key = path.strip_prefix(root).expect("below the root");
                keys.push(key.to_string_lossy().into_owned());
            }
        }
    }
    keys.sort();
    keys
}

impl Snapshot {
    /// Hashes every object of the store in `root`.
    pub fn take(root: &Path) -> Self {
        let objects = keys(root)
            .into_iter()
            .filter_map(|key| {
                // An object deleted between the listing and the read (pruned checkpoint) is
                // simply not part of the snapshot.
                let bytes = std::fs::read(root.join(&key)).ok()?;
                Some((key, sha256_hex(&bytes)))
            })
            .collect();
        Self { objects }
    }

    /// Objects of `self` whose key `keep` selects that `later` lacks or holds with other bytes,
    /// one line each; empty when every one is intact.
    pub fn missing_or_changed_in(&self, later: &Snapshot, keep: impl Fn(&str) -> bool) -> String {
        let mut problems = String::new();
        for (key, hash) in self.objects.iter().filter(|(key, _)| keep(key)) {
            match later.objects.get(key) {
                None => writeln!(problems, "{key}: gone").unwrap(),
                Some(now) if now != hash => {
                    writeln!(problems, "{key}: changed ({hash} -> {now})").unwrap()
                }
                Some(_) => {}
            }
        }
        problems
    }

    /// Whether `self` holds a checkpoint pointer of the same job as `key` (a checkpoint pointer
    /// or file) with a higher step: then `key` may have been pruned by design, when the job saved
    /// that newer checkpoint (jobs keep only their newest few).
    pub fn supersedes_checkpoint(&self, key: &str) -> bool {
        let Some((job, step)) = checkpoint_step(key) else {
            return false;
        };
        self.objects.keys().any(|other| {
            other.ends_with(".json")
                && checkpoint_step(other)
                    .is_some_and(|(other_job, other_step)| other_job == job && other_step > step)
        })
    }

    /// How many objects `keep` selects.
    pub fn count(&self, keep: impl Fn(&str) -> bool) -> usize {
        self.objects.keys().filter(|key| keep(key)).count()
    }
}

/// Objects that are never rewritten or deleted once written: blobs and dataset documents.
pub fn is_immutable(key: &str) -> bool {
    key.starts_with("blobs/") || key.starts_with("datasets/")
}

/// The checkpoint objects (pointers and files) of one service's jobs.
pub fn is_checkpoint_of(service: &str) -> impl Fn(&str) -> bool + '_ {
    move |key: &str| {
        key.strip_prefix("jobs/")
            .and_then(|rest| rest.strip_prefix(service))
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| rest.split('/').nth(1) == Some("checkpoints"))
    }
}

/// The job prefix (`jobs/<service>/<job>`) and step of a checkpoint pointer
/// (`…/checkpoints/<step>.json`) or checkpoint file (`…/checkpoints/<step>.<id>/<name>`).
fn checkpoint_step(key: &str) -> Option<(&str, u64)> {
    let (job, rest) = key.split_once("/checkpoints/")?;
    let digits = rest.split(['.', '/']).next()?;
    Some((job, digits.parse().ok()?))
}

/// Verifies the whole store in `root`; panics listing every problem found.
pub fn verify(root: &Path) -> AuditCounts {
    let mut counts = AuditCounts::default();
    let mut problems = String::new();
    for key in keys(root) {
        let Ok(bytes) = std::fs::read(root.join(&key)) else {
            continue; // deleted since the listing (pruning)
        };
        if let Some(name) = key.strip_prefix("blobs/sha256/") {
            counts.blobs += 1;
            let expected = name.rsplit('/').next().unwrap_or_default();
            if sha256_hex(&bytes) != expected {
                writeln!(problems, "{key}: content does not match its hash").unwrap();
            }
        } else if key.ends_with(".json") {
            counts.documents += 1;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(document) => check_document(root, &key, &document, &mut counts, &mut problems),
                Err(error) => writeln!(problems, "{key}: not JSON: {error}").unwrap(),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "store {} is damaged:\n{problems}",
        root.display()
    );
    counts
}

fn check_document(
    root: &Path,
    key: &str,
    document: &Value,
    counts: &mut AuditCounts,
    problems: &mut String,
) {
    let parts: Vec<&str> = key.split('/').collect();
    if let ["datasets", _, "versions", _] = parts.as_slice() {
        counts.dataset_versions += 1;
        if let Err(error) =
            serde_json::from_value::<eyegan_dataset::VersionRecord>(document.clone())
        {
            writeln!(problems, "{key}: not a dataset version: {error}").unwrap();
        }
    }
    if let ["jobs", _, _, "checkpoints", _] = parts.as_slice() {
        counts.checkpoints += 1;
        if let Err(error) = serde_json::from_value::<eyegan_jobs::Checkpoint>(document.clone()) {
            writeln!(problems, "{key}: not a checkpoint: {error}").unwrap();
        }
    }
    check_references(root, key, document, counts, problems);
}

/// Every object in `value` with a 64-hex `sha256` and a `size` names stored bytes: at its `key`
/// when it has one, else the blob of that hash.
fn check_references(
    root: &Path,
    document_key: &str,
    value: &Value,
    counts: &mut AuditCounts,
    problems: &mut String,
) {
    match value {
        Value::Object(map) => {
            let sha256 = map.get("sha256").and_then(Value::as_str);
            let size = map.get("size").and_then(Value::as_u64);
            if let (Some(sha256), Some(size)) = (sha256, size) {
                if sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    counts.references += 1;
                    let target = match map.get("key").and_then(Value::as_str) {
                        Some(key) => key.to_owned(),
                        None => format!("blobs/sha256/{}/{sha256}", &sha256[..2]),
                    };
                    match std::fs::read(root.join(&target)) {
                        Ok(bytes) if bytes.len() as u64 == size && sha256_hex(&bytes) == sha256 => {
                        }
                        Ok(_) => writeln!(
                            problems,
                            "{document_key}: {target} does not match its sha256/size"
                        )
                        .unwrap(),
                        Err(error) => {
                            writeln!(problems, "{document_key}: {target} unreadable: {error}")
                                .unwrap()
                        }
                    }
                }
            }
            for child in map.values() {
                check_references(root, document_key, child, counts, problems);
            }
        }
        Value::Array(items) => {
            for item in items {
                check_references(root, document_key, item, counts, problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(keys: &[&str]) -> Snapshot {
        Snapshot {
            objects: keys
                .iter()
                .map(|key| (key.to_string(), String::new()))
                .collect(),
        }
    }

    #[test]
    fn only_a_newer_pointer_of_the_same_job_supersedes_a_checkpoint() {
        let old_pointer = "jobs/generator/a/checkpoints/00000000000000000001.json";
        let old_file = "jobs/generator/a/checkpoints/00000000000000000001.f00d/state.bin";
        let newer = snapshot(&["jobs/generator/a/checkpoints/00000000000000000002.json"]);
        assert!(newer.supersedes_checkpoint(old_pointer));
        assert!(newer.supersedes_checkpoint(old_file));

        let same_step = snapshot(&[old_pointer]);
        let other_job = snapshot(&["jobs/generator/b/checkpoints/00000000000000000009.json"]);
        let newer_file_only =
            snapshot(&["jobs/generator/a/checkpoints/00000000000000000002.beef/state.bin"]);
        for later in [same_step, other_job, newer_file_only] {
            assert!(!later.supersedes_checkpoint(old_pointer), "{later:?}");
        }
        assert!(!newer.supersedes_checkpoint("blobs/sha256/ab/abcd"));
    }
}
