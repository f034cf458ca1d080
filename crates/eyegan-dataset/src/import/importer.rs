//! The import pipeline over any file source: files are fed one at a time ([`Importer::ingest`]),
//! examined off the async runtime, their blobs stored, and [`Importer::finish`] decides which
//! files make the version.
//!
//! Decisions do not depend on the order files arrive in:
//! - every file has a rank, a hash of (seed, class, relative path);
//! - among files with identical bytes (SHA-256 of the original), the one with the lowest rank
//!   wins and the others are duplicates of it;
//! - with a per-class cap, the accepted winners of lowest rank are kept.
//!
//! A source that knows its files up front may feed them in rank order and call
//! [`Importer::skip`] for the files of a class that already has `cap` accepted images: the kept
//! images are the same as if every file had been examined.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use eyegan_store::{BlobRef, Store};
use sha2::{Digest, Sha256};

use super::examine::{examine, sha256_hex, Examination, ExamineOptions, RejectReason, Rejection};
use super::report::{FileReport, ImportOutcome, Outcome};
use super::settings::ServerLimits;
use crate::error::DatasetError;
use crate::model::{ImageRecord, ImportSettings, ProvenanceRecord};
use crate::names::class_of_path;

/// Hex characters of the original SHA-256 used as image id.
const IMAGE_ID_HEX_CHARS: usize = 16;

#[derive(Debug, Clone)]
struct StoredContent {
    png: BlobRef,
    original: Option<BlobRef>,
    original_width: u32,
    original_height: u32,
}

#[derive(Debug, Clone)]
enum ContentState {
    Accepted(StoredContent),
    Rejected(Rejection),
}

#[derive(Debug)]
enum EntryStatus {
    /// Refused before its content was looked at (path, size).
    Refused(Rejection),
    /// Its content (by `sha256`) was examined.
    Examined,
    /// Not examined: its class was already full.
    NotExamined,
}

#[derive(Debug)]
struct Entry {
    relative_path: String,
    class: String,
    rank: u64,
    sha256: String,
    original_bytes: u64,
    provenance: ProvenanceRecord,
    status: EntryStatus,
}

/// Collects the files of one import.
#[derive(Debug)]
pub struct Importer {
    store: Store,
    settings: ImportSettings,
    limits: ServerLimits,
    entries: Vec<Entry>,
    contents: HashMap<String, ContentState>,
    accepted_per_class: HashMap<String, u32>,
    received_bytes: u64,
}

impl Importer {
    /// A new import into `store` with checked `settings`.
    pub fn new(store: Store, settings: ImportSettings, limits: ServerLimits) -> Self {
        Self {
            store,
            settings,
            limits,
            entries: Vec::new(),
            contents: HashMap::new(),
            accepted_per_class: HashMap::new(),
            received_bytes: 0,
        }
    }

    /// The settings of this import.
    pub fn settings(&self) -> &ImportSettings {
        &self.settings
    }

    /// The class of `relative_path` after mapping, when the path is acceptable.
    pub fn class_of(&self, relative_path: &str) -> Option<String> {
        class_of_path(relative_path, &self.settings.class_mapping).ok()
    }

    /// The rank of a file (see the module docs).
    pub fn rank(&self, class: &str, relative_path: &str) -> u64 {
        let digest = Sha256::new()
            .chain_update(self.settings.seed.to_le_bytes())
            .chain_update(class.as_bytes())
            .chain_update([0])
            .chain_update(relative_path.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }

    /// True when `class` already has as many accepted images as the cap allows.
    pub fn class_is_full(&self, class: &str) -> bool {
        self.settings.per_class_cap > 0
            && self.accepted_per_class.get(class).copied().unwrap_or(0)
                >= self.settings.per_class_cap
    }

    /// Examines one file and stores its blobs when it is accepted. In strict mode a refused or
    /// duplicate file fails the import with INVALID_ARGUMENT naming the file.
    pub async fn ingest(
        &mut self,
        relative_path: String,
        bytes: Bytes,
        provenance: ProvenanceRecord,
    ) -> Result<(), DatasetError> {
        self.admit(bytes.len() as u64)?;
        let class = match class_of_path(&relative_path, &self.settings.class_mapping) {
            Ok(class) => class,
            Err(problem) => {
                let rejection = Rejection {
                    reason: RejectReason::BadPath,
                    message: problem.to_string(),
                };
                return self.refuse(relative_path, String::new(), rejection, provenance);
            }
        };
        if bytes.is_empty() {
            let rejection = Rejection {
                reason: RejectReason::ZeroByte,
                message: "the file is empty (0 bytes)".into(),
            };
            return self.refuse(relative_path, class, rejection, provenance);
        }
        if bytes.len() as u64 > self.limits.max_file_bytes {
            let rejection = oversized(bytes.len() as u64, self.limits.max_file_bytes);
            return self.refuse(relative_path, class, rejection, provenance);
        }

        let hashed = bytes.clone();
        let sha256 = tokio::task::spawn_blocking(move || sha256_hex(&hashed)).await?;
        let rank = self.rank(&class, &relative_path);
        let original_bytes = bytes.len() as u64;
        if self.contents.contains_key(&sha256) {
            if self.settings.strict {
                let first = self
                    .entries
                    .iter()
                    .find(|entry| entry.sha256 == sha256)
                    .map_or("an earlier file", |entry| entry.relative_path.as_str());
                return Err(DatasetError::invalid(
                    relative_path,
                    format!("strict import refused the file: duplicate of {first}"),
                ));
            }
        } else {
            let state = self.examine_and_store(bytes).await?;
            if let ContentState::Rejected(rejection) = &state {
                if self.settings.strict {
                    return Err(DatasetError::invalid(
                        relative_path,
                        format!(
                            "strict import refused the file: {}: {}",
                            rejection.reason.label(),
                            rejection.message
                        ),
                    ));
                }
            } else {
                *self.accepted_per_class.entry(class.clone()).or_default() += 1;
            }
            self.contents.insert(sha256.clone(), state);
        }
        tracing::debug!(path = %relative_path, %class, "examined file");
        self.entries.push(Entry {
            relative_path,
            class,
            rank,
            sha256,
            original_bytes,
            provenance,
            status: EntryStatus::Examined,
        });
        Ok(())
    }

    /// RESOURCE_EXHAUSTED when one more file of `size` bytes would pass the per-import limits.
    fn admit(&mut self, size: u64) -> Result<(), DatasetError> {
        if self.entries.len() as u64 >= self.limits.max_import_files {
            return Err(DatasetError::ResourceExhausted(format!(
                "the import has more than {} files (--max-import-files); split it or raise the limit",
                self.limits.max_import_files
            )));
        }
        self.received_bytes = self.received_bytes.saturating_add(size);
        if self.received_bytes > self.limits.max_import_bytes {
            return Err(DatasetError::ResourceExhausted(format!(
                "the import sent more than {} bytes (--max-import-bytes); split it or raise the limit",
                self.limits.max_import_bytes
            )));
        }
        Ok(())
    }

    /// Records a file that is left out unexamined because its class is full; `sha256` of its
    /// bytes keeps duplicate detection exact.
    pub fn skip(&mut self, relative_path: String, class: String, sha256: String, size: u64) {
        let rank = self.rank(&class, &relative_path);
        self.entries.push(Entry {
            relative_path,
            class,
            rank,
            sha256,
            original_bytes: size,
            provenance: ProvenanceRecord::imported(),
            status: EntryStatus::NotExamined,
        });
    }

    /// Records a file refused by its source (e.g. a path sent twice) with `reason`.
    pub fn refuse_file(
        &mut self,
        relative_path: String,
        reason: RejectReason,
        message: String,
    ) -> Result<(), DatasetError> {
        let class = self.class_of(&relative_path).unwrap_or_default();
        let rejection = Rejection { reason, message };
        self.refuse(
            relative_path,
            class,
            rejection,
            ProvenanceRecord::imported(),
        )
    }

    /// Records a file refused for its size (announced or listed) without reading it.
    pub fn refuse_oversized(
        &mut self,
        relative_path: String,
        size: u64,
        max_file_bytes: u64,
    ) -> Result<(), DatasetError> {
        let class = self.class_of(&relative_path).unwrap_or_default();
        let rejection = oversized(size, max_file_bytes);
        self.refuse(
            relative_path,
            class,
            rejection,
            ProvenanceRecord::imported(),
        )
    }

    fn refuse(
        &mut self,
        relative_path: String,
        class: String,
        rejection: Rejection,
        provenance: ProvenanceRecord,
    ) -> Result<(), DatasetError> {
        if self.settings.strict {
            return Err(DatasetError::invalid(
                relative_path,
                format!(
                    "strict import refused the file: {}: {}",
                    rejection.reason.label(),
                    rejection.message
                ),
            ));
        }
        self.entries.push(Entry {
            relative_path,
            class,
            rank: u64::MAX,
            sha256: String::new(),
            original_bytes: 0,
            provenance,
            status: EntryStatus::Refused(rejection),
        });
        Ok(())
    }

    async fn examine_and_store(&self, bytes: Bytes) -> Result<ContentState, DatasetError> {
        let options = ExamineOptions {
            target_size: self.settings.target_size,
            crop_fundus: self.settings.crop_fundus,
            max_pixels: self.settings.max_pixels,
        };
        let original = bytes.clone();
        let examination = tokio::task::spawn_blocking(move || examine(&bytes, &options)).await??;
        match examination {
            Examination::Rejected(rejection) => Ok(ContentState::Rejected(rejection)),
            Examination::Accepted(done) => {
                let png = self.store.put_blob(done.png).await?;
                let original = if self.settings.keep_originals {
                    Some(self.store.put_blob(original).await?)
                } else {
                    None
                };
                Ok(ContentState::Accepted(StoredContent {
                    png,
                    original,
                    original_width: done.original_width,
                    original_height: done.original_height,
                }))
            }
        }
    }

    /// Resolves duplicates and the cap and returns the images and per-file reports.
    pub fn finish(self) -> ImportOutcome {
        // The winner of each content: the lowest (rank, path) among the files carrying it.
        let mut winners: HashMap<&str, usize> = HashMap::new();
        for (index, entry) in self.entries.iter().enumerate() {
            if matches!(entry.status, EntryStatus::Refused(_)) {
                continue;
            }
            let key = (entry.rank, entry.relative_path.as_str());
            winners
                .entry(entry.sha256.as_str())
                .and_modify(|best| {
                    let current = &self.entries[*best];
                    if key < (current.rank, current.relative_path.as_str()) {
                        *best = index;
                    }
                })
                .or_insert(index);
        }

        let mut reports: Vec<FileReport> = Vec::with_capacity(self.entries.len());
        let mut candidates: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let mut report = FileReport {
                relative_path: entry.relative_path.clone(),
                outcome: Outcome::Rejected,
                reason: None,
                message: String::new(),
                class: entry.class.clone(),
                image_id: String::new(),
            };
            match &entry.status {
                EntryStatus::Refused(rejection) => {
                    report.reason = Some(rejection.reason);
                    report.message = rejection.message.clone();
                }
                _ if winners.get(entry.sha256.as_str()) != Some(&index) => {
                    let winner = &self.entries[winners[entry.sha256.as_str()]];
                    report.reason = Some(RejectReason::Duplicate);
                    report.message = format!("duplicate of {}", winner.relative_path);
                }
                EntryStatus::NotExamined => {
                    report.outcome = Outcome::Skipped;
                    report.reason = Some(RejectReason::OverCap);
                    report.message = format!(
                        "not examined: class {} already has {} images",
                        entry.class, self.settings.per_class_cap
                    );
                }
                EntryStatus::Examined => match &self.contents[&entry.sha256] {
                    ContentState::Rejected(rejection) => {
                        report.reason = Some(rejection.reason);
                        report.message = rejection.message.clone();
                    }
                    ContentState::Accepted(_) => {
                        candidates
                            .entry(entry.class.as_str())
                            .or_default()
                            .push(index);
                        report.outcome = Outcome::Accepted;
                    }
                },
            }
            reports.push(report);
        }

        let cap = self.settings.per_class_cap as usize;
        let mut images = Vec::new();
        let mut used_ids: HashSet<String> = HashSet::new();
        for (class, mut indices) in candidates {
            indices.sort_by(|&a, &b| {
                let (a, b) = (&self.entries[a], &self.entries[b]);
                (a.rank, &a.relative_path).cmp(&(b.rank, &b.relative_path))
            });
            for (position, &index) in indices.iter().enumerate() {
                let entry = &self.entries[index];
                if cap > 0 && position >= cap {
                    let report = &mut reports[index];
                    report.outcome = Outcome::Skipped;
                    report.reason = Some(RejectReason::OverCap);
                    report.message = format!("class {class} already has {cap} images");
                    continue;
                }
                let ContentState::Accepted(content) = &self.contents[&entry.sha256] else {
                    continue;
                };
                let mut id = entry.sha256[..IMAGE_ID_HEX_CHARS].to_owned();
                if used_ids.contains(&id) {
                    id = entry.sha256.clone();
                }
                used_ids.insert(id.clone());
                reports[index].image_id = id.clone();
                images.push(ImageRecord {
                    id,
                    class: class.to_owned(),
                    split: None,
                    png: content.png.clone(),
                    original: content.original.clone(),
                    original_sha256: entry.sha256.clone(),
                    original_bytes: entry.original_bytes,
                    original_width: content.original_width,
                    original_height: content.original_height,
                    source_file: entry.relative_path.clone(),
                    provenance: entry.provenance.clone(),
                });
            }
        }
        images.sort_by(|a, b| (&a.class, &a.source_file).cmp(&(&b.class, &b.source_file)));
        let mut classes: Vec<String> = images.iter().map(|i| i.class.clone()).collect();
        classes.dedup();
        ImportOutcome {
            images,
            classes,
            reports,
        }
    }
}

fn oversized(size: u64, max_file_bytes: u64) -> Rejection {
    Rejection {
        reason: RejectReason::TooLarge,
        message: format!("the file has {size} bytes, more than the allowed {max_file_bytes}"),
    }
}
