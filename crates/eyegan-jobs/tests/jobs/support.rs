//! A real multi-step runner for the tests: counts to `target`, one step at a time, with a
//! checkpoint (file + state) every `checkpoint_every` steps and at the end, resuming from the
//! latest checkpoint. Steps can be gated so tests decide exactly how far a job gets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eyegan_jobs::{CheckpointFile, JobContext, JobError, JobEventStream, JobRunner};
use eyegan_proto::common::v1::{
    job_event::Payload, job_result, JobEvent, JobKind, JobResult, LogLevel, LogLine, TrainGanResult,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Semaphore};

/// Upper bound for any wait in the tests (they finish far sooner).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How a job is told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// A client-facing error.
    Precondition,
    /// An internal error whose text must not reach clients.
    Internal,
    /// A panic.
    Panic,
}

/// The request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountSpec {
    pub target: u64,
    pub checkpoint_every: u64,
    pub fail: Option<(u64, Failure)>,
}

impl CountSpec {
    pub fn new(target: u64, checkpoint_every: u64) -> Self {
        Self {
            target,
            checkpoint_every,
            fail: None,
        }
    }
}

/// The result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountOutput {
    pub count: u64,
    pub resumed_from: u64,
    pub attempt: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct CountState {
    count: u64,
}

/// Test-side handles on a runner.
#[derive(Clone)]
pub struct Controls {
    gate: Option<Arc<Semaphore>>,
    reached: watch::Receiver<u64>,
    steps: Arc<AtomicU64>,
}

impl Controls {
    /// Lets `steps` more steps run.
    pub fn advance(&self, steps: usize) {
        self.gate
            .as_ref()
            .expect("advance needs a gated runner")
            .add_permits(steps);
    }

    /// Waits until some run of the job reached `count` (checkpoint included).
    pub async fn wait_count(&self, count: u64) {
        let mut reached = self.reached.clone();
        tokio::time::timeout(PATIENCE, reached.wait_for(|&c| c >= count))
            .await
            .expect("count not reached in time")
            .unwrap();
    }

    /// Steps this runner executed, over all its runs.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::SeqCst)
    }
}

/// The counting runner.
pub struct CountingRunner {
    gate: Option<Arc<Semaphore>>,
    reached: watch::Sender<u64>,
    steps: Arc<AtomicU64>,
}

impl CountingRunner {
    /// A runner whose steps each wait for a permit from [`Controls::advance`].
    pub fn gated() -> (Self, Controls) {
        Self::build(Some(Arc::new(Semaphore::new(0))))
    }

    /// A runner that runs freely.
    pub fn free() -> (Self, Controls) {
        Self::build(None)
    }

    fn build(gate: Option<Arc<Semaphore>>) -> (Self, Controls) {
        let (reached, receiver) = watch::channel(0);
        let steps = Arc::new(AtomicU64::new(0));
        let controls = Controls {
            gate: gate.clone(),
            reached: receiver,
            steps: steps.clone(),
        };
        (
            Self {
                gate,
                reached,
                steps,
            },
            controls,
        )
    }

    async fn wait_for_step(&self, ctx: &JobContext<Self>) -> Result<(), JobError> {
        let Some(gate) = &self.gate else {
            tokio::task::yield_now().await;
            return Ok(());
        };
        let token = ctx.cancellation_token();
        tokio::select! {
            biased;
            () = token.cancelled() => Err(JobError::Stopped),
            permit = gate.acquire() => {
                permit.map_err(|_| JobError::Internal("gate closed".into()))?.forget();
                Ok(())
            }
        }
    }
}

impl JobRunner for CountingRunner {
    type Spec = CountSpec;
    type Output = CountOutput;

    fn service(&self) -> &str {
        "counter"
    }

    fn kind(&self) -> JobKind {
        JobKind::TrainGan
    }

    fn validate(&self, spec: &CountSpec) -> Result<(), JobError> {
        if spec.target == 0 {
            return Err(JobError::invalid_argument("target", "must be positive"));
        }
        if spec.checkpoint_every == 0 {
            return Err(JobError::invalid_argument(
                "checkpoint_every",
                "must be positive",
            ));
        }
        Ok(())
    }

    fn summary(&self, spec: &CountSpec) -> String {
        format!("count to {}", spec.target)
    }

    fn output_to_proto(&self, output: &CountOutput) -> JobResult {
        JobResult {
            kind: Some(job_result::Kind::TrainGan(TrainGanResult {
                iterations: output.count,
                ..Default::default()
            })),
        }
    }

    async fn run(&self, ctx: JobContext<Self>) -> Result<CountOutput, JobError> {
        let spec = ctx.spec().clone();
        let mut count = match ctx.latest_checkpoint().await? {
            Some(checkpoint) => {
                let state: CountState = checkpoint.state()?;
                let file = ctx.read_checkpoint_file(&checkpoint, "count.txt").await?;
                let from_file: u64 = std::str::from_utf8(&file)
                    .ok()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| JobError::Internal("unreadable count file".into()))?;
                if from_file != state.count || checkpoint.step != state.count {
                    return Err(JobError::Internal(
                        "checkpoint disagrees with itself".into(),
                    ));
                }
                state.count
            }
            None => 0,
        };
        let resumed_from = count;
        while count < spec.target {
            ctx.check_cancelled()?;
            self.wait_for_step(&ctx).await?;
            count += 1;
            self.steps.fetch_add(1, Ordering::SeqCst);
            match spec.fail {
                Some((at, Failure::Precondition)) if at == count => {
                    return Err(JobError::FailedPrecondition(format!(
                        "inputs changed at step {count}"
                    )))
                }
                Some((at, Failure::Internal)) if at == count => {
                    return Err(JobError::Internal(
                        "/secret/path/model.bin is corrupt".into(),
                    ))
                }
                Some((at, Failure::Panic)) if at == count => panic!("runner bug at step {count}"),
                _ => {}
            }
            ctx.report_progress(count, spec.target, "step").await?;
            ctx.emit(Payload::Log(LogLine {
                level: LogLevel::Info as i32,
                message: format!("step {count}"),
            }))
            .await?;
            if count % spec.checkpoint_every == 0 || count == spec.target {
                let file = CheckpointFile::new("count.txt", count.to_string());
                ctx.save_checkpoint(count, vec![file], &CountState { count })
                    .await?;
            }
            self.reached.send_replace(count);
        }
        Ok(CountOutput {
            count,
            resumed_from,
            attempt: ctx.attempt(),
        })
    }
}

/// Reads a watch stream to its end (panics on a stream error or when it takes too long).
pub async fn collect(stream: JobEventStream) -> Vec<JobEvent> {
    tokio::time::timeout(PATIENCE, stream.map(|event| event.unwrap()).collect())
        .await
        .expect("watch stream did not end in time")
}

/// Sequence numbers strictly increase.
pub fn assert_increasing(events: &[JobEvent]) {
    for pair in events.windows(2) {
        assert!(
            pair[0].sequence < pair[1].sequence,
            "sequence {} then {}",
            pair[0].sequence,
            pair[1].sequence
        );
    }
}

/// Steps of the checkpoints the store holds for a job.
pub async fn checkpoint_steps(store: &eyegan_store::Store, job_id: &str) -> Vec<u64> {
    eyegan_jobs::JobCheckpoints::new(store.clone(), "counter", job_id, 0)
        .steps()
        .await
        .unwrap()
}
