//! Paired comparison of two models: aligning predictions, McNemar and the bootstrap interval.

use eyegan_metrics::{
    mcnemar, paired_bootstrap_accuracy_difference, paired_correctness, McNemarMethod, MetricsError,
    Prediction,
};

fn pred(id: &str, label: usize, predicted: usize) -> Prediction {
    Prediction {
        image_id: id.to_string(),
        label,
        predicted,
        probabilities: vec![0.5, 0.5],
    }
}

/// 200 images: both right on 120, only B right on 40, only A right on 10, both wrong on 30.
fn outcomes() -> (Vec<bool>, Vec<bool>) {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for (count, a_right, b_right) in [
        (120, true, true),
        (40, false, true),
        (10, true, false),
        (30, false, false),
    ] {
        a.extend(std::iter::repeat_n(a_right, count));
        b.extend(std::iter::repeat_n(b_right, count));
    }
    (a, b)
}

#[test]
fn bootstrap_is_deterministic_for_a_seed_and_contains_the_estimate() {
    let (a, b) = outcomes();
    let first = paired_bootstrap_accuracy_difference(&a, &b, 2000, 0.95, 7).unwrap();
    let again = paired_bootstrap_accuracy_difference(&a, &b, 2000, 0.95, 7).unwrap();
    assert_eq!(first, again);
    // Bounds are multiples of 1/200, so one other seed may coincide; several must not all.
    let differs = (8..13).any(|seed| {
        paired_bootstrap_accuracy_difference(&a, &b, 2000, 0.95, seed).unwrap() != first
    });
    assert!(differs, "the seed has no effect on the interval");

    // accuracy(B) − accuracy(A) = 160/200 − 130/200 = 0.15.
    assert!((first.estimate - 0.15).abs() < 1e-12);
    assert!(first.lower < first.estimate && first.estimate < first.upper);
    // Normal-theory standard error of the paired difference: √((50/200 − 0.15²)/200) ≈ 0.0337,
    // so the 95% interval is about 0.15 ± 0.066; the bootstrap must land near it.
    assert!((first.lower - 0.084).abs() < 0.02, "lower {}", first.lower);
    assert!((first.upper - 0.216).abs() < 0.02, "upper {}", first.upper);
    assert!(first.excludes_zero());
    assert_eq!((first.level, first.resamples), (0.95, 2000));

    // McNemar agrees that B is better: b = 10, c = 40 → chi² = 29² / 50 = 16.82.
    let test = mcnemar(&a, &b).unwrap();
    assert_eq!((test.b, test.c), (10, 40));
    assert_eq!(test.method, McNemarMethod::ChiSquaredCorrected);
    assert!((test.statistic.unwrap() - 16.82).abs() < 1e-12);
    assert!(test.is_significant(0.001));
}

#[test]
fn identical_models_give_a_zero_width_interval_around_zero() {
    let (a, _) = outcomes();
    let interval = paired_bootstrap_accuracy_difference(&a, &a, 500, 0.9, 1).unwrap();
    assert_eq!(
        (interval.estimate, interval.lower, interval.upper),
        (0.0, 0.0, 0.0)
    );
    assert!(!interval.excludes_zero());
}

#[test]
fn wider_level_gives_a_wider_interval() {
    let (a, b) = outcomes();
    let narrow = paired_bootstrap_accuracy_difference(&a, &b, 1000, 0.5, 3).unwrap();
    let wide = paired_bootstrap_accuracy_difference(&a, &b, 1000, 0.99, 3).unwrap();
    assert!(wide.lower < narrow.lower && narrow.upper < wide.upper);
}

#[test]
fn bootstrap_errors() {
    let (a, b) = outcomes();
    assert_eq!(
        paired_bootstrap_accuracy_difference(&a, &b[..5], 10, 0.95, 0),
        Err(MetricsError::LengthMismatch {
            left_name: "a_correct",
            left: 200,
            right_name: "b_correct",
            right: 5
        })
    );
    assert_eq!(
        paired_bootstrap_accuracy_difference(&[], &[], 10, 0.95, 0),
        Err(MetricsError::EmptyInput {
            what: "paired outcomes"
        })
    );
    assert_eq!(
        paired_bootstrap_accuracy_difference(&a, &b, 0, 0.95, 0),
        Err(MetricsError::NoResamples)
    );
    for level in [0.0, 1.0, 95.0, f64::NAN] {
        let err = paired_bootstrap_accuracy_difference(&a, &b, 10, level, 0).unwrap_err();
        assert!(matches!(err, MetricsError::InvalidLevel { .. }), "{err}");
    }
}

#[test]
fn predictions_are_paired_by_image_id() {
    let a = vec![pred("x", 0, 0), pred("y", 1, 0), pred("z", 1, 1)];
    let b = vec![pred("z", 1, 0), pred("x", 0, 0), pred("y", 1, 1)];
    let paired = paired_correctness(&a, &b).unwrap();
    assert_eq!(paired.image_ids, vec!["x", "y", "z"]);
    assert_eq!(paired.a_correct, vec![true, false, true]);
    assert_eq!(paired.b_correct, vec![true, true, false]);
}

#[test]
fn pairing_errors_name_the_image() {
    let a = vec![pred("x", 0, 0), pred("y", 1, 0)];

    let err = paired_correctness(&a, &a[..1]).unwrap_err();
    assert!(matches!(
        err,
        MetricsError::LengthMismatch {
            left: 2,
            right: 1,
            ..
        }
    ));

    let duplicate = vec![pred("x", 0, 0), pred("x", 0, 1)];
    assert_eq!(
        paired_correctness(&duplicate, &a).unwrap_err(),
        MetricsError::DuplicateImageId {
            image_id: "x".into(),
            set: "predictions of model A"
        }
    );

    let other = vec![pred("x", 0, 0), pred("w", 1, 0)];
    let err = paired_correctness(&a, &other).unwrap_err();
    assert_eq!(
        err,
        MetricsError::UnmatchedImageId {
            image_id: "w".into(),
            present_in: "predictions of model B",
            missing_from: "predictions of model A"
        }
    );
    assert!(err.to_string().contains("'w'"));

    let relabelled = vec![pred("x", 0, 0), pred("y", 0, 0)];
    assert_eq!(
        paired_correctness(&a, &relabelled).unwrap_err(),
        MetricsError::LabelDisagreement {
            image_id: "y".into(),
            first_label: 1,
            second_label: 0
        }
    );
}
