//! The report's content, computed from the stored run results: per-arm metrics, GAN
//! acceptance, the paper's tables and the statistics the paper lacks.

use std::collections::BTreeMap;

use eyegan_metrics::{
    mcnemar, mean_confidence_interval, paired_bootstrap_accuracy_difference, paired_correctness,
    BootstrapInterval, McNemarResult, MeanInterval, Prediction,
};
use serde::{Deserialize, Serialize};

use super::synthetic::{
    gan_quality_summary, memorisation_summary, memorisation_verdict, GanQualitySummary,
    MemorisationSummary,
};
use crate::steps::records::{
    ClassCountsRecord, EpochRecord, GanPoint, MetricsRecord, PredictionRecord,
};
use crate::steps::RunResults;

/// Confidence level of every interval.
pub const LEVEL: f64 = 0.95;
/// Significance level of the tests.
pub const ALPHA: f64 = 0.05;
/// Bootstrap resamples.
const RESAMPLES: u32 = 10_000;

/// The whole report (`report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Experiment name.
    pub experiment: String,
    /// The experiment as run.
    pub spec: serde_json::Value,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Table 1: images per class and split before augmentation.
    pub table_before: Vec<ClassCountsRecord>,
    /// Table 2: per seed, images per class and split after augmentation.
    pub table_after: Vec<SeedTable>,
    /// Per GAN: acceptance of its generated images.
    pub gans: Vec<GanSummary>,
    /// GAN loss curves per (seed, class).
    pub curves: Vec<GanCurve>,
    /// Per arm and seed.
    pub runs: Vec<ArmRun>,
    /// Per arm over seeds.
    pub arms: Vec<ArmSummary>,
    /// Per seed: gan against baseline on the same test images.
    pub comparisons: Vec<SeedComparison>,
    /// Mean over seeds of (gan − baseline) test accuracy, with its interval (2+ seeds).
    pub mean_difference: Option<MeanInterval>,
    /// Plain-words verdict.
    pub verdict: String,
    /// Per seed: GAN-train and GAN-test.
    pub gan_quality: Vec<GanQualitySummary>,
    /// Per seed and class: sample grids and the nearest-neighbour memorisation check.
    pub memorisation: Vec<MemorisationSummary>,
    /// Plain-words verdict of the memorisation check.
    pub memorisation_verdict: String,
}

/// Counts after augmentation for one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedTable {
    /// Seed.
    pub seed: u64,
    /// Counts per class.
    pub counts: Vec<ClassCountsRecord>,
}

/// One GAN's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GanSummary {
    /// Seed.
    pub seed: u64,
    /// Class.
    pub class_name: String,
    /// Iterations trained.
    pub iterations: u64,
    /// Epochs trained.
    pub epochs: u32,
    /// Synthetic images asked for.
    pub requested: u64,
    /// Images generated and scored.
    pub attempted: u64,
    /// Images kept (and added to train).
    pub accepted: u64,
    /// accepted / attempted (0 when nothing was generated).
    pub acceptance_rate: f64,
    /// Final loss-curve values (D, G), when stored.
    pub final_losses: Option<(f64, f64)>,
    /// Sample grid figure, relative to the run folder.
    pub sample_grid: Option<String>,
}

/// One GAN's loss curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GanCurve {
    /// Seed.
    pub seed: u64,
    /// Class.
    pub class_name: String,
    /// Points (subsampled).
    pub points: Vec<GanPoint>,
}

/// One arm and seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmRun {
    /// Arm.
    pub arm: String,
    /// Seed.
    pub seed: u64,
    /// Accuracy on the train split it trained on.
    pub train_accuracy: f64,
    /// Accuracy on the real validation split.
    pub val_accuracy: Option<f64>,
    /// Accuracy on the real test split.
    pub test_accuracy: f64,
    /// Full test metrics (per class, confusion matrix).
    pub test: MetricsRecord,
    /// Per-epoch training history.
    pub history: Vec<EpochRecord>,
}

/// One arm over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmSummary {
    /// Arm.
    pub arm: String,
    /// Test accuracies, in seed order.
    pub test_accuracies: Vec<f64>,
    /// Mean with a Student-t interval (the interval needs 2+ seeds).
    pub test_accuracy: Option<MeanInterval>,
}

/// gan against baseline for one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedComparison {
    /// Seed.
    pub seed: u64,
    /// Baseline test accuracy.
    pub baseline_accuracy: f64,
    /// gan test accuracy.
    pub gan_accuracy: f64,
    /// McNemar's test on the paired outcomes (A = baseline, B = gan).
    pub mcnemar: McNemarResult,
    /// Bootstrap interval of accuracy(gan) − accuracy(baseline).
    pub bootstrap: BootstrapInterval,
}

fn to_predictions(
    classes: &[String],
    records: &[PredictionRecord],
) -> anyhow::Result<Vec<Prediction>> {
    let label = |name: &str| {
        classes
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| anyhow::anyhow!("prediction names unknown class {name:?}"))
    };
    records
        .iter()
        .map(|r| {
            Ok(Prediction {
                image_id: r.image_id.clone(),
                label: label(&r.true_class)?,
                predicted: label(&r.predicted_class)?,
                probabilities: Vec::new(),
            })
        })
        .collect()
}

/// Computes the report from the run results.
pub fn build_report(results: &RunResults) -> anyhow::Result<Report> {
    let classes = results.split.classes.clone();
    let mut gans = Vec::new();
    for gan in &results.gans {
        let counts = results
            .generated
            .iter()
            .find(|g| g.seed == gan.seed)
            .and_then(|g| g.per_class.iter().find(|c| c.class_name == gan.class_name));
        let (requested, attempted, accepted) =
            counts.map_or((0, 0, 0), |c| (c.requested, c.attempted, c.accepted));
        gans.push(GanSummary {
            seed: gan.seed,
            class_name: gan.class_name.clone(),
            iterations: gan.iterations,
            epochs: gan.epochs,
            requested,
            attempted,
            accepted,
            acceptance_rate: if attempted == 0 {
                0.0
            } else {
                accepted as f64 / attempted as f64
            },
            final_losses: gan.curve.last().map(|p| (p.loss_d, p.loss_g)),
            sample_grid: gan.sample_grid.clone(),
        });
    }
    let runs: Vec<ArmRun> = results
        .evaluations
        .iter()
        .map(|e| ArmRun {
            arm: e.arm.clone(),
            seed: e.seed,
            train_accuracy: e.train.accuracy,
            val_accuracy: e.val.as_ref().map(|v| v.accuracy),
            test_accuracy: e.test.accuracy,
            test: e.test.clone(),
            history: results
                .classifiers
                .iter()
                .find(|c| c.arm == e.arm && c.seed == e.seed)
                .map(|c| c.history.clone())
                .unwrap_or_default(),
        })
        .collect();
    let mut by_arm: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for run in &runs {
        by_arm
            .entry(run.arm.as_str())
            .or_default()
            .push(run.test_accuracy);
    }
    let arm_order: Vec<String> =
        serde_json::from_value(results.spec["arms"].clone()).unwrap_or_default();
    let arms = arm_order
        .iter()
        .filter_map(|arm| by_arm.get(arm.as_str()).map(|acc| (arm, acc)))
        .map(|(arm, accuracies)| ArmSummary {
            arm: arm.clone(),
            test_accuracies: accuracies.clone(),
            test_accuracy: mean_confidence_interval(accuracies, LEVEL),
        })
        .collect();
    let mut comparisons = Vec::new();
    for baseline in results.evaluations.iter().filter(|e| e.arm == "baseline") {
        let Some(gan) = results
            .evaluations
            .iter()
            .find(|e| e.arm == "gan" && e.seed == baseline.seed)
        else {
            continue;
        };
        let a = to_predictions(&classes, &baseline.test_predictions)?;
        let b = to_predictions(&classes, &gan.test_predictions)?;
        let paired = paired_correctness(&a, &b)?;
        comparisons.push(SeedComparison {
            seed: baseline.seed,
            baseline_accuracy: baseline.test.accuracy,
            gan_accuracy: gan.test.accuracy,
            mcnemar: mcnemar(&paired.a_correct, &paired.b_correct)?,
            bootstrap: paired_bootstrap_accuracy_difference(
                &paired.a_correct,
                &paired.b_correct,
                RESAMPLES,
                LEVEL,
                baseline.seed,
            )?,
        });
    }
    let differences: Vec<f64> = comparisons
        .iter()
        .map(|c| c.gan_accuracy - c.baseline_accuracy)
        .collect();
    let mean_difference = mean_confidence_interval(&differences, LEVEL);
    let verdict = verdict(&comparisons, mean_difference.as_ref());
    let memorisation: Vec<MemorisationSummary> = results
        .inspections
        .iter()
        .flat_map(|i| i.classes.iter().map(|c| memorisation_summary(i.seed, c)))
        .collect();
    Ok(Report {
        experiment: results.experiment.clone(),
        spec: results.spec.clone(),
        classes,
        table_before: results.split.counts.clone(),
        table_after: results
            .generated
            .iter()
            .map(|g| SeedTable {
                seed: g.seed,
                counts: g.version.counts.clone(),
            })
            .collect(),
        gans,
        curves: results
            .gans
            .iter()
            .map(|g| GanCurve {
                seed: g.seed,
                class_name: g.class_name.clone(),
                points: g.curve.clone(),
            })
            .collect(),
        runs,
        arms,
        comparisons,
        mean_difference,
        verdict,
        gan_quality: results
            .gan_quality
            .iter()
            .map(|g| gan_quality_summary(g, &results.split.classes))
            .collect(),
        memorisation_verdict: memorisation_verdict(&memorisation),
        memorisation,
    })
}

/// Says in plain words whether gan differs from baseline.
fn verdict(comparisons: &[SeedComparison], mean: Option<&MeanInterval>) -> String {
    if comparisons.is_empty() {
        return "no gan/baseline pair was evaluated, so nothing can be said.".to_owned();
    }
    let n = comparisons.len();
    let significant = comparisons
        .iter()
        .filter(|c| c.mcnemar.is_significant(ALPHA))
        .count();
    let excluding = comparisons
        .iter()
        .filter(|c| c.bootstrap.excludes_zero())
        .count();
    let mean_points = mean.map_or(0.0, |m| m.mean * 100.0);
    let mut text = format!(
        "Over {n} seed(s), gan minus baseline test accuracy is {mean_points:+.1} points on average. \
         McNemar's test (alpha {ALPHA}) finds a significant difference in {significant} of {n} seed(s); \
         the bootstrap {:.0}% interval of the difference excludes zero in {excluding} of {n}. ",
        LEVEL * 100.0
    );
    let interval = mean.and_then(|m| m.lower.zip(m.upper));
    let conclusion = match interval {
        Some((lower, upper)) if lower > 0.0 => format!(
            "Across seeds the 95% interval of the mean difference [{:+.1}, {:+.1}] points lies above zero: \
             the GAN augmentation helped significantly in this experiment.",
            lower * 100.0,
            upper * 100.0
        ),
        Some((lower, upper)) if upper < 0.0 => format!(
            "Across seeds the 95% interval of the mean difference [{:+.1}, {:+.1}] points lies below zero: \
             the GAN augmentation hurt significantly in this experiment.",
            lower * 100.0,
            upper * 100.0
        ),
        Some((lower, upper)) => format!(
            "Across seeds the 95% interval of the mean difference [{:+.1}, {:+.1}] points contains zero: \
             the difference is NOT statistically significant.",
            lower * 100.0,
            upper * 100.0
        ),
        None if significant == n && excluding == n => {
            "With a single seed the difference is significant on this test set, but seed-to-seed \
             variation is unmeasured; run more seeds before drawing a conclusion."
                .to_owned()
        }
        None => "With a single seed and no significant test, the difference is NOT statistically \
                 significant."
            .to_owned(),
    };
    text.push_str(&conclusion);
    text
}
