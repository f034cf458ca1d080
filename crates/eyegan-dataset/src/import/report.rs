//! What an import reports: per-file outcomes and the accepted images.

use super::examine::RejectReason;
use crate::model::ImageRecord;

/// What happened to one file (mirrors the protobuf `FileOutcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// In the new version.
    Accepted,
    /// Refused.
    Rejected,
    /// Left out by the per-class cap.
    Skipped,
}

/// The report of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// Relative path as given.
    pub relative_path: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why, when not accepted.
    pub reason: Option<RejectReason>,
    /// Detail.
    pub message: String,
    /// Class after mapping (empty when the path had none).
    pub class: String,
    /// Image id, when accepted.
    pub image_id: String,
}

/// The result of a finished import, before it is committed.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// Accepted images, sorted by class then source file.
    pub images: Vec<ImageRecord>,
    /// Sorted class names of the accepted images.
    pub classes: Vec<String>,
    /// One report per file, in the order the files were fed.
    pub reports: Vec<FileReport>,
}

impl ImportOutcome {
    /// Number of reports with `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.reports.iter().filter(|r| r.outcome == outcome).count() as u64
    }
}
