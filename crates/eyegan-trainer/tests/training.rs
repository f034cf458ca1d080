//! A trainer job trains, streams events, stores metrics, checkpoints, grids and collected
//! samples; an idempotent resubmit returns the same job; cancel stops a job and keeps its last
//! checkpoint.

mod support;

use eyegan_jobs::Checkpoint;
use eyegan_proto::common::v1::{
    job_result, score_filter, ArtifactKind, CancelJobRequest, FilterPreset, JobState, Network,
    ScoreFilter,
};
use eyegan_proto::trainer::v1::{
    DuringTrainingGeneration, GetSampleGridRequest, ListArtifactsRequest,
};
use eyegan_store::Store;
use eyegan_trainer::{CollectedManifest, FILE_DISCRIMINATOR, FILE_GAN_STATE, FILE_GENERATOR};
use futures::StreamExt;
use support::*;

const ITERATIONS: u64 = 40;

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.collect();
    values.iter().sum::<f64>() / values.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_trains_streams_and_stores_everything() {
    let setup = Setup::start(Store::in_memory(), 24, 1).await;
    let mut client = setup.client().await;
    let mut config = tiny_config(ITERATIONS);
    config.keep_last_checkpoints = 2;
    let mut submit = request("first", config);
    submit.during_training = Some(DuringTrainingGeneration {
        images_per_epoch: 1,
        filter: Some(ScoreFilter {
            rule: Some(score_filter::Rule::Preset(FilterPreset::None as i32)),
        }),
        ..Default::default()
    });
    let created = client
        .submit_train_gan(submit.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(created.created);
    let job_id = created.job.unwrap().job_id;

    // Same request id: the same job, not a new one.
    let again = client.submit_train_gan(submit).await.unwrap().into_inner();
    assert!(!again.created);
    assert_eq!(again.job.unwrap().job_id, job_id);

    let watched = watch(&mut client, &job_id, |_| false).await;
    let last = watched.last.clone().unwrap();
    assert_eq!(last.state(), JobState::Succeeded, "{last:?}");
    assert_eq!(watched.iterations.last(), Some(&ITERATIONS));
    assert!(watched.iterations.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(watched
        .artifacts
        .iter()
        .any(|name| name == "grid-000040.png"));

    let job = wait_final(&mut client, &job_id).await;
    let progress = job.progress.unwrap();
    assert_eq!((progress.current, progress.total), (ITERATIONS, ITERATIONS));
    assert_eq!(progress.unit, "iteration");
    let Some(job_result::Kind::TrainGan(result)) = job.result.unwrap().kind else {
        panic!("not a gan result");
    };
    assert_eq!(result.iterations, ITERATIONS);
    let per_epoch = setup.class_train_images().div_ceil(4);
    assert_eq!(u64::from(result.epochs), ITERATIONS / per_epoch);

    // Metrics: one row per iteration, and D learned to tell real from fake.
    let rows = metrics(&mut client, &job_id).await;
    let iterations: Vec<u64> = rows.iter().map(|row| row.iteration).collect();
    assert_eq!(iterations, (1..=ITERATIONS).collect::<Vec<_>>());
    let gap = mean(rows[5..20].iter().map(|row| row.d_real - row.d_fake_before));
    assert!(gap > 0.05, "D(x) - D(G(z)) over iterations 6-20 is {gap}");
    let first_loss = mean(rows[..3].iter().map(|row| row.loss_d));
    let later_loss = mean(rows[10..20].iter().map(|row| row.loss_d));
    assert!(
        later_loss < first_loss,
        "loss_d {first_loss} -> {later_loss}"
    );

    // Artifacts: grids at 10..40, the newest two checkpoints (G and D each), metrics, samples.
    let artifacts = client
        .list_artifacts(ListArtifactsRequest {
            job_id: job_id.clone(),
            kind: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .artifacts;
    let of_kind = |kind: ArtifactKind| -> Vec<_> {
        artifacts
            .iter()
            .filter(|a| a.kind() == kind)
            .cloned()
            .collect()
    };
    let grids: Vec<u64> = of_kind(ArtifactKind::SampleGrid)
        .iter()
        .map(|a| a.iteration)
        .collect();
    assert_eq!(grids, [10, 20, 30, 40]);
    let checkpoints = of_kind(ArtifactKind::Checkpoint);
    let steps: Vec<(u64, Network)> = checkpoints
        .iter()
        .map(|a| {
            let reference = a.checkpoint.clone().unwrap();
            (reference.iteration, reference.network())
        })
        .collect();
    assert_eq!(
        steps,
        [
            (30, Network::Generator),
            (30, Network::Discriminator),
            (40, Network::Generator),
            (40, Network::Discriminator)
        ]
    );
    assert_eq!(of_kind(ArtifactKind::Metrics).len(), 1);
    assert_eq!(of_kind(ArtifactKind::CollectedSamples).len(), 1);

    // The newest grid is a decodable PNG of 16 tiles (4x4 of 32 px, 2 px padding).
    let mut stream = client
        .get_sample_grid(GetSampleGridRequest {
            job_id: job_id.clone(),
            iteration: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut png = Vec::new();
    let mut first = None;
    while let Some(message) = stream.next().await {
        let message = message.unwrap();
        first = first.or(message.artifact);
        png.extend(message.chunk.unwrap().data);
    }
    assert_eq!(first.unwrap().iteration, ITERATIONS);
    let grid = eyegan_imaging::decode_png_rgb(&png).unwrap();
    assert_eq!(
        (grid.width(), grid.height()),
        (4 * 32 + 5 * 2, 4 * 32 + 5 * 2)
    );
    let missing = client
        .get_sample_grid(GetSampleGridRequest {
            job_id: job_id.clone(),
            iteration: 15,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    // The final checkpoint loads as G and D for generation.
    let generator_ref = result.generator.unwrap();
    assert_eq!(generator_ref.iteration, ITERATIONS);
    let pointer: Checkpoint = setup
        .store
        .get_json(&generator_ref.key)
        .await
        .unwrap()
        .unwrap();
    let read = |name: &str| {
        let key = pointer.file(name).unwrap().key.clone();
        let store = setup.store.clone();
        async move { store.get_bytes(&key).await.unwrap().unwrap() }
    };
    let (state, generator, _) = eyegan_nn::load_gan_models(
        &read(FILE_GAN_STATE).await,
        &read(FILE_GENERATOR).await,
        &read(FILE_DISCRIMINATOR).await,
        &candle_core::Device::Cpu,
    )
    .unwrap();
    assert_eq!(state.iteration, ITERATIONS);
    assert_eq!(generator.config().image_size, 32);

    // Filter `none`: one kept image per completed epoch, each a stored 32x32 PNG.
    let collected = result.collected_samples.unwrap();
    assert_eq!(collected.attempted, u64::from(result.epochs));
    assert_eq!(collected.accepted, collected.attempted);
    let manifest: CollectedManifest = setup
        .store
        .get_json(&collected.manifest.unwrap().key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.samples.len() as u64, collected.accepted);
    let epochs: Vec<u64> = manifest.samples.iter().map(|s| s.epoch).collect();
    assert_eq!(epochs, (1..=u64::from(result.epochs)).collect::<Vec<_>>());
    let sample = setup
        .store
        .get_bytes(&manifest.samples[0].png.key)
        .await
        .unwrap()
        .unwrap();
    let image = eyegan_imaging::decode_png_rgb(&sample).unwrap();
    assert_eq!((image.width(), image.height()), (32, 32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_job_and_keeps_its_last_checkpoint() {
    let setup = Setup::start(Store::in_memory(), 12, 1).await;
    let mut client = setup.client().await;
    let mut config = tiny_config(1_000_000);
    config.checkpoint_every = 1_000;
    let job_id = submit(&mut client, request("long", config)).await;
    watch(&mut client, &job_id, |seen| {
        seen.iterations.last() >= Some(&3)
    })
    .await;
    client
        .cancel_job(CancelJobRequest {
            job_id: job_id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let job = wait_final(&mut client, &job_id).await;
    assert_eq!(job.state(), JobState::Cancelled);
    assert_eq!(job.reason, "cancelled by client");
    let done = job.progress.unwrap().current;
    assert!(
        (3..1_000).contains(&done),
        "stopped after {done} iterations"
    );

    let checkpoints = client
        .list_artifacts(ListArtifactsRequest {
            job_id: job_id.clone(),
            kind: ArtifactKind::Checkpoint as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .artifacts;
    let steps: Vec<u64> = checkpoints.iter().map(|a| a.iteration).collect();
    assert_eq!(steps, [done, done], "the iterations done are checkpointed");
    let rows = metrics(&mut client, &job_id).await;
    assert_eq!(rows.len() as u64, done);
}
