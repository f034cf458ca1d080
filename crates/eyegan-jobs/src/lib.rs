//! The one job system of the EyeGAN trainer, generator and classifier services.
//!
//! A service implements [`JobRunner`] (its spec and output types, validation, and the work
//! itself) and starts a [`JobManager`] on the shared [`Store`](eyegan_store::Store):
//!
//! - **Submit** → job id; a client request id makes it idempotent (same id, same job; same id
//!   with another spec → ALREADY_EXISTS).
//! - **States** queued → running → succeeded / failed / cancelled, with a client-safe reason
//!   ([`JobStatus`]).
//! - **Limits**: `max_running` workers (default 1) behind a bounded FIFO queue (default 16);
//!   past it, RESOURCE_EXHAUSTED ([`JobLimits`]).
//! - **Watch**: a snapshot of the current state, then live events; slow watchers skip ahead to a
//!   fresh snapshot and never stall the job ([`events`]).
//! - **Cancel** is cooperative: the runner checks [`JobContext::is_cancelled`] between steps;
//!   the job keeps its last checkpoint.
//! - **Persistence**: records and checkpoints live under `jobs/<service>/` ([`persistence`],
//!   [`checkpoints`]); every state change is written before it is announced; on start the
//!   manager resumes unfinished jobs, whose runners continue from
//!   [`JobContext::latest_checkpoint`]. [`JobManager::shutdown`] interrupts (re-queues) running
//!   jobs rather than cancelling them.
//! - **gRPC**: [`grpc`] turns each job RPC into a one-line call.

pub mod checkpoints;
mod context;
mod entry;
mod error;
pub mod events;
pub mod grpc;
mod limit_args;
mod limits;
mod manager;
pub mod persistence;
mod queue;
mod record;
mod resume;
mod runner;
mod state;
mod worker;

pub use checkpoints::{Checkpoint, CheckpointFile, JobCheckpoints, StoredFile};
pub use context::JobContext;
pub use error::JobError;
pub use events::JobEventStream;
pub use limit_args::JobLimitArgs;
pub use limits::JobLimits;
pub use manager::{
    JobManager, JobPage, JobSnapshot, DEFAULT_PAGE_SIZE, MAX_CLIENT_TEXT_BYTES, MAX_PAGE_SIZE,
};
pub use record::{JobRecord, ProgressRecord, RECORD_VERSION};
pub use runner::JobRunner;
pub use state::JobStatus;
