//! The chi-squared distribution's survival function.

use super::special::regularized_upper_gamma;

/// P(X > x) for X ~ χ² with `dof` degrees of freedom: Q(dof/2, x/2).
///
/// Returns `None` unless `dof` is positive and finite and `x` is not NaN; x ≤ 0 gives 1.
pub fn chi_squared_survival(x: f64, dof: f64) -> Option<f64> {
    if !(dof > 0.0 && dof.is_finite()) || x.is_nan() {
        return None;
    }
    if x == f64::INFINITY {
        return Some(0.0);
    }
    Some(regularized_upper_gamma(dof / 2.0, x / 2.0).clamp(0.0, 1.0))
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
    fn survival_matches_table_critical_values() {
        // Upper critical values of χ² tables.
        assert_close(
            chi_squared_survival(3.841_458_820_694_124, 1.0).unwrap(),
            0.05,
            1e-12,
        );
        assert_close(
            chi_squared_survival(6.634_896_601_021_214, 1.0).unwrap(),
            0.01,
            1e-12,
        );
        assert_close(
            chi_squared_survival(10.827_566_170_662_733, 1.0).unwrap(),
            0.001,
            1e-13,
        );
        assert_close(
            chi_squared_survival(11.070_497_693_516_351, 5.0).unwrap(),
            0.05,
            1e-12,
        );
        // Two degrees of freedom: exactly e^(−x/2).
        for &x in &[0.5, 5.991_464_547_107_979, 20.0] {
            assert_close(
                chi_squared_survival(x, 2.0).unwrap(),
                (-x / 2.0).exp(),
                1e-14,
            );
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(chi_squared_survival(0.0, 1.0), Some(1.0));
        assert_eq!(chi_squared_survival(-3.0, 1.0), Some(1.0));
        assert_eq!(chi_squared_survival(f64::INFINITY, 1.0), Some(0.0));
        assert_eq!(chi_squared_survival(f64::NAN, 1.0), None);
        assert_eq!(chi_squared_survival(1.0, 0.0), None);
    }
}
