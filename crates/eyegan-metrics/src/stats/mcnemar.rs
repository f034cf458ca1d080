//! McNemar's test of two classifiers evaluated on the same images.

use serde::{Deserialize, Serialize};

use super::chi_squared::chi_squared_survival;
use super::paired::check_paired_outcomes;
use crate::MetricsError;

/// Below this many discordant pairs (b + c) the exact binomial test is used.
pub const MCNEMAR_EXACT_BELOW: u64 = 25;

/// How a McNemar p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McNemarMethod {
    /// Two-sided exact binomial test of b against Bin(b + c, 1/2).
    ExactBinomial,
    /// Chi-squared with 1 degree of freedom on (|b − c| − 1)² / (b + c) (Edwards' correction).
    ChiSquaredCorrected,
}

/// Outcome of McNemar's test. A significant result means the two models' error rates differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McNemarResult {
    /// Images model A got right and model B got wrong.
    pub b: u64,
    /// Images model A got wrong and model B got right.
    pub c: u64,
    /// The chi-squared statistic; `None` for the exact test.
    pub statistic: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Which test produced the p-value.
    pub method: McNemarMethod,
}

impl McNemarResult {
    /// Whether the p-value is below `alpha` (e.g. 0.05).
    pub fn is_significant(&self, alpha: f64) -> bool {
        self.p_value < alpha
    }
}

/// McNemar's test on per-image correctness of model A and model B (same images, same order).
///
/// Uses the exact two-sided binomial test when b + c < [`MCNEMAR_EXACT_BELOW`], otherwise the
/// continuity-corrected chi-squared test. Errors on empty input or a length mismatch.
pub fn mcnemar(a_correct: &[bool], b_correct: &[bool]) -> Result<McNemarResult, MetricsError> {
    check_paired_outcomes(a_correct, b_correct)?;
    let (mut b, mut c) = (0u64, 0u64);
    for (&a_right, &b_right) in a_correct.iter().zip(b_correct) {
        match (a_right, b_right) {
            (true, false) => b += 1,
            (false, true) => c += 1,
            _ => {}
        }
    }
    Ok(mcnemar_from_counts(b, c))
}

/// McNemar's test from the discordant counts `b` (A right, B wrong) and `c` (A wrong, B right).
pub fn mcnemar_from_counts(b: u64, c: u64) -> McNemarResult {
    let discordant = b + c;
    if discordant < MCNEMAR_EXACT_BELOW {
        McNemarResult {
            b,
            c,
            statistic: None,
            p_value: exact_two_sided_binomial_half(b.min(c), discordant),
            method: McNemarMethod::ExactBinomial,
        }
    } else {
        let difference = b.abs_diff(c) as f64;
        let statistic = (difference - 1.0).max(0.0).powi(2) / discordant as f64;
        McNemarResult {
            b,
            c,
            statistic: Some(statistic),
            // dof = 1 is valid and the statistic finite, so the survival function is defined.
            p_value: chi_squared_survival(statistic, 1.0).unwrap_or(1.0),
            method: McNemarMethod::ChiSquaredCorrected,
        }
    }
}

/// min(1, 2 · P(X ≤ k)) for X ~ Bin(n, 1/2), computed exactly in integers (n < 64).
fn exact_two_sided_binomial_half(k: u64, n: u64) -> f64 {
    let mut coefficient = 1u64; // C(n, 0)
    let mut cumulative = 0u64;
    for i in 0..=k {
        cumulative += coefficient;
        coefficient = coefficient * (n - i) / (i + 1);
    }
    (2.0 * cumulative as f64 / 2f64.powi(n as i32)).min(1.0)
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
    fn exact_p_values_match_hand_computation() {
        // b = 1, c = 9: 2 · (C(10,0) + C(10,1)) / 2^10 = 22 / 1024 = 0.021484375.
        let r = mcnemar_from_counts(1, 9);
        assert_eq!(r.method, McNemarMethod::ExactBinomial);
        assert_eq!(r.statistic, None);
        assert_close(r.p_value, 22.0 / 1024.0, 1e-15);
        assert_close(r.p_value, 0.02148, 1e-5);
        assert!(r.is_significant(0.05));
        // Symmetric in b and c.
        assert_eq!(mcnemar_from_counts(9, 1).p_value, r.p_value);
        // b = c = 5: 2 · P(X ≤ 5) > 1, so p = 1.
        assert_eq!(mcnemar_from_counts(5, 5).p_value, 1.0);
        // No discordant pairs: nothing to test, p = 1.
        assert_eq!(mcnemar_from_counts(0, 0).p_value, 1.0);
        // b = 0, c = 24 (largest exact case): 2 / 2^24.
        assert_close(
            mcnemar_from_counts(0, 24).p_value,
            2.0 / 16_777_216.0,
            1e-20,
        );
        // b = 3, c = 12: 2 · (1 + 15 + 105 + 455) / 2^15 = 1152 / 32768 = 0.03515625.
        assert_close(mcnemar_from_counts(3, 12).p_value, 0.035_156_25, 1e-15);
    }

    #[test]
    fn chi_squared_matches_hand_computation() {
        // b = 30, c = 12: (|30 − 12| − 1)² / 42 = 289 / 42 = 6.880952, p = 0.0087119.
        let r = mcnemar_from_counts(30, 12);
        assert_eq!(r.method, McNemarMethod::ChiSquaredCorrected);
        assert_close(r.statistic.unwrap(), 289.0 / 42.0, 1e-12);
        assert_close(r.p_value, 0.008_711_912_962, 1e-11);
        // b + c = 25 switches to chi-squared; b = c gives statistic 0 after clamping, p = 1.
        let balanced = mcnemar_from_counts(13, 13);
        assert_eq!(balanced.method, McNemarMethod::ChiSquaredCorrected);
        assert_eq!(balanced.statistic, Some(0.0));
        assert_eq!(balanced.p_value, 1.0);
    }

    #[test]
    fn counts_discordant_pairs_from_outcomes() {
        //            A right/B wrong ×2, A wrong/B right ×1, concordant ×3
        let a = [true, true, false, true, false, true];
        let b = [false, false, true, true, false, true];
        let r = mcnemar(&a, &b).unwrap();
        assert_eq!((r.b, r.c), (2, 1));
        // 2 · (C(3,0) + C(3,1)) / 8 = 1.
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            mcnemar(&[true, false], &[true]),
            Err(MetricsError::LengthMismatch {
                left_name: "a_correct",
                left: 2,
                right_name: "b_correct",
                right: 1
            })
        );
        assert_eq!(
            mcnemar(&[], &[]),
            Err(MetricsError::EmptyInput {
                what: "paired outcomes"
            })
        );
    }
}
