//! DCGAN discriminator.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Module, ModuleT};

use crate::config::DcganConfig;
use crate::error::Result;
use crate::layers::activation::{leaky_relu, Activation, LEAKY_RELU_SLOPE};
use crate::layers::{conv2d, BatchNorm2d, Conv2d, ConvSpec, WeightInit};
use crate::params::ParamStore;
use crate::rng::SeededRng;

#[derive(Debug, Clone)]
struct Stage {
    conv: Conv2d,
    norm: Option<BatchNorm2d>,
}

/// D: `image (b, channels, size, size) → logit (b,)`; D(x) = sigmoid(logit).
///
/// At 64×64 (the reference): Conv(channels→ndf, k4 s2 p1)+LeakyReLU(0.2),
/// Conv(→2ndf)+BN+LeakyReLU, Conv(→4ndf)+BN+LeakyReLU, Conv(→8ndf)+BN+LeakyReLU,
/// Conv(8ndf→1, k4 s1 p0), no conv biases: 2,765,568 parameters with the paper's config.
/// The reference ends in a Sigmoid; here D returns the logit and the sigmoid lives in the
/// numerically stable loss, which changes no parameter.
///
/// PyTorch `state_dict` mapping: first conv `main.0.weight`; middle stage `s` (1-based) has
/// conv `main.{3s−1}.weight` and BN `main.{3s}.*`; the last conv is `main.{3n−4}.weight`
/// (n = number of convs). For 64×64: `main.0, main.2, main.3, main.5, main.6, main.8, main.9,
/// main.11`.
#[derive(Debug, Clone)]
pub struct Discriminator {
    config: DcganConfig,
    store: ParamStore,
    stages: Vec<Stage>,
}

impl Discriminator {
    /// Builds D with DCGAN init drawn from `rng`.
    pub fn new(
        config: &DcganConfig,
        rng: &mut SeededRng,
        device: &Device,
        dtype: DType,
    ) -> Result<Self> {
        config.validate()?;
        let mut store = ParamStore::new(device, dtype);
        let num_stages = config.num_stages();
        let mut stages = Vec::with_capacity(num_stages);
        let mut in_channels = config.channels;
        for stage in 0..num_stages {
            let last = stage + 1 == num_stages;
            let out_channels = if last { 1 } else { config.ndf << stage };
            let (stride, padding) = if last { (1, 0) } else { (2, 1) };
            let spec = ConvSpec {
                in_channels,
                out_channels,
                kernel: 4,
                stride,
                padding,
                bias: false,
            };
            let conv_index = if stage == 0 { 0 } else { 3 * stage - 1 };
            let conv = conv2d(
                &mut store,
                &format!("main.{conv_index}"),
                spec,
                WeightInit::DCGAN_CONV,
                rng,
            )?;
            let norm = if stage == 0 || last {
                None
            } else {
                let name = format!("main.{}", 3 * stage);
                Some(BatchNorm2d::new(
                    &mut store,
                    &name,
                    out_channels,
                    WeightInit::DCGAN_BN_WEIGHT,
                    rng,
                )?)
            };
            stages.push(Stage { conv, norm });
            in_channels = out_channels;
        }
        Ok(Self {
            config: *config,
            store,
            stages,
        })
    }

    /// The architecture.
    pub fn config(&self) -> &DcganConfig {
        &self.config
    }

    /// D with its parameters detached, for G's step: gradients flow through it to the images
    /// only (none are computed for D's weights, which that step does not update). It shares
    /// the parameters and the BN running statistics with `self`.
    pub fn frozen(&self) -> Self {
        let stages = self
            .stages
            .iter()
            .map(|stage| Stage {
                conv: stage.conv.detached(),
                norm: stage.norm.as_ref().map(BatchNorm2d::detached),
            })
            .collect();
        Self {
            stages,
            ..self.clone()
        }
    }

    /// Parameters and BN buffers, keyed as PyTorch's `netD.state_dict()`.
    pub fn params(&self) -> &ParamStore {
        &self.store
    }
}

impl ModuleT for Discriminator {
    /// Returns one logit per image, shape `(b,)`.
    fn forward_t(&self, images: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let batch = images.dim(0)?;
        let num_stages = self.stages.len();
        let mut x = images.clone();
        for (index, stage) in self.stages.iter().enumerate() {
            x = stage.conv.forward(&x)?;
            let last = index + 1 == num_stages;
            x = match (&stage.norm, last) {
                (Some(norm), false) => {
                    norm.forward_act(&x, train, Activation::LeakyRelu(LEAKY_RELU_SLOPE))?
                }
                (Some(norm), true) => norm.forward_t(&x, train)?,
                (None, false) => leaky_relu(&x, LEAKY_RELU_SLOPE)?,
                (None, true) => x,
            };
        }
        x.reshape(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    /// The frozen D passes the same gradient to its input and none to its parameters.
    #[test]
    fn frozen_d_passes_gradients_to_the_images_only() {
        let config = DcganConfig::tiny();
        let device = Device::Cpu;
        let d =
            Discriminator::new(&config, &mut SeededRng::new(3, 0), &device, DType::F32).unwrap();
        let size = config.image_size;
        let images = Tensor::randn(0f32, 1.0, (4, config.channels, size, size), &device);
        let images = Var::from_tensor(&images.unwrap()).unwrap();
        let grads_of = |d: &Discriminator| {
            let logits = d.forward_t(images.as_tensor(), true).unwrap();
            logits.sum_all().unwrap().backward().unwrap()
        };
        let (full, frozen) = (grads_of(&d), grads_of(&d.frozen()));
        let image_grad = |grads: &candle_core::backprop::GradStore| {
            let grad = grads.get(images.as_tensor()).expect("an image gradient");
            grad.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert_eq!(image_grad(&full), image_grad(&frozen));
        for (name, var) in d.params().trainable_vars() {
            assert!(full.get(var.as_tensor()).is_some(), "{name} has a gradient");
            assert!(frozen.get(var.as_tensor()).is_none(), "frozen {name}");
        }
    }
}
