//! A cancelled generation stops at its next batch and creates no dataset version.

use eyegan_proto::common::v1::{job_event::Payload, CancelJobRequest, JobState};
use eyegan_proto::generator::v1::SubmitGenerateRequest;
use futures::StreamExt;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_adds_nothing() {
    let cluster = Cluster::start().await;
    let mut datasets = cluster.datasets().await;
    phantom_dataset(&mut datasets).await;
    let (_, _, g, d) = stored_gan(&cluster.store, "trainer-job-7", "normal", 5).await;
    let mut client = cluster.client().await;
    let request = SubmitGenerateRequest {
        classes: vec![from_checkpoints("normal", g, d, 100_000)],
        filter: min_score(0.0),
        batch_size: 1,
        base_dataset: Some(base_ref()),
        device: "cpu".into(),
        ..Default::default()
    };
    let job = submit(&mut client, request).await;
    let mut events = watch(&mut client, &job.job_id).await;
    while let Some(event) = events.next().await {
        if let Some(Payload::Generation(progress)) = event.unwrap().event.unwrap().payload {
            if progress.attempted >= 5 {
                break;
            }
        }
    }
    client
        .cancel_job(CancelJobRequest {
            job_id: job.job_id.clone(),
            reason: "enough".into(),
        })
        .await
        .unwrap();
    let done = wait_final(&mut client, &job.job_id).await;
    assert_eq!(done.state(), JobState::Cancelled);
    assert_eq!(done.reason, "enough");
    let accepted = done.progress.unwrap().current;
    assert!((5..100_000).contains(&accepted), "stopped at {accepted}");
    assert_eq!(datasets.list_versions(DATASET).await.unwrap().len(), 1);
}
