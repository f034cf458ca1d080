//! Transcendental functions written with plain IEEE arithmetic only.
//!
//! `f32::exp`, `sin`, `powf` and friends call the platform's libm, whose last-bit results differ
//! between operating systems and CPUs. The phantom must give identical pixels everywhere, so it
//! uses these instead: range reduction plus fixed polynomials, no fused multiply-add, no libm.
//! Accuracy (relative error below 1e-6 in the ranges used) is far beyond what 8-bit pixels need.

use std::f64::consts::{FRAC_PI_2, LN_2, PI};

/// e^x. Saturates to 0 below -80 and to e^80 above 80.
pub fn exp(x: f32) -> f32 {
    let x = f64::from(x.clamp(-80.0, 80.0));
    let k = (x / LN_2).round();
    let r = x - k * LN_2; // |r| <= ln2 / 2
                          // Taylor series of e^r to degree 10, Horner form.
    let mut sum = 1.0_f64;
    for n in (1..=10).rev() {
        sum = 1.0 + sum * r / f64::from(n);
    }
    let scale = f64::from_bits(((1023 + k as i64) as u64) << 52);
    (sum * scale) as f32
}

/// Natural logarithm of a positive number; returns -80 for values that are not positive.
pub fn ln(x: f32) -> f32 {
    if x.is_nan() || x <= 0.0 {
        return -80.0;
    }
    let x = f64::from(x);
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7FF) as i64 - 1023;
    let mantissa = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | (1023_u64 << 52)); // [1, 2)
                                                                                      // ln(m) = 2 atanh(t), t = (m - 1) / (m + 1), |t| <= 1/3.
    let t = (mantissa - 1.0) / (mantissa + 1.0);
    let t2 = t * t;
    let mut series = 0.0_f64;
    for n in (0..12).rev() {
        series = 1.0 / f64::from(2 * n + 1) + t2 * series;
    }
    (2.0 * t * series + exponent as f64 * LN_2) as f32
}

/// `base^power` for a positive base (0 for a base that is not positive).
pub fn powf(base: f32, power: f32) -> f32 {
    if base.is_nan() || base <= 0.0 {
        return 0.0;
    }
    exp(power * ln(base))
}

/// (sin x, cos x).
pub fn sin_cos(x: f32) -> (f32, f32) {
    let x = f64::from(x);
    let turns = (x / (2.0 * PI)).round();
    let r = x - turns * 2.0 * PI; // [-pi, pi]
    let quadrant = (r / FRAC_PI_2).round(); // -2..=2
    let y = r - quadrant * FRAC_PI_2; // [-pi/4, pi/4]
    let (s, c) = (sin_poly(y), cos_poly(y));
    let (s, c) = match quadrant as i64 {
        0 => (s, c),
        1 => (c, -s),
        -1 => (-c, s),
        _ => (-s, -c),
    };
    (s as f32, c as f32)
}

/// The angle of (x, y) in (-pi, pi], like `f32::atan2(y, x)`; 0 for the origin.
pub fn atan2(y: f32, x: f32) -> f32 {
    let (y, x) = (f64::from(y), f64::from(x));
    if x == 0.0 && y == 0.0 {
        return 0.0;
    }
    let (ay, ax) = (y.abs(), x.abs());
    // Angle in the first octant pair [0, pi/2] from atan of a ratio in [0, 1].
    let (ratio, swapped) = if ay <= ax {
        (ay / ax, false)
    } else {
        (ax / ay, true)
    };
    // Small ratios directly; larger ones via atan(z) = pi/4 + atan((z - 1) / (z + 1)), so the
    // series argument always stays within tan(pi/8) ~ 0.414 of zero.
    let mut angle = if ratio <= 0.414_213_56 {
        atan_series(ratio)
    } else {
        PI / 4.0 + atan_series((ratio - 1.0) / (ratio + 1.0))
    };
    if swapped {
        angle = FRAC_PI_2 - angle;
    }
    if x < 0.0 {
        angle = PI - angle;
    }
    (if y < 0.0 { -angle } else { angle }) as f32
}

/// Taylor series of atan for |t| <= 0.42 (error below 1e-10).
fn atan_series(t: f64) -> f64 {
    let t2 = t * t;
    let mut series = 0.0_f64;
    for n in (0..14).rev() {
        let term = 1.0 / f64::from(2 * n + 1);
        series = if n % 2 == 0 { term } else { -term } + t2 * series;
    }
    t * series
}

fn sin_poly(y: f64) -> f64 {
    let y2 = y * y;
    let mut sum = 0.0_f64;
    // y - y^3/3! + ... to y^13.
    for n in (0..7).rev() {
        let denominator = f64::from((2 * n + 2) * (2 * n + 3));
        sum = 1.0 - y2 * sum / denominator;
    }
    y * sum
}

fn cos_poly(y: f64) -> f64 {
    let y2 = y * y;
    let mut sum = 0.0_f64;
    for n in (0..7).rev() {
        let denominator = f64::from((2 * n + 1) * (2 * n + 2));
        sum = 1.0 - y2 * sum / denominator;
    }
    sum
}

/// Smooth Hermite step from 0 at `edge0` to 1 at `edge1`.
pub fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Linear interpolation.
pub fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_closely() {
        for i in -400..=400 {
            let x = i as f32 * 0.05;
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-6, "exp({x}): {} vs {}", exp(x), x.exp());
        }
    }

    #[test]
    fn ln_and_pow_match_std_closely() {
        for i in 1..=500 {
            let x = i as f32 * 0.037;
            assert!((ln(x) - x.ln()).abs() < 1e-6, "ln({x})");
            let p = powf(x, 0.8);
            assert!((p - x.powf(0.8)).abs() / x.powf(0.8) < 1e-5, "pow({x})");
        }
        assert_eq!(ln(0.0), -80.0);
        assert_eq!(powf(-1.0, 2.0), 0.0);
    }

    #[test]
    fn atan2_matches_std_closely() {
        for i in -40..=40 {
            for j in -40..=40 {
                let (y, x) = (i as f32 * 0.37, j as f32 * 0.29);
                let expected = if i == 0 && j == 0 { 0.0 } else { y.atan2(x) };
                assert!(
                    (atan2(y, x) - expected).abs() < 2e-6,
                    "atan2({y}, {x}) = {} vs {expected}",
                    atan2(y, x)
                );
            }
        }
    }

    #[test]
    fn sin_cos_match_std_closely() {
        for i in -700..=700 {
            let x = i as f32 * 0.031;
            let (s, c) = sin_cos(x);
            assert!((s - x.sin()).abs() < 2e-6, "sin({x}) = {s} vs {}", x.sin());
            assert!((c - x.cos()).abs() < 2e-6, "cos({x}) = {c} vs {}", x.cos());
        }
    }
}
