//! `tanh`, G's output activation, in parallel on the CPU.
//!
//! Candle 0.11.1's CPU `tanh` and its backward (`y² − 1`, a product and a subtraction, each a
//! separate op) run on the calling thread only; for G's 64×3×64×64 output that left the other
//! core idle for a few percent of G's forward pass. These ops compute the same values (the
//! same `tanh` of the standard library, the same gradient expression) on every thread.

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

/// `x` → `tanh(x)`.
#[derive(Debug, Clone, Copy)]
struct Tanh;

/// `(y = tanh(x), gradient of y)` → gradient of `x`, as Candle's backward computes it:
/// `−(g · (y² − 1))`.
#[derive(Debug, Clone, Copy)]
struct TanhGrad;

impl FloatMap for Tanh {
    fn map<T: Float>(&self, x: &[T]) -> Vec<T> {
        zip_map(x, x, T::zero(), |x, _| x.tanh())
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

    /// Values and gradients equal Candle's `tanh` exactly, in f32 and f64, over more elements
    /// than one parallel task holds.
    #[test]
    fn matches_candles_tanh_exactly() {
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::randn(0f32, 2.0, (3, 5, 61, 67), &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            let x = Var::from_tensor(&x).unwrap();
            let r = Tensor::randn(0f32, 1.0, x.shape(), &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            let run = |f: fn(&Tensor) -> candle_core::Result<Tensor>| {
                let y = f(x.as_tensor()).unwrap();
                let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
                let dx = grads.get(x.as_tensor()).unwrap().clone();
                let flat = |t: &Tensor| t.flatten_all().unwrap().to_dtype(DType::F64).unwrap();
                (
                    flat(&y).to_vec1::<f64>().unwrap(),
                    flat(&dx).to_vec1::<f64>().unwrap(),
                )
            };
            let ours = run(tanh);
            let theirs = run(|x| x.tanh());
            assert_eq!(ours.0, theirs.0, "{dtype:?} values");
            assert_eq!(ours.1, theirs.1, "{dtype:?} gradients");
        }
    }
}
