//! Running one job attempt: claim a slot, mark it running, call the runner, record the outcome,
//! free the slot and start the next waiting job.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tracing::Instrument;

use crate::entry::{JobEntry, StopCause};
use crate::manager::Shared;
use crate::queue::Scheduler;
use crate::record::now_ms;
use crate::{JobContext, JobError, JobRunner, JobStatus};

/// How often recording a job's final state is tried before giving up (the job then stays
/// running in the store and resumes on the next start).
const FINAL_WRITE_ATTEMPTS: u32 = 5;

/// First retry delay of the final write; doubles each time.
const FINAL_WRITE_BACKOFF: Duration = Duration::from_millis(200);

/// How an attempt ended.
enum Outcome<O> {
    Succeeded(O),
    Failed(String),
    Cancelled(String),
    Interrupted,
}

impl<R: JobRunner> Shared<R> {
    /// Starts waiting jobs while slots are free. Called with the scheduler locked, so a task
    /// cannot free its slot before it is recorded.
    pub(crate) fn start_ready_jobs(self: &Arc<Self>, scheduler: &mut Scheduler<Arc<JobEntry<R>>>) {
        while let Some((job_id, entry)) = scheduler.next_to_start(&self.limits) {
            let span = tracing::info_span!("job", service = %self.service, job_id = %job_id);
            let task = self
                .tracker
                .spawn(run_job(self.clone(), entry).instrument(span));
            scheduler.mark_running(job_id, task.abort_handle());
        }
    }

    fn slot_freed(self: &Arc<Self>, job_id: &str) {
        let mut scheduler = self.lock_scheduler();
        scheduler.mark_finished(job_id);
        self.start_ready_jobs(&mut scheduler);
    }
}

async fn run_job<R: JobRunner>(shared: Arc<Shared<R>>, entry: Arc<JobEntry<R>>) {
    match run_attempt(&shared, &entry).await {
        Ok(state) => tracing::info!(%state, "job attempt ended"),
        Err(error) => {
            tracing::error!(%error, "cannot record the job's state; it resumes on the next start")
        }
    }
    shared.slot_freed(entry.job_id());
}

async fn run_attempt<R: JobRunner>(
    shared: &Arc<Shared<R>>,
    entry: &Arc<JobEntry<R>>,
) -> Result<JobStatus, JobError> {
    let started = entry
        .transition(JobStatus::Running, |record| {
            record.attempts += 1;
            record.started_at_ms.get_or_insert_with(now_ms);
            record.reason.clear();
        })
        .await?;
    tracing::info!(attempt = started.attempts, "job running");

    let ctx = JobContext::new(
        entry.clone(),
        shared.store.clone(),
        shared.service.clone(),
        shared.limits.keep_checkpoints,
    );
    let runner = shared.runner.clone();
    let result = AssertUnwindSafe(async move { runner.run(ctx).await })
        .catch_unwind()
        .await;
    let outcome = match (result, entry.stop_cause()) {
        (Ok(Ok(output)), _) => Outcome::Succeeded(output),
        (result, Some(cause)) => {
            if let Ok(Err(error)) = &result {
                if !matches!(error, JobError::Stopped) {
                    tracing::warn!(%error, "job ended with an error after a stop request");
                }
            }
            match cause {
                StopCause::Cancel(reason) => Outcome::Cancelled(reason),
                StopCause::Shutdown => Outcome::Interrupted,
            }
        }
        (Ok(Err(JobError::Stopped)), None) => {
            tracing::error!("runner returned Stopped although nobody asked it to stop");
            Outcome::Failed("internal error".to_owned())
        }
        (Ok(Err(error)), None) => {
            tracing::warn!(%error, "job failed");
            Outcome::Failed(error.public_message())
        }
        (Err(_panic), None) => {
            tracing::error!("job panicked");
            Outcome::Failed("internal error: the job panicked".to_owned())
        }
    };
    record_outcome(entry, outcome).await
}

async fn record_outcome<R: JobRunner>(
    entry: &JobEntry<R>,
    outcome: Outcome<R::Output>,
) -> Result<JobStatus, JobError> {
    let mut delay = FINAL_WRITE_BACKOFF;
    let mut attempt = 1;
    loop {
        let written = match &outcome {
            Outcome::Succeeded(output) => {
                let output = output.clone();
                entry
                    .transition(JobStatus::Succeeded, |record| {
                        record.output = Some(output);
                        record.reason.clear();
                    })
                    .await
            }
            Outcome::Failed(reason) => {
                entry
                    .transition(JobStatus::Failed, |record| record.reason = reason.clone())
                    .await
            }
            Outcome::Cancelled(reason) => {
                entry
                    .transition(JobStatus::Cancelled, |record| {
                        record.reason = reason.clone()
                    })
                    .await
            }
            Outcome::Interrupted => {
                entry
                    .transition(JobStatus::Queued, |record| record.reason.clear())
                    .await
            }
        };
        match written {
            Ok(record) => return Ok(record.state),
            Err(error @ JobError::Store(_)) if attempt < FINAL_WRITE_ATTEMPTS => {
                tracing::warn!(%error, attempt, "cannot record the job's final state; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}
