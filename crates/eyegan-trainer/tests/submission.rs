//! Submission: bad requests are INVALID_ARGUMENT naming the field, missing datasets NOT_FOUND,
//! and two clients submitting at once under a limit of one both complete, one after the other.

mod support;

use eyegan_proto::common::v1::{DatasetRef, JobState};
use eyegan_proto::dataset::v1::Split;
use eyegan_proto::trainer::v1::gan_config;
use eyegan_store::Store;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_field_and_missing_datasets_are_not_found() {
    let setup = Setup::start(Store::in_memory(), 4, 1).await;
    let mut client = setup.client().await;
    let class_size = setup.class_train_images();
    let test_images = setup
        .version
        .class_counts
        .iter()
        .find(|counts| counts.class_name == CLASS)
        .unwrap()
        .test;

    let mut unknown_class = request("", tiny_config(5));
    unknown_class.class_name = "cataract".into();
    assert_invalid(client.submit_train_gan(unknown_class).await, "class_name");

    let mut no_class = request("", tiny_config(5));
    no_class.class_name = String::new();
    assert_invalid(client.submit_train_gan(no_class).await, "class_name");

    if test_images == 0 {
        let mut empty = request("", tiny_config(5));
        empty.split = Split::Test as i32;
        assert_invalid(client.submit_train_gan(empty).await, "class_name");
    }

    let mut big_batch = tiny_config(5);
    big_batch.batch_size = u32::try_from(class_size).unwrap() + 1;
    assert_invalid(
        client.submit_train_gan(request("", big_batch)).await,
        "config.batch_size",
    );

    let mut no_epochs = tiny_config(5);
    no_epochs.length = Some(gan_config::Length::Epochs(0));
    assert_invalid(
        client.submit_train_gan(request("", no_epochs)).await,
        "config.epochs",
    );

    let mut nan_lr = tiny_config(5);
    nan_lr.lr = f64::NAN;
    assert_invalid(
        client.submit_train_gan(request("", nan_lr)).await,
        "config.lr",
    );

    let mut beta = tiny_config(5);
    beta.beta2 = 1.5;
    assert_invalid(
        client.submit_train_gan(request("", beta)).await,
        "config.beta2",
    );

    let mut size = tiny_config(5);
    size.image_size = 64;
    assert_invalid(
        client.submit_train_gan(request("", size)).await,
        "config.image_size",
    );

    let mut missing = request("", tiny_config(5));
    missing.dataset = Some(DatasetRef {
        dataset_id: "nope".into(),
        version: 0,
    });
    let status = client.submit_train_gan(missing).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");

    let mut missing_version = request("", tiny_config(5));
    missing_version.dataset = Some(DatasetRef {
        dataset_id: DATASET.into(),
        version: 9,
    });
    let status = client.submit_train_gan(missing_version).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");

    // Nothing was accepted.
    let jobs = client
        .list_jobs(eyegan_proto::common::v1::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .jobs;
    assert!(jobs.is_empty(), "{jobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_at_once_both_complete_one_queued() {
    let setup = Setup::start(Store::in_memory(), 8, 1).await;
    let endpoint = setup.trainer.endpoint.clone();
    let submit = |request_id: &'static str| {
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let mut client = support::client(&endpoint).await;
            client
                .submit_train_gan(request(request_id, tiny_config(6)))
                .await
                .unwrap()
                .into_inner()
                .job
                .unwrap()
        })
    };
    let (a, b) = tokio::join!(submit("client-a"), submit("client-b"));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.job_id, b.job_id);

    let mut client = setup.client().await;
    let a = wait_final(&mut client, &a.job_id).await;
    let b = wait_final(&mut client, &b.job_id).await;
    for job in [&a, &b] {
        assert_eq!(job.state(), JobState::Succeeded, "{job:?}");
        assert_eq!(job.progress.clone().unwrap().current, 6);
    }
    // With one worker the runs did not overlap: one waited in the queue for the other.
    let at = |job: &eyegan_proto::common::v1::Job| {
        let started = job.started_at.unwrap();
        (started.seconds, started.nanos)
    };
    let (first, second) = if at(&a) < at(&b) { (&a, &b) } else { (&b, &a) };
    let finished = first.finished_at.unwrap();
    let started = second.started_at.unwrap();
    assert!(
        (started.seconds, started.nanos) >= (finished.seconds, finished.nanos),
        "second started at {started:?} before the first finished at {finished:?}"
    );
}
