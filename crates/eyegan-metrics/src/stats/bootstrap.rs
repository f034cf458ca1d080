//! Paired bootstrap confidence interval of the difference in accuracy between two models.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::paired::check_paired_outcomes;
use crate::MetricsError;

/// A point estimate with its percentile bootstrap confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInterval {
    /// The statistic on the original sample.
    pub estimate: f64,
    /// Lower percentile bound, the (1 − level)/2 quantile of the resampled statistics.
    pub lower: f64,
    /// Upper percentile bound, the (1 + level)/2 quantile of the resampled statistics.
    pub upper: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Number of bootstrap resamples drawn.
    pub resamples: u32,
}

impl BootstrapInterval {
    /// Whether zero lies outside [lower, upper], i.e. the difference is significant at `level`.
    pub fn excludes_zero(&self) -> bool {
        self.lower > 0.0 || self.upper < 0.0
    }
}

/// accuracy(B) − accuracy(A) on the same images, with a percentile bootstrap interval.
///
/// Each resample draws n images with replacement (keeping each image's pair of outcomes
/// together) from a ChaCha8 generator seeded with `seed`, so equal inputs and seed give equal
/// intervals on every platform. Quantiles interpolate linearly between order statistics.
/// Errors on empty input, a length mismatch, zero resamples or a level outside (0, 1).
pub fn paired_bootstrap_accuracy_difference(
    a_correct: &[bool],
    b_correct: &[bool],
    resamples: u32,
    level: f64,
    seed: u64,
) -> Result<BootstrapInterval, MetricsError> {
    check_paired_outcomes(a_correct, b_correct)?;
    if resamples == 0 {
        return Err(MetricsError::NoResamples);
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(MetricsError::InvalidLevel { level });
    }
    // Per image: +1 when only B is right, −1 when only A is right, 0 otherwise.
    let differences: Vec<i64> = a_correct
        .iter()
        .zip(b_correct)
        .map(|(&a, &b)| i64::from(b) - i64::from(a))
        .collect();
    let n = differences.len();
    let mean_difference = |total: i64| total as f64 / n as f64;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut statistics: Vec<f64> = (0..resamples)
        .map(|_| {
            let total: i64 = (0..n).map(|_| differences[rng.random_range(0..n)]).sum();
            mean_difference(total)
        })
        .collect();
    statistics.sort_by(f64::total_cmp);

    Ok(BootstrapInterval {
        estimate: mean_difference(differences.iter().sum()),
        lower: sorted_quantile(&statistics, (1.0 - level) / 2.0),
        upper: sorted_quantile(&statistics, (1.0 + level) / 2.0),
        level,
        resamples,
    })
}

/// The `q`-quantile of non-empty ascending `sorted`, interpolating linearly between order
/// statistics (Hyndman & Fan type 7, the default of R and NumPy).
fn sorted_quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_numpy() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(sorted_quantile(&sorted, 0.0), 1.0);
        assert_eq!(sorted_quantile(&sorted, 1.0), 10.0);
        assert_eq!(sorted_quantile(&sorted, 0.5), 3.0);
        // numpy.quantile([1, 2, 3, 4, 10], 0.9) = 4 + 0.6 · 6 = 7.6
        assert!((sorted_quantile(&sorted, 0.9) - 7.6).abs() < 1e-12);
        assert_eq!(sorted_quantile(&[5.0], 0.3), 5.0);
    }
}
