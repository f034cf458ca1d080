//! Where jobs live in the store, and reading/writing their records.
//!
//! Layout, per service (`trainer`, `generator`, `classifier`):
//! ```text
//! jobs/<service>/<job id>/job.json                        the JobRecord (mutable, atomic overwrite)
//! jobs/<service>/<job id>/checkpoints/<step:020>.json     checkpoint pointers (see checkpoints.rs)
//! jobs/<service>/<job id>/checkpoints/<step:020>/<file>   checkpoint files
//! jobs/<service>/<job id>/...                             anything else the runner stores
//! ```
//! One service instance owns `jobs/<service>/`: two processes of the same service must not share
//! one store.

use eyegan_store::Store;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{JobError, JobRecord};

/// Root prefix of every job.
pub const JOBS_ROOT: &str = "jobs";

/// How many records [`load_records`] reads at once.
const LOAD_CONCURRENCY: usize = 16;

/// `jobs/<service>`.
pub fn service_prefix(service: &str) -> String {
    format!("{JOBS_ROOT}/{service}")
}

/// `jobs/<service>/<job id>`: every key of a job is below this prefix.
pub fn job_prefix(service: &str, job_id: &str) -> String {
    format!("{JOBS_ROOT}/{service}/{job_id}")
}

/// `jobs/<service>/<job id>/job.json`.
pub fn record_key(service: &str, job_id: &str) -> String {
    format!("{}/job.json", job_prefix(service, job_id))
}

/// Writes a brand-new record (create-only: a job id is never reused).
pub(crate) async fn create_record<S: Serialize, O: Serialize>(
    store: &Store,
    service: &str,
    record: &JobRecord<S, O>,
) -> Result<(), JobError> {
    store
        .put_json_new(&record_key(service, &record.job_id), record)
        .await?;
    Ok(())
}

/// Replaces a job's record (atomic overwrite).
pub(crate) async fn save_record<S: Serialize, O: Serialize>(
    store: &Store,
    service: &str,
    record: &JobRecord<S, O>,
) -> Result<(), JobError> {
    store
        .put_json(&record_key(service, &record.job_id), record)
        .await?;
    Ok(())
}

/// Reads every job record of `service`. A record that cannot be read or decoded (e.g. written by
/// an incompatible version) is logged and skipped, so one bad record never keeps a service from
/// starting; a failing listing is an error.
pub(crate) async fn load_records<S: DeserializeOwned, O: DeserializeOwned>(
    store: &Store,
    service: &str,
) -> Result<Vec<JobRecord<S, O>>, JobError> {
    let job_ids = store.list_children(&service_prefix(service)).await?;
    let loaded: Vec<_> = futures::stream::iter(job_ids)
        .map(|job_id| async move {
            let key = record_key(service, &job_id);
            (key.clone(), store.get_json::<JobRecord<S, O>>(&key).await)
        })
        .buffer_unordered(LOAD_CONCURRENCY)
        .collect()
        .await;
    let mut records = Vec::with_capacity(loaded.len());
    for (key, result) in loaded {
        match result {
            Ok(Some(record)) => records.push(record),
            Ok(None) => tracing::warn!(%key, "job folder without a record; skipped"),
            Err(error) => tracing::error!(%key, %error, "unreadable job record; skipped"),
        }
    }
    records.sort_by_key(|record| record.submit_index);
    Ok(records)
}
