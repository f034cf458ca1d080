//! Classification metrics and statistics for EyeGAN.
//!
//! [`classification_report`] turns per-image [`Prediction`]s into accuracy, per-class
//! precision / recall / specificity / F1, one-vs-rest AUC and a confusion matrix, as the
//! classifier service reports them. The [`stats`] module holds what the orchestrator's report
//! adds: Student-t intervals over seeds, McNemar's test and a paired bootstrap interval of the
//! accuracy difference between two arms on the same test images.
//!
//! Ratios with a zero denominator are reported as 0.0 and undefined quantities as `None`, so
//! every result serialises to JSON without NaN.

mod auc;
mod class_metrics;
mod confusion;
mod error;
mod predictions;
pub mod stats;

pub use auc::{binary_auc, one_vs_rest_auc};
pub use class_metrics::{classification_report, ClassMetrics, ClassificationReport};
pub use confusion::ConfusionMatrix;
pub use error::MetricsError;
pub use predictions::{correctness, Prediction};
pub use stats::{
    mcnemar, mean_confidence_interval, paired_bootstrap_accuracy_difference, paired_correctness,
    BootstrapInterval, McNemarMethod, McNemarResult, MeanInterval, PairedCorrectness,
};
