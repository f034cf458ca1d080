//! The four services started in this process on 127.0.0.1:0 over a `file://` store in the run
//! folder: the same server code as the binaries, reached over real gRPC.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use eyegan_jobs::JobLimits;
use eyegan_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::endpoints::Endpoints;

/// Jobs one embedded service accepts into its queue (every GAN of an experiment is submitted at
/// once).
const EMBEDDED_MAX_QUEUED: usize = 1024;

/// How long the services get to report SERVING.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// After this long without SERVING, [`wait_until_serving`] logs what it is waiting for.
const SLOW_START: Duration = Duration::from_secs(5);

/// Why the embedded services did not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The store folder could not be created or opened.
    #[error("cannot open the store at {path}: {reason}")]
    Store {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// No local port could be bound.
    #[error("cannot bind 127.0.0.1:0 for the {service} service: {source}")]
    Bind {
        /// Which service.
        service: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A service did not become healthy.
    #[error("the {service} service at {url} did not report SERVING within {READY_TIMEOUT:?}: {reason}{hint}")]
    NotReady {
        /// Which service.
        service: &'static str,
        /// Where it was asked.
        url: String,
        /// The last health answer.
        reason: String,
        /// What to check for an `https://` endpoint (a TLS mismatch looks like silence).
        hint: &'static str,
    },
    /// A service stopped with an error.
    #[error("the embedded {service} service failed: {reason}")]
    Failed {
        /// Which service.
        service: &'static str,
        /// Its error.
        reason: String,
    },
}

type ServiceTask = JoinHandle<Result<(), String>>;

/// The running embedded services.
#[derive(Debug)]
pub struct EmbeddedServices {
    endpoints: Endpoints,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, ServiceTask)>,
}

impl EmbeddedServices {
    /// Starts dataset, trainer, generator and classifier over a store in `store_dir` and waits
    /// until every one reports SERVING.
    pub async fn start(store_dir: &Path) -> Result<Self, EmbeddedError> {
        let store = open_store(store_dir)?;
        let (stop, stopped) = watch::channel(false);
        let limits = JobLimits {
            max_queued: EMBEDDED_MAX_QUEUED,
            ..JobLimits::default()
        };
        let (dataset_listener, dataset) = bind("dataset").await?;
        let (trainer_listener, trainer) = bind("trainer").await?;
        let (generator_listener, generator) = bind("generator").await?;
        let (classifier_listener, classifier) = bind("classifier").await?;

        let dataset_config = eyegan_dataset::DatasetConfig::default();
        let mut trainer_config = eyegan_trainer::TrainerConfig::new(dataset.clone());
        trainer_config.limits = limits.clone();
        let generator_config = eyegan_generator::GeneratorConfig {
            dataset_endpoint: dataset.clone(),
            limits: limits.clone(),
        };
        let mut classifier_config = eyegan_classifier::ClassifierConfig::new(dataset.clone());
        classifier_config.limits = limits;

        let tasks = vec![
            spawn(
                "dataset",
                eyegan_dataset::run(
                    dataset_listener,
                    store.clone(),
                    dataset_config,
                    until(&stopped),
                ),
            ),
            spawn(
                "trainer",
                eyegan_trainer::run(
                    trainer_listener,
                    store.clone(),
                    trainer_config,
                    until(&stopped),
                ),
            ),
            spawn(
                "generator",
                eyegan_generator::run(
                    generator_listener,
                    store.clone(),
                    generator_config,
                    until(&stopped),
                ),
            ),
            spawn(
                "classifier",
                eyegan_classifier::run(
                    classifier_listener,
                    store,
                    classifier_config,
                    until(&stopped),
                ),
            ),
        ];
        let services = Self {
            endpoints: Endpoints {
                dataset,
                trainers: vec![trainer],
                generator,
                classifier,
            },
            stop,
            tasks,
        };
        if let Err(error) = wait_until_serving(&services.endpoints).await {
            services.shutdown().await.ok();
            return Err(error);
        }
        tracing::info!(endpoints = ?services.endpoints, "embedded services are serving");
        Ok(services)
    }

    /// The services' URLs.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Stops every service gracefully (running jobs checkpoint and stay queued for the next
    /// start) and reports the first failure.
    pub async fn shutdown(self) -> Result<(), EmbeddedError> {
        let _ = self.stop.send(true);
        let mut first_error = None;
        for (service, task) in self.tasks {
            let outcome = match task.await {
                Ok(result) => result,
                Err(join) => Err(join.to_string()),
            };
            if let Err(reason) = outcome {
                tracing::warn!(service, reason = %reason, "embedded service stopped with an error");
                first_error.get_or_insert(EmbeddedError::Failed { service, reason });
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn open_store(store_dir: &Path) -> Result<Store, EmbeddedError> {
    let fail = |reason: String| EmbeddedError::Store {
        path: store_dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(store_dir).map_err(|error| fail(error.to_string()))?;
    let absolute = std::fs::canonicalize(store_dir).map_err(|error| fail(error.to_string()))?;
    Store::open(&format!("file://{}", absolute.display())).map_err(|error| fail(error.to_string()))
}

async fn bind(service: &'static str) -> Result<(TcpListener, String), EmbeddedError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| EmbeddedError::Bind { service, source })?;
    let address = listener
        .local_addr()
        .map_err(|source| EmbeddedError::Bind { service, source })?;
    Ok((listener, format!("http://{address}")))
}

/// A future that completes when `stop` turns true (or its sender is gone).
fn until(stopped: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut stopped = stopped.clone();
    async move {
        while !*stopped.borrow_and_update() {
            if stopped.changed().await.is_err() {
                break;
            }
        }
    }
}

fn spawn<E: std::fmt::Display>(
    service: &'static str,
    server: impl Future<Output = Result<(), E>> + Send + 'static,
) -> (&'static str, ServiceTask) {
    let task = tokio::spawn(async move { server.await.map_err(|error| error.to_string()) });
    (service, task)
}

/// Polls every endpoint's health until all report SERVING.
pub async fn wait_until_serving(endpoints: &Endpoints) -> Result<(), EmbeddedError> {
    let start = Instant::now();
    let deadline = start + READY_TIMEOUT;
    for (service, url) in endpoints.all() {
        let mut warned = false;
        loop {
            match eyegan_service::check_health(url, "", Duration::from_secs(5)).await {
                Ok(()) => break,
                Err(error) if Instant::now() >= deadline => {
                    let hint = if url.starts_with("https://") {
                        " (for an https:// service check [services] tls_ca, and tls_client_cert \
                         with tls_client_key where it requires mutual TLS)"
                    } else {
                        ""
                    };
                    return Err(EmbeddedError::NotReady {
                        service,
                        url: url.to_owned(),
                        reason: error.to_string(),
                        hint,
                    });
                }
                Err(error) => {
                    // Quiet while services start; then say what is being waited for.
                    if !warned && start.elapsed() >= SLOW_START {
                        tracing::warn!(%service, %url, %error, "not serving yet; retrying for up to {READY_TIMEOUT:?}");
                        warned = true;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    Ok(())
}
