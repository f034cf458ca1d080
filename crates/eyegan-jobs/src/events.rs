//! The per-job event hub behind `WatchJob`.
//!
//! Every change of a job (state, progress, a runner's typed payload) is published as a protobuf
//! `JobEvent` carrying the next per-job sequence number and a snapshot of the job.
//!
//! Watching:
//! - A watcher first receives a **snapshot** of the current state: a payload-less event whose
//!   sequence is that of the latest event. Subscription and snapshot are taken atomically, so the
//!   live events that follow continue exactly after it: no gap, no duplicate.
//! - `after_sequence` skips events the client already has (sequence ≤ it); since history is not
//!   replayed, in practice it only suppresses the snapshot when nothing happened since.
//! - A watcher never slows the job down: events go through a bounded broadcast buffer
//!   ([`JobLimits::event_buffer`](crate::JobLimits::event_buffer)) and publishing never waits.
//!   A watcher that falls further behind than the buffer loses the events it missed and
//!   receives a fresh snapshot instead (its sequence jumps forward), then continues live.
//! - The stream ends right after the event that carries a final state (succeeded, failed,
//!   cancelled). When the service shuts down before that, the stream ends with UNAVAILABLE; the
//!   job resumes after the restart and the client may watch again.
//!
//! Sequences stay strictly increasing across restarts: the job record stores a high-water mark
//! ([`JobRecord::sequence_reserved`](crate::JobRecord::sequence_reserved)) that is persisted
//! before any sequence above it is used, and a restarted service numbers above it.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use eyegan_proto::common::v1::{job_event, JobEvent, JobState};
use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::record::{now_ms, timestamp};
use crate::{JobError, JobRecord};

/// The stream a watcher reads: job events, ending after the final state; an error item
/// (UNAVAILABLE) ends it early when the service shuts down.
pub type JobEventStream = Pin<Box<dyn Stream<Item = Result<JobEvent, JobError>> + Send>>;

/// Converts a job record into its protobuf view.
pub(crate) type ToProto<S, O> =
    Arc<dyn Fn(&JobRecord<S, O>) -> eyegan_proto::common::v1::Job + Send + Sync>;

/// The current state of one job and the channel its events go out on.
pub(crate) struct EventHub<S, O> {
    state: Mutex<HubState<S, O>>,
    sender: broadcast::Sender<JobEvent>,
}

struct HubState<S, O> {
    record: Arc<JobRecord<S, O>>,
    sequence: u64,
}

impl<S, O> EventHub<S, O> {
    /// A hub for `record`, whose latest event had sequence `sequence`.
    pub(crate) fn new(record: JobRecord<S, O>, sequence: u64, capacity: usize) -> Self {
        Self {
            state: Mutex::new(HubState {
                record: Arc::new(record),
                sequence,
            }),
            sender: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// The job as last announced.
    pub(crate) fn current(&self) -> Arc<JobRecord<S, O>> {
        self.lock().record.clone()
    }

    /// Sequence of the latest event.
    pub(crate) fn sequence(&self) -> u64 {
        self.lock().sequence
    }

    /// Makes `record` current and announces it with the next sequence number and `payload`;
    /// returns that sequence. Never waits for watchers.
    pub(crate) fn publish(
        &self,
        record: JobRecord<S, O>,
        payload: Option<job_event::Payload>,
        to_proto: &ToProto<S, O>,
    ) -> u64 {
        let mut state = self.lock();
        state.sequence += 1;
        state.record = Arc::new(record);
        if self.sender.receiver_count() > 0 {
            let event = JobEvent {
                sequence: state.sequence,
                at: Some(timestamp(now_ms())),
                job: Some(to_proto(&state.record)),
                payload,
            };
            // An error only means every watcher left meanwhile.
            let _ = self.sender.send(event);
        }
        state.sequence
    }

    /// A receiver of future events plus a snapshot event of the current state, taken together.
    fn subscribe(&self, to_proto: &ToProto<S, O>) -> (broadcast::Receiver<JobEvent>, JobEvent) {
        let state = self.lock();
        let receiver = self.sender.subscribe();
        let snapshot = JobEvent {
            sequence: state.sequence,
            at: Some(timestamp(state.record.updated_at_ms)),
            job: Some(to_proto(&state.record)),
            payload: None,
        };
        (receiver, snapshot)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState<S, O>> {
        // The state is replaced whole under the lock, so a poisoned lock still holds a
        // consistent value.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts watching: a snapshot (unless `after_sequence` covers it), then live events until the
/// final state, or UNAVAILABLE when `closed` fires first.
pub(crate) fn watch<S, O>(
    hub: Arc<EventHub<S, O>>,
    to_proto: ToProto<S, O>,
    after_sequence: u64,
    closed: CancellationToken,
) -> JobEventStream
where
    S: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let (receiver, snapshot) = hub.subscribe(&to_proto);
    let watcher = Watcher {
        hub,
        to_proto,
        receiver,
        pending: Some(snapshot),
        last_sent: after_sequence,
        closed,
        finished: false,
    };
    Box::pin(futures::stream::unfold(watcher, Watcher::next))
}

struct Watcher<S, O> {
    hub: Arc<EventHub<S, O>>,
    to_proto: ToProto<S, O>,
    receiver: broadcast::Receiver<JobEvent>,
    pending: Option<JobEvent>,
    last_sent: u64,
    closed: CancellationToken,
    finished: bool,
}

impl<S, O> Watcher<S, O> {
    async fn next(mut self) -> Option<(Result<JobEvent, JobError>, Self)> {
        if self.finished {
            return None;
        }
        loop {
            if let Some(event) = self.pending.take() {
                let terminal = is_terminal(&event);
                if event.sequence > self.last_sent {
                    self.last_sent = event.sequence;
                    self.finished = terminal;
                    return Some((Ok(event), self));
                }
                if terminal {
                    // The client already has the final state.
                    return None;
                }
                continue;
            }
            tokio::select! {
                biased;
                received = self.receiver.recv() => match received {
                    Ok(event) => self.pending = Some(event),
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::debug!(skipped, "slow job watcher skipped events; sending a fresh snapshot");
                        let (receiver, snapshot) = self.hub.subscribe(&self.to_proto);
                        self.receiver = receiver;
                        self.pending = Some(snapshot);
                    }
                    Err(RecvError::Closed) => return None,
                },
                () = self.closed.cancelled() => {
                    self.finished = true;
                    let error = JobError::Unavailable(
                        "the service is shutting down; watch again after it restarts".to_owned(),
                    );
                    return Some((Err(error), self));
                }
            }
        }
    }
}

fn is_terminal(event: &JobEvent) -> bool {
    event.job.as_ref().is_some_and(|job| {
        matches!(
            job.state(),
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    })
}
