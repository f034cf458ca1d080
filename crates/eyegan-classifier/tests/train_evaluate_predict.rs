//! A small GMD trains through the real services (events, stored history and result agree) and
//! learns above chance on four easy phantom classes; its
//! evaluation's confusion matrix sums to the split size; Predict classifies an uploaded
//! full-size JPEG; resubmitting the same request id returns the same job.

mod support;

use eyegan_classifier::ClassifierConfig;
use eyegan_imaging::phantom::{self, Difficulty, PhantomClass};
use eyegan_proto::classifier::v1 as pb;
use eyegan_proto::common::v1::{job_result, CheckpointRef, Chunk, JobState};
use eyegan_store::Store;
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use support::*;

/// A 400×300 JPEG: a 240-pixel phantom fundus of `class` centred on black.
fn full_size_jpeg(class: PhantomClass) -> Vec<u8> {
    let fundus = phantom::render(77, class, 0, 240, &Difficulty::easy());
    let mut canvas = RgbImage::new(400, 300);
    image::imageops::overlay(&mut canvas, &fundus, 80, 30);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(canvas.as_raw(), 400, 300, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn predict_messages(model: &CheckpointRef, bytes: &[u8]) -> Vec<pb::PredictRequest> {
    let mut messages = vec![pb::PredictRequest {
        item: Some(pb::predict_request::Item::Header(pb::PredictHeader {
            model: Some(model.clone()),
            file_name: "eye.jpg".into(),
            device: "cpu".into(),
        })),
    }];
    messages.extend(bytes.chunks(4096).map(|piece| pb::PredictRequest {
        item: Some(pb::predict_request::Item::Chunk(Chunk {
            data: piece.to_vec(),
        })),
    }));
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trains_evaluates_predicts_and_resubmits_idempotently() {
    let store = Store::in_memory();
    let dataset = start_dataset(store.clone()).await;
    let mut datasets = eyegan_dataset::client::DatasetClient::connect(&dataset.endpoint)
        .await
        .unwrap();
    let version = phantom_dataset(&mut datasets, "eyes", 10, &[]).await;
    let split = version.split_counts.unwrap();
    let classifier =
        start_classifier(store.clone(), ClassifierConfig::new(&dataset.endpoint)).await;
    let mut client = classifier_client(&classifier.endpoint).await;

    let epochs = 3;
    let request = train_request("eyes", "train-1", tiny_config(epochs));
    let submitted = client
        .submit_train_classifier(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(submitted.created);
    let job_id = submitted.job.unwrap().job_id;
    let watched = watch(&mut client, &job_id, None).await;
    assert_eq!(
        watched.job.state(),
        JobState::Succeeded,
        "{:?}",
        watched.job
    );

    // Streamed, stored and returned histories agree.
    let history = client
        .get_training_history(pb::GetTrainingHistoryRequest {
            job_id: job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .epochs;
    assert_eq!(history.len(), epochs as usize);
    assert_eq!(watched.epochs, history);
    let Some(job_result::Kind::TrainClassifier(result)) = watched.job.result.unwrap().kind else {
        panic!("no classifier result");
    };
    assert_eq!(result.history, history);
    assert_eq!(result.selected_epoch, epochs);
    let model = result.model.unwrap();
    assert_eq!(model.epoch, epochs);

    // Evaluate on the test split: the confusion matrix covers exactly the split.
    let evaluation = client
        .evaluate(pb::EvaluateRequest {
            model: Some(model.clone()),
            dataset: Some(dataset_ref("eyes", 0)),
            split: 0,
            include_predictions: true,
            batch_size: 5,
            device: "cpu".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let metrics = evaluation.metrics.unwrap();
    let confusion = metrics.confusion.unwrap();
    assert_eq!(confusion.counts.len(), 16);
    assert_eq!(confusion.counts.iter().sum::<u64>(), split.test);
    assert_eq!(metrics.total, split.test);
    assert_eq!(evaluation.predictions.len() as u64, split.test);
    assert_eq!(confusion.classes, version.classes);
    let correct = evaluation
        .predictions
        .iter()
        .filter(|p| p.true_class == p.predicted_class)
        .count();
    assert!((metrics.accuracy - correct as f64 / split.test as f64).abs() < 1e-12);
    for prediction in &evaluation.predictions {
        assert!((prediction.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    }
    assert_eq!(metrics.per_class.len(), 4);
    assert!(metrics.loss.is_finite());

    // Predict on a full-size JPEG with a black border.
    let jpeg = full_size_jpeg(PhantomClass::Glaucoma);
    let answer = client
        .predict(futures::stream::iter(predict_messages(&model, &jpeg)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((answer.original_width, answer.original_height), (400, 300));
    assert_eq!(answer.probabilities.len(), 4);
    let names: Vec<&str> = answer
        .probabilities
        .iter()
        .map(|p| p.class_name.as_str())
        .collect();
    assert_eq!(
        names,
        version
            .classes
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert!(
        (answer
            .probabilities
            .iter()
            .map(|p| p.probability)
            .sum::<f64>()
            - 1.0)
            .abs()
            < 1e-4
    );
    assert!(version.classes.contains(&answer.predicted_class));

    // Not an image → INVALID_ARGUMENT naming the file.
    let text = b"this is not a photograph".to_vec();
    let refused = client
        .predict(futures::stream::iter(predict_messages(&model, &text)))
        .await;
    assert_status(refused, tonic::Code::InvalidArgument, "eye.jpg");

    // Idempotent resubmission: same request id, same job, nothing new.
    let again = client
        .submit_train_classifier(request)
        .await
        .unwrap()
        .into_inner();
    assert!(!again.created);
    assert_eq!(again.job.unwrap().job_id, job_id);

    // A dataset with other classes cannot be evaluated with this model.
    phantom_dataset(&mut datasets, "three", 4, &["glaucoma", "myopia", "normal"]).await;
    let mismatch = client
        .evaluate(pb::EvaluateRequest {
            model: Some(model),
            dataset: Some(dataset_ref("three", 0)),
            ..Default::default()
        })
        .await;
    assert_status(mismatch, tonic::Code::FailedPrecondition, "classes");

    classifier.stop().await;
    dataset.stop().await;
}

/// Learning above chance: a width-1/4 GMD on 76 easy 32×32 phantom training images, 12
/// epochs of SGD (lr 0.005, momentum 0.9, batch 8). Four balanced classes: chance is 0.25.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learns_above_chance_on_phantom_classes() {
    let store = Store::in_memory();
    let dataset = start_dataset(store.clone()).await;
    let mut datasets = eyegan_dataset::client::DatasetClient::connect(&dataset.endpoint)
        .await
        .unwrap();
    phantom_dataset(&mut datasets, "eyes", 32, &[]).await;
    let classifier =
        start_classifier(store.clone(), ClassifierConfig::new(&dataset.endpoint)).await;
    let mut client = classifier_client(&classifier.endpoint).await;
    let job = client
        .submit_train_classifier(train_request("eyes", "learn", tiny_config(12)))
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    let watched = watch(&mut client, &job.job_id, None).await;
    assert_eq!(watched.job.state(), JobState::Succeeded);
    let history = watched.epochs;
    let (first, last) = (&history[0], &history[history.len() - 1]);
    let tail = &history[history.len() - 3..];
    let best_tail_accuracy = tail
        .iter()
        .map(|e| e.train_accuracy.max(e.val_accuracy.unwrap_or(0.0)))
        .fold(0.0, f64::max);
    assert!(
        last.train_loss < first.train_loss - 0.05,
        "training loss did not fall: {first:?} -> {last:?}"
    );
    assert!(
        best_tail_accuracy > 0.4,
        "accuracy {best_tail_accuracy} is not above chance (0.25)"
    );
    classifier.stop().await;
    dataset.stop().await;
}
