//! 2×2 max pooling with a correct backward pass.
//!
//! Candle 0.11.1's `Tensor::max_pool2d` returns a gradient divided by 4; this formulation
//! (reshape to `(b, c, h/2, 2, w/2, 2)`, then `max` over the two window axes) differentiates
//! through `max`, whose backward routes the whole gradient to the maximum. Odd trailing rows or
//! columns are dropped (Keras `MaxPooling2D` with `padding="valid"`).

use candle_core::Tensor;

/// Max pooling with a 2×2 window and stride 2 over an NCHW tensor.
pub fn max_pool_2x2(x: &Tensor) -> candle_core::Result<Tensor> {
    let (batch, channels, height, width) = x.dims4()?;
    let (out_h, out_w) = (height / 2, width / 2);
    if out_h == 0 || out_w == 0 {
        candle_core::bail!("max_pool_2x2 needs at least 2×2 inputs, got {height}×{width}")
    }
    let x = if height % 2 != 0 || width % 2 != 0 {
        x.narrow(2, 0, out_h * 2)?.narrow(3, 0, out_w * 2)?
    } else {
        x.clone()
    };
    x.contiguous()?
        .reshape((batch, channels, out_h, 2, out_w, 2))?
        .max(5)?
        .max(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn forward_matches_candles_pool_and_handles_odd_sizes() {
        let device = Device::Cpu;
        let values: Vec<f32> = (0..2 * 3 * 6 * 6)
            .map(|i| ((i * 37) % 101) as f32)
            .collect();
        let x = Tensor::from_vec(values, (2, 3, 6, 6), &device).unwrap();
        let ours = max_pool_2x2(&x).unwrap();
        let theirs = x.max_pool2d(2).unwrap();
        let diff = (ours - theirs).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        let odd = x.narrow(3, 0, 5).unwrap();
        assert_eq!(max_pool_2x2(&odd).unwrap().dims(), &[2, 3, 3, 2]);
    }
}
