//! Shared helpers of the classifier's integration tests: the real dataset service and the
//! classifier service in this process on 127.0.0.1:0 over one in-memory store, a split phantom
//! dataset at 32×32, tiny GMD configs and job-watching conveniences.

#![allow(dead_code)]

use std::time::Duration;

use eyegan_classifier::ClassifierConfig;
use eyegan_dataset::client::DatasetClient;
use eyegan_dataset::DatasetConfig;
use eyegan_proto::classifier::v1 as pb;
use eyegan_proto::classifier::v1::classifier_service_client::ClassifierServiceClient;
use eyegan_proto::common::v1::{
    job_event::Payload, ClassifierEpochMetrics, DatasetRef, GetJobRequest, Job, JobState,
    WatchJobRequest,
};
use eyegan_proto::dataset::v1 as dpb;
use eyegan_store::Store;
use futures::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// Upper bound of any wait in these tests.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A service task with its stop switch.
pub struct Running<E> {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Debug> Running<E> {
    /// Signals shutdown and waits until the service returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap();
    }
}

async fn wait_healthy(endpoint: &str) {
    for _ in 0..200 {
        if eyegan_service::check_health(endpoint, "", Duration::from_secs(1))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{endpoint} never became healthy");
}

/// Binds 127.0.0.1:0, spawns `serve(listener, shutdown)` and waits until it is healthy.
async fn spawn_service<E, F, Fut>(serve: F) -> Running<E>
where
    E: Send + 'static,
    F: FnOnce(tokio::net::TcpListener, oneshot::Receiver<()>) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, stopped));
    wait_healthy(&endpoint).await;
    Running {
        endpoint,
        stop: Some(stop),
        task,
    }
}

/// Starts the dataset service on `store`.
pub async fn start_dataset(store: Store) -> Running<eyegan_service::ServeError> {
    spawn_service(|listener, stopped| {
        eyegan_dataset::run(listener, store, DatasetConfig::default(), async move {
            let _ = stopped.await;
        })
    })
    .await
}

/// Starts the classifier service on `store` with `config`.
pub async fn start_classifier(
    store: Store,
    config: ClassifierConfig,
) -> Running<eyegan_classifier::ClassifierError> {
    spawn_service(|listener, stopped| {
        eyegan_classifier::run(listener, store, config, async move {
            let _ = stopped.await;
        })
    })
    .await
}

/// A connected classifier client.
pub async fn classifier_client(endpoint: &str) -> ClassifierServiceClient<Channel> {
    ClassifierServiceClient::new(eyegan_service::connect(endpoint).await.unwrap())
}

/// Imports an easy four-class phantom dataset `name` (`per_class` images each, stored at 32×32)
/// and splits it 60/20/20. Returns the split version's summary.
pub async fn phantom_dataset(
    dataset: &mut DatasetClient,
    name: &str,
    per_class: u32,
    classes: &[&str],
) -> dpb::VersionSummary {
    dataset
        .import_phantom(dpb::ImportPhantomRequest {
            dataset_name: name.to_owned(),
            per_class,
            render_size: 64,
            seed: 5,
            classes: classes.iter().map(|c| (*c).to_owned()).collect(),
            options: Some(dpb::ImportOptions {
                target_size: 32,
                ..Default::default()
            }),
            difficulty: dpb::PhantomDifficulty::Easy as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    dataset
        .create_split(dpb::CreateSplitRequest {
            dataset: Some(dataset_ref(name, 0)),
            train_ratio: 0.6,
            val_ratio: 0.2,
            test_ratio: 0.2,
            seed: 3,
            group_regex: String::new(),
        })
        .await
        .unwrap()
}

/// A reference to `version` of `name`.
pub fn dataset_ref(name: &str, version: u64) -> DatasetRef {
    DatasetRef {
        dataset_id: name.to_owned(),
        version,
    }
}

/// The small GMD config of these tests: width 1/4 at the dataset's 32×32, SGD lr 0.02 with
/// momentum 0.9, batch 8, `epochs` epochs (width 1/8 stays on the ln 4 plateau far longer).
pub fn tiny_config(epochs: u32) -> pb::GmdConfig {
    pb::GmdConfig {
        width_multiplier: 0.25,
        epochs,
        batch_size: 8,
        lr: 0.005,
        momentum: Some(0.9),
        device: "cpu".into(),
        ..Default::default()
    }
}

/// A training request on `name`'s latest version.
pub fn train_request(
    name: &str,
    request_id: &str,
    config: pb::GmdConfig,
) -> pb::SubmitTrainClassifierRequest {
    pb::SubmitTrainClassifierRequest {
        request_id: request_id.to_owned(),
        dataset: Some(dataset_ref(name, 0)),
        config: Some(config),
        seed: 11,
        ..Default::default()
    }
}

/// What a watcher saw of a job until it finished (or until `stop_after` epochs were seen).
pub struct Watched {
    /// The last job snapshot.
    pub job: Job,
    /// Every `classifier_epoch` event, in order.
    pub epochs: Vec<ClassifierEpochMetrics>,
}

/// Watches `job_id` until it reaches a final state or `stop_after` epochs were reported.
pub async fn watch(
    client: &mut ClassifierServiceClient<Channel>,
    job_id: &str,
    stop_after: Option<usize>,
) -> Watched {
    let mut stream = client
        .watch_job(WatchJobRequest {
            job_id: job_id.to_owned(),
            after_sequence: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut epochs = Vec::new();
    let mut job = None;
    let collect = async {
        while let Some(message) = stream.next().await {
            let event = message.unwrap().event.unwrap();
            job = event.job.clone();
            if let Some(Payload::ClassifierEpoch(metrics)) = event.payload {
                epochs.push(metrics);
                if stop_after.is_some_and(|n| epochs.len() >= n) {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(PATIENCE, collect)
        .await
        .expect("job took too long");
    Watched {
        job: job.expect("no event received"),
        epochs,
    }
}

/// Polls `job_id` until it reaches a final state.
pub async fn wait_final(client: &mut ClassifierServiceClient<Channel>, job_id: &str) -> Job {
    let poll = async {
        loop {
            let job = client
                .get_job(GetJobRequest {
                    job_id: job_id.to_owned(),
                })
                .await
                .unwrap()
                .into_inner()
                .job
                .unwrap();
            if matches!(
                job.state(),
                JobState::Succeeded | JobState::Failed | JobState::Cancelled
            ) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(PATIENCE, poll)
        .await
        .expect("job never finished")
}

/// Asserts that `result` failed with `code` and a message naming `needle`.
pub fn assert_status<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: tonic::Code,
    needle: &str,
) {
    let status = result.expect_err("expected an error");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "message {:?} does not name {needle:?}",
        status.message()
    );
}
