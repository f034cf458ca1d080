//! Restart: a trainer stopped mid-job (interrupted, not cancelled) resumes the job from its last
//! checkpoint on the same file:// store, finishes with the right iteration count, loses no
//! checkpoint, stores each metric row once, and ends exactly where an uninterrupted run ends.

mod support;

use eyegan_proto::common::v1::{job_result, ArtifactKind, JobState};
use eyegan_proto::trainer::v1::ListArtifactsRequest;
use eyegan_store::Store;
use support::*;

const ITERATIONS: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_trainer_resumes_its_job_from_the_last_checkpoint() {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("file://{}", folder.path().display());
    let store = Store::open(&url).unwrap();
    let setup = Setup::start(store, 12, 1).await;
    let mut client = setup.client().await;
    let job_id = submit(&mut client, request("restart", tiny_config(ITERATIONS))).await;
    watch(&mut client, &job_id, |seen| {
        seen.iterations.last() >= Some(&15)
    })
    .await;
    setup.trainer.stop().await;

    // Interrupted, not cancelled: the record says queued.
    let reopened = Store::open(&url).unwrap();
    let record: serde_json::Value = reopened
        .get_json(&format!("jobs/trainer/{job_id}/job.json"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record["state"], "queued", "{record}");

    let trainer = start_trainer(reopened.clone(), &setup.dataset.endpoint, 1).await;
    let mut client = support::client(&trainer.endpoint).await;
    let job = wait_final(&mut client, &job_id).await;
    assert_eq!(job.state(), JobState::Succeeded, "{job:?}");
    let Some(job_result::Kind::TrainGan(result)) = job.result.unwrap().kind else {
        panic!("not a gan result");
    };
    assert_eq!(result.iterations, ITERATIONS);

    // Every periodic checkpoint survived, plus the one taken when the server stopped.
    let artifacts = client
        .list_artifacts(ListArtifactsRequest {
            job_id: job_id.clone(),
            kind: ArtifactKind::Checkpoint as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .artifacts;
    let mut steps: Vec<u64> = artifacts.iter().map(|a| a.iteration).collect();
    steps.dedup();
    for periodic in [10, 20, 30, 40] {
        assert!(
            steps.contains(&periodic),
            "checkpoint {periodic} missing: {steps:?}"
        );
    }

    // One row per iteration, none twice.
    let resumed_rows = metrics(&mut client, &job_id).await;
    let iterations: Vec<u64> = resumed_rows.iter().map(|row| row.iteration).collect();
    assert_eq!(iterations, (1..=ITERATIONS).collect::<Vec<_>>());

    // The same request run without interruption gives the same losses.
    let straight_id = submit(&mut client, request("straight", tiny_config(ITERATIONS))).await;
    let straight = wait_final(&mut client, &straight_id).await;
    assert_eq!(straight.state(), JobState::Succeeded);
    let straight_rows = metrics(&mut client, &straight_id).await;
    for (resumed, straight) in resumed_rows.iter().zip(&straight_rows) {
        assert!(
            (resumed.loss_d - straight.loss_d).abs() < 1e-4
                && (resumed.loss_g - straight.loss_g).abs() < 1e-4,
            "iteration {}: resumed {resumed:?} vs straight {straight:?}",
            resumed.iteration
        );
    }
    trainer.stop().await;
    setup.dataset.stop().await;
}
