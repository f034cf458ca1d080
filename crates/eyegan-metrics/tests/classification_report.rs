//! Hand-computed classification metrics on a small three-class example, and input errors.

use eyegan_metrics::{
    classification_report, correctness, ClassificationReport, ConfusionMatrix, MetricsError,
    Prediction,
};

fn classes() -> Vec<String> {
    ["cataract", "glaucoma", "normal"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn prediction(id: usize, label: usize, predicted: usize) -> Prediction {
    // Probabilities favour the predicted class, with a little id-dependent variation.
    let mut probabilities = vec![0.1f32; 3];
    probabilities[predicted] = 0.8;
    probabilities[(predicted + 1) % 3] = 0.1 - 0.005 * id as f32;
    probabilities[(predicted + 2) % 3] = 0.1 + 0.005 * id as f32;
    Prediction {
        image_id: format!("img-{id}"),
        label,
        predicted,
        probabilities,
    }
}

/// true 0: 0,0,0,1 · true 1: 1,1,2 · true 2: 2,2,0,0 — 11 images, 7 correct.
fn example() -> Vec<Prediction> {
    let pairs = [
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 1),
        (1, 1),
        (1, 1),
        (1, 2),
        (2, 2),
        (2, 2),
        (2, 0),
        (2, 0),
    ];
    pairs
        .iter()
        .enumerate()
        .map(|(id, &(label, predicted))| prediction(id, label, predicted))
        .collect()
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "got {actual}, expected {expected}"
    );
}

#[test]
fn confusion_matrix_counts_true_by_predicted() {
    let cm = ConfusionMatrix::from_predictions(&classes(), &example()).unwrap();
    assert_eq!(cm.counts, vec![vec![3, 1, 0], vec![0, 2, 1], vec![2, 0, 2]]);
    assert_eq!(cm.total(), 11);
    assert_eq!(cm.correct(), 7);
    assert_close(cm.accuracy(), 7.0 / 11.0);
    assert_eq!((cm.support(0), cm.support(1), cm.support(2)), (4, 3, 4));
    assert_eq!(
        (
            cm.predicted_count(0),
            cm.predicted_count(1),
            cm.predicted_count(2)
        ),
        (5, 3, 3)
    );
}

#[test]
fn per_class_and_macro_metrics_match_hand_computation() {
    let report = classification_report(&classes(), &example()).unwrap();
    assert_eq!(report.count, 11);
    assert_close(report.accuracy, 7.0 / 11.0);

    // class 0: TP 3, FP 2, FN 1, TN 5
    let c0 = &report.per_class[0];
    assert_eq!((c0.class.as_str(), c0.support), ("cataract", 4));
    assert_close(c0.precision, 3.0 / 5.0);
    assert_close(c0.recall, 3.0 / 4.0);
    assert_close(c0.specificity, 5.0 / 7.0);
    assert_close(c0.f1, 2.0 / 3.0);
    // class 1: TP 2, FP 1, FN 1, TN 7
    let c1 = &report.per_class[1];
    assert_eq!(c1.support, 3);
    assert_close(c1.precision, 2.0 / 3.0);
    assert_close(c1.recall, 2.0 / 3.0);
    assert_close(c1.specificity, 7.0 / 8.0);
    assert_close(c1.f1, 2.0 / 3.0);
    // class 2: TP 2, FP 1, FN 2, TN 6
    let c2 = &report.per_class[2];
    assert_eq!(c2.support, 4);
    assert_close(c2.precision, 2.0 / 3.0);
    assert_close(c2.recall, 1.0 / 2.0);
    assert_close(c2.specificity, 6.0 / 7.0);
    assert_close(c2.f1, 4.0 / 7.0);

    assert_close(report.macro_precision, (3.0 / 5.0 + 4.0 / 3.0) / 3.0);
    assert_close(
        report.macro_recall,
        (3.0 / 4.0 + 2.0 / 3.0 + 1.0 / 2.0) / 3.0,
    );
    assert_close(report.macro_specificity, 137.0 / 168.0);
    assert_close(report.macro_f1, 40.0 / 63.0);

    let aucs: Vec<f64> = report.per_class.iter().map(|m| m.auc.unwrap()).collect();
    assert!(aucs.iter().all(|auc| (0.0..=1.0).contains(auc)));
    assert_close(report.macro_auc.unwrap(), aucs.iter().sum::<f64>() / 3.0);
}

#[test]
fn perfect_predictions_give_perfect_scores() {
    let preds: Vec<Prediction> = (0..9).map(|i| prediction(i, i % 3, i % 3)).collect();
    let report = classification_report(&classes(), &preds).unwrap();
    assert_eq!(report.accuracy, 1.0);
    for m in &report.per_class {
        assert_eq!(
            (m.precision, m.recall, m.specificity, m.f1),
            (1.0, 1.0, 1.0, 1.0)
        );
        assert_eq!(m.auc, Some(1.0));
    }
    assert_eq!(report.macro_auc, Some(1.0));
}

#[test]
fn a_class_absent_from_the_data_scores_zero_and_has_no_auc() {
    // No image is of class 2 or predicted as it: 0/0 ratios are reported as 0.0, AUC as None.
    let preds = vec![
        prediction(0, 0, 0),
        prediction(1, 1, 1),
        prediction(2, 1, 0),
    ];
    let report = classification_report(&classes(), &preds).unwrap();
    let absent = &report.per_class[2];
    assert_eq!(absent.support, 0);
    assert_eq!(
        (absent.precision, absent.recall, absent.f1),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(absent.specificity, 1.0);
    assert_eq!(absent.auc, None);
    // macro AUC averages the two defined AUCs only.
    let defined: Vec<f64> = report.per_class[..2]
        .iter()
        .map(|m| m.auc.unwrap())
        .collect();
    assert_close(report.macro_auc.unwrap(), (defined[0] + defined[1]) / 2.0);
}

#[test]
fn report_round_trips_through_json() {
    let report = classification_report(&classes(), &example()).unwrap();
    let json = serde_json::to_string(&report).unwrap();
    let back: ClassificationReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn correctness_follows_input_order() {
    let flags = correctness(&example());
    assert_eq!(flags.iter().filter(|&&c| c).count(), 7);
    assert_eq!(&flags[..4], &[true, true, true, false]);
}

#[test]
fn errors_name_what_is_wrong() {
    let classes = classes();

    let err = classification_report(&classes, &[]).unwrap_err();
    assert_eq!(
        err,
        MetricsError::EmptyInput {
            what: "predictions"
        }
    );
    assert_eq!(
        ConfusionMatrix::from_predictions(&[], &example()).unwrap_err(),
        MetricsError::EmptyInput { what: "classes" }
    );

    let mut preds = example();
    preds[5].label = 3;
    let err = classification_report(&classes, &preds).unwrap_err();
    assert_eq!(
        err,
        MetricsError::LabelOutOfRange {
            index: 5,
            image_id: "img-5".into(),
            field: "label",
            value: 3,
            classes: 3
        }
    );
    assert!(err
        .to_string()
        .contains("label 3 is out of range for 3 classes"));

    let mut preds = example();
    preds[2].predicted = 7;
    let err = ConfusionMatrix::from_predictions(&classes, &preds).unwrap_err();
    assert!(matches!(
        err,
        MetricsError::LabelOutOfRange {
            index: 2,
            field: "predicted",
            value: 7,
            classes: 3,
            ..
        }
    ));

    let mut preds = example();
    preds[4].probabilities.pop();
    let err = classification_report(&classes, &preds).unwrap_err();
    assert_eq!(
        err,
        MetricsError::ProbabilitiesLength {
            index: 4,
            image_id: "img-4".into(),
            found: 2,
            expected: 3
        }
    );
    assert!(err
        .to_string()
        .contains("2 probabilities, expected one per class (3)"));
    // The confusion matrix alone does not need probabilities.
    assert!(ConfusionMatrix::from_predictions(&classes, &preds).is_ok());

    let mut preds = example();
    preds[8].probabilities[1] = f32::NAN;
    assert_eq!(
        classification_report(&classes, &preds).unwrap_err(),
        MetricsError::NonFiniteProbability {
            index: 8,
            image_id: "img-8".into(),
            class: 1
        }
    );
}
