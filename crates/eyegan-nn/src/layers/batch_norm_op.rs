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
use crate::layers::parallel::{filled, planes_per_task};
use crate::layers::simd::vectorized;
use crate::layers::storage::{contiguous_slice, tensor_slice};

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

/// `Σ f(a[k], b[k])` (`N` sums at once) over two equally long slices, with eight independent
/// partial sums per sum so that the loop vectorises (a single running sum is one long chain of
/// dependent additions).
#[inline(always)]
fn lane_sums<T: WithDType, const N: usize>(
    a: &[T],
    b: &[T],
    f: impl Fn(f64, f64) -> [f64; N],
) -> [f64; N] {
    const LANES: usize = 8;
    let mut lanes = [[0.0f64; LANES]; N];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let mut tail = [0.0f64; N];
    for (a, b) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
        let values = f(a.to_f64(), b.to_f64());
        for (sum, value) in tail.iter_mut().zip(values) {
            *sum += value;
        }
    }
    for (a, b) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            let values = f(a[lane].to_f64(), b[lane].to_f64());
            for (sums, value) in lanes.iter_mut().zip(values) {
                sums[lane] += value;
            }
        }
    }
    std::array::from_fn(|i| {
        let mut total = 0.0;
        for value in lanes[i] {
            total += value;
        }
        total + tail[i]
    })
}

/// Per channel: the sum over every image of `plane_sum(channel, range of that plane)`, images
/// added in order; channels in parallel (a task per plane would cost more than G's 4×4 planes
/// hold).
fn channel_sums<const N: usize>(
    (b, c, plane): (usize, usize, usize),
    plane_sum: impl Fn(usize, std::ops::Range<usize>) -> [f64; N] + Sync,
) -> Vec<[f64; N]> {
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let plane_sum = &plane_sum;
            vectorized(
                #[inline(always)]
                move || {
                    // a plain loop: `fold` would be a call, compiled outside the dispatch
                    let mut sums = [0.0; N];
                    for image in 0..b {
                        let start = (image * c + ch) * plane;
                        let values = plane_sum(ch, start..start + plane);
                        for (sum, value) in sums.iter_mut().zip(values) {
                            *sum += value;
                        }
                    }
                    sums
                },
            )
        })
        .collect()
}

fn moments<T: WithDType>(x: &[T], dims: (usize, usize, usize)) -> (Vec<f64>, Vec<f64>) {
    let count = (dims.0 * dims.2) as f64;
    let mean: Vec<f64> = channel_sums(
        dims,
        #[inline(always)]
        |_, r| lane_sums(&x[r.clone()], &x[r], |v, _| [v]),
    )
    .into_iter()
    .map(|[s]| s / count)
    .collect();
    let var = channel_sums(
        dims,
        #[inline(always)]
        |ch, r| {
            let m = mean[ch];
            lane_sums(&x[r.clone()], &x[r], |v, _| [(v - m) * (v - m)])
        },
    )
    .into_iter()
    .map(|[s]| s / count)
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

/// Per channel `(a, b)` with `γ·x̂ + β = a·x + b`.
fn affine_of_x<T: WithDType>(affine: &[T], norm: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let c = norm.len();
    norm.iter()
        .enumerate()
        .map(|(ch, &(mean, inv_std))| {
            let a = affine[ch].to_f64() * inv_std;
            (a, affine[c + ch].to_f64() - mean * a)
        })
        .collect()
}

/// The gradient at one channel's activation input (`γ·x̂ + β = a·x + b`) from `x` and the
/// output gradient, in f64.
#[derive(Debug, Clone, Copy)]
struct ChannelGrad {
    coefficients: (f64, f64),
    activation: Activation,
}

impl ChannelGrad {
    #[inline(always)]
    fn at(self, x: f64, g: f64) -> f64 {
        let (a, b) = self.coefficients;
        g * self.activation.derivative(x * a + b)
    }
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
        let coefficients = affine_of_x(affine, &normaliser(&moments, c, self.eps));
        let mut out = filled(x.len(), T::zero());
        out.par_chunks_mut(plane.max(1))
            .zip(x.par_chunks(plane.max(1)))
            .enumerate()
            .with_min_len(planes_per_task(plane))
            .for_each(|(index, (dst, src))| {
                let (a, b) = coefficients[index % c];
                let activation = self.activation;
                vectorized(
                    #[inline(always)]
                    move || {
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d = T::from_f64(activation.apply(s.to_f64() * a + b));
                        }
                    },
                )
            });
        out
    }

    /// `(dx, d affine)` from the output gradient: one pass sums, per plane, the gradient at the
    /// activation's input (`dy`) and `dy·x̂`, a second writes `dx`; `dy` is recomputed in f64
    /// in both rather than stored rounded.
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
        let coefficients = affine_of_x(affine, &norm);
        let dy = |ch: usize| ChannelGrad {
            coefficients: coefficients[ch],
            activation: self.activation,
        };
        // Σ dy and Σ dy·x̂ per channel, in one pass
        let (sum_dy, sum_dy_xhat): (Vec<f64>, Vec<f64>) = channel_sums(
            dims,
            #[inline(always)]
            |ch, r| {
                let ((mean, inv_std), dy) = (norm[ch], dy(ch));
                lane_sums(&x[r.clone()], &grad[r], |x, g| {
                    let dy = dy.at(x, g);
                    [dy, dy * (x - mean) * inv_std]
                })
            },
        )
        .into_iter()
        .map(|[dy, dy_xhat]| (dy, dy_xhat))
        .unzip();
        let count = (b * plane) as f64;
        let mut dx = filled(x.len(), T::zero());
        dx.par_chunks_mut(plane.max(1))
            .zip(
                x.par_chunks(plane.max(1))
                    .zip(grad.par_chunks(plane.max(1))),
            )
            .enumerate()
            .with_min_len(planes_per_task(plane))
            .for_each(|(index, (dst, (src, g)))| {
                let ch = index % c;
                let (mean, inv_std) = norm[ch];
                let k = affine[ch].to_f64() * inv_std;
                let (m1, m2) = if self.train {
                    (sum_dy[ch] / count, sum_dy_xhat[ch] / count)
                } else {
                    (0.0, 0.0)
                };
                let dy = dy(ch);
                vectorized(
                    #[inline(always)]
                    move || {
                        for (d, (s, g)) in dst.iter_mut().zip(src.iter().zip(g)) {
                            let x = s.to_f64();
                            let xhat = (x - mean) * inv_std;
                            *d = T::from_f64(k * (dy.at(x, g.to_f64()) - m1 - xhat * m2));
                        }
                    },
                )
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
                let (x_storage, x_layout) = x.storage_and_layout();
                let (g_storage, g_layout) = grad.storage_and_layout();
                let (a_v, m_v) = (
                    affine.flatten_all()?.to_vec1::<$t>()?,
                    moments.flatten_all()?.to_vec1::<$t>()?,
                );
                let (dx, da) = self.backward(
                    tensor_slice::<$t>(&x_storage, x_layout, "batch norm op")?,
                    &a_v,
                    &m_v,
                    tensor_slice::<$t>(&g_storage, g_layout, "batch norm op")?,
                    dims,
                );
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
        // no gradient for frozen (detached) γ and β, which track no op
        Ok((Some(dx), affine.track_op().then_some(daffine), None))
    }
}
