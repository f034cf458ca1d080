//! The run folder's step records: `steps/<name>.json` holds the content hash of a step's inputs
//! and its outputs, so a rerun skips finished steps and resumes unfinished ones.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A stored step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step name.
    pub name: String,
    /// Hash of the step's inputs and config.
    pub hash: String,
    /// How many times the step was forced to rerun (part of its job request ids).
    pub attempt: u32,
    /// Whether the step finished.
    pub done: bool,
    /// Its outputs (step-specific JSON).
    pub outputs: serde_json::Value,
}

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// File system error.
    #[error("step record {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A record is not valid JSON of the expected shape.
    #[error("step record {path} is malformed: {source}")]
    Json {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
}

/// The `steps/` folder of one run.
#[derive(Debug, Clone)]
pub struct StepCache {
    dir: PathBuf,
}

/// Content hash of any serialisable value (its JSON form).
pub fn content_hash(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

impl StepCache {
    /// The cache in `run_dir/steps`.
    pub fn new(run_dir: &Path) -> Self {
        Self {
            dir: run_dir.join("steps"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir
            .join(format!("{}.json", name.replace(['/', '+'], "_")))
    }

    /// The stored record of `name`, if any.
    pub fn record(&self, name: &str) -> Result<Option<StepRecord>, CacheError> {
        let path = self.path(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CacheError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| CacheError::Json {
                path: path.display().to_string(),
                source,
            })
    }

    /// The outputs of `name` when it finished with this `hash`.
    pub fn done<T: DeserializeOwned>(
        &self,
        name: &str,
        hash: &str,
    ) -> Result<Option<T>, CacheError> {
        let Some(record) = self.record(name)? else {
            return Ok(None);
        };
        if !record.done || record.hash != hash {
            return Ok(None);
        }
        serde_json::from_value(record.outputs)
            .map(Some)
            .map_err(|source| CacheError::Json {
                path: self.path(name).display().to_string(),
                source,
            })
    }

    /// Writes a record atomically (temporary file + rename).
    pub fn write(&self, record: &StepRecord) -> Result<(), CacheError> {
        let path = self.path(&record.name);
        let io = |source| CacheError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let text = serde_json::to_string_pretty(record).map_err(|source| CacheError::Json {
            path: path.display().to_string(),
            source,
        })?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, &path).map_err(io)
    }

    /// Every stored record, sorted by name.
    pub fn all(&self) -> Result<Vec<StepRecord>, CacheError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(CacheError::Io {
                    path: self.dir.display().to_string(),
                    source,
                })
            }
        };
        let mut records = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).map_err(|source| CacheError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                let record: StepRecord =
                    serde_json::from_str(&text).map_err(|source| CacheError::Json {
                        path: path.display().to_string(),
                        source,
                    })?;
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_done_only_for_its_own_hash() {
        let dir = tempfile::tempdir().unwrap();
        let cache = StepCache::new(dir.path());
        let record = StepRecord {
            name: "gan-1-normal".into(),
            hash: content_hash(&("a", 1)),
            attempt: 0,
            done: true,
            outputs: serde_json::json!({"iterations": 40}),
        };
        cache.write(&record).unwrap();
        let hit: Option<serde_json::Value> = cache.done("gan-1-normal", &record.hash).unwrap();
        assert_eq!(hit.unwrap()["iterations"], 40);
        let miss: Option<serde_json::Value> = cache
            .done("gan-1-normal", &content_hash(&("a", 2)))
            .unwrap();
        assert!(miss.is_none());
        assert_eq!(cache.all().unwrap().len(), 1);
    }
}
