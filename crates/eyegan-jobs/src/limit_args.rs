//! The job-limit flags every job service (trainer, generator, classifier) takes, with the same
//! names and environment variables everywhere.

use crate::JobLimits;

/// `--max-running-jobs`, `--max-queued-jobs` and `--keep-checkpoints` (and their `EYEGAN_*`
/// twins), flattened into each job service's own flags.
#[derive(Debug, Clone, clap::Args)]
pub struct JobLimitArgs {
    /// Jobs running at once (at least 1).
    #[arg(long, env = "EYEGAN_MAX_RUNNING_JOBS", default_value_t = JobLimits::default().max_running)]
    pub max_running_jobs: usize,

    /// Jobs waiting behind the running ones; past it, submissions get RESOURCE_EXHAUSTED.
    #[arg(long, env = "EYEGAN_MAX_QUEUED_JOBS", default_value_t = JobLimits::default().max_queued)]
    pub max_queued_jobs: usize,

    /// Checkpoints kept per job, newest first (0 keeps every one).
    #[arg(long, env = "EYEGAN_KEEP_CHECKPOINTS", default_value_t = JobLimits::default().keep_checkpoints)]
    pub keep_checkpoints: usize,
}

impl From<JobLimitArgs> for JobLimits {
    fn from(args: JobLimitArgs) -> Self {
        JobLimits {
            max_running: args.max_running_jobs,
            max_queued: args.max_queued_jobs,
            keep_checkpoints: args.keep_checkpoints,
            ..JobLimits::default()
        }
    }
}
