//! A generated service implementation shared by the integration tests.

use eyegan_proto::common::v1::{
    CancelJobRequest, CancelJobResponse, GetJobRequest, GetJobResponse, ListJobsRequest,
    ListJobsResponse, WatchJobRequest, WatchJobResponse,
};
use eyegan_proto::generator::v1::generator_service_server::GeneratorService;
use eyegan_proto::generator::v1::{
    SampleRequest, SampleResponse, SubmitGenerateRequest, SubmitGenerateResponse,
};
use eyegan_service::ServiceError;
use tonic::{Request, Response, Status};

/// A generator whose answers exercise the error mapping: `GetJob` answers NOT_FOUND like a real
/// service would, `CancelJob` fails internally with a secret in the cause, `ListJobs` rejects its
/// page size; the other methods are outside these tests and answer FAILED_PRECONDITION.
pub struct ErrorMappingGenerator;

type ResponseStream<T> = tokio_stream::Iter<std::vec::IntoIter<Result<T, Status>>>;

fn outside_test() -> Status {
    ServiceError::failed_precondition("not used by this test").into()
}

#[tonic::async_trait]
impl GeneratorService for ErrorMappingGenerator {
    async fn submit_generate(
        &self,
        _request: Request<SubmitGenerateRequest>,
    ) -> Result<Response<SubmitGenerateResponse>, Status> {
        Err(outside_test())
    }

    async fn get_job(
        &self,
        request: Request<GetJobRequest>,
    ) -> Result<Response<GetJobResponse>, Status> {
        let job_id = request.into_inner().job_id;
        Err(ServiceError::not_found(format!("job {job_id:?}")).into())
    }

    async fn list_jobs(
        &self,
        request: Request<ListJobsRequest>,
    ) -> Result<Response<ListJobsResponse>, Status> {
        let page_size = request.into_inner().page_size;
        if page_size > 1000 {
            return Err(ServiceError::invalid_argument("page_size", "must be at most 1000").into());
        }
        Ok(Response::new(ListJobsResponse::default()))
    }

    async fn cancel_job(
        &self,
        _request: Request<CancelJobRequest>,
    ) -> Result<Response<CancelJobResponse>, Status> {
        let cause = std::io::Error::other("cannot open /srv/secret/jobs/j1.json");
        Err(ServiceError::internal(cause).into())
    }

    type WatchJobStream = ResponseStream<WatchJobResponse>;

    async fn watch_job(
        &self,
        _request: Request<WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        Err(outside_test())
    }

    type SampleStream = ResponseStream<SampleResponse>;

    async fn sample(
        &self,
        _request: Request<SampleRequest>,
    ) -> Result<Response<Self::SampleStream>, Status> {
        Err(outside_test())
    }
}
