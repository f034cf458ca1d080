//! The confusion matrix of a multi-class classifier.

use serde::{Deserialize, Serialize};

use crate::predictions::validate_labels;
use crate::{MetricsError, Prediction};

/// Counts of (true class, predicted class) pairs: `counts[true][predicted]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Class names, in index order.
    pub classes: Vec<String>,
    /// `counts[t][p]` is the number of images of true class `t` predicted as class `p`.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// Tallies `preds` over `classes`. Probabilities are not looked at.
    ///
    /// Errors when `classes` or `preds` is empty or a label / predicted index is out of range.
    pub fn from_predictions(
        classes: &[String],
        preds: &[Prediction],
    ) -> Result<Self, MetricsError> {
        validate_labels(classes.len(), preds)?;
        let mut counts = vec![vec![0u64; classes.len()]; classes.len()];
        for pred in preds {
            counts[pred.label][pred.predicted] += 1;
        }
        Ok(Self {
            classes: classes.to_vec(),
            counts,
        })
    }

    /// Number of classes.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Total number of predictions tallied.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Number of correct predictions (the diagonal).
    pub fn correct(&self) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, row)| row.get(i).copied().unwrap_or(0))
            .sum()
    }

    /// Fraction of predictions on the diagonal; 0.0 for an empty matrix.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Images of true class `class` (row sum).
    pub fn support(&self, class: usize) -> u64 {
        self.counts.get(class).map_or(0, |row| row.iter().sum())
    }

    /// Images predicted as class `class` (column sum).
    pub fn predicted_count(&self, class: usize) -> u64 {
        self.counts
            .iter()
            .map(|row| row.get(class).copied().unwrap_or(0))
            .sum()
    }

    /// Images of class `class` predicted as `class`.
    pub fn true_positives(&self, class: usize) -> u64 {
        self.counts
            .get(class)
            .and_then(|row| row.get(class))
            .copied()
            .unwrap_or(0)
    }
}

/// `numerator / denominator`, defined as 0.0 when the denominator is 0 (scikit-learn's
/// `zero_division=0`), so that reports never carry NaN.
pub(crate) fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}
