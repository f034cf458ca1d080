//! Running one cached step: skip it when its record matches, otherwise run it with a stable
//! identity (hash + attempt) that makes its job request ids idempotent across restarts.

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cache::{content_hash, StepCache, StepRecord};
use crate::clients::Clients;
use crate::progress::Progress;
use crate::spec::Experiment;

/// The step kinds in pipeline order; `--force KIND` reruns every step of that kind (later
/// steps rerun too because their input hashes include the new outputs).
pub const STEP_KINDS: [&str; 8] = [
    "import",
    "split",
    "gan",
    "generate",
    "classify",
    "evaluate",
    "inspect",
    "ganquality",
];

/// The identity of one run of a step.
#[derive(Debug, Clone)]
pub struct StepIdentity {
    /// Step name, e.g. `gan-1-normal`.
    pub name: String,
    /// Hash of its inputs.
    pub hash: String,
    /// Forced reruns so far.
    pub attempt: u32,
}

impl StepIdentity {
    /// The idempotency key of the step's job: the same step, inputs and attempt always give
    /// the same id, so a resubmission after a crash reattaches to the job.
    pub fn request_id(&self) -> String {
        let name: String = self
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(80)
            .collect();
        format!("{name}-{}-{}", &self.hash[..16], self.attempt)
    }

    /// A short suffix for names (dataset ids) made by the step.
    pub fn tag(&self) -> String {
        format!("{}-{}", &self.hash[..12], self.attempt)
    }
}

/// Everything the steps share.
#[derive(Debug, Clone)]
pub struct StepContext {
    /// The experiment.
    pub experiment: Experiment,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The services.
    pub clients: Clients,
    /// Progress output.
    pub progress: Progress,
    /// Step records.
    pub cache: StepCache,
    /// Kinds forced to rerun.
    pub forced: Vec<String>,
}

fn kind_of(name: &str) -> &str {
    name.split('-').next().unwrap_or(name)
}

impl StepContext {
    /// Runs step `name` with `inputs` unless a finished record with the same hash exists.
    pub async fn step<T, F, Fut>(
        &self,
        name: &str,
        inputs: &impl Serialize,
        body: F,
    ) -> anyhow::Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(StepIdentity) -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let hash = content_hash(&(name, inputs));
        let forced = self
            .forced
            .iter()
            .any(|kind| kind == kind_of(name) || kind == name);
        let previous = self.cache.record(name)?;
        if !forced {
            if let Some(outputs) = self.cache.done::<T>(name, &hash)? {
                self.progress.cached(name);
                return Ok(outputs);
            }
        }
        let attempt = match &previous {
            Some(record) if forced && record.done => record.attempt + 1,
            Some(record) if record.hash == hash => record.attempt,
            _ => 0,
        };
        let identity = StepIdentity {
            name: name.to_owned(),
            hash: hash.clone(),
            attempt,
        };
        self.cache.write(&StepRecord {
            name: name.to_owned(),
            hash: hash.clone(),
            attempt,
            done: false,
            outputs: serde_json::Value::Null,
        })?;
        self.progress.started(name);
        let started = Instant::now();
        let outputs = body(identity).await?;
        self.cache.write(&StepRecord {
            name: name.to_owned(),
            hash,
            attempt,
            done: true,
            outputs: serde_json::to_value(&outputs)?,
        })?;
        self.progress
            .finished(name, started.elapsed().as_secs_f64());
        Ok(outputs)
    }
}
