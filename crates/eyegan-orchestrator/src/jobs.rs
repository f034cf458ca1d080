//! Following a submitted job to its end over `WatchJob`, reconnecting when the stream breaks.

use std::time::{Duration, Instant};

use eyegan_proto::classifier::v1::classifier_service_client::ClassifierServiceClient;
use eyegan_proto::common::v1::{GetJobRequest, Job, JobEvent, JobState, WatchJobRequest};
use eyegan_proto::generator::v1::generator_service_client::GeneratorServiceClient;
use eyegan_proto::trainer::v1::trainer_service_client::TrainerServiceClient;
use eyegan_service::ServiceChannel;
use futures::StreamExt;

use crate::retry::{is_transient, RETRY_FOR};

/// The service a job runs on.
#[derive(Debug, Clone)]
pub enum JobClient {
    /// A trainer.
    Trainer(TrainerServiceClient<ServiceChannel>),
    /// The generator.
    Generator(GeneratorServiceClient<ServiceChannel>),
    /// The classifier.
    Classifier(ClassifierServiceClient<ServiceChannel>),
}

/// Why following a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobWaitError {
    /// The job ended FAILED or CANCELLED.
    #[error("job {job_id} ({summary}) ended {state}: {reason}")]
    Unsuccessful {
        /// The job.
        job_id: String,
        /// Its summary.
        summary: String,
        /// Its final state.
        state: String,
        /// Its reason.
        reason: String,
    },
    /// The service answered with an error.
    #[error("job {job_id}: {status}")]
    Rpc {
        /// The job.
        job_id: String,
        /// The gRPC status.
        status: tonic::Status,
    },
}

/// Whether a job state is final.
pub fn is_final(state: JobState) -> bool {
    matches!(
        state,
        JobState::Succeeded | JobState::Failed | JobState::Cancelled
    )
}

impl JobClient {
    async fn get(&mut self, job_id: &str) -> Result<Job, tonic::Status> {
        let request = GetJobRequest {
            job_id: job_id.to_owned(),
        };
        let response = match self {
            JobClient::Trainer(client) => client.get_job(request).await?,
            JobClient::Generator(client) => client.get_job(request).await?,
            JobClient::Classifier(client) => client.get_job(request).await?,
        };
        response
            .into_inner()
            .job
            .ok_or_else(|| tonic::Status::internal("GetJob answered without a job"))
    }

    async fn watch(
        &mut self,
        job_id: &str,
    ) -> Result<tonic::Streaming<eyegan_proto::common::v1::WatchJobResponse>, tonic::Status> {
        let request = WatchJobRequest {
            job_id: job_id.to_owned(),
            after_sequence: 0,
        };
        Ok(match self {
            JobClient::Trainer(client) => client.watch_job(request).await?,
            JobClient::Generator(client) => client.watch_job(request).await?,
            JobClient::Classifier(client) => client.watch_job(request).await?,
        }
        .into_inner())
    }

    /// Follows job `job_id` until it ends, calling `on_event` for every event; returns the
    /// finished job when it SUCCEEDED.
    pub async fn wait(
        &mut self,
        job_id: &str,
        mut on_event: impl FnMut(&JobEvent),
    ) -> Result<Job, JobWaitError> {
        let rpc = |status| JobWaitError::Rpc {
            job_id: job_id.to_owned(),
            status,
        };
        // When the service was last seen answering; it gets [`RETRY_FOR`] to come back.
        let mut last_answer = Instant::now();
        loop {
            match self.watch(job_id).await {
                Ok(mut stream) => {
                    while let Some(message) = stream.next().await {
                        let Ok(message) = message else { break };
                        let Some(event) = message.event else { continue };
                        on_event(&event);
                        if let Some(job) = &event.job {
                            if is_final(job.state()) {
                                return finished(job.clone());
                            }
                        }
                    }
                    last_answer = Instant::now();
                }
                Err(status) if !is_transient(&status) || last_answer.elapsed() > RETRY_FOR => {
                    return Err(rpc(status))
                }
                Err(status) => {
                    tracing::warn!(job_id, error = %status, "watching the job failed; retrying");
                }
            }
            let job = self.get(job_id).await;
            match job {
                Ok(job) if is_final(job.state()) => return finished(job),
                Ok(_) => {}
                Err(status) if status.code() == tonic::Code::NotFound => return Err(rpc(status)),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn finished(job: Job) -> Result<Job, JobWaitError> {
    if job.state() == JobState::Succeeded {
        Ok(job)
    } else {
        Err(JobWaitError::Unsuccessful {
            job_id: job.job_id.clone(),
            summary: job.summary.clone(),
            state: job.state().as_str_name().to_owned(),
            reason: job.reason.clone(),
        })
    }
}
