//! The trainer's [`JobRunner`]: spec checks, summary, result conversion, and the run itself.

use eyegan_jobs::{JobContext, JobError, JobRunner};
use eyegan_proto::common::v1::{JobKind, JobResult};

use crate::dataset_source::DatasetSource;
use crate::output::TrainGanOutput;
use crate::spec::TrainGanSpec;
use crate::training::TrainingRun;

/// The service name: jobs live under `jobs/trainer/` in the store.
pub const SERVICE: &str = "trainer";

/// Runs GAN training jobs, reading images from the dataset service.
#[derive(Debug, Clone)]
pub struct TrainerRunner {
    source: DatasetSource,
}

impl TrainerRunner {
    /// A runner that reads class images through `source`.
    pub fn new(source: DatasetSource) -> Self {
        Self { source }
    }
}

impl JobRunner for TrainerRunner {
    type Spec = TrainGanSpec;
    type Output = TrainGanOutput;

    fn service(&self) -> &str {
        SERVICE
    }

    fn kind(&self) -> JobKind {
        JobKind::TrainGan
    }

    /// Specs are built by [`crate::spec::CheckedRequest`]; this re-checks what eyegan-nn needs.
    fn validate(&self, spec: &TrainGanSpec) -> Result<(), JobError> {
        let nn_error =
            |error: eyegan_nn::NnError| JobError::invalid_argument("config", error.to_string());
        spec.model.validate().map_err(nn_error)?;
        spec.training.validate().map_err(nn_error)?;
        if spec.class_images == 0 || spec.total_iterations() == 0 {
            return Err(JobError::invalid_argument(
                "class_name",
                "the class has no images",
            ));
        }
        if spec.checkpoint_every == 0 || spec.sample_every == 0 {
            return Err(JobError::invalid_argument(
                "config.checkpoint_every",
                "intervals must be at least 1",
            ));
        }
        Ok(())
    }

    fn summary(&self, spec: &TrainGanSpec) -> String {
        format!(
            "train gan class={} dataset={} split={} iterations={}",
            spec.class_name,
            spec.dataset_label(),
            spec.split.as_str(),
            spec.total_iterations()
        )
    }

    fn output_to_proto(&self, output: &TrainGanOutput) -> JobResult {
        output.to_proto()
    }

    async fn run(&self, ctx: JobContext<Self>) -> Result<TrainGanOutput, JobError> {
        TrainingRun::new(ctx).run(&self.source).await
    }
}
