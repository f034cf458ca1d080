//! [`JobManager`]: one service's jobs — submit, get, list, cancel, watch, resume, shut down.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use eyegan_proto::common::v1::Job;
use eyegan_store::Store;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::entry::{Durability, JobEntry, RecordOf, StopCause, SEQUENCE_BLOCK};
use crate::events::{self, JobEventStream, ToProto};
use crate::persistence::create_record;
use crate::queue::Scheduler;
use crate::record::{now_ms, RECORD_VERSION};
use crate::resume::resume_unfinished;
use crate::{JobError, JobLimits, JobRecord, JobRunner, JobStatus};

/// Page size of [`JobManager::list`] when 0 is asked for.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page of [`JobManager::list`]; larger requests are cut to it.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Longest accepted request id or cancel reason, in bytes.
pub const MAX_CLIENT_TEXT_BYTES: usize = 256;

/// A job as last announced (an immutable snapshot of its record).
pub type JobSnapshot<R> = Arc<JobRecord<<R as JobRunner>::Spec, <R as JobRunner>::Output>>;

/// One page of [`JobManager::list`].
#[derive(Debug, Clone)]
pub struct JobPage<R: JobRunner> {
    /// Jobs, newest first.
    pub jobs: Vec<JobSnapshot<R>>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
}

/// The jobs of one service: a FIFO queue in front of `max_running` workers, records and
/// checkpoints in the store, and a watch hub per job. Cheap to clone; clones share everything.
///
/// State changes are written to the store before they are announced. On [`JobManager::start`]
/// the manager resumes the service's unfinished jobs. Two ways to stop:
/// - [`JobManager::shutdown`] (graceful): running jobs are asked to stop, **as interrupted, not
///   cancelled** — they go back to QUEUED in the store (after the runner's last checkpoint) and
///   resume on the next start. A client's cancel is different: the job ends CANCELLED for good.
/// - [`JobManager::abort`] (crash-like): job tasks are dropped without writing anything; records
///   still say RUNNING and the next start resumes them from their last checkpoint.
pub struct JobManager<R: JobRunner> {
    shared: Arc<Shared<R>>,
}

impl<R: JobRunner> Clone for JobManager<R> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<R: JobRunner> std::fmt::Debug for JobManager<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobManager")
            .field("service", &self.shared.service)
            .field("limits", &self.shared.limits)
            .finish()
    }
}

/// State shared by the manager handles and the job tasks.
pub(crate) struct Shared<R: JobRunner> {
    pub(crate) runner: Arc<R>,
    pub(crate) store: Store,
    pub(crate) service: Arc<str>,
    pub(crate) limits: JobLimits,
    pub(crate) tracker: TaskTracker,
    to_proto: ToProto<R::Spec, R::Output>,
    scheduler: Mutex<Scheduler<Arc<JobEntry<R>>>>,
    submit_lock: tokio::sync::Mutex<()>,
    /// Fired when the manager stops: ends every watch stream.
    closed: CancellationToken,
}

impl<R: JobRunner> Shared<R> {
    pub(crate) fn lock_scheduler(&self) -> MutexGuard<'_, Scheduler<Arc<JobEntry<R>>>> {
        // Every scheduler method leaves it consistent, so a poisoned lock is still usable.
        self.scheduler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn new_entry(&self, record: RecordOf<R>, sequence: u64) -> Arc<JobEntry<R>> {
        Arc::new(JobEntry::new(
            record,
            &self.service,
            self.store.clone(),
            self.to_proto.clone(),
            sequence,
            self.limits.event_buffer,
        ))
    }
}

impl<R: JobRunner> JobManager<R> {
    /// Starts the job system of `runner`'s service on `store`: loads its job records, resumes
    /// the unfinished ones (RUNNING ones first, then QUEUED in submission order; a job whose
    /// cancel was requested before a restart ends CANCELLED instead) and starts working.
    pub async fn start(store: Store, runner: R, limits: JobLimits) -> Result<Self, JobError> {
        limits.validate()?;
        let service: Arc<str> = Arc::from(runner.service());
        eyegan_store::validate_key_segment(&service)
            .map_err(|error| JobError::invalid_argument("service", error.to_string()))?;
        let runner = Arc::new(runner);
        let to_proto: ToProto<R::Spec, R::Output> = {
            let runner = runner.clone();
            Arc::new(move |record| record.to_proto(|output| runner.output_to_proto(output)))
        };
        let shared = Arc::new(Shared {
            runner,
            store,
            service,
            limits,
            tracker: TaskTracker::new(),
            to_proto,
            scheduler: Mutex::new(Scheduler::new()),
            submit_lock: tokio::sync::Mutex::new(()),
            closed: CancellationToken::new(),
        });

        let resumed = resume_unfinished(&shared).await?;
        {
            let mut scheduler = shared.lock_scheduler();
            shared.start_ready_jobs(&mut scheduler);
        }
        tracing::info!(service = %shared.service, resumed, "job manager started");
        Ok(Self { shared })
    }

    /// Accepts a job. With a non-empty `request_id` submission is idempotent: the same id
    /// returns the job it created before (whatever its state); the same id with a different
    /// spec is ALREADY_EXISTS. Errors: the runner's validation (INVALID_ARGUMENT naming the
    /// field), RESOURCE_EXHAUSTED when the queue is full, UNAVAILABLE after shutdown.
    pub async fn submit(
        &self,
        request_id: &str,
        spec: R::Spec,
    ) -> Result<JobSnapshot<R>, JobError> {
        check_client_text("request_id", request_id)?;
        let shared = &self.shared;
        shared.runner.validate(&spec)?;
        let _one_submission_at_a_time = shared.submit_lock.lock().await;
        let index = {
            let scheduler = shared.lock_scheduler();
            if let Some(existing) = scheduler.by_request(request_id) {
                let current = existing.current();
                if current.spec == spec {
                    return Ok(current);
                }
                return Err(JobError::AlreadyExists {
                    what: format!(
                        "job {} with request_id {request_id:?} and a different request",
                        current.job_id
                    ),
                });
            }
            if !scheduler.is_accepting() {
                return Err(JobError::Unavailable(
                    "the service is shutting down".to_owned(),
                ));
            }
            if !scheduler.has_room(&shared.limits) {
                let (running, waiting) = scheduler.load();
                return Err(JobError::ResourceExhausted(format!(
                    "the {} job queue is full ({running} running, {waiting} queued); retry later",
                    shared.service
                )));
            }
            scheduler.next_index()
        };

        let now = now_ms();
        let record = JobRecord {
            version: RECORD_VERSION,
            job_id: uuid::Uuid::new_v4().to_string(),
            request_id: request_id.to_owned(),
            kind: shared.runner.kind().as_str_name().to_owned(),
            submit_index: index,
            state: JobStatus::Queued,
            reason: String::new(),
            cancel_requested: None,
            attempts: 0,
            created_at_ms: now,
            updated_at_ms: now,
            started_at_ms: None,
            finished_at_ms: None,
            progress: None,
            summary: shared.runner.summary(&spec),
            spec,
            output: None,
            // Sequence 1 is the submission itself.
            sequence_reserved: 1 + SEQUENCE_BLOCK,
        };
        create_record(&shared.store, &shared.service, &record).await?;
        tracing::info!(service = %shared.service, job_id = %record.job_id, request_id, "job submitted");
        let entry = shared.new_entry(record, 1);
        let snapshot = entry.current();
        let mut scheduler = shared.lock_scheduler();
        scheduler.insert(&snapshot.job_id, request_id, index, entry);
        scheduler.enqueue(&snapshot.job_id);
        shared.start_ready_jobs(&mut scheduler);
        Ok(snapshot)
    }

    /// The job `job_id` as last announced; NOT_FOUND when unknown.
    pub fn get(&self, job_id: &str) -> Result<JobSnapshot<R>, JobError> {
        Ok(self.entry(job_id)?.current())
    }

    /// Jobs newest first, only those in `states` (all when empty), `page_size` per page (0 =
    /// [`DEFAULT_PAGE_SIZE`], at most [`MAX_PAGE_SIZE`]), starting after `page_token` (empty =
    /// first page; INVALID_ARGUMENT naming `page_token` when it is not one this returned).
    pub fn list(
        &self,
        states: &[JobStatus],
        page_size: usize,
        page_token: &str,
    ) -> Result<JobPage<R>, JobError> {
        let before = if page_token.is_empty() {
            None
        } else {
            Some(page_token.parse::<u64>().map_err(|_| {
                JobError::invalid_argument(
                    "page_token",
                    "not a token from a previous ListJobs response",
                )
            })?)
        };
        let limit = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        };
        let (entries, next) = self.shared.lock_scheduler().page(before, limit, |entry| {
            states.is_empty() || states.contains(&entry.current().state)
        });
        Ok(JobPage {
            jobs: entries.iter().map(|entry| entry.current()).collect(),
            next_page_token: next.map(|index| index.to_string()).unwrap_or_default(),
        })
    }

    /// Cancels a job. A queued job is cancelled at once. A running job is asked to stop: it
    /// stops at its next step, keeps its last checkpoint and ends CANCELLED (the returned
    /// snapshot may still say RUNNING). A finished job is FAILED_PRECONDITION. An empty
    /// `reason` becomes "cancelled by client".
    pub async fn cancel(&self, job_id: &str, reason: &str) -> Result<JobSnapshot<R>, JobError> {
        check_client_text("reason", reason)?;
        let reason = match reason.trim() {
            "" => "cancelled by client".to_owned(),
            given => given.to_owned(),
        };
        let entry = self.entry(job_id)?;
        let was_waiting = self.shared.lock_scheduler().remove_waiting(job_id);
        if was_waiting {
            let cancelled = entry
                .transition(JobStatus::Cancelled, |record| record.reason = reason)
                .await;
            if cancelled.is_err() {
                self.shared.lock_scheduler().requeue_first(job_id);
            }
            tracing::info!(job_id, "queued job cancelled");
            return cancelled;
        }
        let current = entry.current();
        if current.state.is_terminal() {
            return Err(JobError::FailedPrecondition(format!(
                "job {job_id} already finished ({})",
                current.state
            )));
        }
        if entry.request_stop(StopCause::Cancel(reason.clone())) {
            tracing::info!(job_id, "cancel requested");
            let noted = entry
                .commit(
                    |record| {
                        if record.state.is_terminal() {
                            return Err(JobError::FailedPrecondition("already finished".into()));
                        }
                        record.cancel_requested = Some(reason);
                        Ok(())
                    },
                    None,
                    Durability::Persist,
                )
                .await;
            if let Err(error) = noted {
                tracing::debug!(job_id, %error, "cancel request not recorded");
            }
        }
        Ok(entry.current())
    }

    /// Watches a job: see [`crate::events`] for the stream's rules. NOT_FOUND when unknown.
    pub fn watch(&self, job_id: &str, after_sequence: u64) -> Result<JobEventStream, JobError> {
        let entry = self.entry(job_id)?;
        Ok(events::watch(
            entry.hub().clone(),
            self.shared.to_proto.clone(),
            after_sequence,
            self.shared.closed.clone(),
        ))
    }

    /// Waits until the job reaches a final state and returns it; UNAVAILABLE when the manager
    /// stops first.
    pub async fn wait_finished(&self, job_id: &str) -> Result<JobSnapshot<R>, JobError> {
        let mut events = self.watch(job_id, 0)?;
        while let Some(event) = events.next().await {
            event?;
        }
        let finished = self.get(job_id)?;
        if finished.state.is_terminal() {
            Ok(finished)
        } else {
            Err(JobError::Unavailable("the job manager stopped".to_owned()))
        }
    }

    /// Graceful shutdown: accepts no more jobs, asks running jobs to stop as **interrupted**
    /// (they return to QUEUED and resume on the next start; a pending client cancel still ends
    /// CANCELLED), waits for their runners to return (runners save a checkpoint when they stop
    /// if they want the current step kept), then ends every watch stream with UNAVAILABLE.
    /// Queued jobs stay queued in the store.
    pub async fn shutdown(&self) {
        let running = {
            let mut scheduler = self.shared.lock_scheduler();
            scheduler.close();
            scheduler.running_entries()
        };
        tracing::info!(service = %self.shared.service, running = running.len(), "job manager shutting down");
        for entry in &running {
            entry.request_stop(StopCause::Shutdown);
        }
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        self.shared.closed.cancel();
        tracing::info!(service = %self.shared.service, "job manager stopped");
    }

    /// Crash-like stop: drops every job task at once without recording anything, and ends
    /// every watch stream. Records of running jobs still say RUNNING, so the next start resumes
    /// them from their last checkpoint. For tests and for a forced exit.
    pub fn abort(&self) {
        let handles = self.shared.lock_scheduler().close();
        for handle in handles {
            handle.abort();
        }
        self.shared.closed.cancel();
        tracing::warn!(service = %self.shared.service, "job manager aborted");
    }

    /// The protobuf view of a job.
    pub fn to_proto(&self, record: &RecordOf<R>) -> Job {
        (self.shared.to_proto)(record)
    }

    /// The runner.
    pub fn runner(&self) -> &R {
        &self.shared.runner
    }

    /// The store jobs live in.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The service name (`jobs/<service>/` in the store).
    pub fn service(&self) -> &str {
        &self.shared.service
    }

    /// The limits the manager runs under.
    pub fn limits(&self) -> &JobLimits {
        &self.shared.limits
    }

    fn entry(&self, job_id: &str) -> Result<Arc<JobEntry<R>>, JobError> {
        if job_id.is_empty() {
            return Err(JobError::invalid_argument("job_id", "must not be empty"));
        }
        self.shared
            .lock_scheduler()
            .get(job_id)
            .cloned()
            .ok_or_else(|| JobError::not_found(format!("job {job_id:?}")))
    }
}

/// Checks client-supplied free text (request id, cancel reason): at most
/// [`MAX_CLIENT_TEXT_BYTES`] bytes, no control characters.
fn check_client_text(field: &str, text: &str) -> Result<(), JobError> {
    if text.len() > MAX_CLIENT_TEXT_BYTES {
        return Err(JobError::invalid_argument(
            field,
            format!("longer than {MAX_CLIENT_TEXT_BYTES} bytes"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(JobError::invalid_argument(
            field,
            "control characters are not allowed",
        ));
    }
    Ok(())
}
