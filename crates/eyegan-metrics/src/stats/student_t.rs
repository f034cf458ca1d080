//! Student's t distribution: upper tail probability and quantile.

use super::special::regularized_incomplete_beta;

/// Bisection steps; each halves the bracket, so 200 is far past double precision.
const BISECTION_STEPS: usize = 200;

/// P(T > t) for T ~ Student t with `dof` degrees of freedom.
///
/// Returns `None` unless `dof` is positive and finite and `t` is not NaN.
pub fn student_t_upper_tail(t: f64, dof: f64) -> Option<f64> {
    if !(dof > 0.0 && dof.is_finite()) || t.is_nan() {
        return None;
    }
    // P(|T| > |t|) = I_{ν/(ν+t²)}(ν/2, 1/2).
    let two_sided = if t.is_infinite() {
        0.0
    } else {
        regularized_incomplete_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    };
    Some(if t >= 0.0 {
        two_sided / 2.0
    } else {
        1.0 - two_sided / 2.0
    })
}

/// The `p`-quantile of Student's t with `dof` degrees of freedom: the t with P(T ≤ t) = p.
///
/// Found by bisection on the upper tail, which keeps full relative precision for p close to 1.
/// Returns `None` unless 0 < p < 1 and `dof` is positive and finite.
pub fn student_t_quantile(p: f64, dof: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0 && dof > 0.0 && dof.is_finite()) {
        return None;
    }
    if p < 0.5 {
        return student_t_quantile(1.0 - p, dof).map(|t| -t);
    }
    let target_tail = 1.0 - p;
    let tail = |t: f64| student_t_upper_tail(t, dof).unwrap_or(0.0);
    let mut low = 0.0;
    let mut high = 1.0;
    while tail(high) > target_tail {
        low = high;
        high *= 2.0;
        if !high.is_finite() {
            return None;
        }
    }
    for _ in 0..BISECTION_STEPS {
        let middle = 0.5 * (low + high);
        if middle <= low || middle >= high {
            break;
        }
        if tail(middle) > target_tail {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(0.5 * (low + high))
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
    fn quantiles_match_textbook_tables() {
        // Two-sided 95% critical values (p = 0.975) from standard t tables.
        assert_close(
            student_t_quantile(0.975, 1.0).unwrap(),
            12.706_204_736,
            1e-8,
        );
        assert_close(student_t_quantile(0.975, 4.0).unwrap(), 2.776_445_105, 1e-8);
        assert_close(student_t_quantile(0.975, 9.0).unwrap(), 2.262_157_163, 1e-8);
        assert_close(
            student_t_quantile(0.975, 30.0).unwrap(),
            2.042_272_456,
            1e-8,
        );
        assert_close(
            student_t_quantile(0.995, 10.0).unwrap(),
            3.169_272_673,
            1e-8,
        );
        assert_close(student_t_quantile(0.95, 2.0).unwrap(), 2.919_985_580, 1e-8);
        // The normal limit: z_0.975 = 1.959963985.
        assert_close(student_t_quantile(0.975, 1e7).unwrap(), 1.959_963_985, 1e-6);
        // Symmetry and the median.
        assert_close(
            student_t_quantile(0.025, 4.0).unwrap(),
            -2.776_445_105,
            1e-8,
        );
        assert_close(student_t_quantile(0.5, 3.0).unwrap(), 0.0, 1e-12);
    }

    #[test]
    fn quantiles_match_closed_forms_for_one_and_two_dof() {
        // ν = 1 is Cauchy: t = tan(π(p − 1/2)); ν = 2: t = (2p − 1) / √(2p(1 − p)).
        for &p in &[0.001, 0.1, 0.3, 0.6, 0.9, 0.99, 0.9999] {
            let cauchy = (std::f64::consts::PI * (p - 0.5)).tan();
            assert_close(
                student_t_quantile(p, 1.0).unwrap(),
                cauchy,
                1e-9 * cauchy.abs().max(1.0),
            );
            let two = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
            assert_close(
                student_t_quantile(p, 2.0).unwrap(),
                two,
                1e-9 * two.abs().max(1.0),
            );
        }
    }

    #[test]
    fn tail_inverts_quantile() {
        for &dof in &[1.0, 3.0, 7.5, 60.0] {
            for &p in &[0.6, 0.8, 0.975, 0.999] {
                let t = student_t_quantile(p, dof).unwrap();
                assert_close(student_t_upper_tail(t, dof).unwrap(), 1.0 - p, 1e-12);
            }
        }
    }

    #[test]
    fn invalid_arguments_give_none() {
        assert_eq!(student_t_quantile(0.0, 4.0), None);
        assert_eq!(student_t_quantile(1.0, 4.0), None);
        assert_eq!(student_t_quantile(f64::NAN, 4.0), None);
        assert_eq!(student_t_quantile(0.9, 0.0), None);
        assert_eq!(student_t_upper_tail(f64::NAN, 4.0), None);
        assert_eq!(student_t_upper_tail(1.0, -1.0), None);
    }
}
