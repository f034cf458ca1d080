//! Fused BatchNorm + activation for the CPU: one custom op for the forward pass and one pass
//! pair for the backward, instead of the ~15 Candle element-wise ops (each a full-size
//! allocation) of the composed formulation.
//!
//! Inputs: `x (b, c, h, w)`, `affine (2, c)` = [γ; β], `moments (2, c)` = [mean; variance]
//! (the batch's in train mode, the running ones in eval mode). In train mode the backward pass
//! includes the dependence of the batch moments on `x` (the usual BatchNorm gradient); the
//! moments input itself gets no gradient. Sums accumulate in f64.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor, WithDType};
use rayon::prelude::*;

use crate::layers::activation::Activation;
use crate::layers::storage::contiguous_slice;

/// `(x, affine, moments)` → `act(γ·(x − mean)/√(var + eps) + β)`.
#[derive(Debug, Clone, Copy)]
pub struct BatchNormAct {
    /// Whether `moments` are the batch's own (train mode): adds their gradient path.
    pub train: bool,
    /// Activation applied after the affine transform.
    pub activation: Activation,
    /// Variance epsilon.
    pub eps: f64,
}

/// Per-channel `[mean; biased variance]` of an NCHW tensor as `(2, c)`, without gradient.
#[derive(Debug, Clone, Copy)]
pub struct ChannelMoments;

/// Splits a contiguous NCHW layout into (batch, channels, plane).
fn nchw(layout: &Layout) -> candle_core::Result<(usize, usize, usize)> {
    let (b, c, h, w) = layout.shape().dims4()?;
    Ok((b, c, h * w))
}

fn slice<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [T]> {
    contiguous_slice(s, l, "batch norm op")
}

/// Per channel: sum over all planes of that channel of `f(index in x)`.
fn channel_sums((b, c, plane): (usize, usize, usize), f: impl Fn(usize) -> f64 + Sync) -> Vec<f64> {
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let mut sum = 0.0;
            for image in 0..b {
                let base = (image * c + ch) * plane;
                sum += (base..base + plane).map(&f).sum::<f64>();
            }
            sum
        })
        .collect()
}

fn moments<T: WithDType>(x: &[T], dims: (usize, usize, usize)) -> (Vec<f64>, Vec<f64>) {
    let count = (dims.0 * dims.2) as f64;
    let mean: Vec<f64> = channel_sums(dims, |i| x[i].to_f64())
        .into_iter()
        .map(|s| s / count)
        .collect();
    let plane_c = dims.1 * dims.2;
    let var = channel_sums(dims, |i| {
        let d = x[i].to_f64() - mean[(i % plane_c) / dims.2];
        d * d
    })
    .into_iter()
    .map(|s| s / count)
    .collect();
    (mean, var)
}

impl CustomOp1 for ChannelMoments {
    fn name(&self) -> &'static str {
        "eyegan-channel-moments"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let dims = nchw(l)?;
        macro_rules! typed {
            ($t:ty, $variant:ident) => {{
                let (mean, var) = moments(slice::<$t>(s, l)?, dims);
                let out = mean
                    .iter()
                    .chain(&var)
                    .map(|v| <$t>::from_f64(*v))
                    .collect();
                CpuStorage::$variant(out)
            }};
        }
        let storage = match s {
            CpuStorage::F32(_) => typed!(f32, F32),
            CpuStorage::F64(_) => typed!(f64, F64),
            _ => candle_core::bail!("channel moments need f32 or f64"),
        };
        Ok((storage, Shape::from((2, dims.1))))
    }
}

/// Per-channel `(scale, shift)` of the normalisation: `x̂ = (x − mean)·inv_std`.
fn normaliser(moments: &[f64], channels: usize, eps: f64) -> Vec<(f64, f64)> {
    (0..channels)
        .map(|c| (moments[c], 1.0 / (moments[channels + c] + eps).sqrt()))
        .collect()
}

impl BatchNormAct {
    fn forward<T: WithDType>(
        &self,
        x: &[T],
        affine: &[T],
        moments: &[T],
        (_, c, plane): (usize, usize, usize),
    ) -> Vec<T> {
        let moments: Vec<f64> = moments.iter().map(|v| v.to_f64()).collect();
        let norm = normaliser(&moments, c, self.eps);
        let mut out = vec![T::zero(); x.len()];
        out.par_chunks_mut(plane.max(1))
            .zip(x.par_chunks(plane.max(1)))
            .enumerate()
            .for_each(|(index, (dst, src))| {
                let ch = index % c;
                let (mean, inv_std) = norm[ch];
                let scale = affine[ch].to_f64() * inv_std;
                let shift = affine[c + ch].to_f64() - mean * scale;
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = T::from_f64(self.activation.apply(s.to_f64() * scale + shift));
                }
            });
        out
    }

    /// `(dx, d affine)` from the output gradient.
    fn backward<T: WithDType>(
        &self,
        x: &[T],
        affine: &[T],
        moments: &[T],
        grad: &[T],
        dims: (usize, usize, usize),
    ) -> (Vec<T>, Vec<T>) {
        let (b, c, plane) = dims;
        let moments: Vec<f64> = moments.iter().map(|v| v.to_f64()).collect();
        let norm = normaliser(&moments, c, self.eps);
        let gamma: Vec<f64> = affine[..c].iter().map(|v| v.to_f64()).collect();
        let beta: Vec<f64> = affine[c..].iter().map(|v| v.to_f64()).collect();
        let channel = |i: usize| (i / plane) % c;
        let xhat = |i: usize| {
            let (mean, inv_std) = norm[channel(i)];
            (x[i].to_f64() - mean) * inv_std
        };
        // gradient at the activation's input
        let dy = |i: usize| {
            let ch = channel(i);
            let pre = gamma[ch] * xhat(i) + beta[ch];
            grad[i].to_f64() * self.activation.derivative(pre)
        };
        let sum_dy = channel_sums(dims, dy);
        let sum_dy_xhat = channel_sums(dims, |i| dy(i) * xhat(i));
        let count = (b * plane) as f64;
        let mut dx = vec![T::zero(); x.len()];
        dx.par_chunks_mut(plane.max(1))
            .enumerate()
            .for_each(|(index, dst)| {
                let ch = index % c;
                let k = gamma[ch] * norm[ch].1;
                let base = index * plane;
                for (offset, d) in dst.iter_mut().enumerate() {
                    let i = base + offset;
                    let value = if self.train {
                        k * (dy(i) - sum_dy[ch] / count - xhat(i) * sum_dy_xhat[ch] / count)
                    } else {
                        k * dy(i)
                    };
                    *d = T::from_f64(value);
                }
            });
        let daffine = sum_dy_xhat
            .iter()
            .chain(&sum_dy)
            .map(|v| T::from_f64(*v))
            .collect();
        (dx, daffine)
    }
}

impl CustomOp3 for BatchNormAct {
    fn name(&self) -> &'static str {
        "eyegan-batch-norm-act"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let dims = nchw(l1)?;
        macro_rules! typed {
            ($t:ty, $variant:ident) => {
                CpuStorage::$variant(self.forward(
                    slice::<$t>(s1, l1)?,
                    slice::<$t>(s2, l2)?,
                    slice::<$t>(s3, l3)?,
                    dims,
                ))
            };
        }
        let storage = match s1 {
            CpuStorage::F32(_) => typed!(f32, F32),
            CpuStorage::F64(_) => typed!(f64, F64),
            _ => candle_core::bail!("batch norm op needs f32 or f64"),
        };
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        affine: &Tensor,
        moments: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dims = x.dims4()?;
        let dims = (dims.0, dims.1, dims.2 * dims.3);
        macro_rules! typed {
            ($t:ty) => {{
                let (x_v, a_v, m_v, g_v) = (
                    x.flatten_all()?.to_vec1::<$t>()?,
                    affine.flatten_all()?.to_vec1::<$t>()?,
                    moments.flatten_all()?.to_vec1::<$t>()?,
                    grad.flatten_all()?.to_vec1::<$t>()?,
                );
                let (dx, da) = self.backward(&x_v, &a_v, &m_v, &g_v, dims);
                (
                    Tensor::from_vec(dx, x.shape(), x.device())?,
                    Tensor::from_vec(da, affine.shape(), x.device())?,
                )
            }};
        }
        let (dx, daffine) = match x.dtype() {
            candle_core::DType::F32 => typed!(f32),
            candle_core::DType::F64 => typed!(f64),
            other => candle_core::bail!("batch norm op needs f32 or f64, got {other:?}"),
        };
        Ok((Some(dx), Some(daffine), None))
    }
}
