//! The error type shared by every fallible function in this crate.

/// What is wrong with the input handed to a metric or statistic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// Two inputs that must be paired element by element have different lengths.
    #[error("length mismatch: {left_name} has {left} entries but {right_name} has {right}")]
    LengthMismatch {
        /// Name of the first input.
        left_name: &'static str,
        /// Length of the first input.
        left: usize,
        /// Name of the second input.
        right_name: &'static str,
        /// Length of the second input.
        right: usize,
    },
    /// A true or predicted class index is not below the number of classes.
    #[error(
        "prediction {index} (image '{image_id}'): {field} {value} is out of range for {classes} classes"
    )]
    LabelOutOfRange {
        /// Position of the offending prediction.
        index: usize,
        /// Image id of the offending prediction.
        image_id: String,
        /// Which field is out of range: `label` or `predicted`.
        field: &'static str,
        /// The out-of-range class index.
        value: usize,
        /// Number of classes.
        classes: usize,
    },
    /// An input that must contain at least one element is empty.
    #[error("empty input: {what}")]
    EmptyInput {
        /// Which input is empty.
        what: &'static str,
    },
    /// A prediction does not carry exactly one probability per class.
    #[error(
        "prediction {index} (image '{image_id}'): {found} probabilities, expected one per class ({expected})"
    )]
    ProbabilitiesLength {
        /// Position of the offending prediction.
        index: usize,
        /// Image id of the offending prediction.
        image_id: String,
        /// Number of probabilities present.
        found: usize,
        /// Number of classes.
        expected: usize,
    },
    /// A prediction carries a NaN or infinite probability.
    #[error(
        "prediction {index} (image '{image_id}'): probability for class {class} is not finite"
    )]
    NonFiniteProbability {
        /// Position of the offending prediction.
        index: usize,
        /// Image id of the offending prediction.
        image_id: String,
        /// Class whose probability is not finite.
        class: usize,
    },
    /// A confidence level outside the open interval (0, 1).
    #[error("confidence level {level} must lie strictly between 0 and 1")]
    InvalidLevel {
        /// The rejected level.
        level: f64,
    },
    /// A bootstrap was asked for zero resamples.
    #[error("bootstrap needs at least one resample, got 0")]
    NoResamples,
    /// The same image id occurs twice in one prediction set being paired.
    #[error("image id '{image_id}' appears more than once in {set}")]
    DuplicateImageId {
        /// The repeated id.
        image_id: String,
        /// Which prediction set holds the duplicate.
        set: &'static str,
    },
    /// An image id of one prediction set is missing from the other.
    #[error("image id '{image_id}' of {present_in} has no prediction in {missing_from}")]
    UnmatchedImageId {
        /// The unmatched id.
        image_id: String,
        /// The set that has the id.
        present_in: &'static str,
        /// The set that lacks it.
        missing_from: &'static str,
    },
    /// Two prediction sets disagree on the true class of the same image.
    #[error("image id '{image_id}' has true label {first_label} in the first set but {second_label} in the second")]
    LabelDisagreement {
        /// The image both sets predicted.
        image_id: String,
        /// Its label in the first set.
        first_label: usize,
        /// Its label in the second set.
        second_label: usize,
    },
}
