//! WatchJob: snapshot first, live events in order, terminal last, slow watchers never stall.

use eyegan_jobs::{JobLimits, JobManager};
use eyegan_proto::common::v1::{job_event::Payload, JobState};
use eyegan_store::Store;
use futures::StreamExt;

use crate::support::{assert_increasing, collect, CountSpec, CountingRunner};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_from_the_start_sees_every_event_in_order() {
    let (runner, controls) = CountingRunner::gated();
    let jobs = JobManager::start(Store::in_memory(), runner, JobLimits::default())
        .await
        .unwrap();
    let job = jobs.submit("", CountSpec::new(5, 2)).await.unwrap();
    let events = jobs.watch(&job.job_id, 0).unwrap();
    controls.advance(5);
    let events = collect(events).await;
    assert_increasing(&events);

    let first = &events[0];
    assert!(first.payload.is_none(), "the first event is a snapshot");
    assert!(matches!(
        first.job.as_ref().unwrap().state(),
        JobState::Queued | JobState::Running
    ));
    let last = events.last().unwrap();
    let last_job = last.job.as_ref().unwrap();
    assert_eq!(last_job.state(), JobState::Succeeded);
    assert!(last.payload.is_none());
    let result = last_job.result.clone().unwrap();
    assert!(
        format!("{result:?}").contains("iterations: 5"),
        "{result:?}"
    );

    // Every step's log line, in order, each after the progress report of its step.
    let logs: Vec<String> = events
        .iter()
        .filter_map(|event| match &event.payload {
            Some(Payload::Log(line)) => Some(line.message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(logs, ["step 1", "step 2", "step 3", "step 4", "step 5"]);
    for event in &events {
        if let Some(Payload::Log(line)) = &event.payload {
            let step: u64 = line.message["step ".len()..].parse().unwrap();
            assert_eq!(
                event
                    .job
                    .as_ref()
                    .unwrap()
                    .progress
                    .as_ref()
                    .unwrap()
                    .current,
                step
            );
        }
    }
    // States never go backwards.
    let states: Vec<JobState> = events
        .iter()
        .map(|event| event.job.as_ref().unwrap().state())
        .collect();
    let mut sorted = states.clone();
    sorted.sort_by_key(|state| *state as i32);
    assert_eq!(states, sorted);
    assert!(states.contains(&JobState::Running));
    // The ETA is estimated once the rate is known.
    let eta = last_job.progress.as_ref().unwrap().eta_seconds;
    assert_eq!(eta, Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_watcher_gets_the_current_state_first_then_live_events() {
    let (runner, controls) = CountingRunner::gated();
    let jobs = JobManager::start(Store::in_memory(), runner, JobLimits::default())
        .await
        .unwrap();
    let job = jobs.submit("", CountSpec::new(6, 2)).await.unwrap();
    controls.advance(3);
    controls.wait_count(3).await;

    let mut late = jobs.watch(&job.job_id, 0).unwrap();
    let snapshot = late.next().await.unwrap().unwrap();
    assert!(snapshot.payload.is_none());
    let snapshot_job = snapshot.job.as_ref().unwrap();
    assert_eq!(snapshot_job.state(), JobState::Running);
    assert_eq!(snapshot_job.progress.as_ref().unwrap().current, 3);

    controls.advance(3);
    let rest = collect(late).await;
    assert!(
        rest.first().unwrap().sequence == snapshot.sequence + 1,
        "no gap after the snapshot"
    );
    assert_increasing(&rest);
    let last = rest.last().unwrap();
    assert_eq!(last.job.as_ref().unwrap().state(), JobState::Succeeded);

    // After the end: one snapshot of the final state, then the stream ends.
    let after = collect(jobs.watch(&job.job_id, 0).unwrap()).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].job.as_ref().unwrap().state(), JobState::Succeeded);
    assert_eq!(after[0].sequence, last.sequence);
    // A client that already has the final event gets nothing more.
    assert!(collect(jobs.watch(&job.job_id, last.sequence).unwrap())
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_never_reads_does_not_stall_the_job() {
    let (runner, controls) = CountingRunner::gated();
    let limits = JobLimits {
        event_buffer: 4,
        ..JobLimits::default()
    };
    let jobs = JobManager::start(Store::in_memory(), runner, limits)
        .await
        .unwrap();
    let job = jobs.submit("", CountSpec::new(200, 50)).await.unwrap();
    let slow = jobs.watch(&job.job_id, 0).unwrap();
    controls.advance(200);
    // The job finishes (hundreds of events) while the slow watcher reads nothing.
    let done = jobs.wait_finished(&job.job_id).await.unwrap();
    assert_eq!(done.output.as_ref().unwrap().count, 200);

    // The slow watcher then gets its first snapshot, skips what it missed, and receives a fresh
    // snapshot with the final state.
    let events = collect(slow).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!matches!(
        events[0].job.as_ref().unwrap().state(),
        JobState::Succeeded
    ));
    assert_eq!(events[1].job.as_ref().unwrap().state(), JobState::Succeeded);
    assert!(events[1].payload.is_none());
    assert!(events[1].sequence > events[0].sequence + 400);
}
