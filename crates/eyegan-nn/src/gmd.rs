//! The paper's GMD classifier.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Linear, Module, ModuleT};

use crate::config::GmdConfig;
use crate::error::{NnError, Result};
use crate::input_standardization::InputStandardization;
use crate::layers::{conv2d, linear, max_pool_2x2, Activation, Conv2d, ConvSpec, WeightInit};
use crate::params::ParamStore;
use crate::rng::SeededRng;

/// GMD: 64×64×3 → Conv256 3×3 → Conv128 3×3 → MaxPool2 → Conv128 3×3 → MaxPool2 → Conv64 3×3 →
/// MaxPool2 → Conv32 3×3 → MaxPool2 → Dense100 → Dense60 → Dense(num_classes), ReLU after every
/// convolution and hidden dense layer; returns logits (softmax lives in the loss).
///
/// Padding: the paper does not state it. The default here is **`same`** (1 pixel, so only the
/// poolings shrink the map: 64 → 32 → 16 → 8 → 4, flatten 32·4·4 = 512), which also admits
/// 32×32 inputs; this gives **599,652** parameters at 64×64×3 with 4 classes. Keras' default
/// `valid` padding (64 → 62 → 60 → 30 → 28 → 14 → 12 → 6 → 4 → 2, flatten 128) is available as
/// [`crate::config::GmdPadding::Valid`] and gives **561,252** parameters; it cannot take 32×32.
/// Biases start at zero (Keras' default). Kernels of the layers followed by a ReLU (the five
/// convolutions and the two hidden dense layers) are **He-uniform**, the output layer
/// Glorot-uniform. This deviates from Keras' Glorot-uniform default used by the paper: Glorot
/// halves the signal's second moment at every ReLU layer (and more in the first convolution,
/// fan-in 27 vs fan-out 9·width), so in the narrow nets used for tests and CPU runs the logits
/// start almost input-independent and SGD sits on the ln 4 plateau for many epochs on phantom
/// fundus images; He keeps the activations' scale through the ReLU stack.
///
/// Inputs are standardised before the first convolution: `(x − input.mean) · input.inv_scale`,
/// buffers fitted to the training images when training starts
/// ([`crate::InputStandardization`]; identity until then) and stored in the weights, so
/// evaluation and prediction apply the same statistics. The paper feeds raw pixels; without
/// this, phantom fundus images (a small class signal on a large common image) keep narrow GMDs
/// at chance.
///
/// Keys: `conv1..conv5.{weight,bias}` (`(out, in, 3, 3)`), `dense1..dense3.{weight,bias}`
/// (`(out, in)`, PyTorch layout; the flatten order is NCHW), buffers `input.mean`
/// (`(channels, size, size)`) and `input.inv_scale` (`(1)`).
#[derive(Debug, Clone)]
pub struct Gmd {
    config: GmdConfig,
    store: ParamStore,
    input_mean: Var,
    input_inv_scale: Var,
    convs: Vec<Conv2d>,
    dense: Vec<Linear>,
}

/// After which convolutions (0-based) a 2×2 max pool follows.
const POOL_AFTER: [bool; 5] = [false, true, true, true, true];

impl Gmd {
    /// Builds the network with He-uniform hidden and Glorot-uniform output weights drawn from `rng`.
    pub fn new(
        config: &GmdConfig,
        rng: &mut SeededRng,
        device: &Device,
        dtype: DType,
    ) -> Result<Self> {
        config.validate()?;
        let mut store = ParamStore::new(device, dtype);
        let input_shape = [config.channels, config.image_size, config.image_size];
        let input_mean =
            store.add_buffer("input.mean", &input_shape, vec![0.0; config.image_len()])?;
        let input_inv_scale = store.add_buffer("input.inv_scale", &[1], vec![1.0])?;
        let mut convs = Vec::with_capacity(5);
        let mut in_channels = config.channels;
        for (index, out_channels) in config.conv_widths().into_iter().enumerate() {
            let spec = ConvSpec {
                in_channels,
                out_channels,
                kernel: 3,
                stride: 1,
                padding: config.conv_padding(),
                bias: true,
            };
            let name = format!("conv{}", index + 1);
            convs.push(conv2d(&mut store, &name, spec, WeightInit::HeUniform, rng)?);
            in_channels = out_channels;
        }
        let [hidden1, hidden2] = config.dense_widths();
        let widths = [
            config.flattened_features()?,
            hidden1,
            hidden2,
            config.num_classes,
        ];
        let dense = widths
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                let name = format!("dense{}", index + 1);
                linear(
                    &mut store,
                    &name,
                    pair[0],
                    pair[1],
                    if index + 2 < widths.len() {
                        WeightInit::HeUniform
                    } else {
                        WeightInit::GlorotUniform
                    },
                    rng,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: *config,
            store,
            input_mean,
            input_inv_scale,
            convs,
            dense,
        })
    }

    /// The architecture.
    pub fn config(&self) -> &GmdConfig {
        &self.config
    }

    /// Parameters by key.
    pub fn params(&self) -> &ParamStore {
        &self.store
    }

    /// Sets the input standardisation buffers (done by the trainer when training starts).
    pub fn set_input_standardization(&self, stats: &InputStandardization) -> Result<()> {
        let len = self.config.image_len();
        if stats.mean.len() != len {
            return Err(NnError::input(
                "input standardisation",
                format!(
                    "mean has {} values, the model takes {len}",
                    stats.mean.len()
                ),
            ));
        }
        if !(stats.scale.is_finite() && stats.scale > 0.0) {
            return Err(NnError::input(
                "input standardisation",
                format!("scale {} is not a positive number", stats.scale),
            ));
        }
        let (device, dtype) = (self.store.device(), self.store.dtype());
        let mean = Tensor::from_vec(stats.mean.clone(), self.input_mean.dims(), device)?;
        let inv_scale = Tensor::from_vec(vec![1.0 / stats.scale], 1, device)?;
        self.input_mean.set(&mean.to_dtype(dtype)?)?;
        self.input_inv_scale.set(&inv_scale.to_dtype(dtype)?)?;
        Ok(())
    }
}

impl ModuleT for Gmd {
    /// `images (b, channels, size, size)` → logits `(b, num_classes)`. GMD has no dropout or
    /// batch norm, so `train` changes nothing; it is accepted for a uniform interface.
    fn forward_t(&self, images: &Tensor, _train: bool) -> candle_core::Result<Tensor> {
        let mut x = images
            .broadcast_sub(&self.input_mean.as_detached_tensor())?
            .broadcast_mul(&self.input_inv_scale.as_detached_tensor())?;
        for (conv, pool) in self.convs.iter().zip(POOL_AFTER) {
            x = conv.forward_act(&x, Activation::Relu)?;
            if pool {
                x = max_pool_2x2(&x)?;
            }
        }
        x = x.flatten_from(1)?;
        let last = self.dense.len() - 1;
        for (index, layer) in self.dense.iter().enumerate() {
            x = layer.forward(&x)?;
            if index < last {
                x = x.relu()?;
            }
        }
        Ok(x)
    }
}
