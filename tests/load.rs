//! Issue 9 load test: 20 clients at once import a dataset each, split it, read it back and
//! submit a GAN and a classifier job against one set of service binaries. Every request must be
//! answered — success, or RESOURCE_EXHAUSTED when a limit (queue length, concurrent imports) is
//! reached — every accepted job must finish and be listed by its service (no job lost), and the
//! services' peak memory is measured and bounded.
//!
//! About 20 s on 2 cores; `--nocapture` prints the counts and each service's peak RSS:
//! `cargo test --workspace --test load -- --nocapture`

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use eyegan_e2e::ServiceSet;
use eyegan_orchestrator::jobs::JobClient;
use eyegan_proto::classifier::v1::classifier_service_client::ClassifierServiceClient;
use eyegan_proto::classifier::v1::{GmdConfig, SubmitTrainClassifierRequest};
use eyegan_proto::common::v1::{DatasetRef, ListJobsRequest, ListJobsResponse};
use eyegan_proto::dataset::v1::dataset_service_client::DatasetServiceClient;
use eyegan_proto::dataset::v1::{
    CreateSplitRequest, GetVersionRequest, ImportOptions, ImportPhantomRequest, Split,
};
use eyegan_proto::trainer::v1::trainer_service_client::TrainerServiceClient;
use eyegan_proto::trainer::v1::{gan_config, GanConfig, SubmitTrainGanRequest};
use eyegan_service::ServiceChannel;
use tonic::Code;

/// Clients at once.
const CLIENTS: usize = 20;

/// Peak resident memory any one service may reach under this load.
const MAX_PEAK_RSS_MIB: u64 = 2048;

/// How long every accepted job gets to finish.
const JOBS_TIMEOUT: Duration = Duration::from_secs(900);

/// What happened to one client's requests.
#[derive(Debug, Default)]
struct Outcome {
    requests: usize,
    succeeded: usize,
    limited: usize,
    /// Requests answered with anything else (must stay empty).
    unclear: Vec<String>,
    gan_job: Option<String>,
    classifier_job: Option<String>,
}

impl Outcome {
    /// Records one answer; returns the response when it succeeded.
    fn answer<T>(
        &mut self,
        what: &str,
        result: Result<tonic::Response<T>, tonic::Status>,
    ) -> Option<T> {
        self.requests += 1;
        match result {
            Ok(response) => {
                self.succeeded += 1;
                Some(response.into_inner())
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                self.limited += 1;
                None
            }
            Err(status) => {
                self.unclear.push(format!("{what}: {status}"));
                None
            }
        }
    }
}

struct Endpoints {
    dataset: String,
    trainer: String,
    classifier: String,
}

async fn channel(url: &str) -> ServiceChannel {
    eyegan_service::service_channel(url).expect("a valid endpoint URL")
}

/// One client: import, split, read back, submit a GAN and a classifier job.
async fn client(index: usize, endpoints: &Endpoints) -> Outcome {
    let mut outcome = Outcome::default();
    let mut dataset = DatasetServiceClient::new(channel(&endpoints.dataset).await);
    let name = format!("load-{index}");
    let imported = dataset
        .import_phantom(ImportPhantomRequest {
            dataset_name: name.clone(),
            per_class: 8,
            render_size: 64,
            seed: index as u64,
            classes: Vec::new(),
            options: Some(ImportOptions {
                target_size: 32,
                ..Default::default()
            }),
            description: "load test".into(),
            difficulty: 0,
        })
        .await;
    if outcome.answer("import", imported).is_none() {
        return outcome;
    }
    let reference = DatasetRef {
        dataset_id: name.clone(),
        version: 1,
    };
    let split = dataset
        .create_split(CreateSplitRequest {
            dataset: Some(reference.clone()),
            train_ratio: 0.5,
            val_ratio: 0.25,
            test_ratio: 0.25,
            seed: 1,
            group_regex: String::new(),
        })
        .await;
    if outcome.answer("split", split).is_none() {
        return outcome;
    }
    let read = dataset
        .get_version(GetVersionRequest {
            dataset: Some(reference.clone()),
        })
        .await;
    outcome.answer("get version", read);

    let mut trainer = TrainerServiceClient::new(channel(&endpoints.trainer).await);
    let gan = trainer
        .submit_train_gan(SubmitTrainGanRequest {
            request_id: format!("load-gan-{index}"),
            dataset: Some(reference.clone()),
            split: Split::Train as i32,
            class_name: "normal".into(),
            config: Some(GanConfig {
                image_size: 32,
                nz: 16,
                ngf: 8,
                ndf: 8,
                length: Some(gan_config::Length::Iterations(4)),
                batch_size: 2,
                lr: 0.0002,
                beta1: 0.5,
                beta2: 0.999,
                ..Default::default()
            }),
            seed: index as u64,
            during_training: None,
        })
        .await;
    outcome.gan_job = outcome
        .answer("submit GAN", gan)
        .and_then(|r| r.job)
        .map(|j| j.job_id);

    let mut classifier = ClassifierServiceClient::new(channel(&endpoints.classifier).await);
    let trained = classifier
        .submit_train_classifier(SubmitTrainClassifierRequest {
            request_id: format!("load-classifier-{index}"),
            dataset: Some(reference),
            train_split: Split::Train as i32,
            val_split: Split::Val as i32,
            skip_validation: false,
            config: Some(GmdConfig {
                image_size: 32,
                width_multiplier: 0.125,
                epochs: 1,
                batch_size: 8,
                lr: 0.01,
                ..Default::default()
            }),
            seed: index as u64,
        })
        .await;
    outcome.classifier_job = outcome
        .answer("submit classifier", trained)
        .and_then(|r| r.job)
        .map(|j| j.job_id);
    outcome
}

/// Follows every job in `ids` to its end with the orchestrator's job follower; panics unless
/// each one succeeded.
async fn wait_succeeded(service: &JobClient, ids: &[String], logs: impl Fn() -> String) {
    for id in ids {
        let followed = tokio::time::timeout(JOBS_TIMEOUT, service.clone().wait(id, |_| {})).await;
        match followed {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("{error}\n{}", logs()),
            Err(_) => panic!(
                "job {id} did not finish within {JOBS_TIMEOUT:?}\n{}",
                logs()
            ),
        }
    }
}

/// The ids of every job a service lists.
fn listed(response: Result<tonic::Response<ListJobsResponse>, tonic::Status>) -> BTreeSet<String> {
    let response = response.expect("ListJobs answers").into_inner();
    assert!(
        response.next_page_token.is_empty(),
        "more jobs than one page"
    );
    response.jobs.into_iter().map(|job| job.job_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_at_once_get_answers_lose_no_job_and_memory_stays_bounded() {
    let binaries = eyegan_e2e::binaries!();
    let dir = tempfile::tempdir().unwrap();
    let services = ServiceSet::start(&binaries, dir.path(), &[]).await;
    let endpoints = Endpoints {
        dataset: services.dataset.endpoint.clone(),
        trainer: services.trainer.endpoint.clone(),
        classifier: services.classifier.endpoint.clone(),
    };

    let started = Instant::now();
    let outcomes = futures::future::join_all((0..CLIENTS).map(|i| client(i, &endpoints))).await;
    let requests: usize = outcomes.iter().map(|o| o.requests).sum();
    let succeeded: usize = outcomes.iter().map(|o| o.succeeded).sum();
    let limited: usize = outcomes.iter().map(|o| o.limited).sum();
    let unclear: Vec<&String> = outcomes.iter().flat_map(|o| &o.unclear).collect();
    println!(
        "{CLIENTS} clients: {requests} requests, {succeeded} succeeded, {limited} RESOURCE_EXHAUSTED, \
         {} other, in {:.1} s",
        unclear.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        unclear.is_empty(),
        "unclear answers: {unclear:#?}\n{}",
        services.logs()
    );
    assert_eq!(succeeded + limited, requests);

    // Every accepted job finishes and is listed by its service.
    let gan_jobs: Vec<String> = outcomes.iter().filter_map(|o| o.gan_job.clone()).collect();
    let classifier_jobs: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.classifier_job.clone())
        .collect();
    assert!(!gan_jobs.is_empty() && !classifier_jobs.is_empty());
    let mut trainer = TrainerServiceClient::new(channel(&endpoints.trainer).await);
    let mut classifier = ClassifierServiceClient::new(channel(&endpoints.classifier).await);
    wait_succeeded(&JobClient::Trainer(trainer.clone()), &gan_jobs, || {
        services.logs()
    })
    .await;
    wait_succeeded(
        &JobClient::Classifier(classifier.clone()),
        &classifier_jobs,
        || services.logs(),
    )
    .await;
    let list = ListJobsRequest {
        states: Vec::new(),
        page_size: 1000,
        page_token: String::new(),
    };
    let listed_gans = listed(trainer.list_jobs(list.clone()).await);
    let listed_classifiers = listed(classifier.list_jobs(list).await);
    assert_eq!(
        listed_gans,
        gan_jobs.iter().cloned().collect(),
        "trainer jobs lost or extra"
    );
    assert_eq!(
        listed_classifiers,
        classifier_jobs.iter().cloned().collect(),
        "classifier jobs lost or extra"
    );
    println!(
        "jobs accepted: {} GAN, {} classifier; all succeeded and listed; total {:.1} s",
        gan_jobs.len(),
        classifier_jobs.len(),
        started.elapsed().as_secs_f64()
    );

    for (name, service) in services.all() {
        let peak = service.peak_rss_kib().expect("/proc is readable") / 1024;
        println!("peak RSS {name}: {peak} MiB");
        assert!(peak < MAX_PEAK_RSS_MIB, "{name} peaked at {peak} MiB");
    }
    eyegan_e2e::store_audit::verify(&services.store_dir);
}
