//! The whole experiment in order: import → split → GANs → generation → classifiers →
//! evaluation → inspection of the synthetic images (sample grids, memorisation) and GAN-train /
//! GAN-test. Every step is cached; the results feed the report.

use serde::{Deserialize, Serialize};

use crate::spec::Arm;

use super::classify;
use super::context::StepContext;
use super::data;
use super::gan;
use super::gan_quality::{self, GanQualityRecord};
use super::generate;
use super::inspect::{self, InspectRecord};
use super::records::{ClassifyRecord, EvaluateRecord, GanRecord, GenerateRecord, VersionRecord};

/// Everything a finished run produced (the report's input, stored as `results.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResults {
    /// Experiment name.
    pub experiment: String,
    /// The experiment as run (canonical JSON).
    pub spec: serde_json::Value,
    /// The imported version.
    pub imported: VersionRecord,
    /// The split version (the real images; its test split is frozen).
    pub split: VersionRecord,
    /// One per (seed, class).
    pub gans: Vec<GanRecord>,
    /// One per seed.
    pub generated: Vec<GenerateRecord>,
    /// One per (arm, seed).
    pub classifiers: Vec<ClassifyRecord>,
    /// One per (arm, seed).
    pub evaluations: Vec<EvaluateRecord>,
    /// One per seed: sample grids and nearest-neighbour distances.
    #[serde(default)]
    pub inspections: Vec<InspectRecord>,
    /// One per seed: GAN-train and GAN-test.
    #[serde(default)]
    pub gan_quality: Vec<GanQualityRecord>,
}

/// Runs (or resumes) every step of the experiment.
pub async fn run_pipeline(ctx: &StepContext) -> anyhow::Result<RunResults> {
    let imported = data::import(ctx).await?;
    let split = data::split(ctx, &imported).await?;
    let gans = gan::train_all(ctx, &split).await?;
    let mut generated = Vec::new();
    for &seed in &ctx.experiment.seeds {
        generated.push(generate::generate(ctx, &split, seed, &gans).await?);
    }
    let mut classifiers = Vec::new();
    let mut evaluations = Vec::new();
    for &seed in &ctx.experiment.seeds {
        let synthetic = generated
            .iter()
            .find(|g| g.seed == seed)
            .map_or(&split.dataset, |g| &g.version.dataset);
        for &arm in &ctx.experiment.arms {
            let train_on = if arm.uses_synthetic() {
                synthetic
            } else {
                &split.dataset
            };
            let trained = classify::train(ctx, arm, seed, train_on).await?;
            evaluations.push(classify::evaluate(ctx, &trained, &split.dataset).await?);
            classifiers.push(trained);
        }
    }
    let mut inspections = Vec::new();
    let mut gan_quality = Vec::new();
    for generated in &generated {
        inspections.push(inspect::inspect(ctx, &split, generated).await?);
        let baseline = classifiers
            .iter()
            .find(|c| c.seed == generated.seed && c.arm == Arm::Baseline.name());
        gan_quality.push(gan_quality::measure(ctx, &split, generated, baseline).await?);
    }
    Ok(RunResults {
        experiment: ctx.experiment.name.clone(),
        spec: serde_json::to_value(&ctx.experiment)?,
        imported,
        split,
        gans,
        generated,
        classifiers,
        evaluations,
        inspections,
        gan_quality,
    })
}
