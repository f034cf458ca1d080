//! Persistence across restarts: crash (abort) and graceful shutdown, on a file:// store.

use eyegan_jobs::{persistence, JobLimits, JobManager, JobRecord, JobStatus};
use eyegan_store::Store;
use futures::StreamExt;
use tonic::Code;

use crate::support::{checkpoint_steps, CountOutput, CountSpec, CountingRunner};

fn keep_all() -> JobLimits {
    JobLimits {
        keep_checkpoints: 0,
        ..JobLimits::default()
    }
}

async fn stored_record(store: &Store, job_id: &str) -> JobRecord<CountSpec, CountOutput> {
    store
        .get_json(&persistence::record_key("counter", job_id))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_the_job_resumes_from_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());

    let (runner, controls) = CountingRunner::gated();
    let jobs = JobManager::start(Store::open(&url).unwrap(), runner, keep_all())
        .await
        .unwrap();
    let job = jobs.submit("r1", CountSpec::new(10, 3)).await.unwrap();
    let mut watcher = jobs.watch(&job.job_id, 0).unwrap();
    controls.advance(7);
    controls.wait_count(7).await;

    // Crash: tasks dropped, nothing more written. Watchers are told to come back.
    jobs.abort();
    let mut last_sequence_seen = 0;
    while let Some(event) = watcher.next().await {
        match event {
            Ok(event) => last_sequence_seen = event.sequence,
            Err(error) => assert_eq!(error.code(), Code::Unavailable),
        }
    }
    assert!(last_sequence_seen > 7);
    drop(jobs);
    let store = Store::open(&url).unwrap();
    assert_eq!(
        stored_record(&store, &job.job_id).await.state,
        JobStatus::Running
    );
    assert_eq!(checkpoint_steps(&store, &job.job_id).await, vec![3, 6]);

    // Restart on the same store with a fresh runner: the job resumes at 6 and finishes at 10.
    let (runner, controls) = CountingRunner::free();
    let jobs = JobManager::start(store.clone(), runner, keep_all())
        .await
        .unwrap();
    let events = jobs.watch(&job.job_id, 0).unwrap();
    let done = jobs.wait_finished(&job.job_id).await.unwrap();
    assert_eq!(done.state, JobStatus::Succeeded);
    let output = done.output.clone().unwrap();
    assert_eq!(
        (output.count, output.resumed_from, output.attempt),
        (10, 6, 2)
    );
    assert_eq!(controls.steps(), 4, "only steps 7..=10 ran again");
    assert_eq!(
        checkpoint_steps(&store, &job.job_id).await,
        vec![3, 6, 9, 10]
    );
    assert_eq!(
        stored_record(&store, &job.job_id).await.state,
        JobStatus::Succeeded
    );

    // Event numbering continued above everything seen before the crash.
    let events = crate::support::collect(events).await;
    assert!(events[0].sequence > last_sequence_seen);

    // The request id still maps to the same job after the restart.
    let again = jobs.submit("r1", CountSpec::new(10, 3)).await.unwrap();
    assert_eq!(again.job_id, job.job_id);
    let conflict = jobs.submit("r1", CountSpec::new(11, 3)).await.unwrap_err();
    assert_eq!(conflict.code(), Code::AlreadyExists);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_interrupts_running_jobs_and_a_restart_resumes_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("file://{}", dir.path().display())).unwrap();

    let (runner, controls) = CountingRunner::gated();
    let jobs = JobManager::start(store.clone(), runner, keep_all())
        .await
        .unwrap();
    let running = jobs.submit("", CountSpec::new(8, 3)).await.unwrap();
    let queued = jobs.submit("", CountSpec::new(2, 1)).await.unwrap();
    controls.advance(4);
    controls.wait_count(4).await;
    let watcher = jobs.watch(&running.job_id, 0).unwrap();

    jobs.shutdown().await;
    // Interrupted, not cancelled: back to queued, no reason, last checkpoint kept.
    let record = stored_record(&store, &running.job_id).await;
    assert_eq!(record.state, JobStatus::Queued);
    assert_eq!(record.reason, "");
    assert_eq!(record.attempts, 1);
    assert_eq!(
        stored_record(&store, &queued.job_id).await.state,
        JobStatus::Queued
    );
    assert_eq!(checkpoint_steps(&store, &running.job_id).await, vec![3]);
    // Watchers see the interruption, then UNAVAILABLE.
    let seen: Vec<_> = watcher.collect().await;
    let last = seen.last().unwrap();
    assert_eq!(last.as_ref().unwrap_err().code(), Code::Unavailable);
    let before_last = seen[seen.len() - 2].as_ref().unwrap();
    assert_eq!(
        before_last.job.as_ref().unwrap().state(),
        eyegan_proto::common::v1::JobState::Queued
    );
    // No new work after shutdown.
    let refused = jobs.submit("", CountSpec::new(1, 1)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    drop(jobs);

    let (runner, controls) = CountingRunner::free();
    let jobs = JobManager::start(store.clone(), runner, keep_all())
        .await
        .unwrap();
    let first = jobs.wait_finished(&running.job_id).await.unwrap();
    let second = jobs.wait_finished(&queued.job_id).await.unwrap();
    let output = first.output.clone().unwrap();
    assert_eq!(
        (output.count, output.resumed_from, output.attempt),
        (8, 3, 2)
    );
    assert_eq!(second.output.as_ref().unwrap().count, 2);
    assert_eq!(controls.steps(), 5 + 2);
    assert_eq!(
        checkpoint_steps(&store, &running.job_id).await,
        vec![3, 6, 8]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_requested_before_a_crash_is_honoured_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("file://{}", dir.path().display())).unwrap();

    // A runner that cannot stop mid-step: the job is still running when the service dies.
    let (runner, controls) = CountingRunner::gated();
    let jobs = JobManager::start(store.clone(), runner, keep_all())
        .await
        .unwrap();
    let job = jobs.submit("", CountSpec::new(10, 2)).await.unwrap();
    controls.advance(2);
    controls.wait_count(2).await;
    // Record the cancel request the way `cancel` does, then crash before the job stops.
    let record = {
        let mut record = stored_record(&store, &job.job_id).await;
        record.cancel_requested = Some("operator".into());
        record
    };
    jobs.abort();
    drop(jobs);
    store
        .put_json(&persistence::record_key("counter", &job.job_id), &record)
        .await
        .unwrap();

    let (runner, controls) = CountingRunner::free();
    let jobs = JobManager::start(store.clone(), runner, keep_all())
        .await
        .unwrap();
    let done = jobs.get(&job.job_id).unwrap();
    assert_eq!(done.state, JobStatus::Cancelled);
    assert_eq!(done.reason, "operator");
    assert_eq!(controls.steps(), 0);
    assert_eq!(checkpoint_steps(&store, &job.job_id).await, vec![2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_sequences_keep_increasing_across_a_crash_after_many_events() {
    // A shared in-memory store stands in for the disk: clones share the backend.
    let store = Store::in_memory();
    let (runner, controls) = CountingRunner::gated();
    let jobs = JobManager::start(store.clone(), runner, JobLimits::default())
        .await
        .unwrap();
    let job = jobs.submit("", CountSpec::new(1000, 100)).await.unwrap();
    // Two events per step: well past one sequence reservation block.
    controls.advance(700);
    controls.wait_count(700).await;
    let mut watcher = jobs.watch(&job.job_id, 0).unwrap();
    let before_crash = watcher.next().await.unwrap().unwrap().sequence;
    assert!(before_crash > 1400, "{before_crash}");
    jobs.abort();
    drop(jobs);

    let (runner, _controls) = CountingRunner::free();
    let jobs = JobManager::start(store, runner, JobLimits::default())
        .await
        .unwrap();
    let mut watcher = jobs.watch(&job.job_id, 0).unwrap();
    let after_restart = watcher.next().await.unwrap().unwrap().sequence;
    assert!(
        after_restart > before_crash,
        "{after_restart} <= {before_crash}"
    );
    let done = jobs.wait_finished(&job.job_id).await.unwrap();
    assert_eq!(done.output.as_ref().unwrap().resumed_from, 700);
}
