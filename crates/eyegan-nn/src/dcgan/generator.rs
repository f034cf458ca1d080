//! DCGAN generator.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Module, ModuleT};

use crate::config::DcganConfig;
use crate::error::Result;
use crate::layers::tanh::tanh;
use crate::layers::{
    conv_transpose2d, Activation, BatchNorm2d, ConvSpec, ConvTranspose2d, WeightInit,
};
use crate::params::ParamStore;
use crate::rng::SeededRng;

#[derive(Debug, Clone)]
struct Stage {
    conv: ConvTranspose2d,
    norm: Option<BatchNorm2d>,
}

/// G: `z (b, nz) → image (b, channels, size, size)` in [-1, 1].
///
/// At 64×64 (the reference): ConvT(nz→8ngf, k4 s1 p0)+BN+ReLU, ConvT(→4ngf, k4 s2 p1)+BN+ReLU,
/// ConvT(→2ngf)+BN+ReLU, ConvT(→ngf)+BN+ReLU, ConvT(→channels)+Tanh, no conv biases:
/// 3,576,704 parameters with the paper's config. 32×32 drops the first stage's doubling
/// (starts at 4ngf), 128×128 adds one (starts at 16ngf).
///
/// PyTorch `state_dict` mapping (`Sequential` index = 3·stage): stage `s` has
/// `main.{3s}.weight` (ConvTranspose2d, `(in, out, 4, 4)`) and, except the last stage,
/// `main.{3s+1}.{weight,bias,running_mean,running_var,num_batches_tracked}` (BatchNorm2d);
/// `main.{3s+2}` is the ReLU and the final `main.{3n−2}` the Tanh, both without tensors.
/// For 64×64 that is `main.0, main.1, main.3, main.4, main.6, main.7, main.9, main.10, main.12`.
#[derive(Debug, Clone)]
pub struct Generator {
    config: DcganConfig,
    store: ParamStore,
    stages: Vec<Stage>,
}

impl Generator {
    /// Builds G with DCGAN init (conv N(0, 0.02), BN weight N(1, 0.02), BN bias 0) drawn from `rng`.
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
        let mut in_channels = config.nz;
        for stage in 0..num_stages {
            let last = stage + 1 == num_stages;
            let out_channels = if last {
                config.channels
            } else {
                config.ngf << (num_stages - 2 - stage)
            };
            let (stride, padding) = if stage == 0 { (1, 0) } else { (2, 1) };
            let spec = ConvSpec {
                in_channels,
                out_channels,
                kernel: 4,
                stride,
                padding,
                bias: false,
            };
            let conv = conv_transpose2d(
                &mut store,
                &format!("main.{}", 3 * stage),
                spec,
                WeightInit::DCGAN_CONV,
                rng,
            )?;
            let norm = if last {
                None
            } else {
                let name = format!("main.{}", 3 * stage + 1);
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

    /// Parameters and BN buffers, keyed as PyTorch's `netG.state_dict()`.
    pub fn params(&self) -> &ParamStore {
        &self.store
    }

    /// `count` latent vectors N(0, 1) from `rng`, shaped `(count, nz, 1, 1)`.
    pub fn noise(&self, rng: &mut SeededRng, count: usize) -> Result<Tensor> {
        let values = rng.normal_vec(count * self.config.nz);
        Ok(
            Tensor::from_vec(values, (count, self.config.nz, 1, 1), self.store.device())?
                .to_dtype(self.store.dtype())?,
        )
    }
}

impl ModuleT for Generator {
    /// `z` is `(b, nz)` or `(b, nz, 1, 1)`; train mode uses batch statistics and updates BN's
    /// running statistics, eval mode uses the running statistics.
    fn forward_t(&self, z: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let batch = z.dim(0)?;
        let mut x = z.reshape((batch, self.config.nz, 1, 1))?;
        for stage in &self.stages {
            x = stage.conv.forward(&x)?;
            x = match &stage.norm {
                Some(norm) => norm.forward_act(&x, train, Activation::Relu)?,
                None => tanh(&x)?,
            };
        }
        Ok(x)
    }
}
