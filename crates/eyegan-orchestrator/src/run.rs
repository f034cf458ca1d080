//! One `orchestrate run`: the run folder, the services (embedded or remote), the pipeline and
//! the report; Ctrl-C stops the services gracefully so a rerun continues.

use std::future::Future;
use std::path::{Path, PathBuf};

use anyhow::Context;
use eyegan_service::{with_security, Security};

use crate::clients::{client_security, Clients};
use crate::embedded::{wait_until_serving, EmbeddedServices};
use crate::endpoints::Endpoints;
use crate::progress::{Progress, ProgressMode};
use crate::report::{store_results, write_report, Report};
use crate::spec::Experiment;
use crate::steps::{run_pipeline, StepCache, StepContext, STEP_KINDS};

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder (created).
    pub run_dir: PathBuf,
    /// Step kinds (or step names) to rerun.
    pub force: Vec<String>,
    /// Progress output.
    pub progress: ProgressMode,
}

/// The default run folder of an experiment: `runs/<name>`.
pub fn default_run_dir(experiment: &Experiment) -> PathBuf {
    Path::new("runs").join(&experiment.name)
}

/// Checks `--force` values against the step kinds.
pub fn check_force(force: &[String]) -> anyhow::Result<()> {
    for value in force {
        let kind = value.split('-').next().unwrap_or(value);
        if !STEP_KINDS.contains(&kind) {
            anyhow::bail!(
                "--force {value}: unknown step; steps are {}",
                STEP_KINDS.join(", ")
            );
        }
    }
    Ok(())
}

/// Runs (or resumes) `experiment`; stops early, leaving everything resumable, when
/// `interrupted` completes.
pub async fn run_experiment(
    experiment: Experiment,
    options: RunOptions,
    interrupted: impl Future<Output = ()>,
) -> anyhow::Result<Report> {
    check_force(&options.force)?;
    let run_dir = options.run_dir.clone();
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    std::fs::write(
        run_dir.join("experiment.json"),
        serde_json::to_vec_pretty(&experiment)?,
    )?;
    let remote = Endpoints::from_remote(&experiment.services);
    let security = client_security(&experiment.services)?;
    let (embedded, endpoints) = match remote {
        Some(endpoints) => {
            let probe = Security {
                client: security.clone(),
                ..Security::default()
            };
            with_security(probe, wait_until_serving(&endpoints)).await?;
            (None, endpoints)
        }
        None => {
            let services = EmbeddedServices::start(&run_dir.join("store")).await?;
            let endpoints = services.endpoints().clone();
            (Some(services), endpoints)
        }
    };
    let ctx = StepContext {
        clients: Clients::connect(&endpoints, &security)?,
        cache: StepCache::new(&run_dir),
        progress: Progress::new(options.progress),
        forced: options.force.clone(),
        run_dir: run_dir.clone(),
        experiment,
    };
    let outcome = tokio::select! {
        result = run_pipeline(&ctx) => Some(result),
        () = interrupted => None,
    };
    if let Some(services) = embedded {
        services.shutdown().await?;
    }
    let results = match outcome {
        Some(result) => result?,
        None => anyhow::bail!(
            "interrupted; running jobs were checkpointed; run the same command again to continue"
        ),
    };
    store_results(&run_dir, &results)?;
    write_report(&run_dir, &results)
}
