//! Per-image predictions of a classifier and their validation.

use serde::{Deserialize, Serialize};

use crate::MetricsError;

/// One image's prediction: true class index, predicted class index, class probabilities
/// (one per class, summing to 1) and the id of the image it was made for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Identifier of the image (used to pair predictions of two models on the same images).
    pub image_id: String,
    /// Index of the true class.
    pub label: usize,
    /// Index of the predicted class.
    pub predicted: usize,
    /// Probability of each class, in class order.
    pub probabilities: Vec<f32>,
}

impl Prediction {
    /// Whether the predicted class equals the true class.
    pub fn is_correct(&self) -> bool {
        self.label == self.predicted
    }
}

/// Whether each prediction is correct, in input order.
pub fn correctness(preds: &[Prediction]) -> Vec<bool> {
    preds.iter().map(Prediction::is_correct).collect()
}

/// Checks that `preds` is non-empty and that every label and predicted index is below
/// `class_count`.
pub(crate) fn validate_labels(
    class_count: usize,
    preds: &[Prediction],
) -> Result<(), MetricsError> {
    if class_count == 0 {
        return Err(MetricsError::EmptyInput { what: "classes" });
    }
    if preds.is_empty() {
        return Err(MetricsError::EmptyInput {
            what: "predictions",
        });
    }
    for (index, pred) in preds.iter().enumerate() {
        for (field, value) in [("label", pred.label), ("predicted", pred.predicted)] {
            if value >= class_count {
                return Err(MetricsError::LabelOutOfRange {
                    index,
                    image_id: pred.image_id.clone(),
                    field,
                    value,
                    classes: class_count,
                });
            }
        }
    }
    Ok(())
}

/// Checks that every prediction carries exactly `class_count` finite probabilities.
pub(crate) fn validate_probabilities(
    class_count: usize,
    preds: &[Prediction],
) -> Result<(), MetricsError> {
    for (index, pred) in preds.iter().enumerate() {
        if pred.probabilities.len() != class_count {
            return Err(MetricsError::ProbabilitiesLength {
                index,
                image_id: pred.image_id.clone(),
                found: pred.probabilities.len(),
                expected: class_count,
            });
        }
        if let Some(class) = pred.probabilities.iter().position(|p| !p.is_finite()) {
            return Err(MetricsError::NonFiniteProbability {
                index,
                image_id: pred.image_id.clone(),
                class,
            });
        }
    }
    Ok(())
}
