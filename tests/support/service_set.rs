//! The four service binaries over one `file://` store, as a remote deployment would run them.

use std::path::{Path, PathBuf};

use crate::{Binaries, ServiceProcess};

/// Dataset, trainer, generator and classifier processes sharing one store.
#[derive(Debug)]
pub struct ServiceSet {
    /// Dataset service.
    pub dataset: ServiceProcess,
    /// Trainer service.
    pub trainer: ServiceProcess,
    /// Generator service.
    pub generator: ServiceProcess,
    /// Classifier service.
    pub classifier: ServiceProcess,
    /// The store folder (empty when the store is not a folder, see
    /// [`start_on_store`](Self::start_on_store)).
    pub store_dir: PathBuf,
}

impl ServiceSet {
    /// Starts the four binaries over `file://<dir>/store` on free ports, logs in `dir`, each
    /// job service with `job_args` (e.g. queue limits) added to its flags; returns once all are
    /// healthy.
    pub async fn start(binaries: &Binaries, dir: &Path, job_args: &[&str]) -> Self {
        let store_dir = dir.join("store");
        std::fs::create_dir_all(&store_dir).expect("cannot create the store folder");
        let url = format!("file://{}", store_dir.display());
        Self::start_on_store(binaries, dir, &url, job_args).await
    }

    /// Like [`start`](Self::start) over the store at `store_url` (`file://`, `s3://`, ...);
    /// [`store_dir`](Self::store_dir) is then only meaningful for `file://` URLs.
    pub async fn start_on_store(
        binaries: &Binaries,
        dir: &Path,
        store_url: &str,
        job_args: &[&str],
    ) -> Self {
        let store_dir = PathBuf::from(store_url.strip_prefix("file://").unwrap_or_default());
        let dataset = ServiceProcess::start(&binaries.dataset, &["--store", store_url], dir).await;
        let mut args = vec![
            "--store",
            store_url,
            "--dataset-endpoint",
            &dataset.endpoint,
        ];
        args.extend_from_slice(job_args);
        let trainer = ServiceProcess::start(&binaries.trainer, &args, dir).await;
        let generator = ServiceProcess::start(&binaries.generator, &args, dir).await;
        let classifier = ServiceProcess::start(&binaries.classifier, &args, dir).await;
        Self {
            dataset,
            trainer,
            generator,
            classifier,
            store_dir,
        }
    }

    /// The `[services]` section of an experiment file that uses these services.
    pub fn services_section(&self) -> String {
        format!(
            "[services]\nmode = \"remote\"\ndataset = \"{}\"\ntrainers = [\"{}\"]\n\
             generator = \"{}\"\nclassifier = \"{}\"\n",
            self.dataset.endpoint,
            self.trainer.endpoint,
            self.generator.endpoint,
            self.classifier.endpoint
        )
    }

    /// Every service with its name.
    pub fn all(&self) -> [(&'static str, &ServiceProcess); 4] {
        [
            ("dataset", &self.dataset),
            ("trainer", &self.trainer),
            ("generator", &self.generator),
            ("classifier", &self.classifier),
        ]
    }

    /// Every service's log, for failure messages.
    pub fn logs(&self) -> String {
        self.all()
            .iter()
            .map(|(name, service)| format!("--- {name} ---\n{}", service.log_text()))
            .collect()
    }
}
