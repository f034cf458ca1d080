//! The trait each job-running service implements.

use std::future::Future;

use eyegan_proto::common::v1::{JobKind, JobResult};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{JobContext, JobError};

/// The work of one service (trainer, generator, classifier), run by a
/// [`JobManager`](crate::JobManager).
///
/// `Spec` is the service's request as a serde type (converted from the protobuf request by the
/// service); it is stored in the job record and compared on idempotent resubmission. `Output` is
/// the job's result as a serde type, stored in the record and converted to the protobuf
/// `JobResult` at the edge by [`JobRunner::output_to_proto`].
///
/// `run` is called on the async runtime: heavy compute belongs in `spawn_blocking` (or a
/// dedicated thread) inside it, with [`JobContext::is_cancelled`] checked between steps.
/// A run may be a **resumption**: after a restart the same job runs again and must continue
/// from [`JobContext::latest_checkpoint`] when there is one.
pub trait JobRunner: Sized + Send + Sync + 'static {
    /// The request of one job.
    type Spec: Serialize
        + DeserializeOwned
        + Clone
        + PartialEq
        + std::fmt::Debug
        + Send
        + Sync
        + 'static;
    /// The result of a successful job.
    type Output: Serialize + DeserializeOwned + Clone + std::fmt::Debug + Send + Sync + 'static;

    /// The service name, a store-key segment: jobs live under `jobs/<service>/`
    /// (e.g. `"trainer"`).
    fn service(&self) -> &str;

    /// The kind of every job of this runner.
    fn kind(&self) -> JobKind;

    /// Checks a spec before it is accepted: [`JobError::InvalidArgument`] naming the field
    /// (e.g. `epochs`), [`JobError::NotFound`] for missing references.
    fn validate(&self, spec: &Self::Spec) -> Result<(), JobError>;

    /// One-line human-readable summary of a spec, e.g. `train gan class=dr dataset=eyes@3`.
    fn summary(&self, spec: &Self::Spec) -> String;

    /// The protobuf result of an output.
    fn output_to_proto(&self, output: &Self::Output) -> JobResult;

    /// Does the work. Return [`JobError::Stopped`] (e.g. through
    /// [`JobContext::check_cancelled`]) when cancellation is noticed, after saving a checkpoint
    /// if the step just finished should survive; any other error fails the job with the error's
    /// client-safe message as the reason.
    fn run(
        &self,
        ctx: JobContext<Self>,
    ) -> impl Future<Output = Result<Self::Output, JobError>> + Send;
}
