//! Pairing two models' outcomes on the same test images.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{MetricsError, Prediction};

/// Whether each of two models classified each shared test image correctly, aligned by image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedCorrectness {
    /// Image ids, in the order of the first prediction set.
    pub image_ids: Vec<String>,
    /// Whether model A was right on each image.
    pub a_correct: Vec<bool>,
    /// Whether model B was right on the same image.
    pub b_correct: Vec<bool>,
}

/// Aligns the predictions of model A and model B by `image_id`.
///
/// Both sets must cover exactly the same images, each once, with the same true label;
/// otherwise the error names the first offending image.
pub fn paired_correctness(
    a: &[Prediction],
    b: &[Prediction],
) -> Result<PairedCorrectness, MetricsError> {
    check_same_length(
        a.len(),
        b.len(),
        "predictions of model A",
        "predictions of model B",
    )?;
    let a_by_id = index_by_id(a, "predictions of model A")?;
    let b_by_id = index_by_id(b, "predictions of model B")?;
    if let Some(extra) = b
        .iter()
        .find(|p| !a_by_id.contains_key(p.image_id.as_str()))
    {
        return Err(MetricsError::UnmatchedImageId {
            image_id: extra.image_id.clone(),
            present_in: "predictions of model B",
            missing_from: "predictions of model A",
        });
    }
    let mut paired = PairedCorrectness {
        image_ids: Vec::with_capacity(a.len()),
        a_correct: Vec::with_capacity(a.len()),
        b_correct: Vec::with_capacity(a.len()),
    };
    for pred_a in a {
        let pred_b = b_by_id.get(pred_a.image_id.as_str()).ok_or_else(|| {
            MetricsError::UnmatchedImageId {
                image_id: pred_a.image_id.clone(),
                present_in: "predictions of model A",
                missing_from: "predictions of model B",
            }
        })?;
        if pred_a.label != pred_b.label {
            return Err(MetricsError::LabelDisagreement {
                image_id: pred_a.image_id.clone(),
                first_label: pred_a.label,
                second_label: pred_b.label,
            });
        }
        paired.image_ids.push(pred_a.image_id.clone());
        paired.a_correct.push(pred_a.is_correct());
        paired.b_correct.push(pred_b.is_correct());
    }
    Ok(paired)
}

/// Map from image id to prediction, rejecting duplicate ids.
fn index_by_id<'a>(
    preds: &'a [Prediction],
    set: &'static str,
) -> Result<HashMap<&'a str, &'a Prediction>, MetricsError> {
    let mut by_id = HashMap::with_capacity(preds.len());
    for pred in preds {
        if by_id.insert(pred.image_id.as_str(), pred).is_some() {
            return Err(MetricsError::DuplicateImageId {
                image_id: pred.image_id.clone(),
                set,
            });
        }
    }
    Ok(by_id)
}

/// Checks that two paired outcome vectors are non-empty and of equal length.
pub(crate) fn check_paired_outcomes(a: &[bool], b: &[bool]) -> Result<(), MetricsError> {
    check_same_length(a.len(), b.len(), "a_correct", "b_correct")?;
    if a.is_empty() {
        return Err(MetricsError::EmptyInput {
            what: "paired outcomes",
        });
    }
    Ok(())
}

fn check_same_length(
    left: usize,
    right: usize,
    left_name: &'static str,
    right_name: &'static str,
) -> Result<(), MetricsError> {
    if left == right {
        Ok(())
    } else {
        Err(MetricsError::LengthMismatch {
            left_name,
            left,
            right_name,
            right,
        })
    }
}
