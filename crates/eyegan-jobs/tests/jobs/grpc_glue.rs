//! The gRPC glue: protobuf requests in, protobuf responses and status codes out.

use eyegan_jobs::{grpc, JobLimits, JobManager};
use eyegan_proto::common::v1::{
    CancelJobRequest, GetJobRequest, JobKind, JobState, ListJobsRequest, WatchJobRequest,
};
use eyegan_store::Store;
use futures::StreamExt;
use tonic::{Code, Request};

use crate::support::{CountSpec, CountingRunner, Failure, PATIENCE};

async fn list(
    jobs: &JobManager<CountingRunner>,
    states: Vec<JobState>,
    page_size: u32,
    page_token: &str,
) -> Result<(Vec<String>, String), tonic::Status> {
    let request = ListJobsRequest {
        states: states.into_iter().map(|state| state as i32).collect(),
        page_size,
        page_token: page_token.to_owned(),
    };
    let response = grpc::list_jobs(jobs, Request::new(request))
        .await?
        .into_inner();
    let ids = response.jobs.into_iter().map(|job| job.job_id).collect();
    Ok((ids, response.next_page_token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_rpcs_answer_in_protobuf_with_the_right_codes() {
    let (runner, _controls) = CountingRunner::free();
    let jobs = JobManager::start(Store::in_memory(), runner, JobLimits::default())
        .await
        .unwrap();

    // Five jobs, the third of which fails.
    let mut ids = Vec::new();
    for n in 0..5u64 {
        let spec = CountSpec {
            fail: (n == 2).then_some((1, Failure::Precondition)),
            ..CountSpec::new(n + 1, 1)
        };
        let job = grpc::submit(&jobs, &format!("req-{n}"), spec)
            .await
            .unwrap();
        assert_eq!(job.kind(), JobKind::TrainGan);
        assert_eq!(job.request_id, format!("req-{n}"));
        assert_eq!(job.summary, format!("count to {}", n + 1));
        jobs.wait_finished(&job.job_id).await.unwrap();
        ids.push(job.job_id);
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    // Pages of two, newest first, then the filter.
    let (page1, token) = list(&jobs, vec![], 2, "").await.unwrap();
    let (page2, token) = list(&jobs, vec![], 2, &token).await.unwrap();
    let (page3, token) = list(&jobs, vec![], 2, &token).await.unwrap();
    assert_eq!([page1, page2, page3].concat(), newest_first);
    assert!(token.is_empty());
    let (failed, _) = list(&jobs, vec![JobState::Failed], 0, "").await.unwrap();
    assert_eq!(failed, vec![ids[2].clone()]);
    let (finished, _) = list(
        &jobs,
        vec![JobState::Succeeded, JobState::Unspecified],
        0,
        "",
    )
    .await
    .unwrap();
    assert_eq!(finished.len(), 4);
    let bad_token = list(&jobs, vec![], 0, "garbage").await.unwrap_err();
    assert_eq!(bad_token.code(), Code::InvalidArgument);
    assert!(bad_token.message().contains("page_token"));
    let bad_state = grpc::list_jobs(
        &jobs,
        Request::new(ListJobsRequest {
            states: vec![42],
            ..Default::default()
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_state.code(), Code::InvalidArgument);
    assert!(
        bad_state.message().contains("states[0]"),
        "{}",
        bad_state.message()
    );

    // GetJob.
    let got = grpc::get_job(
        &jobs,
        Request::new(GetJobRequest {
            job_id: ids[2].clone(),
        }),
    )
    .await
    .unwrap()
    .into_inner()
    .job
    .unwrap();
    assert_eq!(got.state(), JobState::Failed);
    assert_eq!(got.reason, "inputs changed at step 1");
    assert!(got.finished_at.is_some() && got.result.is_none());
    let missing = grpc::get_job(&jobs, Request::new(GetJobRequest { job_id: "x".into() }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // CancelJob on a finished job.
    let finished = grpc::cancel_job(
        &jobs,
        Request::new(CancelJobRequest {
            job_id: ids[0].clone(),
            reason: String::new(),
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(finished.code(), Code::FailedPrecondition);

    // WatchJob on a finished job: one snapshot, then the end.
    let stream = grpc::watch_job(
        &jobs,
        Request::new(WatchJobRequest {
            job_id: ids[4].clone(),
            after_sequence: 0,
        }),
    )
    .await
    .unwrap()
    .into_inner();
    let responses: Vec<_> = tokio::time::timeout(PATIENCE, stream.collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(responses.len(), 1);
    let event = responses[0].as_ref().unwrap().event.clone().unwrap();
    let job = event.job.unwrap();
    assert_eq!(job.state(), JobState::Succeeded);
    assert_eq!(job.progress.unwrap().current, 5);

    // Validation errors reach the client as INVALID_ARGUMENT naming the field.
    let invalid = grpc::submit(&jobs, "", CountSpec::new(0, 1))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(invalid.message().contains("target"));
}
