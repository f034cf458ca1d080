//! A generator stopped mid-job resumes from its last checkpoint on restart and adds every kept
//! image exactly once.

use std::collections::BTreeSet;

use eyegan_proto::common::v1::{job_event::Payload, job_result, JobState};
use eyegan_proto::dataset::v1 as dpb;
use eyegan_proto::generator::v1::SubmitGenerateRequest;
use futures::StreamExt;

use crate::support::*;

const COUNT: u64 = 240;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_generator_resumes_without_duplicates() {
    let Cluster {
        store,
        dataset,
        generator,
    } = Cluster::start().await;
    let mut datasets = eyegan_dataset::client::DatasetClient::connect(&dataset.endpoint)
        .await
        .unwrap();
    phantom_dataset(&mut datasets).await;
    let (_, _, g, d) = stored_gan(&store, "trainer-job-6", "normal", 4).await;
    let mut client = generator_client(&generator.endpoint).await;
    let job = submit(
        &mut client,
        SubmitGenerateRequest {
            classes: vec![from_checkpoints("normal", g, d, COUNT)],
            filter: min_score(0.0),
            batch_size: 1,
            base_dataset: Some(base_ref()),
            device: "cpu".into(),
            ..Default::default()
        },
    )
    .await;

    // Let it get some way, then stop the service.
    let mut events = watch(&mut client, &job.job_id).await;
    while let Some(event) = events.next().await {
        if let Ok(event) = event {
            if let Some(Payload::Generation(progress)) = event.event.unwrap().payload {
                if progress.attempted >= 10 {
                    break;
                }
            }
        }
    }
    drop(events);
    drop(client);
    generator.stop().await;

    // Restart on the same store: the job resumes past where it stopped.
    let generator = start_generator(&store, &dataset.endpoint).await;
    let mut client = generator_client(&generator.endpoint).await;
    let mut events = watch(&mut client, &job.job_id).await;
    let mut first_attempted = None;
    while let Some(event) = events.next().await {
        if let Some(Payload::Generation(progress)) = event.unwrap().event.unwrap().payload {
            first_attempted.get_or_insert(progress.attempted);
        }
    }
    if let Some(first) = first_attempted {
        assert!(first > 10, "the resumed run restarted from {first}");
    }
    let done = wait_final(&mut client, &job.job_id).await;
    assert_eq!(done.state(), JobState::Succeeded, "{}", done.reason);
    let record: serde_json::Value = store
        .get_json(&format!("jobs/generator/{}/job.json", job.job_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record["attempts"], 2,
        "the job must have run twice (stopped, then resumed)"
    );
    let Some(job_result::Kind::Generate(result)) = done.result.unwrap().kind else {
        panic!("not a generate result");
    };
    assert_eq!(
        (result.per_class[0].attempted, result.per_class[0].accepted),
        (COUNT, COUNT)
    );
    assert_eq!(datasets.list_versions(DATASET).await.unwrap().len(), 2);
    let indices: Vec<u64> = images(&mut datasets, 2, dpb::Split::Train)
        .await
        .iter()
        .filter(|i| i.provenance.as_ref().unwrap().source() == dpb::ImageSource::Synthetic)
        .map(|i| i.provenance.as_ref().unwrap().index)
        .collect();
    let unique: BTreeSet<u64> = indices.iter().copied().collect();
    assert_eq!(indices.len(), unique.len(), "an image was added twice");
    assert_eq!(unique, (0..COUNT).collect::<BTreeSet<u64>>());
}
