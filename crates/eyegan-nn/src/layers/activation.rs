//! Activations used by the networks, with a fused CPU op for LeakyReLU.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor, WithDType};
use rayon::prelude::*;

use crate::layers::parallel::{planes_per_task, zip_map};
use crate::layers::simd::vectorized;
use crate::layers::storage::{elementwise_op2, map_float, zip_float, Float, FloatMap, FloatZip};

/// DCGAN's LeakyReLU slope.
pub const LEAKY_RELU_SLOPE: f64 = 0.2;

/// An element-wise activation that fused ops apply after their main computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// No activation.
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `max(x, slope·x)` for `0 < slope < 1`.
    LeakyRelu(f64),
}

impl Activation {
    /// The activation at `x`.
    #[inline]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Self::Identity => x,
            Self::Relu => x.max(0.0),
            Self::LeakyRelu(slope) => {
                if x > 0.0 {
                    x
                } else {
                    slope * x
                }
            }
        }
    }

    /// The activation of an f32 or f64 value, the same value as [`Self::apply`] gives: `max`
    /// is exact in any precision, and the leaky slope is applied in f64.
    #[inline(always)]
    pub fn apply_to<T: WithDType>(self, x: T) -> T {
        match self {
            Self::Identity => x,
            Self::Relu if x > T::zero() => x,
            Self::Relu => T::zero(),
            Self::LeakyRelu(_) if x > T::zero() => x,
            Self::LeakyRelu(slope) => T::from_f64(x.to_f64() * slope),
        }
    }

    /// Its derivative at `x` (at 0: the left one, as Candle's `relu` and `maximum`).
    #[inline]
    pub fn derivative(self, x: f64) -> f64 {
        match self {
            Self::Identity => 1.0,
            Self::Relu => f64::from(u8::from(x > 0.0)),
            Self::LeakyRelu(slope) => {
                if x > 0.0 {
                    1.0
                } else {
                    slope
                }
            }
        }
    }

    /// Applies the activation with Candle's own ops (any device).
    pub fn apply_tensor(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Identity => Ok(x.clone()),
            Self::Relu => x.relu(),
            Self::LeakyRelu(slope) => x.maximum(&x.affine(slope, 0.0)?),
        }
    }
}

/// LeakyReLU `max(x, slope·x)` for `0 < slope < 1`: one fused op on the CPU, Candle's ops
/// elsewhere.
pub fn leaky_relu(x: &Tensor, slope: f64) -> candle_core::Result<Tensor> {
    if x.device().is_cpu()
        && x.dtype().is_float()
        && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
    {
        x.contiguous()?
            .apply_op1(Pointwise(Activation::LeakyRelu(slope)))
    } else {
        Activation::LeakyRelu(slope).apply_tensor(x)
    }
}

/// `act(x + bias)` with `bias (c,)` broadcast over the channels of `x (b, c, h, w)`: one fused
/// op on the CPU (its backward: one fused op plus a per-channel sum), Candle's ops elsewhere.
pub fn bias_activation(
    x: &Tensor,
    bias: &Tensor,
    activation: Activation,
) -> candle_core::Result<Tensor> {
    let channels = x.dim(1)?;
    if bias.dims() != [channels] {
        candle_core::bail!(
            "bias of shape {:?} does not fit {channels} channels",
            bias.dims()
        )
    }
    if fused_dtype(x) && bias.dtype() == x.dtype() {
        x.contiguous()?
            .apply_op2(&bias.contiguous()?, BiasAct(activation))
    } else {
        activation.apply_tensor(&x.broadcast_add(&bias.reshape((1, channels, 1, 1))?)?)
    }
}

fn fused_dtype(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
}

/// `(x, bias)` → `act(x + bias[channel])`.
#[derive(Debug, Clone, Copy)]
struct BiasAct(Activation);

/// [`BiasAct`] on an NCHW tensor of `channels` planes of `plane` values.
struct BiasActOn {
    activation: Activation,
    channels: usize,
    plane: usize,
}

impl FloatZip for BiasActOn {
    fn zip<T: Float>(&self, x: &[T], bias: &[T]) -> Vec<T> {
        let mut out = x.to_vec();
        add_bias_and_activate(&mut out, bias, self.channels, self.plane, self.activation);
        out
    }
}

impl CustomOp2 for BiasAct {
    fn name(&self) -> &'static str {
        "eyegan-bias-activation"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, channels, h, w) = l1.shape().dims4()?;
        let op = BiasActOn {
            activation: self.0,
            channels,
            plane: (h * w).max(1),
        };
        let storage = zip_float(&op, (s1, l1), (s2, l2), self.name())?;
        Ok((storage, l1.shape().clone()))
    }

    /// The derivative is read off the output ([`grad_before_activation`]).
    fn bwd(
        &self,
        _x: &Tensor,
        _bias: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let dpre = grad_before_activation(res, grad, self.0)?;
        let dbias = channel_sum(&dpre)?;
        Ok((Some(dpre), Some(dbias)))
    }
}

/// `x[b, c, ..] = act(x[b, c, ..] + bias[c])` in place, over NCHW data with `plane` values per
/// image channel, in parallel over planes.
pub(crate) fn add_bias_and_activate<T: WithDType>(
    x: &mut [T],
    bias: &[T],
    channels: usize,
    plane: usize,
    act: Activation,
) {
    x.par_chunks_mut(plane.max(1))
        .enumerate()
        .with_min_len(planes_per_task(plane))
        .for_each(|(index, values)| {
            let b = bias[index % channels];
            // in T: the sum of two values rounds as it does in f64 and back (f64 holds more
            // than twice T's digits)
            vectorized(
                #[inline(always)]
                move || {
                    for v in values.iter_mut() {
                        *v = act.apply_to(*v + b);
                    }
                },
            )
        });
}

/// The gradient at the activation's input from its output `out` and the gradient of the
/// output. The activations used here keep the sign of their input (slope > 0, or 0 for ReLU,
/// whose output is positive exactly where its input is), so the derivative can be read off the
/// output. `out` is contiguous (a custom op's result).
pub(crate) fn grad_before_activation(
    out: &Tensor,
    grad: &Tensor,
    act: Activation,
) -> candle_core::Result<Tensor> {
    out.apply_op2_no_bwd(&grad.contiguous()?, &PointwiseGrad(act))
}

/// Per-channel sum of an NCHW tensor (the gradient of a channel bias).
pub(crate) fn channel_sum(x: &Tensor) -> candle_core::Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.reshape((b, c, h * w))?
        .sum_keepdim(2)?
        .sum_keepdim(0)?
        .reshape(c)
}

/// `act(x)` as a custom op whose backward is one fused op too.
#[derive(Debug, Clone, Copy)]
struct Pointwise(Activation);

/// `(x, grad)` → `grad · act'(x)`.
#[derive(Debug, Clone, Copy)]
struct PointwiseGrad(Activation);

impl FloatMap for Pointwise {
    fn map<T: Float>(&self, x: &[T]) -> Vec<T> {
        let act = self.0;
        zip_map(x, x, T::zero(), move |x, _| act.apply_to(x))
    }
}

impl FloatZip for PointwiseGrad {
    /// `g · act'(x)`: the gradient itself where the derivative is 1, zero or `g·slope` (in
    /// f64, as [`Activation::derivative`] gives it) elsewhere.
    fn zip<T: Float>(&self, x: &[T], g: &[T]) -> Vec<T> {
        let act = self.0;
        zip_map(x, g, T::zero(), move |x, g| match act {
            Activation::Identity => g,
            _ if x > T::zero() => g,
            Activation::Relu => T::zero(),
            Activation::LeakyRelu(slope) => T::from_f64(g.to_f64() * slope),
        })
    }
}

impl CustomOp1 for Pointwise {
    fn name(&self) -> &'static str {
        "eyegan-activation"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        Ok((map_float(self, (s, l), self.name())?, l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(x.apply_op2_no_bwd(
            &grad.contiguous()?,
            &PointwiseGrad(self.0),
        )?))
    }
}

elementwise_op2!(PointwiseGrad, "eyegan-activation-grad");

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    /// The fused LeakyReLU matches Candle's `maximum` formulation, forward and gradient.
    #[test]
    fn leaky_relu_matches_candles_ops() {
        let device = Device::Cpu;
        for dtype in [DType::F32, DType::F64] {
            let x = Var::from_tensor(
                &Tensor::randn(0f32, 1.0, (2, 3, 4, 4), &device)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap(),
            )
            .unwrap();
            let r = Tensor::randn(0f32, 1.0, (2, 3, 4, 4), &device)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            let run = |y: Tensor| {
                let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
                let g = grads.get(&x).unwrap().clone();
                (y, g)
            };
            let ours = run(leaky_relu(&x, 0.2).unwrap());
            let theirs = run(Activation::LeakyRelu(0.2).apply_tensor(&x).unwrap());
            for (a, b) in [(&ours.0, &theirs.0), (&ours.1, &theirs.1)] {
                let diff = (a - b)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_scalar::<f64>()
                    .unwrap();
                assert!(diff <= 1e-6, "{dtype:?}: {diff}");
            }
        }
    }

    /// The fused bias + activation matches Candle's broadcast_add + activation, forward and
    /// gradients of x and bias (1e-5 relative).
    #[test]
    fn bias_activation_matches_candles_ops() {
        let device = Device::Cpu;
        for dtype in [DType::F32, DType::F64] {
            for act in [
                Activation::Identity,
                Activation::Relu,
                Activation::LeakyRelu(0.2),
            ] {
                let var = |shape: &[usize]| {
                    Var::from_tensor(
                        &Tensor::randn(0f32, 1.0, shape, &device)
                            .unwrap()
                            .to_dtype(dtype)
                            .unwrap(),
                    )
                    .unwrap()
                };
                let (x, bias) = (var(&[2, 3, 4, 5]), var(&[3]));
                let r = Tensor::randn(0f32, 1.0, (2, 3, 4, 5), &device)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap();
                let run = |y: Tensor| {
                    let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
                    [
                        y,
                        grads.get(&x).unwrap().clone(),
                        grads.get(&bias).unwrap().clone(),
                    ]
                };
                let ours = run(bias_activation(&x, &bias, act).unwrap());
                let stock = x
                    .broadcast_add(&bias.reshape((1, 3, 1, 1)).unwrap())
                    .unwrap();
                let theirs = run(act.apply_tensor(&stock).unwrap());
                for (a, b) in ours.iter().zip(&theirs) {
                    let scalar =
                        |t: Tensor| t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
                    let diff = scalar((a - b).unwrap().abs().unwrap().max_all().unwrap());
                    let scale = scalar(b.abs().unwrap().max_all().unwrap());
                    assert!(diff <= 1e-5 * scale, "{dtype:?} {act:?}: {diff} vs {scale}");
                }
            }
        }
    }
}
