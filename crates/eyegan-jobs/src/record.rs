//! The persisted job record (JSON in the store) and its conversion to the protobuf `Job`.

use std::time::{SystemTime, UNIX_EPOCH};

use eyegan_proto::common::v1::{Job, JobKind, JobResult, Progress};
use serde::{Deserialize, Serialize};

use crate::JobStatus;

/// Version of the record layout written by this crate.
pub const RECORD_VERSION: u32 = 1;

/// Everything the job system knows about one job, stored as JSON at
/// `jobs/<service>/<job id>/job.json` (see [`crate::persistence`]). `S` is the runner's spec type and
/// `O` its output type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord<S, O> {
    /// Layout version ([`RECORD_VERSION`]).
    pub version: u32,
    /// Server-assigned id (a UUID).
    pub job_id: String,
    /// Client-supplied idempotency key; empty when none.
    pub request_id: String,
    /// The protobuf `JobKind` name, e.g. `JOB_KIND_TRAIN_GAN`.
    pub kind: String,
    /// Submission order within the service, starting at 1: orders listings newest first and
    /// backs page tokens.
    pub submit_index: u64,
    /// Lifecycle state.
    pub state: JobStatus,
    /// Why the job failed or was cancelled; empty otherwise. Client-safe text.
    pub reason: String,
    /// Set when a client asked to cancel a running job that has not stopped yet; a restart
    /// finishes the cancellation instead of resuming the job.
    #[serde(default)]
    pub cancel_requested: Option<String>,
    /// How many times the job has started running (1 on the first run, more after resumes).
    pub attempts: u32,
    /// Submission time, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Last change, milliseconds since the Unix epoch.
    pub updated_at_ms: u64,
    /// First start, milliseconds since the Unix epoch.
    pub started_at_ms: Option<u64>,
    /// Arrival in a final state, milliseconds since the Unix epoch.
    pub finished_at_ms: Option<u64>,
    /// Last reported progress.
    pub progress: Option<ProgressRecord>,
    /// One-line human-readable summary of the request.
    pub summary: String,
    /// The request, as the runner's spec type.
    pub spec: S,
    /// The runner's result; set only in state succeeded.
    pub output: Option<O>,
    /// Event sequence high-water mark: every event sequence ever used for this job is at most
    /// this, so a restarted service continues numbering above it (see [`crate::events`]).
    pub sequence_reserved: u64,
}

/// How far a job has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressRecord {
    /// Units done.
    pub current: u64,
    /// Units in total; 0 when unknown.
    pub total: u64,
    /// What one unit is ("iteration", "epoch", "image", ...).
    pub unit: String,
    /// Estimated seconds left; computed live, never persisted.
    #[serde(skip)]
    pub eta_seconds: Option<f64>,
}

impl<S, O> JobRecord<S, O> {
    /// The protobuf view of this record; `output_to_proto` converts the runner's output.
    pub fn to_proto(&self, output_to_proto: impl FnOnce(&O) -> JobResult) -> Job {
        Job {
            job_id: self.job_id.clone(),
            request_id: self.request_id.clone(),
            kind: JobKind::from_str_name(&self.kind).unwrap_or(JobKind::Unspecified) as i32,
            state: self.state.to_proto() as i32,
            reason: self.reason.clone(),
            created_at: Some(timestamp(self.created_at_ms)),
            updated_at: Some(timestamp(self.updated_at_ms)),
            started_at: self.started_at_ms.map(timestamp),
            finished_at: self.finished_at_ms.map(timestamp),
            progress: self.progress.as_ref().map(|progress| Progress {
                current: progress.current,
                total: progress.total,
                unit: progress.unit.clone(),
                eta_seconds: progress.eta_seconds,
            }),
            result: self.output.as_ref().map(output_to_proto),
            summary: self.summary.clone(),
        }
    }
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A protobuf timestamp from milliseconds since the Unix epoch.
pub(crate) fn timestamp(ms: u64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyegan_proto::common::v1::{job_result, JobState, TrainGanResult};

    fn record() -> JobRecord<String, u64> {
        JobRecord {
            version: RECORD_VERSION,
            job_id: "j".into(),
            request_id: "r".into(),
            kind: JobKind::TrainGan.as_str_name().into(),
            submit_index: 1,
            state: JobStatus::Succeeded,
            reason: String::new(),
            cancel_requested: None,
            attempts: 1,
            created_at_ms: 1_500,
            updated_at_ms: 2_000,
            started_at_ms: Some(1_750),
            finished_at_ms: Some(2_000),
            progress: Some(ProgressRecord {
                current: 3,
                total: 3,
                unit: "step".into(),
                eta_seconds: Some(0.0),
            }),
            summary: "count".into(),
            spec: "spec".into(),
            output: Some(7),
            sequence_reserved: 10,
        }
    }

    #[test]
    fn converts_to_proto() {
        let job = record().to_proto(|iterations| JobResult {
            kind: Some(job_result::Kind::TrainGan(TrainGanResult {
                iterations: *iterations,
                ..Default::default()
            })),
        });
        assert_eq!(job.kind(), JobKind::TrainGan);
        assert_eq!(job.state(), JobState::Succeeded);
        assert_eq!(job.created_at.unwrap().seconds, 1);
        assert_eq!(job.created_at.unwrap().nanos, 500_000_000);
        assert_eq!(job.progress.unwrap().current, 3);
        match job.result.unwrap().kind.unwrap() {
            job_result::Kind::TrainGan(result) => assert_eq!(result.iterations, 7),
            other => panic!("unexpected result {other:?}"),
        }
    }

    #[test]
    fn round_trips_through_json_without_the_eta() {
        let original = record();
        let json = serde_json::to_string(&original).unwrap();
        let back: JobRecord<String, u64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.progress.as_ref().unwrap().eta_seconds, None);
        assert_eq!(back.spec, original.spec);
        assert_eq!(back.state, JobStatus::Succeeded);
        assert!(
            json.contains("\"state\": \"succeeded\"") || json.contains("\"state\":\"succeeded\"")
        );
    }
}
