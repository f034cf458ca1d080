//! Job control and bad requests: cancel stops a job and keeps its checkpoint; a restarted
//! service resumes from the last epoch checkpoint and finishes with exactly the metrics of an
//! uninterrupted run; bad requests are INVALID_ARGUMENT naming the field, missing references
//! NOT_FOUND.

mod support;

use eyegan_classifier::ClassifierConfig;
use eyegan_proto::classifier::v1 as pb;
use eyegan_proto::common::v1::{CancelJobRequest, CheckpointRef, GetJobRequest, JobState};
use eyegan_store::Store;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_and_restart_resumes_exactly() {
    let store = Store::in_memory();
    let dataset = start_dataset(store.clone()).await;
    let mut datasets = eyegan_dataset::client::DatasetClient::connect(&dataset.endpoint)
        .await
        .unwrap();
    phantom_dataset(&mut datasets, "eyes", 8, &[]).await;
    let config = ClassifierConfig::new(&dataset.endpoint);
    let classifier = start_classifier(store.clone(), config.clone()).await;
    let mut client = classifier_client(&classifier.endpoint).await;

    // Cancel: a long job stops after its first epoch and keeps that epoch's history.
    let long = client
        .submit_train_classifier(train_request("eyes", "long", tiny_config(1000)))
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    watch(&mut client, &long.job_id, Some(1)).await;
    client
        .cancel_job(CancelJobRequest {
            job_id: long.job_id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let cancelled = wait_final(&mut client, &long.job_id).await;
    assert_eq!(cancelled.state(), JobState::Cancelled);
    let kept = client
        .get_training_history(pb::GetTrainingHistoryRequest {
            job_id: long.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .epochs;
    assert!(!kept.is_empty() && kept.len() < 1000);

    // Restart: stop the service after epoch 1 of 3, start it again on the same store.
    let epochs = 3;
    let interrupted = client
        .submit_train_classifier(train_request("eyes", "interrupted", tiny_config(epochs)))
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    let before = watch(&mut client, &interrupted.job_id, Some(1)).await;
    classifier.stop().await;
    let classifier = start_classifier(store.clone(), config).await;
    let mut client = classifier_client(&classifier.endpoint).await;
    let resumed = wait_final(&mut client, &interrupted.job_id).await;
    assert_eq!(resumed.state(), JobState::Succeeded, "{resumed:?}");
    let history = client
        .get_training_history(pb::GetTrainingHistoryRequest {
            job_id: interrupted.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .epochs;
    assert_eq!(history.len(), epochs as usize);
    assert_eq!(history[0].train_loss, before.epochs[0].train_loss);

    // The same request run without interruption gives exactly the same metrics.
    let fresh = client
        .submit_train_classifier(train_request("eyes", "fresh", tiny_config(epochs)))
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    let fresh = watch(&mut client, &fresh.job_id, None).await;
    assert_eq!(fresh.job.state(), JobState::Succeeded);
    let same = |a: &[eyegan_proto::common::v1::ClassifierEpochMetrics],
                b: &[eyegan_proto::common::v1::ClassifierEpochMetrics]| {
        a.iter().zip(b).all(|(a, b)| {
            (a.train_loss, a.train_accuracy, a.val_loss)
                == (b.train_loss, b.train_accuracy, b.val_loss)
        })
    };
    assert!(
        same(&history, &fresh.epochs),
        "{history:?} vs {:?}",
        fresh.epochs
    );

    classifier.stop().await;
    dataset.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_field_and_missing_things_are_not_found() {
    let store = Store::in_memory();
    let dataset = start_dataset(store.clone()).await;
    let mut datasets = eyegan_dataset::client::DatasetClient::connect(&dataset.endpoint)
        .await
        .unwrap();
    phantom_dataset(&mut datasets, "eyes", 2, &[]).await;
    let classifier =
        start_classifier(store.clone(), ClassifierConfig::new(&dataset.endpoint)).await;
    let mut client = classifier_client(&classifier.endpoint).await;

    let cases: Vec<(pb::GmdConfig, &str)> = vec![
        (
            pb::GmdConfig {
                lr: f64::NAN,
                ..tiny_config(2)
            },
            "config.lr",
        ),
        (
            pb::GmdConfig {
                epochs: 1_000_000,
                ..tiny_config(2)
            },
            "config.epochs",
        ),
        (
            pb::GmdConfig {
                image_size: 64,
                ..tiny_config(2)
            },
            "config.image_size",
        ),
        (
            pb::GmdConfig {
                width_multiplier: -1.0,
                ..tiny_config(2)
            },
            "config.width_multiplier",
        ),
    ];
    for (config, field) in cases {
        let result = client
            .submit_train_classifier(train_request("eyes", "", config))
            .await;
        assert_status(result, tonic::Code::InvalidArgument, field);
    }
    let mut unknown_split = train_request("eyes", "", tiny_config(2));
    unknown_split.val_split = 42;
    assert_status(
        client.submit_train_classifier(unknown_split).await,
        tonic::Code::InvalidArgument,
        "val_split",
    );
    assert_status(
        client
            .submit_train_classifier(train_request("nope", "", tiny_config(2)))
            .await,
        tonic::Code::NotFound,
        "nope",
    );

    // A version without a split.
    datasets
        .import_phantom(eyegan_proto::dataset::v1::ImportPhantomRequest {
            dataset_name: "unsplit".into(),
            per_class: 2,
            render_size: 32,
            options: Some(eyegan_proto::dataset::v1::ImportOptions {
                target_size: 32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_status(
        client
            .submit_train_classifier(train_request("unsplit", "", tiny_config(2)))
            .await,
        tonic::Code::FailedPrecondition,
        "split",
    );

    let missing_model = CheckpointRef {
        key: "jobs/classifier/0000/models/epoch-000001.json".into(),
        ..Default::default()
    };
    assert_status(
        client
            .evaluate(pb::EvaluateRequest {
                model: Some(missing_model),
                dataset: Some(dataset_ref("eyes", 0)),
                ..Default::default()
            })
            .await,
        tonic::Code::NotFound,
        "model",
    );
    assert_status(
        client
            .evaluate(pb::EvaluateRequest {
                model: Some(CheckpointRef {
                    key: "datasets/eyes/manifest.json".into(),
                    ..Default::default()
                }),
                dataset: Some(dataset_ref("eyes", 0)),
                ..Default::default()
            })
            .await,
        tonic::Code::InvalidArgument,
        "model.key",
    );
    assert_status(
        client
            .get_training_history(pb::GetTrainingHistoryRequest {
                job_id: "no-such-job".into(),
            })
            .await,
        tonic::Code::NotFound,
        "no-such-job",
    );
    assert_status(
        client
            .get_job(GetJobRequest {
                job_id: "no-such-job".into(),
            })
            .await,
        tonic::Code::NotFound,
        "no-such-job",
    );
    let headless = vec![pb::PredictRequest {
        item: Some(pb::predict_request::Item::Chunk(
            eyegan_proto::common::v1::Chunk {
                data: vec![1, 2, 3],
            },
        )),
    }];
    assert_status(
        client.predict(futures::stream::iter(headless)).await,
        tonic::Code::InvalidArgument,
        "header",
    );

    classifier.stop().await;
    dataset.stop().await;
}
