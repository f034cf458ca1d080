//! The tonic implementation of `eyegan.trainer.v1.TrainerService`.

use std::pin::Pin;

use eyegan_jobs::persistence::job_prefix;
use eyegan_jobs::{JobCheckpoints, JobError, JobManager, JobSnapshot, MAX_PAGE_SIZE};
use eyegan_proto::common::v1::{
    ArtifactKind, CancelJobRequest, CancelJobResponse, Chunk, GetJobRequest, GetJobResponse,
    ListJobsRequest, ListJobsResponse, WatchJobRequest,
};
use eyegan_proto::trainer::v1::trainer_service_server::{TrainerService, TrainerServiceServer};
use eyegan_proto::trainer::v1::{
    GetSampleGridRequest, GetSampleGridResponse, GetTrainingMetricsRequest,
    GetTrainingMetricsResponse, ListArtifactsRequest, ListArtifactsResponse, SubmitTrainGanRequest,
    SubmitTrainGanResponse,
};
use eyegan_service::ServiceError;
use futures::Stream;
use tonic::{Request, Response, Status};

use crate::artifacts::{completed_epochs, grid_artifact, grid_iterations, list_artifacts};
use crate::dataset_source::DatasetSource;
use crate::layout::JobLayout;
use crate::metrics_log::read_rows;
use crate::request::CheckedRequest;
use crate::runner::{TrainerRunner, SERVICE};

/// Largest piece of a streamed file (1 MiB).
pub const MAX_CHUNK_BYTES: usize = 1 << 20;
/// Most metric rows per `GetTrainingMetrics` message.
pub const MAX_ROWS_PER_MESSAGE: usize = 1000;

/// A boxed response stream.
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The trainer's gRPC service over its job manager.
#[derive(Debug, Clone)]
pub struct TrainerServer {
    jobs: JobManager<TrainerRunner>,
    source: DatasetSource,
}

impl TrainerServer {
    /// The service over `jobs`, checking requests against the dataset service behind `source`.
    pub fn new(jobs: JobManager<TrainerRunner>, source: DatasetSource) -> Self {
        Self { jobs, source }
    }

    /// The tonic server to add to [`eyegan_service::Services`].
    /// It decodes requests up to the ambient `--max-message-bytes`.
    pub fn into_server(self) -> TrainerServiceServer<Self> {
        TrainerServiceServer::new(self)
            .max_decoding_message_size(eyegan_service::max_message_bytes())
    }

    fn job(&self, job_id: &str) -> Result<JobSnapshot<TrainerRunner>, Status> {
        Ok(self.jobs.get(job_id)?)
    }

    /// Whether a job with this request id exists already.
    fn request_id_known(&self, request_id: &str) -> Result<bool, JobError> {
        if request_id.is_empty() {
            return Ok(false);
        }
        let mut token = String::new();
        loop {
            let page = self.jobs.list(&[], MAX_PAGE_SIZE, &token)?;
            if page.jobs.iter().any(|job| job.request_id == request_id) {
                return Ok(true);
            }
            if page.next_page_token.is_empty() {
                return Ok(false);
            }
            token = page.next_page_token;
        }
    }
}

fn layout_of(job_id: &str) -> JobLayout {
    JobLayout::new(job_prefix(SERVICE, job_id))
}

#[tonic::async_trait]
impl TrainerService for TrainerServer {
    type WatchJobStream = eyegan_jobs::grpc::WatchJobStream;
    type GetTrainingMetricsStream = BoxStream<GetTrainingMetricsResponse>;
    type GetSampleGridStream = BoxStream<GetSampleGridResponse>;

    async fn submit_train_gan(
        &self,
        request: Request<SubmitTrainGanRequest>,
    ) -> Result<Response<SubmitTrainGanResponse>, Status> {
        let request = request.into_inner();
        let checked = CheckedRequest::from_proto(&request)?;
        let version = self
            .source
            .version(&checked.dataset_id, checked.version)
            .await?;
        let spec = checked.resolve(&version)?;
        let existed = self.request_id_known(&request.request_id)?;
        let job = eyegan_jobs::grpc::submit(&self.jobs, &request.request_id, spec).await?;
        Ok(Response::new(SubmitTrainGanResponse {
            job: Some(job),
            created: !existed,
        }))
    }

    async fn get_job(
        &self,
        request: Request<GetJobRequest>,
    ) -> Result<Response<GetJobResponse>, Status> {
        eyegan_jobs::grpc::get_job(&self.jobs, request).await
    }

    async fn list_jobs(
        &self,
        request: Request<ListJobsRequest>,
    ) -> Result<Response<ListJobsResponse>, Status> {
        eyegan_jobs::grpc::list_jobs(&self.jobs, request).await
    }

    async fn cancel_job(
        &self,
        request: Request<CancelJobRequest>,
    ) -> Result<Response<CancelJobResponse>, Status> {
        eyegan_jobs::grpc::cancel_job(&self.jobs, request).await
    }

    async fn watch_job(
        &self,
        request: Request<WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        eyegan_jobs::grpc::watch_job(&self.jobs, request).await
    }

    async fn get_training_metrics(
        &self,
        request: Request<GetTrainingMetricsRequest>,
    ) -> Result<Response<Self::GetTrainingMetricsStream>, Status> {
        let request = request.into_inner();
        self.job(&request.job_id)?;
        let rows = read_rows(self.jobs.store(), &layout_of(&request.job_id)).await?;
        let stride = request.stride.max(1);
        let last = rows.last().map(|row| row.iteration);
        let selected: Vec<_> = rows
            .iter()
            .filter(|row| row.iteration >= request.from_iteration)
            .filter(|row| row.iteration.is_multiple_of(stride) || Some(row.iteration) == last)
            .map(|row| row.to_proto())
            .collect();
        let messages: Vec<Result<GetTrainingMetricsResponse, Status>> = selected
            .chunks(MAX_ROWS_PER_MESSAGE)
            .map(|metrics| {
                Ok(GetTrainingMetricsResponse {
                    metrics: metrics.to_vec(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(messages))))
    }

    async fn list_artifacts(
        &self,
        request: Request<ListArtifactsRequest>,
    ) -> Result<Response<ListArtifactsResponse>, Status> {
        let request = request.into_inner();
        let kind = match ArtifactKind::try_from(request.kind) {
            Ok(ArtifactKind::Unspecified) => None,
            Ok(kind) => Some(kind),
            Err(_) => {
                return Err(ServiceError::invalid_argument(
                    "kind",
                    format!("{} is not an ArtifactKind", request.kind),
                )
                .into())
            }
        };
        let job = self.job(&request.job_id)?;
        let store = self.jobs.store();
        let checkpoints = JobCheckpoints::new(store.clone(), SERVICE, &job.job_id, 0);
        let artifacts = list_artifacts(
            store,
            &layout_of(&job.job_id),
            &checkpoints,
            &job.job_id,
            &job.spec.class_name,
            job.spec.iterations_per_epoch(),
            kind,
        )
        .await?;
        Ok(Response::new(ListArtifactsResponse { artifacts }))
    }

    async fn get_sample_grid(
        &self,
        request: Request<GetSampleGridRequest>,
    ) -> Result<Response<Self::GetSampleGridStream>, Status> {
        let request = request.into_inner();
        let job = self.job(&request.job_id)?;
        let layout = layout_of(&job.job_id);
        let store = self.jobs.store();
        let iterations = grid_iterations(store, &layout).await?;
        let iteration = match request.iteration {
            0 => iterations.last().copied(),
            wanted => iterations.contains(&wanted).then_some(wanted),
        };
        let missing = || {
            ServiceError::not_found(match request.iteration {
                0 => format!("sample grid of job {}", job.job_id),
                wanted => format!("sample grid at iteration {wanted} of job {}", job.job_id),
            })
        };
        let iteration = iteration.ok_or_else(missing)?;
        let png = store
            .get_bytes(&layout.grid(iteration))
            .await
            .map_err(JobError::from)?
            .ok_or_else(missing)?;
        let epoch = completed_epochs(iteration, job.spec.iterations_per_epoch());
        let mut artifact = Some(grid_artifact(
            &layout,
            iteration,
            epoch,
            &eyegan_store::BlobRef::of(&png),
        ));
        let messages: Vec<Result<GetSampleGridResponse, Status>> = png
            .chunks(MAX_CHUNK_BYTES)
            .map(|piece| {
                Ok(GetSampleGridResponse {
                    artifact: artifact.take(),
                    chunk: Some(Chunk {
                        data: piece.to_vec(),
                    }),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(messages))))
    }
}
