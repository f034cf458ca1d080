//! One job in memory: its event hub, its serialized writer and its stop signal.
//!
//! Every change goes through [`JobEntry::commit`], which applies it to a copy of the record,
//! writes the record to the store when the change must be durable (every state change), and
//! only then makes it current and announces it. Commits of one job are serialized, so the store
//! and the event stream see changes in the same order.

use std::sync::{Arc, Mutex, PoisonError};

use eyegan_proto::common::v1::job_event::Payload;
use eyegan_store::Store;
use tokio_util::sync::CancellationToken;

use crate::events::{EventHub, ToProto};
use crate::persistence::save_record;
use crate::record::now_ms;
use crate::{JobError, JobRecord, JobRunner, JobStatus};

/// How many event sequences one record write reserves: events between record writes use
/// sequences up to the reserved mark, and a new mark is persisted before it is passed.
pub(crate) const SEQUENCE_BLOCK: u64 = 1024;

/// The record of a runner's jobs.
pub(crate) type RecordOf<R> = JobRecord<<R as JobRunner>::Spec, <R as JobRunner>::Output>;

/// Why a running job was asked to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StopCause {
    /// A client cancelled it: it ends CANCELLED with this reason.
    Cancel(String),
    /// The service shuts down: it goes back to QUEUED and resumes on the next start.
    Shutdown,
}

/// Whether a commit must reach the store before it is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Always write the record (state changes, cancel requests).
    Persist,
    /// Announce only; write the record only when the sequence reservation runs out
    /// (progress and payload events).
    Announce,
}

/// One job in memory.
pub(crate) struct JobEntry<R: JobRunner> {
    job_id: String,
    service: String,
    store: Store,
    hub: Arc<EventHub<R::Spec, R::Output>>,
    to_proto: ToProto<R::Spec, R::Output>,
    /// Serializes commits; holds the persisted sequence reservation.
    writer: tokio::sync::Mutex<u64>,
    cancel: CancellationToken,
    stop: Mutex<Option<StopCause>>,
}

impl<R: JobRunner> JobEntry<R> {
    /// An entry for a record just read from or written to the store.
    pub(crate) fn new(
        record: RecordOf<R>,
        service: &str,
        store: Store,
        to_proto: ToProto<R::Spec, R::Output>,
        sequence: u64,
        event_buffer: usize,
    ) -> Self {
        let reserved = record.sequence_reserved;
        Self {
            job_id: record.job_id.clone(),
            service: service.to_owned(),
            store,
            hub: Arc::new(EventHub::new(record, sequence, event_buffer)),
            to_proto,
            writer: tokio::sync::Mutex::new(reserved),
            cancel: CancellationToken::new(),
            stop: Mutex::new(None),
        }
    }

    /// The job id.
    pub(crate) fn job_id(&self) -> &str {
        &self.job_id
    }

    /// The job as last announced.
    pub(crate) fn current(&self) -> Arc<RecordOf<R>> {
        self.hub.current()
    }

    /// The hub watchers subscribe to.
    pub(crate) fn hub(&self) -> &Arc<EventHub<R::Spec, R::Output>> {
        &self.hub
    }

    /// The token the job's run observes.
    pub(crate) fn cancellation_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Asks the running job to stop. The first cause wins (a client's cancel stays a cancel
    /// through a later shutdown); returns true when this call set it.
    pub(crate) fn request_stop(&self, cause: StopCause) -> bool {
        let mut stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        let newly = stop.is_none();
        if newly {
            *stop = Some(cause);
        }
        drop(stop);
        self.cancel.cancel();
        newly
    }

    /// Why the job was asked to stop, if it was.
    pub(crate) fn stop_cause(&self) -> Option<StopCause> {
        self.stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Applies `change` to a copy of the record; on success writes it (per `durability`), makes
    /// it current and announces it with `payload`. When `change` or the write fails nothing
    /// changes.
    pub(crate) async fn commit(
        &self,
        change: impl FnOnce(&mut RecordOf<R>) -> Result<(), JobError>,
        payload: Option<Payload>,
        durability: Durability,
    ) -> Result<Arc<RecordOf<R>>, JobError> {
        let mut reserved = self.writer.lock().await;
        let mut next = (*self.hub.current()).clone();
        change(&mut next)?;
        next.updated_at_ms = now_ms();
        let sequence = self.hub.sequence() + 1;
        if durability == Durability::Persist || sequence > *reserved {
            next.sequence_reserved = sequence + SEQUENCE_BLOCK;
            save_record(&self.store, &self.service, &next).await?;
            *reserved = next.sequence_reserved;
        }
        self.hub.publish(next, payload, &self.to_proto);
        Ok(self.hub.current())
    }

    /// Commits a state change, checking that the lifecycle allows it; `change` fills in the
    /// rest (reason, output, timestamps).
    pub(crate) async fn transition(
        &self,
        next_state: JobStatus,
        change: impl FnOnce(&mut RecordOf<R>),
    ) -> Result<Arc<RecordOf<R>>, JobError> {
        self.commit(
            |record| {
                if !record.state.can_become(next_state) {
                    return Err(JobError::FailedPrecondition(format!(
                        "job {} is {} and cannot become {next_state}",
                        record.job_id, record.state
                    )));
                }
                record.state = next_state;
                if next_state.is_terminal() {
                    record.finished_at_ms = Some(now_ms());
                    record.cancel_requested = None;
                }
                change(record);
                Ok(())
            },
            None,
            Durability::Persist,
        )
        .await
    }
}
