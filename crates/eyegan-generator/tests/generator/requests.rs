//! Bad requests: INVALID_ARGUMENT naming the field, NOT_FOUND for missing references,
//! FAILED_PRECONDITION for a checkpoint of another class.

use eyegan_proto::common::v1::{score_filter::Rule, CheckpointRef, DatasetRef, ScoreFilter};
use eyegan_proto::generator::v1::{
    class_generation::Source, ClassGeneration, GanCheckpoints, SampleRequest, SubmitGenerateRequest,
};
use tonic::Code;

use crate::support::*;

fn request(class: &str, g: &CheckpointRef, d: Option<&CheckpointRef>) -> SubmitGenerateRequest {
    SubmitGenerateRequest {
        classes: vec![ClassGeneration {
            class_name: class.into(),
            source: Some(Source::Checkpoints(GanCheckpoints {
                generator: Some(g.clone()),
                discriminator: d.cloned(),
            })),
            count: 3,
        }],
        base_dataset: Some(base_ref()),
        device: "cpu".into(),
        ..Default::default()
    }
}

fn expect(result: Result<impl std::fmt::Debug, tonic::Status>, code: Code, needle: &str) {
    let status = result.expect_err("the request must fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "{needle:?} not in {:?}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_naming_the_field() {
    let cluster = Cluster::start().await;
    phantom_dataset(&mut cluster.datasets().await).await;
    let (_, _, g, d) = stored_gan(&cluster.store, "trainer-job-4", "dr", 1).await;
    let mut client = cluster.client().await;
    let good = request("dr", &g, Some(&d));

    let mut no_classes = good.clone();
    no_classes.classes.clear();
    expect(
        client.submit_generate(no_classes).await,
        Code::InvalidArgument,
        "classes",
    );

    let mut zero = good.clone();
    zero.classes[0].count = 0;
    expect(
        client.submit_generate(zero).await,
        Code::InvalidArgument,
        "classes[0].count",
    );

    let mut twice = good.clone();
    twice.classes.push(twice.classes[0].clone());
    expect(
        client.submit_generate(twice).await,
        Code::InvalidArgument,
        "classes[1].class_name",
    );

    let mut unknown = request("cataract", &g, Some(&d));
    unknown.classes[0].class_name = "cataract".into();
    expect(
        client.submit_generate(unknown).await,
        Code::InvalidArgument,
        "classes[0].class_name",
    );

    let mut score = good.clone();
    score.filter = Some(ScoreFilter {
        rule: Some(Rule::MinScore(1.5)),
    });
    expect(
        client.submit_generate(score).await,
        Code::InvalidArgument,
        "filter.min_score",
    );

    let no_d = request("dr", &g, None);
    expect(
        client.submit_generate(no_d).await,
        Code::InvalidArgument,
        "classes[0].checkpoints.discriminator",
    );

    let mut device = good.clone();
    device.device = "tpu:0".into();
    expect(
        client.submit_generate(device).await,
        Code::InvalidArgument,
        "device",
    );

    let mut no_base = good.clone();
    no_base.base_dataset = None;
    expect(
        client.submit_generate(no_base).await,
        Code::InvalidArgument,
        "base_dataset",
    );

    // Missing references.
    let missing = CheckpointRef {
        key: "jobs/trainer/nope/checkpoints/00000000000000000001.json".into(),
        ..Default::default()
    };
    expect(
        client
            .submit_generate(request("dr", &missing, Some(&d)))
            .await,
        Code::NotFound,
        "classes[0].checkpoints.generator",
    );
    let mut other_dataset = good.clone();
    other_dataset.base_dataset = Some(DatasetRef {
        dataset_id: "nothing".into(),
        version: 1,
    });
    expect(
        client.submit_generate(other_dataset).await,
        Code::NotFound,
        "nothing",
    );

    // A checkpoint trained on another class.
    expect(
        client
            .submit_generate(request("normal", &g, Some(&d)))
            .await,
        Code::FailedPrecondition,
        "trained on class",
    );

    // Sample: same rules.
    let sample = |count, generator: &CheckpointRef| SampleRequest {
        checkpoints: Some(GanCheckpoints {
            generator: Some(generator.clone()),
            discriminator: None,
        }),
        count,
        device: "cpu".into(),
        ..Default::default()
    };
    expect(
        client.sample(sample(0, &g)).await,
        Code::InvalidArgument,
        "count",
    );
    expect(
        client.sample(sample(2000, &g)).await,
        Code::InvalidArgument,
        "count",
    );
    expect(
        client.sample(sample(2, &missing)).await,
        Code::NotFound,
        "checkpoints.generator",
    );
    expect(
        client.sample(SampleRequest::default()).await,
        Code::InvalidArgument,
        "checkpoints",
    );

    // Nothing was submitted.
    let jobs = client
        .list_jobs(eyegan_proto::common::v1::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .jobs;
    assert!(jobs.is_empty(), "{jobs:?}");
}
