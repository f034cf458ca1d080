//! Publishing a finished import as a new dataset with version 1.

use eyegan_proto::dataset::v1 as pb;

use super::examine::RejectReason;
use super::importer::Importer;
use super::report::{FileReport, ImportOutcome, Outcome};
use crate::error::DatasetError;
use crate::model::{now_unix_ms, DatasetRecord, VersionRecord, SCHEMA_VERSION};
use crate::repository::Repository;
use crate::summary::{dataset_to_proto, version_summary};

/// Rejections quoted in the error of an import that accepted nothing.
const QUOTED_REJECTIONS: usize = 5;

/// What the new dataset is called and where its files came from.
#[derive(Debug, Clone)]
pub struct NewDataset {
    /// Checked dataset name.
    pub dataset_id: String,
    /// Free text.
    pub description: String,
    /// Where the images came from, for the record (e.g. "upload").
    pub source: String,
}

/// Resolves the import and publishes it. The publication runs in its own task, so a client
/// that disconnects at this point cannot cut it in half.
pub async fn commit_import(
    repository: &Repository,
    new: NewDataset,
    importer: Importer,
) -> Result<pb::ImportResult, DatasetError> {
    let settings = importer.settings().clone();
    let outcome = importer.finish();
    if outcome.images.is_empty() {
        return Err(DatasetError::FailedPrecondition(nothing_accepted(&outcome)));
    }
    let (accepted, rejected, skipped) = (
        outcome.count(Outcome::Accepted),
        outcome.count(Outcome::Rejected),
        outcome.count(Outcome::Skipped),
    );
    let now = now_unix_ms();
    let dataset = DatasetRecord {
        schema: SCHEMA_VERSION,
        dataset_id: new.dataset_id.clone(),
        description: new.description,
        created_at_unix_ms: now,
        source: new.source.clone(),
        import: settings.clone(),
    };
    let version = VersionRecord {
        schema: SCHEMA_VERSION,
        dataset_id: new.dataset_id.clone(),
        version: 1,
        parent_version: None,
        created_at_unix_ms: now,
        note: format!(
            "imported from {}: {accepted} accepted, {rejected} rejected, {skipped} skipped",
            new.source
        ),
        image_size: settings.target_size,
        classes: outcome.classes.clone(),
        split: None,
        images: outcome.images.clone(),
    };
    let task_repository = repository.clone();
    let (task_dataset, task_version) = (dataset.clone(), version.clone());
    tokio::spawn(async move {
        task_repository
            .create_dataset(&task_dataset, &task_version)
            .await
    })
    .await??;
    tracing::info!(
        dataset = %new.dataset_id,
        source = %new.source,
        accepted,
        rejected,
        skipped,
        classes = outcome.classes.len(),
        "imported dataset"
    );
    Ok(pb::ImportResult {
        dataset: Some(dataset_to_proto(&dataset, 1)),
        version: Some(version_summary(&version)),
        files: outcome.reports.iter().map(report_to_proto).collect(),
        accepted,
        rejected,
        skipped,
    })
}

fn nothing_accepted(outcome: &ImportOutcome) -> String {
    if outcome.reports.is_empty() {
        return "no files to import: expected `<class>/<file>` entries".into();
    }
    let quoted: Vec<String> = outcome
        .reports
        .iter()
        .take(QUOTED_REJECTIONS)
        .map(|r| format!("{}: {}", r.relative_path, r.message))
        .collect();
    format!(
        "no image was accepted out of {} files ({}{})",
        outcome.reports.len(),
        quoted.join("; "),
        if outcome.reports.len() > QUOTED_REJECTIONS {
            "; ..."
        } else {
            ""
        }
    )
}

/// The protobuf reason of a domain one.
pub fn reason_to_proto(reason: Option<RejectReason>) -> pb::FileReason {
    match reason {
        None => pb::FileReason::Unspecified,
        Some(RejectReason::ZeroByte) => pb::FileReason::ZeroByte,
        Some(RejectReason::NotAnImage) => pb::FileReason::NotAnImage,
        Some(RejectReason::Corrupt) => pb::FileReason::Corrupt,
        Some(RejectReason::Truncated) => pb::FileReason::Truncated,
        Some(RejectReason::TooLarge) => pb::FileReason::TooLarge,
        Some(RejectReason::Duplicate) => pb::FileReason::Duplicate,
        Some(RejectReason::BadPath) => pb::FileReason::BadPath,
        Some(RejectReason::Unsupported) => pb::FileReason::Unsupported,
        Some(RejectReason::OverCap) => pb::FileReason::OverCap,
    }
}

fn report_to_proto(report: &FileReport) -> pb::FileReport {
    pb::FileReport {
        relative_path: report.relative_path.clone(),
        outcome: match report.outcome {
            Outcome::Accepted => pb::FileOutcome::Accepted,
            Outcome::Rejected => pb::FileOutcome::Rejected,
            Outcome::Skipped => pb::FileOutcome::Skipped,
        } as i32,
        reason: reason_to_proto(report.reason) as i32,
        message: report.message.clone(),
        class_name: report.class.clone(),
        image_id: report.image_id.clone(),
    }
}
