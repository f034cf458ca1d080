//! What a running job sees: its spec, the store, cancellation, progress and event reporting, and
//! its checkpoints.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use eyegan_proto::common::v1::job_event::Payload;
use eyegan_store::Store;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::entry::{Durability, JobEntry};
use crate::persistence::job_prefix;
use crate::{
    Checkpoint, CheckpointFile, JobCheckpoints, JobError, JobRecord, JobRunner, JobStatus,
    ProgressRecord,
};

/// The handle a [`JobRunner::run`] works through. Cheap to clone (e.g. into a
/// `spawn_blocking` closure, where [`JobContext::is_cancelled`] works synchronously).
pub struct JobContext<R: JobRunner> {
    entry: Arc<JobEntry<R>>,
    spec: Arc<R::Spec>,
    store: Store,
    service: Arc<str>,
    attempt: u32,
    checkpoints: JobCheckpoints,
    eta_baseline: Arc<Mutex<Option<(Instant, u64)>>>,
}

impl<R: JobRunner> Clone for JobContext<R> {
    fn clone(&self) -> Self {
        Self {
            entry: self.entry.clone(),
            spec: self.spec.clone(),
            store: self.store.clone(),
            service: self.service.clone(),
            attempt: self.attempt,
            checkpoints: self.checkpoints.clone(),
            eta_baseline: self.eta_baseline.clone(),
        }
    }
}

impl<R: JobRunner> std::fmt::Debug for JobContext<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("service", &self.service)
            .field("job_id", &self.entry.job_id())
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl<R: JobRunner> JobContext<R> {
    /// The context of one run of the job behind `entry`.
    pub(crate) fn new(
        entry: Arc<JobEntry<R>>,
        store: Store,
        service: Arc<str>,
        keep_checkpoints: usize,
    ) -> Self {
        let record = entry.current();
        let checkpoints =
            JobCheckpoints::new(store.clone(), &service, &record.job_id, keep_checkpoints);
        Self {
            spec: Arc::new(record.spec.clone()),
            attempt: record.attempts,
            entry,
            store,
            service,
            checkpoints,
            eta_baseline: Arc::new(Mutex::new(None)),
        }
    }

    /// The job id.
    pub fn job_id(&self) -> &str {
        self.entry.job_id()
    }

    /// The job's request.
    pub fn spec(&self) -> &R::Spec {
        &self.spec
    }

    /// The shared object store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `jobs/<service>/<job id>`: the prefix under which the runner may store its own
    /// artifacts (e.g. `<prefix>/grids/000100.png`); `checkpoints/` below it is reserved.
    pub fn job_prefix(&self) -> String {
        job_prefix(&self.service, self.job_id())
    }

    /// Which run of the job this is: 1 for the first, more after restarts.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// True when the job ran before (the service restarted or shut down during it): continue
    /// from [`JobContext::latest_checkpoint`].
    pub fn resumed(&self) -> bool {
        self.attempt > 1
    }

    /// True once the job was asked to stop (client cancel or service shutdown). Check it
    /// between steps; it is synchronous and cheap.
    pub fn is_cancelled(&self) -> bool {
        self.entry.cancellation_token().is_cancelled()
    }

    /// `Err(JobError::Stopped)` once the job was asked to stop: `ctx.check_cancelled()?` at
    /// each step boundary.
    pub fn check_cancelled(&self) -> Result<(), JobError> {
        if self.is_cancelled() {
            Err(JobError::Stopped)
        } else {
            Ok(())
        }
    }

    /// The cancellation token itself, for `select!` or to hand to blocking code.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.entry.cancellation_token().clone()
    }

    /// Records progress (`current` of `total` units, `total` 0 when unknown) and announces it to
    /// watchers as a snapshot event. The ETA is estimated from the rate since the first report
    /// of this run.
    pub async fn report_progress(
        &self,
        current: u64,
        total: u64,
        unit: &str,
    ) -> Result<(), JobError> {
        let eta_seconds = self.estimate_eta(current, total);
        let progress = ProgressRecord {
            current,
            total,
            unit: unit.to_owned(),
            eta_seconds,
        };
        self.entry
            .commit(
                |record| {
                    ensure_running(record)?;
                    record.progress = Some(progress);
                    Ok(())
                },
                None,
                Durability::Announce,
            )
            .await?;
        Ok(())
    }

    /// Announces a typed event (an iteration's metrics, a stored artifact, a log line) with the
    /// current job snapshot. Never waits for watchers.
    pub async fn emit(&self, payload: Payload) -> Result<(), JobError> {
        self.entry
            .commit(ensure_running, Some(payload), Durability::Announce)
            .await?;
        Ok(())
    }

    /// Saves a checkpoint of `step` (files first, pointer last) under
    /// `jobs/<service>/<job id>/checkpoints/`, keeping the newest
    /// [`JobLimits::keep_checkpoints`](crate::JobLimits::keep_checkpoints).
    pub async fn save_checkpoint(
        &self,
        step: u64,
        files: Vec<CheckpointFile>,
        state: &impl Serialize,
    ) -> Result<Checkpoint, JobError> {
        self.checkpoints.save(step, files, state).await
    }

    /// The job's checkpoint with the highest step, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, JobError> {
        self.checkpoints.latest().await
    }

    /// Reads a file of a checkpoint, verified against its pointer.
    pub async fn read_checkpoint_file(
        &self,
        checkpoint: &Checkpoint,
        name: &str,
    ) -> Result<Bytes, JobError> {
        self.checkpoints.read_file(checkpoint, name).await
    }

    /// The job's checkpoints, for listing or reading older ones.
    pub fn checkpoints(&self) -> &JobCheckpoints {
        &self.checkpoints
    }

    fn estimate_eta(&self, current: u64, total: u64) -> Option<f64> {
        let now = Instant::now();
        let mut baseline = self
            .eta_baseline
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let &mut (since, from) = baseline.get_or_insert((now, current));
        if total == 0 || current <= from || current > total {
            return None;
        }
        let per_unit = now.duration_since(since).as_secs_f64() / (current - from) as f64;
        Some(per_unit * (total - current) as f64)
    }
}

/// Progress and events belong to a running job: a clone of the context that outlives its run
/// cannot change a finished job.
fn ensure_running<S, O>(record: &mut JobRecord<S, O>) -> Result<(), JobError> {
    if record.state == JobStatus::Running {
        Ok(())
    } else {
        Err(JobError::FailedPrecondition(format!(
            "job {} is {}, not running",
            record.job_id, record.state
        )))
    }
}
