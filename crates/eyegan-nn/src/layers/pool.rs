//! 2×2 max pooling with a correct backward pass.
//!
//! Candle 0.11.1's `Tensor::max_pool2d` returns a gradient divided by 4. On the CPU this is one
//! custom op whose backward routes each window's gradient to its first maximum (as PyTorch and
//! TensorFlow do); elsewhere it is composed from Candle's ops (reshape to
//! `(b, c, h/2, 2, w/2, 2)`, then `max` over the two window axes, whose backward routes the
//! gradient to every maximum of a window). Odd trailing rows or columns are dropped (Keras
//! `MaxPooling2D` with `padding="valid"`).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor, WithDType};
use rayon::prelude::*;

use crate::layers::parallel::filled;
use crate::layers::simd::vectorized;
use crate::layers::storage::{map_float, zip_float, Float, FloatMap, FloatZip};

/// Max pooling with a 2×2 window and stride 2 over an NCHW tensor.
pub fn max_pool_2x2(x: &Tensor) -> candle_core::Result<Tensor> {
    let (batch, channels, height, width) = x.dims4()?;
    let (out_h, out_w) = (height / 2, width / 2);
    if out_h == 0 || out_w == 0 {
        candle_core::bail!("max_pool_2x2 needs at least 2×2 inputs, got {height}×{width}")
    }
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) {
        x.contiguous()?.apply_op1(MaxPool2x2)
    } else {
        composed(x, (batch, channels, out_h, out_w))
    }
}

/// Max pooling from Candle's ops, pooled to `(b, c, out_h, out_w)` (any device).
fn composed(
    x: &Tensor,
    (b, c, out_h, out_w): (usize, usize, usize, usize),
) -> candle_core::Result<Tensor> {
    x.narrow(2, 0, out_h * 2)?
        .narrow(3, 0, out_w * 2)?
        .contiguous()?
        .reshape((b, c, out_h, 2, out_w, 2))?
        .max(5)?
        .max(3)
}

/// The fused CPU op: `x (b, c, h, w)` → `(b, c, h/2, w/2)`.
#[derive(Debug, Clone, Copy)]
struct MaxPool2x2;

/// `(x, gradient of the pooled output)` → gradient of `x`.
#[derive(Debug, Clone, Copy)]
struct MaxPool2x2Grad;

/// One input plane of `width` columns and its pooled plane of `out_w` columns.
#[derive(Debug, Clone, Copy)]
struct Planes {
    height: usize,
    width: usize,
    out_h: usize,
    out_w: usize,
}

impl Planes {
    fn of(layout: &Layout) -> candle_core::Result<Self> {
        let (_, _, height, width) = layout.shape().dims4()?;
        Ok(Self {
            height,
            width,
            out_h: height / 2,
            out_w: width / 2,
        })
    }

    /// The first maximum of a window `[a, b, c, d]` (row-major) and its index.
    #[inline(always)]
    fn first_max<T: WithDType>(window: [T; 4]) -> (T, usize) {
        (1..4).fold((window[0], 0), |(best, at), k| {
            if window[k] > best {
                (window[k], k)
            } else {
                (best, at)
            }
        })
    }

    /// The windows of output row `i` of `plane`: input rows `2i` and `2i + 1`, `2·out_w` wide.
    #[inline(always)]
    fn window_rows<'a, T>(&self, plane: &'a [T], i: usize) -> (&'a [T], &'a [T]) {
        let row = |r: usize| &plane[r * self.width..][..2 * self.out_w];
        (row(2 * i), row(2 * i + 1))
    }

    fn forward<T: WithDType>(&self, x: &[T]) -> Vec<T> {
        let (in_len, out_len) = (self.height * self.width, self.out_h * self.out_w);
        let mut out = filled(x.len() / in_len * out_len, T::zero());
        out.par_chunks_mut(out_len)
            .zip(x.par_chunks(in_len))
            .for_each(|(dst, plane)| {
                vectorized(
                    #[inline(always)]
                    move || {
                        for (i, dst) in dst.chunks_exact_mut(self.out_w).enumerate() {
                            let (top, bottom) = self.window_rows(plane, i);
                            let pairs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
                            for (d, (t, b)) in dst.iter_mut().zip(pairs) {
                                *d = Self::first_max([t[0], t[1], b[0], b[1]]).0;
                            }
                        }
                    },
                )
            });
        out
    }

    fn backward<T: WithDType>(&self, x: &[T], grad: &[T]) -> Vec<T> {
        let (in_len, out_len) = (self.height * self.width, self.out_h * self.out_w);
        let mut dx = filled(x.len(), T::zero());
        dx.par_chunks_mut(in_len)
            .zip(x.par_chunks(in_len).zip(grad.par_chunks(out_len)))
            .for_each(|(dst, (plane, g))| {
                vectorized(
                    #[inline(always)]
                    move || {
                        for (i, g) in g.chunks_exact(self.out_w).enumerate() {
                            let (top, bottom) = self.window_rows(plane, i);
                            let (dst_top, dst_bottom) = dst[2 * i * self.width..][..2 * self.width]
                                .split_at_mut(self.width);
                            let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
                            let targets = dst_top
                                .chunks_exact_mut(2)
                                .zip(dst_bottom.chunks_exact_mut(2));
                            // every element of the window written: the gradient at the first
                            // maximum, zero elsewhere
                            for (((t, b), (dt, db)), g) in windows.zip(targets).zip(g) {
                                let at = Self::first_max([t[0], t[1], b[0], b[1]]).1;
                                let pick = |k: usize| if at == k { *g } else { T::zero() };
                                dt[0] = pick(0);
                                dt[1] = pick(1);
                                db[0] = pick(2);
                                db[1] = pick(3);
                            }
                        }
                    },
                )
            });
        dx
    }
}

impl FloatMap for Planes {
    fn map<T: Float>(&self, x: &[T]) -> Vec<T> {
        self.forward(x)
    }
}

impl FloatZip for Planes {
    fn zip<T: Float>(&self, x: &[T], grad: &[T]) -> Vec<T> {
        self.backward(x, grad)
    }
}

impl CustomOp1 for MaxPool2x2 {
    fn name(&self) -> &'static str {
        "eyegan-max-pool-2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let planes = Planes::of(l)?;
        let storage = map_float(&planes, (s, l), self.name())?;
        let (b, c, _, _) = l.shape().dims4()?;
        Ok((storage, Shape::from((b, c, planes.out_h, planes.out_w))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            x.apply_op2_no_bwd(&grad.contiguous()?, &MaxPool2x2Grad)?,
        ))
    }
}

impl CustomOp2 for MaxPool2x2Grad {
    fn name(&self) -> &'static str {
        "eyegan-max-pool-2x2-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let planes = Planes::of(l1)?;
        let storage = zip_float(&planes, (s1, l1), (s2, l2), self.name())?;
        Ok((storage, l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Distinct values in a scrambled order, so that no window has a tie.
    fn scrambled(dims: (usize, usize, usize, usize), dtype: DType) -> Tensor {
        let n = dims.0 * dims.1 * dims.2 * dims.3;
        let values: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % n) as f64 - n as f64 / 2.0)
            .collect();
        Tensor::from_vec(values, dims, &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap()
    }

    /// The composed formulation (what non-CPU devices run) as the reference.
    fn reference(x: &Tensor) -> Tensor {
        let (b, c, h, w) = x.dims4().unwrap();
        composed(x, (b, c, h / 2, w / 2)).unwrap()
    }

    #[test]
    fn forward_matches_candles_pool_and_handles_odd_sizes() {
        let x = scrambled((2, 3, 6, 6), DType::F32);
        let ours = max_pool_2x2(&x).unwrap();
        let theirs = x.max_pool2d(2).unwrap();
        let diff = (ours - theirs).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        let odd = x.narrow(3, 0, 5).unwrap();
        assert_eq!(max_pool_2x2(&odd).unwrap().dims(), &[2, 3, 3, 2]);
    }

    #[test]
    fn fused_op_matches_the_composed_one_forward_and_backward() {
        for dtype in [DType::F32, DType::F64] {
            for dims in [(2, 3, 8, 6), (1, 2, 7, 5)] {
                let x = Var::from_tensor(&scrambled(dims, dtype)).unwrap();
                let weights = scrambled((dims.0, dims.1, dims.2 / 2, dims.3 / 2), dtype);
                let loss = |pooled: Tensor| (pooled * &weights).unwrap().sum_all().unwrap();
                let ours = max_pool_2x2(x.as_tensor()).unwrap();
                let theirs = reference(x.as_tensor());
                let forward_diff = (&ours - &theirs).unwrap().abs().unwrap().sum_all().unwrap();
                assert_eq!(
                    forward_diff
                        .to_dtype(DType::F64)
                        .unwrap()
                        .to_scalar::<f64>()
                        .unwrap(),
                    0.0
                );
                let grad_ours = loss(ours).backward().unwrap();
                let grad_theirs = loss(theirs).backward().unwrap();
                let (a, b) = (
                    grad_ours.get(x.as_tensor()).unwrap(),
                    grad_theirs.get(x.as_tensor()).unwrap(),
                );
                let diff = (a - b).unwrap().abs().unwrap().sum_all().unwrap();
                assert_eq!(
                    diff.to_dtype(DType::F64)
                        .unwrap()
                        .to_scalar::<f64>()
                        .unwrap(),
                    0.0,
                    "{dtype:?} {dims:?}"
                );
            }
        }
    }

    #[test]
    fn a_tied_window_passes_its_gradient_to_the_first_maximum_only() {
        let x = Var::from_tensor(&Tensor::ones((1, 1, 2, 2), DType::F32, &Device::Cpu).unwrap())
            .unwrap();
        let grads = max_pool_2x2(x.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let dx: Vec<f32> = grads
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(dx, [1.0, 0.0, 0.0, 0.0]);
    }
}
