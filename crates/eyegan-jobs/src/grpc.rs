//! gRPC glue: each job RPC of a service's tonic implementation is one call here.
//!
//! ```text
//! type WatchJobStream = eyegan_jobs::grpc::WatchJobStream;
//! async fn get_job(&self, request: Request<GetJobRequest>) -> Result<Response<GetJobResponse>, Status> {
//!     eyegan_jobs::grpc::get_job(&self.jobs, request).await
//! }
//! async fn train_gan(&self, request: Request<TrainGanRequest>) -> Result<Response<TrainGanResponse>, Status> {
//!     let request = request.into_inner();
//!     let spec = TrainGanSpec::from_proto(&request)?; // INVALID_ARGUMENT naming the field
//!     let job = eyegan_jobs::grpc::submit(&self.jobs, &request.request_id, spec).await?;
//!     Ok(Response::new(TrainGanResponse { job: Some(job) }))
//! }
//! ```

use std::pin::Pin;

use eyegan_proto::common::v1::{
    CancelJobRequest, CancelJobResponse, GetJobRequest, GetJobResponse, Job, ListJobsRequest,
    ListJobsResponse, WatchJobRequest, WatchJobResponse,
};
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::{JobError, JobManager, JobRunner, JobStatus};

/// The `WatchJob` response stream type; use it as the service trait's `WatchJobStream`.
pub type WatchJobStream = Pin<Box<dyn Stream<Item = Result<WatchJobResponse, Status>> + Send>>;

/// Submits a job (see [`JobManager::submit`]) and returns it as protobuf.
pub async fn submit<R: JobRunner>(
    manager: &JobManager<R>,
    request_id: &str,
    spec: R::Spec,
) -> Result<Job, Status> {
    let record = manager.submit(request_id, spec).await?;
    Ok(manager.to_proto(&record))
}

/// `GetJob`.
pub async fn get_job<R: JobRunner>(
    manager: &JobManager<R>,
    request: Request<GetJobRequest>,
) -> Result<Response<GetJobResponse>, Status> {
    let record = manager.get(&request.get_ref().job_id)?;
    Ok(Response::new(GetJobResponse {
        job: Some(manager.to_proto(&record)),
    }))
}

/// `ListJobs`: newest first; `states` filters (JOB_STATE_UNSPECIFIED entries are ignored,
/// unknown values are INVALID_ARGUMENT naming `states[i]`); `page_size` 0 = 100, at most 1000.
pub async fn list_jobs<R: JobRunner>(
    manager: &JobManager<R>,
    request: Request<ListJobsRequest>,
) -> Result<Response<ListJobsResponse>, Status> {
    let request = request.into_inner();
    let mut states = Vec::with_capacity(request.states.len());
    for (position, &value) in request.states.iter().enumerate() {
        if let Some(state) = JobStatus::from_proto_filter(value, &format!("states[{position}]"))? {
            states.push(state);
        }
    }
    let page_size = usize::try_from(request.page_size).unwrap_or(usize::MAX);
    let page = manager.list(&states, page_size, &request.page_token)?;
    Ok(Response::new(ListJobsResponse {
        jobs: page
            .jobs
            .iter()
            .map(|record| manager.to_proto(record))
            .collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `CancelJob`.
pub async fn cancel_job<R: JobRunner>(
    manager: &JobManager<R>,
    request: Request<CancelJobRequest>,
) -> Result<Response<CancelJobResponse>, Status> {
    let request = request.into_inner();
    let record = manager.cancel(&request.job_id, &request.reason).await?;
    Ok(Response::new(CancelJobResponse {
        job: Some(manager.to_proto(&record)),
    }))
}

/// `WatchJob`: a snapshot, then live events, ending after the final state.
pub async fn watch_job<R: JobRunner>(
    manager: &JobManager<R>,
    request: Request<WatchJobRequest>,
) -> Result<Response<WatchJobStream>, Status> {
    let request = request.into_inner();
    let events = manager.watch(&request.job_id, request.after_sequence)?;
    let stream = events.map(|event| {
        event
            .map(|event| WatchJobResponse { event: Some(event) })
            .map_err(JobError::into_status)
    });
    Ok(Response::new(Box::pin(stream)))
}
