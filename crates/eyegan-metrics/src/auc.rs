//! Area under the ROC curve via the Mann–Whitney U statistic.

use crate::Prediction;

/// ROC AUC of scores against binary labels: the probability that a random positive scores
/// higher than a random negative, counting ties as one half (the Mann–Whitney U statistic
/// divided by `positives × negatives`).
///
/// Runs in O(n log n). Returns `None` when there is no positive, no negative, or a score is
/// NaN or infinite.
pub fn binary_auc(scored: &[(f64, bool)]) -> Option<f64> {
    if scored.iter().any(|(score, _)| !score.is_finite()) {
        return None;
    }
    let mut sorted = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut negatives_below = 0u64;
    let mut positives_total = 0u64;
    // Twice the U statistic, so that ties (worth one half) stay integral.
    let mut twice_u = 0u128;
    let mut start = 0;
    while start < sorted.len() {
        let score = sorted[start].0;
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|(s, _)| *s == score)
                .count();
        let group_positives = sorted[start..end].iter().filter(|(_, p)| *p).count() as u64;
        let group_negatives = (end - start) as u64 - group_positives;
        twice_u += u128::from(group_positives) * u128::from(2 * negatives_below + group_negatives);
        negatives_below += group_negatives;
        positives_total += group_positives;
        start = end;
    }
    let negatives_total = negatives_below;
    if positives_total == 0 || negatives_total == 0 {
        return None;
    }
    let pairs = u128::from(positives_total) * u128::from(negatives_total);
    Some(twice_u as f64 / (2 * pairs) as f64)
}

/// One-vs-rest ROC AUC of class `class`: images of that class are positives, all others
/// negatives, and each image is scored by its probability for `class`.
///
/// Returns `None` when the class has no positives or no negatives, or when some prediction
/// has no finite probability for `class`.
pub fn one_vs_rest_auc(preds: &[Prediction], class: usize) -> Option<f64> {
    let scored = preds
        .iter()
        .map(|pred| {
            pred.probabilities
                .get(class)
                .map(|&p| (f64::from(p), pred.label == class))
        })
        .collect::<Option<Vec<_>>>()?;
    binary_auc(&scored)
}
