//! The tonic implementation of `GeneratorService`.

use std::sync::Arc;

use eyegan_dataset::client::DatasetClient;
use eyegan_jobs::{JobManager, MAX_PAGE_SIZE};
use eyegan_proto::common::v1::{
    CancelJobRequest, CancelJobResponse, GetJobRequest, GetJobResponse, Job, ListJobsRequest,
    ListJobsResponse, WatchJobRequest,
};
use eyegan_proto::generator::v1::generator_service_server::{
    GeneratorService, GeneratorServiceServer,
};
use eyegan_proto::generator::v1::{SampleRequest, SubmitGenerateRequest, SubmitGenerateResponse};
use eyegan_service::ServiceError;
use eyegan_store::Store;
use tonic::{Request, Response, Status};

use crate::runner::GenerateRunner;
use crate::sample::{sample, SampleStream};
use crate::spec::GenerateSpec;
use crate::submission::check_and_resolve;

/// The generator service over one job manager, store and dataset service.
#[derive(Debug, Clone)]
pub struct GeneratorServer {
    jobs: JobManager<GenerateRunner>,
    store: Store,
    dataset: DatasetClient,
    /// Serialises request-id lookups with submissions, so a resubmission racing the first
    /// submission still finds its job.
    submit_lock: Arc<tokio::sync::Mutex<()>>,
}

impl GeneratorServer {
    /// A service submitting to `jobs`, reading checkpoints from `store`.
    pub fn new(jobs: JobManager<GenerateRunner>, store: Store) -> Self {
        let dataset = jobs.runner().dataset();
        Self {
            jobs,
            store,
            dataset,
            submit_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The tonic server wrapping this service.
    /// It decodes requests up to the ambient `--max-message-bytes`.
    pub fn into_server(self) -> GeneratorServiceServer<Self> {
        GeneratorServiceServer::new(self)
            .max_decoding_message_size(eyegan_service::max_message_bytes())
    }

    /// The job submitted earlier with `request_id`, if any.
    fn job_by_request_id(&self, request_id: &str) -> Result<Option<Job>, ServiceError> {
        let mut token = String::new();
        loop {
            let page = self.jobs.list(&[], MAX_PAGE_SIZE, &token)?;
            if let Some(found) = page.jobs.iter().find(|job| job.request_id == request_id) {
                return Ok(Some(self.jobs.to_proto(found)));
            }
            if page.next_page_token.is_empty() {
                return Ok(None);
            }
            token = page.next_page_token;
        }
    }

    async fn submit(
        &self,
        request: SubmitGenerateRequest,
    ) -> Result<SubmitGenerateResponse, ServiceError> {
        let _one_at_a_time = self.submit_lock.lock().await;
        if !request.request_id.is_empty() {
            if let Some(job) = self.job_by_request_id(&request.request_id)? {
                return Ok(SubmitGenerateResponse {
                    job: Some(job),
                    created: false,
                });
            }
        }
        let spec = GenerateSpec::from_proto(&request)?;
        let spec =
            check_and_resolve(spec, &request, &self.store, &mut self.dataset.clone()).await?;
        let record = self.jobs.submit(&request.request_id, spec).await?;
        tracing::info!(job_id = %record.job_id, summary = %record.summary, "generation submitted");
        Ok(SubmitGenerateResponse {
            job: Some(self.jobs.to_proto(&record)),
            created: true,
        })
    }
}

#[tonic::async_trait]
impl GeneratorService for GeneratorServer {
    async fn submit_generate(
        &self,
        request: Request<SubmitGenerateRequest>,
    ) -> Result<Response<SubmitGenerateResponse>, Status> {
        Ok(Response::new(self.submit(request.into_inner()).await?))
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

    type WatchJobStream = eyegan_jobs::grpc::WatchJobStream;

    async fn watch_job(
        &self,
        request: Request<WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        eyegan_jobs::grpc::watch_job(&self.jobs, request).await
    }

    type SampleStream = SampleStream;

    async fn sample(
        &self,
        request: Request<SampleRequest>,
    ) -> Result<Response<SampleStream>, Status> {
        Ok(Response::new(
            sample(&self.store, request.into_inner()).await?,
        ))
    }
}
