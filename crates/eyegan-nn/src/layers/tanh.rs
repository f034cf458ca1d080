//! `tanh`, G's output activation, in parallel and vectorised on the CPU.
//!
//! Candle 0.11.1's CPU `tanh` and its backward (`y² − 1`, a product and a subtraction, each a
//! separate op) run on the calling thread only, and the standard library's `f32::tanh` is a
//! scalar libm call (3 % of G's forward pass at batch 64). Here f32 uses the rational
//! approximation TensorFlow (Eigen) and ONNX Runtime (MLAS) evaluate on the CPU, whose loop
//! vectorises: within 4e-7 relative of the exact value, never above 1 in magnitude, NaN kept
//! (a diverged G stays visible). f64 keeps the standard library's `tanh`. The gradient is
//! Candle's expression, `−(g · (y² − 1))`, on every thread.

use crate::layers::parallel::zip_map;
use crate::layers::storage::{elementwise_op2, map_float, Float, FloatMap, FloatZip};
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor};

/// `tanh(x)`: the parallel op on the CPU (f32, f64), Candle's elsewhere.
pub fn tanh(x: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) {
        x.contiguous()?.apply_op1(Tanh)
    } else {
        x.tanh()
    }
}

/// Where f32's `tanh` rounds to ±1: the approximation's input is clamped to it.
const F32_SATURATION: f32 = 7.905_311;

/// Below this magnitude `tanh(x)` rounds to `x` itself (`x³/3` is under half an ulp).
const F32_LINEAR_BELOW: f32 = 0.0004;

/// Numerator coefficients of `tanh(x) ≈ x·p(x²)/q(x²)`, highest power first (Eigen's
/// `generic_fast_tanh_float`, a 13/6 minimax rational).
const NUMERATOR: [f32; 7] = [
    -2.760_768_4e-16,
    2.000_188e-13,
    -8.604_672e-11,
    5.122_297_3e-8,
    1.485_722_35e-5,
    6.372_619_5e-4,
    4.893_524_6e-3,
];

/// Denominator coefficients, highest power first.
const DENOMINATOR: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_7e-3, 4.893_525e-3];

/// `tanh(x)` in f32 by the rational approximation (branch-free, so loops over it vectorise).
#[inline(always)]
pub(crate) fn rational_tanh(x: f32) -> f32 {
    // `clamp` keeps NaN (`min`/`max` would turn it into a bound)
    let clamped = x.clamp(-F32_SATURATION, F32_SATURATION);
    let x2 = clamped * clamped;
    let horner = |coefficients: &[f32]| {
        let mut sum = coefficients[0];
        for &c in &coefficients[1..] {
            sum = sum * x2 + c;
        }
        sum
    };
    let ratio = clamped * horner(&NUMERATOR) / horner(&DENOMINATOR);
    if x.abs() < F32_LINEAR_BELOW {
        x
    } else {
        ratio
    }
}

/// `x` → `tanh(x)`.
#[derive(Debug, Clone, Copy)]
struct Tanh;

/// `(y = tanh(x), gradient of y)` → gradient of `x`, as Candle's backward computes it:
/// `−(g · (y² − 1))`.
#[derive(Debug, Clone, Copy)]
struct TanhGrad;

impl FloatMap for Tanh {
    fn map<T: Float>(&self, x: &[T]) -> Vec<T> {
        zip_map(x, x, T::zero(), |x, _| x.vector_tanh())
    }
}

impl FloatZip for TanhGrad {
    fn zip<T: Float>(&self, y: &[T], g: &[T]) -> Vec<T> {
        zip_map(y, g, T::zero(), |y, g| T::zero() - g * (y * y - T::one()))
    }
}

impl CustomOp1 for Tanh {
    fn name(&self) -> &'static str {
        "eyegan-tanh"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        Ok((map_float(self, (s, l), self.name())?, l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(y.apply_op2_no_bwd(&grad.contiguous()?, &TanhGrad)?))
    }
}

elementwise_op2!(TanhGrad, "eyegan-tanh-grad");

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    /// Values and gradients (of `Σ y·r`) of one `tanh` on a random `x`, as f64.
    type Run = (Vec<f64>, Vec<f64>);

    /// [`Run`]s of the op and of Candle's `tanh` on the same `x` (in `dtype`), and the upstream
    /// gradient `r`.
    fn ours_and_candles(dtype: DType) -> ([Run; 2], Vec<f64>) {
        let x = Tensor::randn(0f32, 2.0, (3, 5, 61, 67), &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        let x = Var::from_tensor(&x).unwrap();
        let r = Tensor::randn(0f32, 1.0, x.shape(), &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap();
        let flat = |t: &Tensor| {
            let t = t.flatten_all().unwrap().to_dtype(DType::F64).unwrap();
            t.to_vec1::<f64>().unwrap()
        };
        let run = |f: fn(&Tensor) -> candle_core::Result<Tensor>| {
            let y = f(x.as_tensor()).unwrap();
            let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
            (flat(&y), flat(grads.get(x.as_tensor()).unwrap()))
        };
        ([run(tanh), run(|x| x.tanh())], flat(&r))
    }

    /// f64: values and gradients equal Candle's `tanh` exactly, over more elements than one
    /// parallel task holds.
    #[test]
    fn f64_matches_candles_tanh_exactly() {
        let ([ours, theirs], _) = ours_and_candles(DType::F64);
        assert_eq!(ours.0, theirs.0, "values");
        assert_eq!(ours.1, theirs.1, "gradients");
    }

    /// f32: values within 1e-6 relative of Candle's (libm's); gradients within 1e-5 relative
    /// plus what a few ulp of `y` make of `r·(1 − y²)`, which loses its relative precision
    /// near ±1 in any f32 `tanh` (Candle's included).
    #[test]
    fn f32_matches_candles_tanh_within_rounding() {
        let ([ours, theirs], r) = ours_and_candles(DType::F32);
        for (i, (a, b)) in ours.0.iter().zip(&theirs.0).enumerate() {
            assert!((a - b).abs() <= 1e-6 * b.abs(), "value {i}: {a} vs {b}");
        }
        for (i, ((a, b), r)) in ours.1.iter().zip(&theirs.1).zip(&r).enumerate() {
            let bound = 1e-5 * b.abs() + 8.0 * f32::EPSILON as f64 * r.abs();
            assert!((a - b).abs() <= bound, "gradient {i}: {a} vs {b}");
        }
    }

    /// The rational form stays within 4e-7 relative of the exact tanh over the whole range
    /// (every 2⁻¹² from −10 to 10, and magnitudes down to 1e-30), never exceeds 1 in
    /// magnitude, is odd, and keeps NaN.
    #[test]
    fn rational_tanh_is_accurate_bounded_and_keeps_nan() {
        let dense = (-40_960..=40_960).map(|i| i as f32 / 4096.0);
        let tiny = (1..=30).map(|e| 10f32.powi(-e));
        for x in dense.chain(tiny) {
            let y = rational_tanh(x);
            let exact = (x as f64).tanh();
            let error = (y as f64 - exact).abs() / exact.abs().max(f64::MIN_POSITIVE);
            assert!(error <= 4e-7, "tanh({x}) = {y}, exact {exact}");
            assert!(y.abs() <= 1.0, "tanh({x}) = {y}");
            assert_eq!(rational_tanh(-x), -y, "odd at {x}");
        }
        assert!(rational_tanh(f32::NAN).is_nan());
        assert_eq!(rational_tanh(f32::INFINITY), 1.0);
        assert_eq!(rational_tanh(f32::NEG_INFINITY), -1.0);
    }
}
