//! Convolution and dense layers with seeded, named parameters.
//!
//! Weight layouts follow PyTorch: conv2d `(out, in, kh, kw)`, conv_transpose2d
//! `(in, out, kh, kw)`, linear `(out, in)`; keys are `<name>.weight` and `<name>.bias`.
//! Convolutions run through [`crate::layers::conv_ops`] (GEMM-based on the CPU).

use candle_core::Tensor;
use candle_nn::{Linear, Module};

use crate::error::Result;
use crate::layers::activation::Activation;
use crate::layers::conv_ops;
use crate::layers::init::WeightInit;
use crate::params::ParamStore;
use crate::rng::SeededRng;

/// Geometry of a square convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Whether the layer has a bias (initialised to zero).
    pub bias: bool,
}

/// A 2-D convolution layer.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
}

/// A 2-D transposed convolution layer.
#[derive(Debug, Clone)]
pub struct ConvTranspose2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
}

fn add_channel_bias(x: Tensor, bias: &Option<Tensor>) -> candle_core::Result<Tensor> {
    match bias {
        None => Ok(x),
        Some(bias) => x.broadcast_add(&bias.reshape((1, bias.dim(0)?, 1, 1))?),
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        add_channel_bias(
            conv_ops::conv2d(x, &self.weight, self.stride, self.padding)?,
            &self.bias,
        )
    }
}

impl Conv2d {
    /// The same layer with its parameters detached: backprop passes through it to its input
    /// but computes no gradient for its weight or bias.
    pub fn detached(&self) -> Self {
        Self {
            weight: self.weight.detach(),
            bias: self.bias.as_ref().map(Tensor::detach),
            ..self.clone()
        }
    }

    /// `activation(conv(x) + bias)`, with the bias and activation fused into one op.
    pub fn forward_act(&self, x: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
        match &self.bias {
            Some(bias) => conv_ops::conv2d_bias_act(
                x,
                &self.weight,
                bias,
                self.stride,
                self.padding,
                activation,
            ),
            None => activation.apply_tensor(&conv_ops::conv2d(
                x,
                &self.weight,
                self.stride,
                self.padding,
            )?),
        }
    }
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = conv_ops::conv_transpose2d(x, &self.weight, self.stride, self.padding)?;
        add_channel_bias(y, &self.bias)
    }
}

fn bias_param(
    store: &mut ParamStore,
    name: &str,
    channels: usize,
    enabled: bool,
) -> Result<Option<Tensor>> {
    if !enabled {
        return Ok(None);
    }
    let values = vec![0.0; channels];
    Ok(Some(store.add_trainable(
        &format!("{name}.bias"),
        &[channels],
        values,
    )?))
}

/// A 2-D convolution registered under `name`.
pub fn conv2d(
    store: &mut ParamStore,
    name: &str,
    spec: ConvSpec,
    init: WeightInit,
    rng: &mut SeededRng,
) -> Result<Conv2d> {
    let area = spec.kernel * spec.kernel;
    let shape = [
        spec.out_channels,
        spec.in_channels,
        spec.kernel,
        spec.kernel,
    ];
    let count = shape.iter().product();
    let values = init.sample(
        rng,
        count,
        spec.in_channels * area,
        spec.out_channels * area,
    );
    let weight = store.add_trainable(&format!("{name}.weight"), &shape, values)?;
    let bias = bias_param(store, name, spec.out_channels, spec.bias)?;
    Ok(Conv2d {
        weight,
        bias,
        stride: spec.stride,
        padding: spec.padding,
    })
}

/// A 2-D transposed convolution registered under `name`.
pub fn conv_transpose2d(
    store: &mut ParamStore,
    name: &str,
    spec: ConvSpec,
    init: WeightInit,
    rng: &mut SeededRng,
) -> Result<ConvTranspose2d> {
    let area = spec.kernel * spec.kernel;
    let shape = [
        spec.in_channels,
        spec.out_channels,
        spec.kernel,
        spec.kernel,
    ];
    let count = shape.iter().product();
    let values = init.sample(
        rng,
        count,
        spec.out_channels * area,
        spec.in_channels * area,
    );
    let weight = store.add_trainable(&format!("{name}.weight"), &shape, values)?;
    let bias = bias_param(store, name, spec.out_channels, spec.bias)?;
    Ok(ConvTranspose2d {
        weight,
        bias,
        stride: spec.stride,
        padding: spec.padding,
    })
}

/// A dense layer `in_features → out_features` with bias, registered under `name`.
pub fn linear(
    store: &mut ParamStore,
    name: &str,
    in_features: usize,
    out_features: usize,
    init: WeightInit,
    rng: &mut SeededRng,
) -> Result<Linear> {
    let values = init.sample(rng, in_features * out_features, in_features, out_features);
    let weight = store.add_trainable(
        &format!("{name}.weight"),
        &[out_features, in_features],
        values,
    )?;
    let bias = bias_param(store, name, out_features, true)?;
    Ok(Linear::new(weight, bias))
}
