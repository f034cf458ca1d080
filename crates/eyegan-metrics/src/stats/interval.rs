//! Student-t confidence interval of a mean (e.g. an arm's accuracy over seeds).

use serde::{Deserialize, Serialize};

use super::student_t::student_t_quantile;

/// The mean of a sample with its two-sided Student-t confidence interval.
///
/// With a single value the spread is unknown: `std_dev`, `half_width`, `lower` and `upper`
/// are `None` (rather than NaN, which JSON cannot carry), while `mean` is still reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanInterval {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (denominator n − 1); `None` when n = 1.
    pub std_dev: Option<f64>,
    /// t_{(1+level)/2, n−1} · s / √n; `None` when n = 1.
    pub half_width: Option<f64>,
    /// mean − half_width; `None` when n = 1.
    pub lower: Option<f64>,
    /// mean + half_width; `None` when n = 1.
    pub upper: Option<f64>,
    /// Sample size.
    pub n: usize,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

/// Mean and two-sided `level` confidence interval of `values` under Student's t with n − 1
/// degrees of freedom.
///
/// Returns `None` when `values` is empty, a value is NaN or infinite, or `level` is not
/// strictly between 0 and 1. With one value the interval fields are `None` (see
/// [`MeanInterval`]).
pub fn mean_confidence_interval(values: &[f64], level: f64) -> Option<MeanInterval> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) || !(level > 0.0 && level < 1.0) {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut interval = MeanInterval {
        mean,
        std_dev: None,
        half_width: None,
        lower: None,
        upper: None,
        n,
        level,
    };
    if n >= 2 {
        let dof = (n - 1) as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / dof;
        let std_dev = variance.sqrt();
        let critical = student_t_quantile((1.0 + level) / 2.0, dof)?;
        let half_width = critical * std_dev / (n as f64).sqrt();
        interval.std_dev = Some(std_dev);
        interval.half_width = Some(half_width);
        interval.lower = Some(mean - half_width);
        interval.upper = Some(mean + half_width);
    }
    Some(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "got {actual}, expected {expected} ± {tolerance}"
        );
    }

    #[test]
    fn interval_of_one_to_five() {
        // mean 3, s = √2.5, se = √0.5, half width = 2.776445105 · 0.707106781 = 1.963243161.
        let ci = mean_confidence_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).unwrap();
        assert_close(ci.mean, 3.0, 1e-12);
        assert_close(ci.std_dev.unwrap(), 2.5f64.sqrt(), 1e-12);
        assert_close(ci.half_width.unwrap(), 1.963_243_161, 1e-8);
        assert_close(ci.lower.unwrap(), 1.036_756_839, 1e-8);
        assert_close(ci.upper.unwrap(), 4.963_243_161, 1e-8);
        assert_eq!(ci.n, 5);
        assert_eq!(ci.level, 0.95);
    }

    #[test]
    fn interval_of_ten_accuracies_at_99_percent() {
        // Mean 0.80, Σ(x − x̄)² = 0.003, s = 0.018257419, t_{0.995,9} = 3.249835542
        // → half width 3.249835542 · 0.018257419 / √10 = 0.018763.
        let values = [0.78, 0.80, 0.81, 0.79, 0.83, 0.77, 0.80, 0.82, 0.79, 0.81];
        let ci = mean_confidence_interval(&values, 0.99).unwrap();
        assert_close(ci.mean, 0.80, 1e-12);
        let s = (0.003f64 / 9.0).sqrt();
        assert_close(s, 0.018_257_419, 1e-9);
        assert_close(ci.std_dev.unwrap(), s, 1e-12);
        assert_close(
            ci.half_width.unwrap(),
            3.249_835_542 * s / 10f64.sqrt(),
            1e-9,
        );
        assert_close(ci.half_width.unwrap(), 0.018_763, 1e-6);
    }

    #[test]
    fn identical_values_give_a_zero_width_interval() {
        let ci = mean_confidence_interval(&[0.5, 0.5, 0.5], 0.95).unwrap();
        assert_eq!(ci.half_width, Some(0.0));
        assert_eq!(ci.lower, Some(0.5));
        assert_eq!(ci.upper, Some(0.5));
    }

    #[test]
    fn a_single_value_has_a_mean_but_no_interval() {
        let ci = mean_confidence_interval(&[0.7], 0.95).unwrap();
        assert_eq!(ci.mean, 0.7);
        assert_eq!(
            (ci.std_dev, ci.half_width, ci.lower, ci.upper),
            (None, None, None, None)
        );
        // And it survives a JSON round trip.
        let json = serde_json::to_string(&ci).unwrap();
        assert_eq!(serde_json::from_str::<MeanInterval>(&json).unwrap(), ci);
    }

    #[test]
    fn invalid_input_gives_none() {
        assert_eq!(mean_confidence_interval(&[], 0.95), None);
        assert_eq!(mean_confidence_interval(&[1.0, f64::NAN], 0.95), None);
        assert_eq!(mean_confidence_interval(&[1.0, 2.0], 1.0), None);
        assert_eq!(mean_confidence_interval(&[1.0, 2.0], 0.0), None);
    }
}
