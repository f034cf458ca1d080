//! BatchNorm2d with PyTorch semantics and checkpointed running statistics.
//!
//! Train mode normalises with the batch statistics (biased variance) and updates the running
//! mean/variance with momentum 0.1 (unbiased variance, as PyTorch) and `num_batches_tracked`;
//! eval mode normalises with the running statistics. Keys: `<name>.weight`, `<name>.bias`,
//! `<name>.running_mean`, `<name>.running_var`, `<name>.num_batches_tracked` (i64 scalar).

use candle_core::{DType, Tensor, Var};
use candle_nn::ModuleT;

use crate::error::Result;
use crate::layers::activation::Activation;
use crate::layers::batch_norm_op::{BatchNormAct, ChannelMoments};
use crate::layers::init::WeightInit;
use crate::params::ParamStore;
use crate::rng::SeededRng;

/// PyTorch's default epsilon.
pub const BATCH_NORM_EPS: f64 = 1e-5;
/// PyTorch's default momentum of the running statistics.
pub const BATCH_NORM_MOMENTUM: f64 = 0.1;

/// Batch normalisation over the channel dimension of NCHW tensors.
#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    channels: usize,
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    num_batches_tracked: Var,
}

impl BatchNorm2d {
    /// The same layer with γ and β detached (no gradient for them); it shares the running
    /// statistics, which train-mode forwards still update.
    pub fn detached(&self) -> Self {
        Self {
            weight: self.weight.detach(),
            bias: self.bias.detach(),
            ..self.clone()
        }
    }

    /// Registers a BN layer under `name`, weight drawn from `weight_init`, bias 0, running mean 0,
    /// running var 1.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        channels: usize,
        weight_init: WeightInit,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let weight_values = weight_init.sample(rng, channels, 1, 1);
        let weight = store.add_trainable(&format!("{name}.weight"), &[channels], weight_values)?;
        let bias =
            store.add_trainable(&format!("{name}.bias"), &[channels], vec![0.0; channels])?;
        let running_mean = store.add_buffer(
            &format!("{name}.running_mean"),
            &[channels],
            vec![0.0; channels],
        )?;
        let running_var = store.add_buffer(
            &format!("{name}.running_var"),
            &[channels],
            vec![1.0; channels],
        )?;
        let counter = Tensor::new(0i64, store.device())?;
        let num_batches_tracked =
            store.add_buffer_tensor(&format!("{name}.num_batches_tracked"), counter)?;
        Ok(Self {
            channels,
            weight,
            bias,
            running_mean,
            running_var,
            num_batches_tracked,
        })
    }

    fn per_channel(&self, t: &Tensor) -> candle_core::Result<Tensor> {
        t.reshape((1, self.channels, 1, 1))
    }

    fn update_running_stats(
        &self,
        batch_mean: &Tensor,
        batch_var: &Tensor,
        count: usize,
    ) -> candle_core::Result<()> {
        let m = BATCH_NORM_MOMENTUM;
        let unbiased = (batch_var.detach().flatten_all()? * (count as f64 / (count - 1) as f64))?;
        let mean = batch_mean.detach().flatten_all()?;
        let new_mean =
            (self.running_mean.as_tensor().affine(1.0 - m, 0.0)? + mean.affine(m, 0.0)?)?;
        let new_var =
            (self.running_var.as_tensor().affine(1.0 - m, 0.0)? + unbiased.affine(m, 0.0)?)?;
        self.running_mean.set(&new_mean.detach())?;
        self.running_var.set(&new_var.detach())?;
        let one = Tensor::new(1i64, self.num_batches_tracked.device())?;
        let next = self
            .num_batches_tracked
            .as_detached_tensor()
            .broadcast_add(&one)?;
        self.num_batches_tracked.set(&next)
    }
}

/// Per-channel sums of an NCHW tensor as `(1, c, 1, 1)`: reducing the contiguous spatial axis
/// first is ~100× faster in Candle than `sum_keepdim((0, 2, 3))`.
fn channel_sums(x: &Tensor) -> candle_core::Result<Tensor> {
    let (batch, channels, height, width) = x.dims4()?;
    x.contiguous()?
        .reshape((batch, channels, height * width))?
        .sum_keepdim(2)?
        .sum_keepdim(0)?
        .reshape((1, channels, 1, 1))
}

impl ModuleT for BatchNorm2d {
    fn forward_t(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        self.forward_act(x, train, Activation::Identity)
    }
}

impl BatchNorm2d {
    /// Checks the channel count (and, in train mode, that each channel has at least two
    /// values); returns the values per channel.
    fn check_input(&self, x: &Tensor, train: bool) -> candle_core::Result<usize> {
        let (batch, channels, height, width) = x.dims4()?;
        if channels != self.channels {
            candle_core::bail!(
                "batch norm expects {} channels, got {channels}",
                self.channels
            )
        }
        let count = batch * height * width;
        if train && count < 2 {
            candle_core::bail!(
                "batch norm in train mode needs more than one value per channel, got input {:?}",
                x.dims()
            )
        }
        Ok(count)
    }

    /// `activation(batch_norm(x))`: one fused op on the CPU (f32/f64), Candle's ops elsewhere.
    pub fn forward_act(
        &self,
        x: &Tensor,
        train: bool,
        activation: Activation,
    ) -> candle_core::Result<Tensor> {
        let fused = x.device().is_cpu()
            && matches!(x.dtype(), DType::F32 | DType::F64)
            && x.dtype() == self.weight.dtype();
        if !fused {
            return activation.apply_tensor(&self.composed(x, train)?);
        }
        let count = self.check_input(x, train)?;
        let x = x.contiguous()?;
        let moments = if train {
            let moments = x.apply_op1_no_bwd(&ChannelMoments)?;
            self.update_running_stats(&moments.get(0)?, &moments.get(1)?, count)?;
            moments
        } else {
            // the running statistics are buffers: no gradient flows into them
            let mean = self.running_mean.as_detached_tensor();
            let var = self.running_var.as_detached_tensor();
            Tensor::stack(&[mean, var], 0)?
        };
        let affine = Tensor::stack(&[&self.weight, &self.bias], 0)?;
        let op = BatchNormAct {
            train,
            activation,
            eps: BATCH_NORM_EPS,
        };
        x.apply_op3(&affine, &moments, op)
    }

    /// The same computation composed from Candle's ops (other devices; reference in tests).
    fn composed(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let count = self.check_input(x, train)?;
        let (mean, var) = if train {
            let scale = 1.0 / count as f64;
            let mean = (channel_sums(x)? * scale)?;
            let centered = x.broadcast_sub(&mean)?;
            let var = (channel_sums(&centered.sqr()?)? * scale)?;
            self.update_running_stats(&mean, &var, count)?;
            (mean, var)
        } else {
            (
                self.per_channel(self.running_mean.as_tensor())?,
                self.per_channel(self.running_var.as_tensor())?,
            )
        };
        let inv_std = (var + BATCH_NORM_EPS)?.sqrt()?.recip()?;
        let normalised = x.broadcast_sub(&mean)?.broadcast_mul(&inv_std)?;
        normalised
            .broadcast_mul(&self.per_channel(&self.weight)?)?
            .broadcast_add(&self.per_channel(&self.bias)?)
    }
}

impl BatchNorm2d {
    /// Batches seen in train mode so far.
    pub fn num_batches_tracked(&self) -> Result<i64> {
        Ok(self
            .num_batches_tracked
            .as_tensor()
            .to_dtype(DType::I64)?
            .to_scalar::<i64>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn train_mode_normalises_and_tracks_running_stats() {
        let device = Device::Cpu;
        let mut store = ParamStore::new(&device, DType::F32);
        let mut rng = SeededRng::new(0, 0);
        let bn = BatchNorm2d::new(
            &mut store,
            "bn",
            2,
            WeightInit::Normal {
                mean: 1.0,
                std: 0.0,
            },
            &mut rng,
        )
        .unwrap();
        // channel 0: values 0..8, channel 1: constant 3
        let mut data = Vec::new();
        for b in 0..2 {
            for c in 0..2 {
                for i in 0..4 {
                    data.push(if c == 0 { (b * 4 + i) as f32 } else { 3.0 });
                }
            }
        }
        let x = Tensor::from_vec(data, (2, 2, 2, 2), &device).unwrap();
        let y = bn.forward_t(&x, true).unwrap();
        let y0: Vec<f32> = y
            .narrow(1, 0, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let mean0 = y0.iter().sum::<f32>() / 8.0;
        let var0 = y0.iter().map(|v| (v - mean0).powi(2)).sum::<f32>() / 8.0;
        assert!(
            mean0.abs() < 1e-5 && (var0 - 1.0).abs() < 1e-3,
            "{mean0} {var0}"
        );

        let rm: Vec<f32> = bn.running_mean.as_tensor().to_vec1().unwrap();
        let rv: Vec<f32> = bn.running_var.as_tensor().to_vec1().unwrap();
        // running_mean = 0.9*0 + 0.1*3.5; running_var = 0.9*1 + 0.1*unbiased(0..8)=6
        assert!(
            (rm[0] - 0.35).abs() < 1e-6 && (rm[1] - 0.3).abs() < 1e-6,
            "{rm:?}"
        );
        assert!(
            (rv[0] - 1.5).abs() < 1e-5 && (rv[1] - 0.9).abs() < 1e-6,
            "{rv:?}"
        );
        assert_eq!(bn.num_batches_tracked().unwrap(), 1);

        // eval mode uses the running statistics and does not touch them
        let e = bn.forward_t(&x, false).unwrap();
        let first = e.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((first - (0.0 - 0.35) / (1.5f32 + 1e-5).sqrt()).abs() < 1e-5);
        assert_eq!(bn.num_batches_tracked().unwrap(), 1);
    }

    /// The fused op matches the composed Candle formulation: outputs, gradients of x, γ and β
    /// (within 1e-5 relative) and the running statistics, in train and eval mode, for every
    /// activation, in f32 and f64.
    #[test]
    fn fused_op_matches_the_composed_formulation() {
        let device = Device::Cpu;
        for dtype in [DType::F64, DType::F32] {
            for train in [true, false] {
                for act in [
                    Activation::Identity,
                    Activation::Relu,
                    Activation::LeakyRelu(0.2),
                ] {
                    let build = || {
                        let mut store = ParamStore::new(&device, dtype);
                        let init = WeightInit::Normal {
                            mean: 1.0,
                            std: 0.3,
                        };
                        let bn =
                            BatchNorm2d::new(&mut store, "bn", 3, init, &mut SeededRng::new(1, 0))
                                .unwrap();
                        // non-trivial running statistics and bias
                        bn.running_mean
                            .set(
                                &Tensor::new(&[0.3f32, -0.2, 0.1], &device)
                                    .unwrap()
                                    .to_dtype(dtype)
                                    .unwrap(),
                            )
                            .unwrap();
                        bn.running_var
                            .set(
                                &Tensor::new(&[0.5f32, 2.0, 1.5], &device)
                                    .unwrap()
                                    .to_dtype(dtype)
                                    .unwrap(),
                            )
                            .unwrap();
                        let vars = store.trainable_vars();
                        vars[1]
                            .1
                            .set(
                                &Tensor::new(&[0.1f32, -0.4, 0.2], &device)
                                    .unwrap()
                                    .to_dtype(dtype)
                                    .unwrap(),
                            )
                            .unwrap();
                        (bn, vars)
                    };
                    let x = Tensor::randn(0.5f32, 2.0, (4, 3, 5, 5), &device)
                        .unwrap()
                        .to_dtype(dtype)
                        .unwrap();
                    let r = Tensor::randn(0f32, 1.0, (4, 3, 5, 5), &device)
                        .unwrap()
                        .to_dtype(dtype)
                        .unwrap();
                    let run = |fused: bool| {
                        let (bn, vars) = build();
                        let xv = Var::from_tensor(&x).unwrap();
                        let y = if fused {
                            bn.forward_act(xv.as_tensor(), train, act).unwrap()
                        } else {
                            act.apply_tensor(&bn.composed(xv.as_tensor(), train).unwrap())
                                .unwrap()
                        };
                        let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
                        vec![
                            y,
                            grads.get(&xv).unwrap().clone(),
                            grads.get(&vars[0].1).unwrap().clone(),
                            grads.get(&vars[1].1).unwrap().clone(),
                            bn.running_mean.as_tensor().clone(),
                            bn.running_var.as_tensor().clone(),
                        ]
                    };
                    let (ours, theirs) = (run(true), run(false));
                    for (index, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                        let scalar =
                            |t: Tensor| t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
                        let diff = scalar((a - b).unwrap().abs().unwrap().max_all().unwrap());
                        let scale = scalar(b.abs().unwrap().max_all().unwrap());
                        assert!(
                            diff <= 1e-5 * scale,
                            "{dtype:?} train={train} {act:?} output {index}: {diff} vs {scale}"
                        );
                    }
                }
            }
        }
    }
}
