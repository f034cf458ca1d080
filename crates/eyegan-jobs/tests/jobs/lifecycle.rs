//! Submit, idempotency, validation, cancel, limits and failures.

use eyegan_jobs::{JobError, JobLimits, JobManager, JobStatus};
use eyegan_store::Store;
use tonic::Code;

use crate::support::{checkpoint_steps, CountSpec, CountingRunner, Failure};

async fn manager(runner: CountingRunner, limits: JobLimits) -> JobManager<CountingRunner> {
    JobManager::start(Store::in_memory(), runner, limits)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_to_success_and_its_record_is_stored() {
    let (runner, _controls) = CountingRunner::free();
    let jobs = manager(runner, JobLimits::default()).await;
    let submitted = jobs.submit("", CountSpec::new(5, 2)).await.unwrap();
    assert_eq!(submitted.attempts, 0);
    let done = jobs.wait_finished(&submitted.job_id).await.unwrap();
    assert_eq!(done.state, JobStatus::Succeeded);
    let output = done.output.clone().unwrap();
    assert_eq!(
        (output.count, output.resumed_from, output.attempt),
        (5, 0, 1)
    );
    assert_eq!(done.progress.as_ref().unwrap().current, 5);
    assert!(done.finished_at_ms.unwrap() >= done.started_at_ms.unwrap());

    // The record in the store says the same: written before it was announced.
    let key = eyegan_jobs::persistence::record_key("counter", &done.job_id);
    let stored: eyegan_jobs::JobRecord<CountSpec, crate::support::CountOutput> =
        jobs.store().get_json(&key).await.unwrap().unwrap();
    assert_eq!(stored.state, JobStatus::Succeeded);
    assert_eq!(stored.output, done.output);
    // Checkpoints at 2, 4 and the end.
    assert_eq!(
        checkpoint_steps(jobs.store(), &done.job_id).await,
        vec![2, 4, 5]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resubmitting_a_request_id_is_idempotent() {
    let (runner, controls) = CountingRunner::gated();
    let jobs = manager(runner, JobLimits::default()).await;
    let first = jobs.submit("req-1", CountSpec::new(3, 1)).await.unwrap();
    let again = jobs.submit("req-1", CountSpec::new(3, 1)).await.unwrap();
    assert_eq!(first.job_id, again.job_id);

    let conflict = jobs
        .submit("req-1", CountSpec::new(4, 1))
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), Code::AlreadyExists);
    assert!(conflict.to_string().contains("req-1"), "{conflict}");

    let other = jobs.submit("req-2", CountSpec::new(3, 1)).await.unwrap();
    assert_ne!(other.job_id, first.job_id);

    controls.advance(6);
    jobs.wait_finished(&first.job_id).await.unwrap();
    let after = jobs.submit("req-1", CountSpec::new(3, 1)).await.unwrap();
    assert_eq!(after.job_id, first.job_id);
    assert_eq!(after.state, JobStatus::Succeeded);
    assert_eq!(jobs.list(&[], 0, "").unwrap().jobs.len(), 2);
}

#[tokio::test]
async fn invalid_specs_are_rejected_naming_the_field() {
    let (runner, _controls) = CountingRunner::free();
    let jobs = manager(runner, JobLimits::default()).await;
    for (spec, field) in [
        (CountSpec::new(0, 1), "target"),
        (CountSpec::new(5, 0), "checkpoint_every"),
    ] {
        let error = jobs.submit("", spec).await.unwrap_err();
        let status = error.into_status();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains(field), "{}", status.message());
    }
    let error = jobs
        .submit("bad\nid", CountSpec::new(1, 1))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("request_id"), "{error}");
    assert!(jobs.list(&[], 0, "").unwrap().jobs.is_empty());
    assert!(jobs.store().list_keys("jobs").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_job_at_its_next_step_and_keeps_its_checkpoint() {
    let (runner, controls) = CountingRunner::gated();
    let jobs = manager(runner, JobLimits::default()).await;
    let job = jobs.submit("", CountSpec::new(100, 3)).await.unwrap();
    controls.advance(7);
    controls.wait_count(7).await;

    let answer = jobs.cancel(&job.job_id, "changed my mind").await.unwrap();
    assert!(
        matches!(answer.state, JobStatus::Running | JobStatus::Cancelled),
        "{}",
        answer.state
    );
    // Permits granted after the cancel must not be used.
    controls.advance(10);
    let done = jobs.wait_finished(&job.job_id).await.unwrap();
    assert_eq!(done.state, JobStatus::Cancelled);
    assert_eq!(done.reason, "changed my mind");
    assert_eq!(done.cancel_requested, None);
    assert_eq!(controls.steps(), 7);
    assert_eq!(
        checkpoint_steps(jobs.store(), &job.job_id).await,
        vec![3, 6]
    );

    let again = jobs.cancel(&job.job_id, "").await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_queued_job_is_immediate() {
    let (runner, controls) = CountingRunner::gated();
    let jobs = manager(runner, JobLimits::default()).await;
    let running = jobs.submit("", CountSpec::new(2, 1)).await.unwrap();
    let queued = jobs.submit("", CountSpec::new(2, 1)).await.unwrap();
    assert_eq!(queued.state, JobStatus::Queued);

    let cancelled = jobs.cancel(&queued.job_id, "").await.unwrap();
    assert_eq!(cancelled.state, JobStatus::Cancelled);
    assert_eq!(cancelled.reason, "cancelled by client");

    controls.advance(2);
    let finished = jobs.wait_finished(&running.job_id).await.unwrap();
    assert_eq!(finished.state, JobStatus::Succeeded);
    let never_ran = jobs.get(&queued.job_id).unwrap();
    assert_eq!(
        (never_ran.state, never_ran.attempts),
        (JobStatus::Cancelled, 0)
    );
    assert_eq!(controls.steps(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_resource_exhausted() {
    let (runner, controls) = CountingRunner::gated();
    let limits = JobLimits {
        max_running: 1,
        max_queued: 1,
        ..JobLimits::default()
    };
    let jobs = manager(runner, limits).await;
    let first = jobs.submit("a", CountSpec::new(1, 1)).await.unwrap();
    let second = jobs.submit("b", CountSpec::new(1, 1)).await.unwrap();
    let refused = jobs.submit("c", CountSpec::new(1, 1)).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(refused.into_status().code(), Code::ResourceExhausted);
    // An idempotent resubmission still answers while the queue is full.
    assert_eq!(
        jobs.submit("b", CountSpec::new(1, 1)).await.unwrap().job_id,
        second.job_id
    );

    controls.advance(2);
    jobs.wait_finished(&first.job_id).await.unwrap();
    jobs.wait_finished(&second.job_id).await.unwrap();
    // Room again.
    let third = jobs.submit("c", CountSpec::new(1, 1)).await.unwrap();
    controls.advance(1);
    let third = jobs.wait_finished(&third.job_id).await.unwrap();
    assert_eq!(third.state, JobStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_submissions_with_one_worker_both_complete_one_after_the_other() {
    let (runner, controls) = CountingRunner::gated();
    let jobs = manager(runner, JobLimits::default()).await;
    let (a, b) = tokio::join!(
        jobs.submit("client-a", CountSpec::new(3, 2)),
        jobs.submit("client-b", CountSpec::new(4, 2)),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let (first, second) = if a.submit_index < b.submit_index {
        (a, b)
    } else {
        (b, a)
    };
    controls.advance(1);
    controls.wait_count(1).await;
    assert_eq!(jobs.get(&first.job_id).unwrap().state, JobStatus::Running);
    assert_eq!(jobs.get(&second.job_id).unwrap().state, JobStatus::Queued);

    controls.advance(10);
    let first = jobs.wait_finished(&first.job_id).await.unwrap();
    let second = jobs.wait_finished(&second.job_id).await.unwrap();
    assert_eq!(first.state, JobStatus::Succeeded);
    assert_eq!(second.state, JobStatus::Succeeded);
    assert_eq!(
        first.output.as_ref().unwrap().count + second.output.as_ref().unwrap().count,
        7
    );
    assert!(second.started_at_ms.unwrap() >= first.finished_at_ms.unwrap());
    assert_eq!(controls.steps(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_recorded_with_client_safe_reasons() {
    let (runner, _controls) = CountingRunner::free();
    let jobs = manager(runner, JobLimits::default()).await;
    let cases = [
        (Failure::Precondition, "inputs changed at step 2"),
        (Failure::Internal, "internal error"),
        (Failure::Panic, "internal error: the job panicked"),
    ];
    for (failure, reason) in cases {
        let spec = CountSpec {
            fail: Some((2, failure)),
            ..CountSpec::new(5, 1)
        };
        let job = jobs.submit("", spec).await.unwrap();
        let done = jobs.wait_finished(&job.job_id).await.unwrap();
        assert_eq!(done.state, JobStatus::Failed, "{failure:?}");
        assert_eq!(done.reason, reason);
        assert!(done.output.is_none());
        // The checkpoint of step 1 stays.
        assert_eq!(checkpoint_steps(jobs.store(), &job.job_id).await, vec![1]);
    }
    // The service keeps working after a panicking job.
    let job = jobs.submit("", CountSpec::new(2, 1)).await.unwrap();
    assert_eq!(
        jobs.wait_finished(&job.job_id).await.unwrap().state,
        JobStatus::Succeeded
    );
}

#[tokio::test]
async fn unknown_jobs_are_not_found() {
    let (runner, _controls) = CountingRunner::free();
    let jobs = manager(runner, JobLimits::default()).await;
    assert!(matches!(jobs.get("nope"), Err(JobError::NotFound { .. })));
    assert_eq!(
        jobs.cancel("nope", "").await.unwrap_err().code(),
        Code::NotFound
    );
    assert!(jobs.watch("nope", 0).is_err());
    assert_eq!(jobs.get("").unwrap_err().code(), Code::InvalidArgument);
}
