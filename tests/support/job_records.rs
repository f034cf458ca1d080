//! Reading the job records (`jobs/<service>/<job id>/job.json`) a service keeps in a `file://`
//! store, to see from outside which jobs exist and what state they are in.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// Every job record of `service` in the store folder `store`, by job id; empty when the
/// service has no jobs yet. A record being replaced at this moment is read in its old or new
/// form (writes are atomic renames).
pub fn job_records(store: &Path, service: &str) -> BTreeMap<String, Value> {
    let folder = store.join("jobs").join(service);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let id = path.file_name()?.to_string_lossy().into_owned();
            let bytes = std::fs::read(path.join("job.json")).ok()?;
            Some((id, serde_json::from_slice(&bytes).ok()?))
        })
        .collect()
}

/// The ids of `service`'s jobs in `state` (`queued`, `running`, `succeeded`, ...).
pub fn jobs_in_state(store: &Path, service: &str, state: &str) -> Vec<String> {
    job_records(store, service)
        .into_iter()
        .filter(|(_, job)| job["state"] == state)
        .map(|(id, _)| id)
        .collect()
}
