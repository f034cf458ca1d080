//! A generation job keeps exactly the images passing the threshold and adds them, with
//! provenance, to a new version's train split; the attempt cap holds.

use std::collections::BTreeSet;

use eyegan_generator::{class_seed, CollectedManifest, CollectedSample, StoredObject};
use eyegan_nn::{generate_filtered, Discriminator, FilterPreset, GenerationRequest, Generator};
use eyegan_proto::common::v1::{
    job_event::Payload, job_result, CollectedSamples, JobState, ObjectRef,
};
use eyegan_proto::dataset::v1 as dpb;
use eyegan_proto::generator::v1::{
    class_generation::Source, ClassGeneration, SubmitGenerateRequest,
};
use futures::StreamExt;

use crate::support::*;

const SEED: u64 = 17;
const ATTEMPTS: u64 = 24;
const BATCH: u32 = 5;

/// Scores of attempts `0..ATTEMPTS` of `class`, straight from eyegan-nn.
fn direct_scores(
    generator: &Generator,
    discriminator: &Discriminator,
    class: &str,
) -> Vec<(u64, f32)> {
    let all = generate_filtered(
        generator,
        discriminator,
        GenerationRequest {
            count: ATTEMPTS as usize,
            filter: FilterPreset::None,
            max_attempts: ATTEMPTS,
            batch_size: BATCH as usize,
            seed: class_seed(SEED, class),
        },
    )
    .unwrap();
    all.kept
        .iter()
        .map(|image| (image.index, image.score))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_exactly_the_passing_images_in_a_new_train_split() {
    let cluster = Cluster::start().await;
    let mut datasets = cluster.datasets().await;
    let base = phantom_dataset(&mut datasets).await;
    let (generator, discriminator, g, d) =
        stored_gan(&cluster.store, "trainer-job-1", "normal", 3).await;

    // Threshold halfway between the two middle scores: about half pass, none is borderline.
    let scores = direct_scores(&generator, &discriminator, "normal");
    let mut sorted: Vec<f32> = scores.iter().map(|&(_, s)| s).collect();
    sorted.sort_by(f32::total_cmp);
    let middle = sorted.len() / 2;
    assert!(
        sorted[middle] > sorted[middle - 1],
        "scores must differ: {sorted:?}"
    );
    let threshold = (sorted[middle - 1] + sorted[middle]) / 2.0;
    let expected: BTreeSet<u64> = scores
        .iter()
        .filter(|&&(_, s)| s >= threshold)
        .map(|&(i, _)| i)
        .collect();
    assert_eq!(expected.len(), ATTEMPTS as usize / 2);

    // The `dr` class comes from samples a trainer collected during training.
    let collected = collected_samples(&cluster, "dr").await;

    let mut client = cluster.client().await;
    let request = SubmitGenerateRequest {
        request_id: "gen-1".into(),
        classes: vec![
            // More than can pass: the cap (max_attempts) ends the class.
            from_checkpoints("normal", g, d, ATTEMPTS),
            ClassGeneration {
                class_name: "dr".into(),
                source: Some(Source::Collected(collected)),
                count: 2,
            },
        ],
        filter: min_score(f64::from(threshold)),
        max_attempts: ATTEMPTS,
        batch_size: BATCH,
        seed: SEED,
        base_dataset: Some(eyegan_proto::common::v1::DatasetRef {
            dataset_id: DATASET.into(),
            version: 0,
        }),
        version_note: "synthetic normal".into(),
        device: "cpu".into(),
    };
    let submitted = client
        .submit_generate(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(submitted.created);
    let job = submitted.job.unwrap();
    let mut events = watch(&mut client, &job.job_id).await;

    // Idempotent resubmission: same job, not created.
    let again = client.submit_generate(request).await.unwrap().into_inner();
    assert!(!again.created);
    assert_eq!(again.job.unwrap().job_id, job.job_id);

    // Watching replays no history: the job can advance between the submission and the watch
    // (seen under load), so only the events after the first snapshot are certain to arrive.
    let mut progress_events = 0;
    let mut started_at = None;
    while let Some(event) = events.next().await {
        let event = event.unwrap().event.unwrap();
        let job = event.job.as_ref().unwrap();
        started_at.get_or_insert((job.state(), job.progress.as_ref().map(|p| p.current)));
        if let Some(Payload::Generation(progress)) = event.payload {
            assert!(progress.accepted <= progress.attempted || progress.class_name == "dr");
            progress_events += 1;
        }
    }
    let (first_state, first_current) = started_at.expect("a watch starts with a snapshot");
    assert!(
        progress_events >= 1 || first_state == JobState::Succeeded,
        "no generation progress event after a first snapshot at {first_state:?}, progress {first_current:?}"
    );

    let done = wait_final(&mut client, &job.job_id).await;
    assert_eq!(done.state(), JobState::Succeeded, "{}", done.reason);
    let Some(job_result::Kind::Generate(result)) = done.result.unwrap().kind else {
        panic!("not a generate result");
    };
    let normal = &result.per_class[0];
    assert_eq!(
        (normal.attempted, normal.accepted, normal.requested),
        (ATTEMPTS, expected.len() as u64, ATTEMPTS)
    );
    let dr = &result.per_class[1];
    assert_eq!(
        (dr.class_name.as_str(), dr.accepted, dr.attempted),
        ("dr", 2, 9)
    );
    let new_ref = result.dataset.unwrap();
    assert_eq!(new_ref.version, 2);

    // The new version: parent 1, extra images in train only, with provenance.
    let new = datasets.get_version(DATASET, 2).await.unwrap();
    assert_eq!(new.parent_version, 1);
    assert!(new.note.contains("synthetic normal") && new.note.contains(&job.job_id));
    let added = expected.len() as u64 + 2;
    assert_eq!(new.total_images, base.total_images + added);
    let (old_splits, new_splits) = (base.split_counts.unwrap(), new.split_counts.unwrap());
    assert_eq!(new_splits.train, old_splits.train + added);
    assert_eq!(
        (new_splits.val, new_splits.test),
        (old_splits.val, old_splits.test)
    );

    let train = images(&mut datasets, 2, dpb::Split::Train).await;
    let synthetic: Vec<&dpb::Image> = train
        .iter()
        .filter(|i| i.provenance.as_ref().unwrap().source() == dpb::ImageSource::Synthetic)
        .collect();
    let kept: BTreeSet<u64> = synthetic
        .iter()
        .filter(|i| i.class_name == "normal")
        .map(|i| i.provenance.as_ref().unwrap().index)
        .collect();
    assert_eq!(
        kept, expected,
        "the kept set must be exactly the passing attempts"
    );
    for image in synthetic.iter().filter(|i| i.class_name == "normal") {
        let provenance = image.provenance.as_ref().unwrap();
        assert_eq!(provenance.seed, class_seed(SEED, "normal"));
        let direct = scores
            .iter()
            .find(|&&(i, _)| i == provenance.index)
            .unwrap()
            .1;
        let score = provenance.discriminator_score.unwrap();
        assert!(
            (score - f64::from(direct)).abs() < 1e-5,
            "{score} vs {direct}"
        );
        assert!(score >= f64::from(threshold));
        assert!(!provenance.generator_checkpoint.is_empty());
    }
    let dr_scores: Vec<u32> = synthetic
        .iter()
        .filter(|i| i.class_name == "dr")
        .map(|i| i.provenance.as_ref().unwrap().discriminator_score.unwrap())
        .map(|score| (score * 10.0).round() as u32)
        .collect();
    assert_eq!(dr_scores, vec![8, 9], "the newest two collected samples");
    assert!(synthetic.iter().filter(|i| i.class_name == "dr").all(|i| i
        .provenance
        .as_ref()
        .unwrap()
        .generator_checkpoint
        .ends_with("00000000000000000009.json")));
    for split in [dpb::Split::Val, dpb::Split::Test] {
        assert!(images(&mut datasets, 2, split).await.iter().all(|i| i
            .provenance
            .as_ref()
            .unwrap()
            .source()
            != dpb::ImageSource::Synthetic));
    }

    // The base version is unchanged.
    let base_after = datasets.get_version(DATASET, 1).await.unwrap();
    assert_eq!(base_after, base);
}

/// Writes three collected `dr` samples (epochs 1..=3) and their manifest, as a trainer would.
async fn collected_samples(cluster: &Cluster, class: &str) -> CollectedSamples {
    let mut samples = Vec::new();
    for epoch in 1..=3u64 {
        let mut image = image::RgbImage::new(32, 32);
        for (x, _, pixel) in image.enumerate_pixels_mut() {
            *pixel = image::Rgb([(x * 8) as u8, (epoch * 60) as u8, 90]);
        }
        let png = eyegan_imaging::encode_png(&image).unwrap();
        let blob = cluster.store.put_blob(png).await.unwrap();
        samples.push(CollectedSample {
            epoch,
            index: epoch,
            seed: 100 + epoch,
            score: 0.6 + epoch as f64 / 10.0,
            png: StoredObject {
                key: blob.key(),
                sha256: blob.sha256.clone(),
                size: blob.size,
            },
            checkpoint: String::new(),
        });
    }
    let manifest = CollectedManifest {
        class_name: class.into(),
        final_checkpoint: "jobs/trainer/trainer-job-2/checkpoints/00000000000000000009.json".into(),
        samples,
    };
    let key = "jobs/trainer/trainer-job-2/collected/manifest.json";
    cluster.store.put_json(key, &manifest).await.unwrap();
    CollectedSamples {
        manifest: Some(ObjectRef {
            key: key.into(),
            ..Default::default()
        }),
        attempted: 9,
        accepted: 3,
        class_name: class.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impossible_threshold_stops_at_the_attempt_cap() {
    let cluster = Cluster::start().await;
    let mut datasets = cluster.datasets().await;
    phantom_dataset(&mut datasets).await;
    let (_, _, g, d) = stored_gan(&cluster.store, "trainer-job-3", "dr", 9).await;
    let mut client = cluster.client().await;
    let job = submit(
        &mut client,
        SubmitGenerateRequest {
            classes: vec![from_checkpoints("dr", g, d, 5)],
            filter: min_score(1.0),
            max_attempts: 7,
            batch_size: 3,
            base_dataset: Some(base_ref()),
            device: "cpu".into(),
            ..Default::default()
        },
    )
    .await;
    let done = wait_final(&mut client, &job.job_id).await;
    assert_eq!(done.state(), JobState::Succeeded, "{}", done.reason);
    let Some(job_result::Kind::Generate(result)) = done.result.unwrap().kind else {
        panic!("not a generate result");
    };
    assert_eq!(result.per_class[0].attempted, 7);
    assert_eq!(result.per_class[0].accepted, 0);
    assert!(
        result.dataset.is_none(),
        "nothing passed, so no version is made"
    );
    assert_eq!(datasets.list_versions(DATASET).await.unwrap().len(), 1);
}
