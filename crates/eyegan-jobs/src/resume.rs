//! Start-up: load a service's job records and put its unfinished jobs back to work.

use std::sync::Arc;

use crate::entry::RecordOf;
use crate::manager::Shared;
use crate::persistence::load_records;
use crate::{JobError, JobRunner, JobStatus};

/// Loads every job record of the service into the scheduler and re-queues the unfinished
/// ones: jobs that were RUNNING first (back to QUEUED: they were interrupted), then QUEUED jobs
/// in submission order. A job whose cancel was requested before the restart ends CANCELLED
/// instead. Records of another job kind are logged and skipped. Returns how many jobs were
/// re-queued; starting them is the caller's.
pub(crate) async fn resume_unfinished<R: JobRunner>(
    shared: &Arc<Shared<R>>,
) -> Result<usize, JobError> {
    let kind = shared.runner.kind().as_str_name();
    let records: Vec<RecordOf<R>> = load_records(&shared.store, &shared.service).await?;
    let mut unfinished = Vec::new();
    for record in records {
        if record.kind != kind {
            tracing::error!(job_id = %record.job_id, kind = %record.kind, "job of another kind in this service's folder; skipped");
            continue;
        }
        let (job_id, request_id, index) = (
            record.job_id.clone(),
            record.request_id.clone(),
            record.submit_index,
        );
        let sequence = record.sequence_reserved;
        let entry = shared.new_entry(record, sequence);
        if !entry.current().state.is_terminal() {
            unfinished.push(entry.clone());
        }
        shared
            .lock_scheduler()
            .insert(&job_id, &request_id, index, entry);
    }
    unfinished.sort_by_key(|entry| {
        let record = entry.current();
        (record.state != JobStatus::Running, record.submit_index)
    });

    let mut resumed = 0;
    for entry in unfinished {
        let record = entry.current();
        if let Some(reason) = record.cancel_requested.clone() {
            entry
                .transition(JobStatus::Cancelled, |record| record.reason = reason)
                .await?;
            continue;
        }
        if record.state == JobStatus::Running {
            entry
                .transition(JobStatus::Queued, |record| record.reason.clear())
                .await?;
        }
        shared.lock_scheduler().enqueue(entry.job_id());
        resumed += 1;
    }
    Ok(resumed)
}
