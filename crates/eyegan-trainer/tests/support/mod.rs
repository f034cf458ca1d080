//! Shared helpers of the trainer's integration tests: the real dataset and trainer services on
//! 127.0.0.1:0 over one store, a phantom dataset, tiny GAN configs and gRPC conveniences.

#![allow(dead_code)]

use std::time::Duration;

use eyegan_dataset::client::DatasetClient;
use eyegan_dataset::DatasetConfig;
use eyegan_jobs::JobLimits;
use eyegan_proto::common::v1::{
    job_event::Payload, DatasetRef, GanIterationMetrics, GetJobRequest, Job, JobState,
    WatchJobRequest,
};
use eyegan_proto::dataset::v1 as dpb;
use eyegan_proto::trainer::v1::trainer_service_client::TrainerServiceClient;
use eyegan_proto::trainer::v1::{
    gan_config, GanConfig, GetTrainingMetricsRequest, SubmitTrainGanRequest,
};
use eyegan_store::Store;
use eyegan_trainer::TrainerConfig;
use futures::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// Upper bound for any wait (tests finish far sooner).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Name of the phantom dataset.
pub const DATASET: &str = "phantom";
/// The class the tests train on.
pub const CLASS: &str = "normal";

/// A service running in this process.
pub struct Running<E> {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Debug> Running<E> {
    /// Stops the service and waits until it has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("service did not stop in time")
            .unwrap()
            .unwrap();
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
    panic!("the service at {endpoint} never became healthy");
}

/// Serves `serve(listener, shutdown)` on 127.0.0.1:0 and waits until it is healthy.
async fn spawn_service<E, F, Fut>(serve: F) -> Running<E>
where
    E: Send + 'static,
    F: FnOnce(tokio::net::TcpListener, ShutdownSignal) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown: ShutdownSignal = Box::pin(async move {
        let _ = stopped.await;
    });
    let task = tokio::spawn(serve(listener, shutdown));
    wait_healthy(&endpoint).await;
    Running {
        endpoint,
        stop: Some(stop),
        task,
    }
}

/// The shutdown future handed to a service.
type ShutdownSignal = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Starts the dataset service on `store`.
pub async fn start_dataset(store: Store) -> Running<eyegan_service::ServeError> {
    spawn_service(|listener, shutdown| {
        eyegan_dataset::run(listener, store, DatasetConfig::default(), shutdown)
    })
    .await
}

/// Starts the trainer on `store` with at most `max_running` jobs at once.
pub async fn start_trainer(
    store: Store,
    dataset_endpoint: &str,
    max_running: usize,
) -> Running<eyegan_trainer::TrainerError> {
    let config = TrainerConfig {
        dataset_endpoint: dataset_endpoint.to_owned(),
        limits: JobLimits {
            max_running,
            ..JobLimits::default()
        },
    };
    spawn_service(|listener, shutdown| eyegan_trainer::run(listener, store, config, shutdown)).await
}

/// Imports a phantom dataset (`normal` and `glaucoma`, `per_class` each, 32x32) and splits it.
pub async fn import_phantom(dataset_endpoint: &str, per_class: u32) -> dpb::VersionSummary {
    let mut client = DatasetClient::connect(dataset_endpoint).await.unwrap();
    client
        .import_phantom(dpb::ImportPhantomRequest {
            dataset_name: DATASET.into(),
            per_class,
            render_size: 48,
            seed: 5,
            classes: vec!["normal".into(), "glaucoma".into()],
            options: Some(dpb::ImportOptions {
                target_size: 32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .create_split(dpb::CreateSplitRequest {
            dataset: Some(DatasetRef {
                dataset_id: DATASET.into(),
                version: 1,
            }),
            seed: 3,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Dataset and trainer on one fresh in-memory store, with a phantom dataset imported.
pub struct Setup {
    pub store: Store,
    pub dataset: Running<eyegan_service::ServeError>,
    pub trainer: Running<eyegan_trainer::TrainerError>,
    pub version: dpb::VersionSummary,
}

impl Setup {
    /// Starts everything on `store` (trainer limit `max_running`).
    pub async fn start(store: Store, per_class: u32, max_running: usize) -> Self {
        let dataset = start_dataset(store.clone()).await;
        let version = import_phantom(&dataset.endpoint, per_class).await;
        let trainer = start_trainer(store.clone(), &dataset.endpoint, max_running).await;
        Self {
            store,
            dataset,
            trainer,
            version,
        }
    }

    /// A trainer client.
    pub async fn client(&self) -> TrainerServiceClient<Channel> {
        client(&self.trainer.endpoint).await
    }

    /// Training images of [`CLASS`].
    pub fn class_train_images(&self) -> u64 {
        self.version
            .class_counts
            .iter()
            .find(|counts| counts.class_name == CLASS)
            .map(|counts| counts.train)
            .unwrap()
    }
}

/// A trainer client for `endpoint`.
pub async fn client(endpoint: &str) -> TrainerServiceClient<Channel> {
    TrainerServiceClient::new(eyegan_service::connect(endpoint).await.unwrap())
}

/// A tiny config: 32x32, nz 16, widths 8, batch 4, `iterations` long.
pub fn tiny_config(iterations: u64) -> GanConfig {
    GanConfig {
        image_size: 32,
        nz: 16,
        ngf: 8,
        ndf: 8,
        length: Some(gan_config::Length::Iterations(iterations)),
        batch_size: 4,
        lr: 5e-4,
        checkpoint_every: 10,
        sample_every: 10,
        sample_grid_images: 16,
        ..Default::default()
    }
}

/// A request for [`CLASS`] of the phantom dataset.
pub fn request(request_id: &str, config: GanConfig) -> SubmitTrainGanRequest {
    SubmitTrainGanRequest {
        request_id: request_id.into(),
        dataset: Some(DatasetRef {
            dataset_id: DATASET.into(),
            version: 0,
        }),
        class_name: CLASS.into(),
        config: Some(config),
        seed: 11,
        ..Default::default()
    }
}

/// Submits `request` and returns the job id.
pub async fn submit(
    client: &mut TrainerServiceClient<Channel>,
    request: SubmitTrainGanRequest,
) -> String {
    client
        .submit_train_gan(request)
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap()
        .job_id
}

/// What a watcher saw.
#[derive(Debug, Default)]
pub struct Watched {
    /// Iterations of the `gan_iteration` events, in order.
    pub iterations: Vec<u64>,
    /// Artifact names of the `artifact_stored` events.
    pub artifacts: Vec<String>,
    /// The last job snapshot.
    pub last: Option<Job>,
}

/// Watches a job until the stream ends, or until `until` returns true for an event.
pub async fn watch(
    client: &mut TrainerServiceClient<Channel>,
    job_id: &str,
    mut until: impl FnMut(&Watched) -> bool,
) -> Watched {
    let mut stream = client
        .watch_job(WatchJobRequest {
            job_id: job_id.into(),
            after_sequence: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut watched = Watched::default();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, stream.next()).await {
        let Ok(message) = message else { break };
        let event = message.event.unwrap();
        match event.payload {
            Some(Payload::GanIteration(metrics)) => watched.iterations.push(metrics.iteration),
            Some(Payload::ArtifactStored(artifact)) => watched.artifacts.push(artifact.name),
            _ => {}
        }
        watched.last = event.job;
        if until(&watched) {
            break;
        }
    }
    watched
}

/// Polls until the job is in a final state and returns it.
pub async fn wait_final(client: &mut TrainerServiceClient<Channel>, job_id: &str) -> Job {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let job = client
            .get_job(GetJobRequest {
                job_id: job_id.into(),
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
        assert!(
            tokio::time::Instant::now() < deadline,
            "job never finished: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every stored metric row of a job.
pub async fn metrics(
    client: &mut TrainerServiceClient<Channel>,
    job_id: &str,
) -> Vec<GanIterationMetrics> {
    let mut stream = client
        .get_training_metrics(GetTrainingMetricsRequest {
            job_id: job_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut rows = Vec::new();
    while let Some(message) = stream.next().await {
        rows.extend(message.unwrap().metrics);
    }
    rows
}

/// Asserts INVALID_ARGUMENT whose message names `field`.
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, tonic::Status>, field: &str) {
    let status = result.expect_err("expected INVALID_ARGUMENT");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(field),
        "message {:?} does not name {field}",
        status.message()
    );
}
