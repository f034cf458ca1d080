//! What the report says about the synthetic images themselves: GAN-train / GAN-test per class
//! and the nearest-neighbour memorisation check, with its plain-words verdict.

use serde::{Deserialize, Serialize};

use crate::steps::gan_quality::GanQualityRecord;
use crate::steps::inspect::{ClassInspection, PairRecord};
use crate::steps::quantile;
use crate::steps::records::MetricsRecord;

/// RMS distances below this (one grey level of 255) count as copies.
pub const COPY_DISTANCE: f64 = 1.0 / 255.0;

/// GAN-train and GAN-test of one class.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GanQualityClass {
    /// Class.
    pub class_name: String,
    /// Recall on the class's real test images of the GMD trained on synthetic images only.
    pub gan_train_recall: Option<f64>,
    /// Real test images of the class.
    pub real_test_images: u64,
    /// Recall on the class's synthetic images of the baseline GMD (trained on real only).
    pub gan_test_recall: Option<f64>,
    /// Synthetic images of the class scored.
    pub synthetic_images: u64,
}

/// GAN-train and GAN-test of one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GanQualitySummary {
    /// Seed.
    pub seed: u64,
    /// Why nothing was measured, when so.
    pub skipped: Option<String>,
    /// Synthetic images in the synthetic-only dataset.
    pub imported: u64,
    /// Synthetic images refused as byte-identical duplicates.
    pub rejected: u64,
    /// Accuracy on the real test split of the GMD trained on synthetic images only.
    pub gan_train_accuracy: Option<f64>,
    /// Accuracy of the baseline GMD on the synthetic images.
    pub gan_test_accuracy: Option<f64>,
    /// Per class.
    pub per_class: Vec<GanQualityClass>,
    /// Full metrics of GAN-train (real test split).
    pub gan_train: Option<MetricsRecord>,
    /// Full metrics of GAN-test (synthetic images).
    pub gan_test: Option<MetricsRecord>,
}

fn recall(metrics: Option<&MetricsRecord>, class: &str) -> (Option<f64>, u64) {
    metrics
        .and_then(|m| m.per_class.iter().find(|c| c.class_name == class))
        .map_or((None, 0), |c| (Some(c.recall), c.support))
}

/// The GAN-train / GAN-test summary of one seed.
pub fn gan_quality_summary(record: &GanQualityRecord, classes: &[String]) -> GanQualitySummary {
    let per_class = if record.skipped.is_some() {
        Vec::new()
    } else {
        classes
            .iter()
            .map(|class| {
                let (gan_train_recall, real_test_images) = recall(record.gan_train.as_ref(), class);
                let (gan_test_recall, synthetic_images) = recall(record.gan_test.as_ref(), class);
                GanQualityClass {
                    class_name: class.clone(),
                    gan_train_recall,
                    real_test_images,
                    gan_test_recall,
                    synthetic_images,
                }
            })
            .collect()
    };
    GanQualitySummary {
        seed: record.seed,
        skipped: record.skipped.clone(),
        imported: record.imported,
        rejected: record.rejected,
        gan_train_accuracy: record.gan_train.as_ref().map(|m| m.accuracy),
        gan_test_accuracy: record.gan_test.as_ref().map(|m| m.accuracy),
        per_class,
        gan_train: record.gan_train.clone(),
        gan_test: record.gan_test.clone(),
    }
}

/// The memorisation check of one class and seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemorisationSummary {
    /// Seed.
    pub seed: u64,
    /// Class.
    pub class_name: String,
    /// Real training images.
    pub real_train: u64,
    /// Synthetic training images.
    pub synthetic: u64,
    /// Median synthetic-to-nearest-train distance.
    pub synthetic_median: Option<f64>,
    /// Smallest synthetic-to-nearest-train distance.
    pub synthetic_min: Option<f64>,
    /// Median real-to-nearest-other-real distance.
    pub real_median: Option<f64>,
    /// Smallest real-to-nearest-other-real distance: the closest two distinct real images.
    pub real_min: Option<f64>,
    /// Synthetic images closer to a training image than `real_min`.
    pub closer_than_real: u64,
    /// Synthetic images within [`COPY_DISTANCE`] of a training image.
    pub copies: u64,
    /// The closest pairs, closest first.
    pub closest_pairs: Vec<PairRecord>,
    /// Figure of the closest pairs.
    pub pairs_figure: Option<String>,
    /// Grid of real training images (Fig. 7, real).
    pub real_grid: Option<String>,
    /// Grid of synthetic training images (Fig. 7, synthetic).
    pub synthetic_grid: Option<String>,
    /// Every synthetic image's nearest distance (for the distribution figure).
    pub synthetic_nearest: Vec<f64>,
    /// Every real image's nearest distance (for the distribution figure).
    pub real_nearest: Vec<f64>,
}

/// The memorisation summary of one inspected class.
pub fn memorisation_summary(seed: u64, class: &ClassInspection) -> MemorisationSummary {
    let real_min = quantile(&class.real_nearest, 0.0);
    let closer_than_real = real_min.map_or(0, |threshold| {
        class
            .synthetic_nearest
            .iter()
            .filter(|&&d| d < threshold)
            .count() as u64
    });
    MemorisationSummary {
        seed,
        class_name: class.class_name.clone(),
        real_train: class.real_train,
        synthetic: class.synthetic,
        synthetic_median: quantile(&class.synthetic_nearest, 0.5),
        synthetic_min: quantile(&class.synthetic_nearest, 0.0),
        real_median: quantile(&class.real_nearest, 0.5),
        real_min,
        closer_than_real,
        copies: class
            .synthetic_nearest
            .iter()
            .filter(|&&d| d < COPY_DISTANCE)
            .count() as u64,
        closest_pairs: class.closest_pairs.clone(),
        pairs_figure: class.pairs_figure.clone(),
        real_grid: class.real_grid.clone(),
        synthetic_grid: class.synthetic_grid.clone(),
        synthetic_nearest: class.synthetic_nearest.clone(),
        real_nearest: class.real_nearest.clone(),
    }
}

/// Says in plain words whether any synthetic image looks memorised.
pub fn memorisation_verdict(summaries: &[MemorisationSummary]) -> String {
    let total: u64 = summaries.iter().map(|s| s.synthetic).sum();
    if total == 0 {
        return "No synthetic image joined a training set, so there is nothing to check for \
                memorisation."
            .to_owned();
    }
    let closer: u64 = summaries.iter().map(|s| s.closer_than_real).sum();
    let copies: u64 = summaries.iter().map(|s| s.copies).sum();
    let all_synthetic: Vec<f64> = summaries
        .iter()
        .flat_map(|s| s.synthetic_nearest.iter().copied())
        .collect();
    let all_real: Vec<f64> = summaries
        .iter()
        .flat_map(|s| s.real_nearest.iter().copied())
        .collect();
    let median =
        |values: &[f64]| quantile(values, 0.5).map_or("n/a".to_owned(), |m| format!("{m:.3}"));
    let distances = format!(
        "median distance to the nearest training image {} for synthetic images against {} \
         between real training images (RMS pixel distance, pixels in [0, 1])",
        median(&all_synthetic),
        median(&all_real)
    );
    if closer == 0 {
        format!(
            "None of the {total} synthetic images is closer to a training image than the two \
             closest real training images of its class are to each other; {distances}. \
             Nothing looks memorised."
        )
    } else {
        format!(
            "{closer} of {total} synthetic images ({copies} near-exact copies) are closer to a \
             training image than any two real training images of their class are to each \
             other; {distances}. These may be memorised: look at the closest pairs below."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(synthetic: Vec<f64>, real: Vec<f64>) -> ClassInspection {
        ClassInspection {
            class_name: "normal".to_owned(),
            real_train: real.len() as u64,
            synthetic: synthetic.len() as u64,
            real_grid: None,
            synthetic_grid: None,
            synthetic_nearest: synthetic,
            real_nearest: real,
            closest_pairs: Vec::new(),
            pairs_figure: None,
        }
    }

    #[test]
    fn synthetic_images_closer_than_any_real_pair_are_flagged() {
        let summary = memorisation_summary(1, &class(vec![0.0, 0.05, 0.3], vec![0.1, 0.2, 0.4]));
        assert_eq!(summary.closer_than_real, 2);
        assert_eq!(summary.copies, 1);
        assert_eq!(summary.real_min, Some(0.1));
        let verdict = memorisation_verdict(&[summary]);
        assert!(
            verdict.starts_with("2 of 3 synthetic images (1 near-exact copies)"),
            "{verdict}"
        );
    }

    #[test]
    fn distant_synthetic_images_are_not_flagged() {
        let summary = memorisation_summary(1, &class(vec![0.3, 0.5], vec![0.1, 0.2]));
        assert_eq!(summary.closer_than_real, 0);
        assert!(memorisation_verdict(&[summary]).ends_with("Nothing looks memorised."));
        assert!(memorisation_verdict(&[]).starts_with("No synthetic image"));
    }
}
