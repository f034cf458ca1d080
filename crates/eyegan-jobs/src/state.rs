//! The job lifecycle: states and the transitions allowed between them.

use eyegan_proto::common::v1::JobState;
use serde::{Deserialize, Serialize};

use crate::JobError;

/// Lifecycle state of a job, as stored in its record.
///
/// ```text
/// Queued ──► Running ──► Succeeded | Failed | Cancelled
///   │  ▲         │
///   │  └─────────┘  interrupted (service shutdown or crash): back to Queued, resumed on start
///   └──► Cancelled  (cancelled while waiting)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, waiting for a worker slot (or for the service to restart and resume it).
    Queued,
    /// Working.
    Running,
    /// Finished with a result.
    Succeeded,
    /// Stopped by an error; the record's reason says why.
    Failed,
    /// Stopped by a client's cancel request; the record's reason says why.
    Cancelled,
}

impl JobStatus {
    /// True for the final states: succeeded, failed, cancelled.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// Whether a job may move from `self` to `next`.
    pub fn can_become(self, next: Self) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Queued, Running | Cancelled) | (Running, Queued | Succeeded | Failed | Cancelled)
        )
    }

    /// Lower-case name, as in job records and log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The protobuf state.
    pub fn to_proto(self) -> JobState {
        match self {
            Self::Queued => JobState::Queued,
            Self::Running => JobState::Running,
            Self::Succeeded => JobState::Succeeded,
            Self::Failed => JobState::Failed,
            Self::Cancelled => JobState::Cancelled,
        }
    }

    /// Parses a protobuf state filter value: `Ok(None)` for JOB_STATE_UNSPECIFIED ("no filter"),
    /// INVALID_ARGUMENT naming `field` for values outside the enum.
    pub fn from_proto_filter(value: i32, field: &str) -> Result<Option<Self>, JobError> {
        match JobState::try_from(value) {
            Ok(JobState::Unspecified) => Ok(None),
            Ok(JobState::Queued) => Ok(Some(Self::Queued)),
            Ok(JobState::Running) => Ok(Some(Self::Running)),
            Ok(JobState::Succeeded) => Ok(Some(Self::Succeeded)),
            Ok(JobState::Failed) => Ok(Some(Self::Failed)),
            Ok(JobState::Cancelled) => Ok(Some(Self::Cancelled)),
            Err(_) => Err(JobError::invalid_argument(
                field,
                format!("{value} is not a JobState"),
            )),
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    #[test]
    fn terminal_states_never_change() {
        for from in [Succeeded, Failed, Cancelled] {
            assert!(from.is_terminal());
            for to in [Queued, Running, Succeeded, Failed, Cancelled] {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn lifecycle_transitions() {
        assert!(Queued.can_become(Running));
        assert!(Queued.can_become(Cancelled));
        assert!(!Queued.can_become(Succeeded));
        assert!(Running.can_become(Queued));
        assert!(Running.can_become(Failed));
        assert!(!Running.can_become(Running));
    }

    #[test]
    fn proto_filter_values() {
        assert_eq!(JobStatus::from_proto_filter(0, "states").unwrap(), None);
        assert_eq!(
            JobStatus::from_proto_filter(JobState::Failed as i32, "states").unwrap(),
            Some(Failed)
        );
        let error = JobStatus::from_proto_filter(42, "states[0]").unwrap_err();
        assert!(error.to_string().contains("states[0]"), "{error}");
        for state in [Queued, Running, Succeeded, Failed, Cancelled] {
            let value = state.to_proto() as i32;
            assert_eq!(
                JobStatus::from_proto_filter(value, "s").unwrap(),
                Some(state)
            );
        }
    }
}
