//! The tonic implementation of `eyegan.classifier.v1.ClassifierService`: thin handlers over the
//! job manager, [`evaluate`](crate::evaluate) and [`predict`](crate::predict).

use eyegan_jobs::{JobManager, JobSnapshot, MAX_PAGE_SIZE};
use eyegan_proto::classifier::v1 as pb;
use eyegan_proto::classifier::v1::classifier_service_server::{
    ClassifierService, ClassifierServiceServer,
};
use eyegan_proto::common::v1::{
    CancelJobRequest, CancelJobResponse, GetJobRequest, GetJobResponse, ListJobsRequest,
    ListJobsResponse, WatchJobRequest,
};
use eyegan_service::ServiceError;
use eyegan_store::Store;
use tonic::{Request, Response, Status, Streaming};

use crate::dataset_source::DatasetSource;
use crate::evaluate::evaluate;
use crate::history::{read_history, EpochRecord};
use crate::predict::predict;
use crate::proto_convert::TrainRequest;
use crate::runner::{ClassifierRunner, SERVICE_NAME};
use crate::upload::receive_upload;
use crate::ClassifierConfig;

/// The classifier service over one store and dataset service.
#[derive(Debug, Clone)]
pub struct ClassifierServer {
    jobs: JobManager<ClassifierRunner>,
    store: Store,
    source: DatasetSource,
    max_upload_bytes: u64,
    max_pixels: u64,
}

impl ClassifierServer {
    /// A service running training jobs on `jobs`, reading models from `store` and datasets
    /// through `source`.
    pub fn new(
        jobs: JobManager<ClassifierRunner>,
        store: Store,
        source: DatasetSource,
        config: &ClassifierConfig,
    ) -> Self {
        Self {
            jobs,
            store,
            source,
            max_upload_bytes: config.max_upload_bytes,
            max_pixels: config.max_pixels,
        }
    }

    /// The generated tonic server wrapping this service.
    /// It decodes requests up to the ambient `--max-message-bytes`.
    pub fn into_server(self) -> ClassifierServiceServer<Self> {
        ClassifierServiceServer::new(self)
            .max_decoding_message_size(eyegan_service::max_message_bytes())
    }

    /// The job submitted earlier with `request_id`, if any.
    fn find_by_request_id(
        &self,
        request_id: &str,
    ) -> Result<Option<JobSnapshot<ClassifierRunner>>, Status> {
        let mut token = String::new();
        loop {
            let page = self.jobs.list(&[], MAX_PAGE_SIZE, &token)?;
            if let Some(job) = page
                .jobs
                .into_iter()
                .find(|job| job.request_id == request_id)
            {
                return Ok(Some(job));
            }
            if page.next_page_token.is_empty() {
                return Ok(None);
            }
            token = page.next_page_token;
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[tonic::async_trait]
impl ClassifierService for ClassifierServer {
    type WatchJobStream = eyegan_jobs::grpc::WatchJobStream;

    async fn submit_train_classifier(
        &self,
        request: Request<pb::SubmitTrainClassifierRequest>,
    ) -> Result<Response<pb::SubmitTrainClassifierResponse>, Status> {
        let request = request.into_inner();
        if !request.request_id.is_empty() {
            if let Some(existing) = self.find_by_request_id(&request.request_id)? {
                return Ok(Response::new(pb::SubmitTrainClassifierResponse {
                    job: Some(self.jobs.to_proto(&existing)),
                    created: false,
                }));
            }
        }
        let parsed = TrainRequest::parse(&request)?;
        let reference = parsed.dataset_ref();
        let version = self.source.version(reference.clone(), "dataset").await?;
        let crop_fundus = self
            .source
            .crop_fundus(&reference.dataset_id, "dataset.dataset_id")
            .await?;
        let spec = parsed.resolve(&version, crop_fundus)?;
        let submitted_at = now_ms();
        let record = self.jobs.submit(&request.request_id, spec).await?;
        Ok(Response::new(pb::SubmitTrainClassifierResponse {
            job: Some(self.jobs.to_proto(&record)),
            created: record.created_at_ms >= submitted_at,
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

    async fn get_training_history(
        &self,
        request: Request<pb::GetTrainingHistoryRequest>,
    ) -> Result<Response<pb::GetTrainingHistoryResponse>, Status> {
        let job_id = &request.get_ref().job_id;
        let job = self.jobs.get(job_id)?;
        let prefix = eyegan_jobs::persistence::job_prefix(SERVICE_NAME, &job.job_id);
        let history = read_history(&self.store, &prefix).await?;
        Ok(Response::new(pb::GetTrainingHistoryResponse {
            epochs: history.iter().map(EpochRecord::to_proto).collect(),
        }))
    }

    async fn evaluate(
        &self,
        request: Request<pb::EvaluateRequest>,
    ) -> Result<Response<pb::EvaluateResponse>, Status> {
        Ok(Response::new(
            evaluate(&self.store, &self.source, request.into_inner()).await?,
        ))
    }

    async fn predict(
        &self,
        request: Request<Streaming<pb::PredictRequest>>,
    ) -> Result<Response<pb::PredictResponse>, Status> {
        let upload = receive_upload(request.into_inner(), self.max_upload_bytes).await?;
        let answer: Result<_, ServiceError> = predict(&self.store, upload, self.max_pixels).await;
        Ok(Response::new(answer?))
    }
}
