//! AUC against hand-computed values with ties and against the O(n²) pair-counting definition.

use eyegan_metrics::{binary_auc, one_vs_rest_auc, Prediction};
use proptest::prelude::*;

/// The definition: fraction of (positive, negative) pairs ordered correctly, ties count ½.
fn pair_counting_auc(scored: &[(f64, bool)]) -> Option<f64> {
    let mut wins = 0.0;
    let mut pairs = 0u64;
    for &(pos, _) in scored.iter().filter(|(_, p)| *p) {
        for &(neg, _) in scored.iter().filter(|(_, p)| !*p) {
            pairs += 1;
            wins += if pos > neg {
                1.0
            } else if pos == neg {
                0.5
            } else {
                0.0
            };
        }
    }
    (pairs > 0).then(|| wins / pairs as f64)
}

fn three_class_prediction(id: usize, label: usize, class0_score: f32) -> Prediction {
    let rest = (1.0 - class0_score) / 2.0;
    Prediction {
        image_id: id.to_string(),
        label,
        predicted: if class0_score >= 0.5 { 0 } else { 1 },
        probabilities: vec![class0_score, rest, rest],
    }
}

#[test]
fn auc_with_ties_matches_hand_computation() {
    // positives 0.9, 0.7, 0.5; negatives 0.7, 0.3, 0.5, 0.1.
    // 0.9 beats 4; 0.7 beats 3 and ties 1 (3.5); 0.5 beats 2 and ties 1 (2.5): 10 / 12.
    let scored = [
        (0.9, true),
        (0.7, true),
        (0.5, true),
        (0.7, false),
        (0.3, false),
        (0.5, false),
        (0.1, false),
    ];
    assert!((binary_auc(&scored).unwrap() - 10.0 / 12.0).abs() < 1e-15);

    // The same through one-vs-rest on class 0 of a three-class problem (negatives of class 1 and 2).
    let preds: Vec<Prediction> = scored
        .iter()
        .enumerate()
        .map(|(i, &(s, positive))| {
            three_class_prediction(i, if positive { 0 } else { 1 + i % 2 }, s as f32)
        })
        .collect();
    assert!((one_vs_rest_auc(&preds, 0).unwrap() - 10.0 / 12.0).abs() < 1e-7);
}

#[test]
fn all_tied_scores_give_one_half() {
    let scored = [(0.4, true), (0.4, false), (0.4, true), (0.4, false)];
    assert_eq!(binary_auc(&scored), Some(0.5));
}

#[test]
fn undefined_auc_is_none() {
    assert_eq!(binary_auc(&[]), None);
    assert_eq!(binary_auc(&[(0.3, true), (0.6, true)]), None);
    assert_eq!(binary_auc(&[(0.3, false), (0.6, false)]), None);
    assert_eq!(binary_auc(&[(f64::NAN, true), (0.6, false)]), None);
    let preds = vec![
        three_class_prediction(0, 1, 0.2),
        three_class_prediction(1, 2, 0.7),
    ];
    assert_eq!(one_vs_rest_auc(&preds, 0), None); // class 0 has no positives
    assert_eq!(one_vs_rest_auc(&preds, 5), None); // no probability for class 5
}

/// Scores on a grid of eighths, so ties are frequent and 1 − s is exact.
fn scored_strategy() -> impl Strategy<Value = Vec<(f64, bool)>> {
    prop::collection::vec(
        ((0u8..=8).prop_map(|k| f64::from(k) / 8.0), any::<bool>()),
        0..60,
    )
}

proptest! {
    #[test]
    fn fast_auc_equals_pair_counting(scored in scored_strategy()) {
        let fast = binary_auc(&scored);
        let slow = pair_counting_auc(&scored);
        prop_assert_eq!(fast.is_some(), slow.is_some());
        if let (Some(fast), Some(slow)) = (fast, slow) {
            prop_assert!((fast - slow).abs() < 1e-12, "fast {} slow {}", fast, slow);
            prop_assert!((0.0..=1.0).contains(&fast));
        }
    }

    #[test]
    fn reversed_scores_give_one_minus_auc(scored in scored_strategy()) {
        let reversed: Vec<(f64, bool)> = scored.iter().map(|&(s, p)| (1.0 - s, p)).collect();
        if let Some(auc) = binary_auc(&scored) {
            let flipped = binary_auc(&reversed).unwrap();
            prop_assert!((auc + flipped - 1.0).abs() < 1e-12);
        } else {
            prop_assert_eq!(binary_auc(&reversed), None);
        }
    }

    #[test]
    fn one_vs_rest_equals_pair_counting(
        rows in prop::collection::vec(((0u8..=8), 0usize..3), 1..40)
    ) {
        let preds: Vec<Prediction> = rows
            .iter()
            .enumerate()
            .map(|(i, &(k, label))| three_class_prediction(i, label, f32::from(k) / 8.0))
            .collect();
        let scored: Vec<(f64, bool)> = rows
            .iter()
            .map(|&(k, label)| (f64::from(k) / 8.0, label == 0))
            .collect();
        prop_assert_eq!(one_vs_rest_auc(&preds, 0), pair_counting_auc(&scored));
    }
}
