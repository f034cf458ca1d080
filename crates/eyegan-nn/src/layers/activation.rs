//! Activations used by the networks.

use candle_core::Tensor;

/// DCGAN's LeakyReLU slope.
pub const LEAKY_RELU_SLOPE: f64 = 0.2;

/// LeakyReLU `max(x, slope·x)` for `0 < slope < 1`.
pub fn leaky_relu(x: &Tensor, slope: f64) -> candle_core::Result<Tensor> {
    x.maximum(&x.affine(slope, 0.0)?)
}
