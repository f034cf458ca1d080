//! Shared helpers: the real dataset and generator services in-process on 127.0.0.1:0 over one
//! in-memory store, a phantom dataset with a split, and G/D checkpoints stored the way the
//! trainer stores them.

use std::time::Duration;

use candle_core::Device;
use eyegan_dataset::client::DatasetClient;
use eyegan_generator::{
    GeneratorConfig, DISCRIMINATOR_FILE, GENERATOR_FILE, OPTIMIZER_FILE, STATE_FILE,
};
use eyegan_jobs::{CheckpointFile, JobCheckpoints, JobLimits};
use eyegan_nn::tensor_io::{safetensors_to_tensors, tensors_to_safetensors};
use eyegan_nn::{
    load_gan_models, DcganConfig, Discriminator, GanTrainer, GanTrainingConfig, Generator,
};
use eyegan_proto::common::v1::{
    score_filter::Rule, CheckpointRef, DatasetRef, Job, JobState, Network, ScoreFilter,
    WatchJobRequest, WatchJobResponse,
};
use eyegan_proto::dataset::v1 as dpb;
use eyegan_proto::generator::v1::generator_service_client::GeneratorServiceClient;
use eyegan_proto::generator::v1::{
    class_generation::Source, ClassGeneration, GanCheckpoints, SubmitGenerateRequest,
};
use eyegan_store::Store;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// Upper bound for any wait.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// The phantom dataset's id.
pub const DATASET: &str = "phantom";

/// A service running in this process.
pub struct Running {
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops the service gracefully and waits until it has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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

/// Both services over one store.
pub struct Cluster {
    pub store: Store,
    pub dataset: Running,
    pub generator: Running,
}

impl Cluster {
    /// Starts the dataset and generator services on a fresh in-memory store.
    pub async fn start() -> Self {
        let store = Store::in_memory();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(eyegan_dataset::run(
            listener,
            store.clone(),
            Default::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        wait_healthy(&endpoint).await;
        let dataset = Running {
            endpoint,
            stop: Some(stop),
            task: None,
        };
        let generator = start_generator(&store, &dataset.endpoint).await;
        Self {
            store,
            dataset,
            generator,
        }
    }

    pub async fn datasets(&self) -> DatasetClient {
        DatasetClient::connect(&self.dataset.endpoint)
            .await
            .unwrap()
    }

    pub async fn client(&self) -> GeneratorServiceClient<Channel> {
        generator_client(&self.generator.endpoint).await
    }
}

/// A client of the generator service at `endpoint`.
pub async fn generator_client(endpoint: &str) -> GeneratorServiceClient<Channel> {
    GeneratorServiceClient::new(eyegan_service::connect(endpoint).await.unwrap())
}

/// Starts a generator service on `store` talking to the dataset service at `dataset_endpoint`.
pub async fn start_generator(store: &Store, dataset_endpoint: &str) -> Running {
    let store = store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let config = GeneratorConfig {
        dataset_endpoint: dataset_endpoint.to_owned(),
        limits: JobLimits::default(),
    };
    let task = tokio::spawn(async move {
        eyegan_generator::run(listener, store, config, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    wait_healthy(&endpoint).await;
    Running {
        endpoint,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Imports a 32×32 phantom dataset with classes `dr` and `normal` and splits it; returns
/// version 1's summary.
pub async fn phantom_dataset(client: &mut DatasetClient) -> dpb::VersionSummary {
    client
        .import_phantom(dpb::ImportPhantomRequest {
            dataset_name: DATASET.into(),
            per_class: 6,
            render_size: 64,
            seed: 5,
            classes: vec!["diabetic_retinopathy".into(), "normal".into()],
            options: Some(dpb::ImportOptions {
                target_size: 32,
                class_mapping: [("diabetic_retinopathy".to_owned(), "dr".to_owned())].into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .create_split(dpb::CreateSplitRequest {
            dataset: Some(base_ref()),
            seed: 3,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Version 1 of the phantom dataset.
pub fn base_ref() -> DatasetRef {
    DatasetRef {
        dataset_id: DATASET.into(),
        version: 1,
    }
}

/// Factor applied to every convolution weight of the fixture GAN: DCGAN's N(0, 0.02) init makes
/// every image and score nearly identical; larger weights give D a spread of scores.
const WEIGHT_SCALE: f64 = 6.0;

/// A tiny GAN (32×32, nz 16, ngf = ndf = 8) initialised from `seed`, with widened weights,
/// saved the way the trainer saves it; returns G and D loaded back from the stored blobs, and
/// the checkpoint's G and D references.
pub async fn stored_gan(
    store: &Store,
    job_id: &str,
    class_name: &str,
    seed: u64,
) -> (Generator, Discriminator, CheckpointRef, CheckpointRef) {
    let training = GanTrainingConfig {
        batch_size: 4,
        sample_count: 4,
        ..GanTrainingConfig::paper()
    };
    let trainer = GanTrainer::new(DcganConfig::tiny(), training, seed, &Device::Cpu).unwrap();
    let blobs = trainer.checkpoint().unwrap();
    let generator = widened(&blobs.generator);
    let discriminator = widened(&blobs.discriminator);
    let (_, g, d) =
        load_gan_models(&blobs.state_json, &generator, &discriminator, &Device::Cpu).unwrap();
    let files = vec![
        CheckpointFile::new(STATE_FILE, blobs.state_json),
        CheckpointFile::new(GENERATOR_FILE, generator),
        CheckpointFile::new(DISCRIMINATOR_FILE, discriminator),
        CheckpointFile::new(OPTIMIZER_FILE, blobs.optimizer),
    ];
    let saved = JobCheckpoints::new(store.clone(), "trainer", job_id, 0)
        .save(1, files, &serde_json::json!({ "class_name": class_name }))
        .await
        .unwrap();
    let reference = |network: Network| CheckpointRef {
        key: saved.key.clone(),
        job_id: job_id.to_owned(),
        network: network as i32,
        class_name: class_name.to_owned(),
        ..Default::default()
    };
    (
        g,
        d,
        reference(Network::Generator),
        reference(Network::Discriminator),
    )
}

/// The safetensors blob with every convolution weight (rank 4) multiplied by [`WEIGHT_SCALE`].
fn widened(blob: &[u8]) -> Vec<u8> {
    let tensors = safetensors_to_tensors(blob, &Device::Cpu, "fixture").unwrap();
    let scaled: Vec<(String, candle_core::Tensor)> = tensors
        .into_iter()
        .map(|(name, tensor)| {
            let tensor = if tensor.rank() == 4 {
                tensor.affine(WEIGHT_SCALE, 0.0).unwrap()
            } else {
                tensor
            };
            (name, tensor)
        })
        .collect();
    tensors_to_safetensors(&scaled).unwrap()
}

/// Waits until the job is final and returns it.
pub async fn wait_final(client: &mut GeneratorServiceClient<Channel>, job_id: &str) -> Job {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let job = client
            .get_job(eyegan_proto::common::v1::GetJobRequest {
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
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {job_id} did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every image of a version (optionally one split).
pub async fn images(
    client: &mut DatasetClient,
    version: u64,
    split: dpb::Split,
) -> Vec<dpb::Image> {
    use futures::StreamExt;
    let mut stream = client
        .raw()
        .stream_images(dpb::StreamImagesRequest {
            dataset: Some(DatasetRef {
                dataset_id: DATASET.into(),
                version,
            }),
            split: split as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut all = Vec::new();
    while let Some(batch) = stream.next().await {
        all.extend(batch.unwrap().images);
    }
    all
}

/// A class generated from the G/D checkpoints `g` and `d`.
pub fn from_checkpoints(
    class: &str,
    g: CheckpointRef,
    d: CheckpointRef,
    count: u64,
) -> ClassGeneration {
    ClassGeneration {
        class_name: class.into(),
        source: Some(Source::Checkpoints(GanCheckpoints {
            generator: Some(g),
            discriminator: Some(d),
        })),
        count,
    }
}

/// A filter keeping images with D(G(z)) >= `score`.
pub fn min_score(score: f64) -> Option<ScoreFilter> {
    Some(ScoreFilter {
        rule: Some(Rule::MinScore(score)),
    })
}

/// Submits a generation (which must be accepted) and returns its job.
pub async fn submit(
    client: &mut GeneratorServiceClient<Channel>,
    request: SubmitGenerateRequest,
) -> Job {
    client
        .submit_generate(request)
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap()
}

/// The event stream of a job, from a snapshot on.
pub async fn watch(
    client: &mut GeneratorServiceClient<Channel>,
    job_id: &str,
) -> tonic::Streaming<WatchJobResponse> {
    client
        .watch_job(WatchJobRequest {
            job_id: job_id.to_owned(),
            after_sequence: 0,
        })
        .await
        .unwrap()
        .into_inner()
}
