//! DiffAugment (Zhao et al., 2020): differentiable colour, translation and cutout transforms
//! applied to both real and fake images before D, so D cannot memorise a small training set.
//! Random parameters come from the trainer's seeded stream; every op is differentiable in the
//! images, so G's gradient flows through the augmentation.

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rng::SeededRng;

/// Translation shifts by up to this fraction of the side (zero fill).
pub const TRANSLATION_RATIO: f64 = 0.125;
/// Cutout erases a square of this fraction of the side.
pub const CUTOUT_RATIO: f64 = 0.5;

/// Which transforms DiffAugment applies (all three by default, as the reference policy
/// `color,translation,cutout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiffAugmentPolicy {
    /// Random brightness, saturation and contrast.
    pub color: bool,
    /// Random shift with zero fill.
    pub translation: bool,
    /// Random square erased to zero.
    pub cutout: bool,
}

impl Default for DiffAugmentPolicy {
    fn default() -> Self {
        Self {
            color: true,
            translation: true,
            cutout: true,
        }
    }
}

/// One uniform draw per image, as a `(b, 1, 1, 1)` tensor like `x`.
fn per_image(x: &Tensor, rng: &mut SeededRng, low: f32, high: f32) -> Result<Tensor> {
    let batch = x.dim(0)?;
    let values: Vec<f32> = (0..batch).map(|_| rng.uniform(low, high)).collect();
    Ok(Tensor::from_vec(values, (batch, 1, 1, 1), x.device())?.to_dtype(x.dtype())?)
}

fn color(x: &Tensor, rng: &mut SeededRng) -> Result<Tensor> {
    let brightness = per_image(x, rng, -0.5, 0.5)?;
    let x = x.broadcast_add(&brightness)?;
    let saturation = per_image(&x, rng, 0.0, 2.0)?;
    let channel_mean = x.mean_keepdim(1)?;
    let x = x
        .broadcast_sub(&channel_mean)?
        .broadcast_mul(&saturation)?
        .broadcast_add(&channel_mean)?;
    let contrast = per_image(&x, rng, 0.5, 1.5)?;
    let image_mean = x
        .mean_keepdim(D::Minus1)?
        .mean_keepdim(2)?
        .mean_keepdim(1)?;
    Ok(x.broadcast_sub(&image_mean)?
        .broadcast_mul(&contrast)?
        .broadcast_add(&image_mean)?)
}

fn translation(x: &Tensor, rng: &mut SeededRng) -> Result<Tensor> {
    let (batch, _, height, width) = x.dims4()?;
    let shift_h = (height as f64 * TRANSLATION_RATIO + 0.5) as usize;
    let shift_w = (width as f64 * TRANSLATION_RATIO + 0.5) as usize;
    let padded = x
        .pad_with_zeros(2, shift_h, shift_h)?
        .pad_with_zeros(3, shift_w, shift_w)?;
    let mut shifted = Vec::with_capacity(batch);
    for index in 0..batch {
        let dy = rng.below(2 * shift_h + 1);
        let dx = rng.below(2 * shift_w + 1);
        shifted.push(
            padded
                .narrow(0, index, 1)?
                .narrow(2, dy, height)?
                .narrow(3, dx, width)?,
        );
    }
    Ok(Tensor::cat(&shifted, 0)?)
}

fn cutout(x: &Tensor, rng: &mut SeededRng) -> Result<Tensor> {
    let (batch, _, height, width) = x.dims4()?;
    let size_h = (height as f64 * CUTOUT_RATIO + 0.5) as usize;
    let size_w = (width as f64 * CUTOUT_RATIO + 0.5) as usize;
    let mut mask = vec![1.0f32; batch * height * width];
    for index in 0..batch {
        let centre_y = rng.below(height + (1 - size_h % 2));
        let centre_x = rng.below(width + (1 - size_w % 2));
        let top = centre_y.saturating_sub(size_h / 2);
        let bottom = (centre_y + size_h / 2).min(height);
        let left = centre_x.saturating_sub(size_w / 2);
        let right = (centre_x + size_w / 2).min(width);
        for y in top..bottom {
            let row = index * height * width + y * width;
            mask[row + left..row + right].fill(0.0);
        }
    }
    let mask =
        Tensor::from_vec(mask, (batch, 1, height, width), x.device())?.to_dtype(x.dtype())?;
    Ok(x.broadcast_mul(&mask)?)
}

/// Applies the enabled transforms of `policy` to an NCHW batch in [-1, 1].
pub fn diff_augment(x: &Tensor, policy: &DiffAugmentPolicy, rng: &mut SeededRng) -> Result<Tensor> {
    let mut out = x.clone();
    if policy.color {
        out = color(&out, rng)?;
    }
    if policy.translation {
        out = translation(&out, rng)?;
    }
    if policy.cutout {
        out = cutout(&out, rng)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn translation_and_cutout_keep_shape_and_content_statistics() {
        let device = Device::Cpu;
        let x = Tensor::ones((4, 3, 16, 16), candle_core::DType::F32, &device).unwrap();
        let mut rng = SeededRng::new(1, 1);
        let policy = DiffAugmentPolicy {
            color: false,
            translation: true,
            cutout: false,
        };
        let shifted = diff_augment(&x, &policy, &mut rng).unwrap();
        assert_eq!(shifted.dims(), x.dims());
        // a shift of at most 2 pixels keeps at least (14/16)² of the ones
        let kept = shifted.mean_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(
            kept >= (14.0f32 / 16.0).powi(2) - 1e-6 && kept <= 1.0,
            "{kept}"
        );

        let policy = DiffAugmentPolicy {
            color: false,
            translation: false,
            cutout: true,
        };
        let cut = diff_augment(&x, &policy, &mut rng).unwrap();
        let kept = cut.mean_all().unwrap().to_scalar::<f32>().unwrap();
        // an 8×8 hole (possibly clipped at the border) in a 16×16 image
        assert!((0.75..1.0).contains(&kept), "{kept}");
    }

    #[test]
    fn same_stream_gives_same_augmentation() {
        let device = Device::Cpu;
        let values: Vec<f32> = (0..2 * 3 * 8 * 8)
            .map(|i| ((i % 17) as f32 / 8.0) - 1.0)
            .collect();
        let x = Tensor::from_vec(values, (2, 3, 8, 8), &device).unwrap();
        let policy = DiffAugmentPolicy::default();
        let a = diff_augment(&x, &policy, &mut SeededRng::new(5, 0)).unwrap();
        let b = diff_augment(&x, &policy, &mut SeededRng::new(5, 0)).unwrap();
        let diff = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(diff, 0.0);
    }
}
