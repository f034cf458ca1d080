//! Per-class and macro-averaged classification metrics.

use serde::{Deserialize, Serialize};

use crate::confusion::ratio;
use crate::predictions::validate_probabilities;
use crate::{one_vs_rest_auc, ConfusionMatrix, MetricsError, Prediction};

/// One-vs-rest metrics of one class. Ratios with a zero denominator are reported as 0.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Images whose true class is this one.
    pub support: u64,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN), also called sensitivity.
    pub recall: f64,
    /// TN / (TN + FP).
    pub specificity: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// One-vs-rest ROC AUC; `None` when the class has no positives or no negatives.
    pub auc: Option<f64>,
}

impl ClassMetrics {
    /// Metrics of class `class` read off `confusion`, with the AUC computed elsewhere.
    pub fn from_confusion(confusion: &ConfusionMatrix, class: usize, auc: Option<f64>) -> Self {
        let total = confusion.total();
        let true_positives = confusion.true_positives(class);
        let support = confusion.support(class);
        let predicted = confusion.predicted_count(class);
        let false_positives = predicted - true_positives;
        let negatives = total - support;
        let true_negatives = negatives - false_positives;
        let precision = ratio(true_positives, predicted);
        let recall = ratio(true_positives, support);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Self {
            class: confusion.classes.get(class).cloned().unwrap_or_default(),
            support,
            precision,
            recall,
            specificity: ratio(true_negatives, negatives),
            f1,
            auc,
        }
    }
}

/// Everything the classifier service reports about one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Metrics of each class, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean of the per-class precisions.
    pub macro_precision: f64,
    /// Unweighted mean of the per-class recalls.
    pub macro_recall: f64,
    /// Unweighted mean of the per-class specificities.
    pub macro_specificity: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Mean of the per-class AUCs that are defined; `None` when none is.
    pub macro_auc: Option<f64>,
    /// The confusion matrix the metrics were read from.
    pub confusion: ConfusionMatrix,
    /// Number of predictions evaluated.
    pub count: u64,
}

/// Computes accuracy, per-class and macro metrics, one-vs-rest AUCs and the confusion matrix.
///
/// Every prediction must carry one finite probability per class. Errors name the first
/// offending prediction.
pub fn classification_report(
    classes: &[String],
    preds: &[Prediction],
) -> Result<ClassificationReport, MetricsError> {
    let confusion = ConfusionMatrix::from_predictions(classes, preds)?;
    validate_probabilities(classes.len(), preds)?;
    let per_class: Vec<ClassMetrics> = (0..classes.len())
        .map(|class| ClassMetrics::from_confusion(&confusion, class, one_vs_rest_auc(preds, class)))
        .collect();
    let aucs: Vec<f64> = per_class.iter().filter_map(|m| m.auc).collect();
    Ok(ClassificationReport {
        accuracy: confusion.accuracy(),
        macro_precision: mean(per_class.iter().map(|m| m.precision)),
        macro_recall: mean(per_class.iter().map(|m| m.recall)),
        macro_specificity: mean(per_class.iter().map(|m| m.specificity)),
        macro_f1: mean(per_class.iter().map(|m| m.f1)),
        macro_auc: (!aucs.is_empty()).then(|| mean(aucs.iter().copied())),
        count: confusion.total(),
        per_class,
        confusion,
    })
}

/// Arithmetic mean of a non-empty sequence (0.0 for an empty one).
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
}
