//! Per-service limits of the job system.

use crate::JobError;

/// Limits of one service's [`JobManager`](crate::JobManager).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLimits {
    /// Jobs running at once (default 1: one job saturates the CPU). At least 1.
    pub max_running: usize,
    /// Jobs waiting behind the running ones (default 16). Submissions past it fail with
    /// RESOURCE_EXHAUSTED. Jobs resumed at start are always taken, even past this limit.
    pub max_queued: usize,
    /// Checkpoints kept per job, newest first (default 3); 0 keeps every checkpoint.
    pub keep_checkpoints: usize,
    /// Events buffered per job for watchers (default 256). A watcher further behind than this
    /// skips to a fresh snapshot instead of stalling the job.
    pub event_buffer: usize,
}

impl Default for JobLimits {
    fn default() -> Self {
        Self {
            max_running: 1,
            max_queued: 16,
            keep_checkpoints: 3,
            event_buffer: 256,
        }
    }
}

impl JobLimits {
    /// Checks that the limits can work: at least one running job and a non-empty event buffer.
    pub fn validate(&self) -> Result<(), JobError> {
        if self.max_running == 0 {
            return Err(JobError::invalid_argument(
                "max_running",
                "must be at least 1",
            ));
        }
        if self.event_buffer == 0 {
            return Err(JobError::invalid_argument(
                "event_buffer",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_workers_is_not() {
        JobLimits::default().validate().unwrap();
        let error = JobLimits {
            max_running: 0,
            ..JobLimits::default()
        }
        .validate()
        .unwrap_err();
        assert!(error.to_string().contains("max_running"));
    }
}
