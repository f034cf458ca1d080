//! Feature-wise input standardisation of the GMD: subtract the training set's mean image and
//! divide by the images' spread around it.
//!
//! Fundus photographs (and the phantom) share most of their content — black border, orange
//! field, disc — so the class signal is a small variation on a large common image. Fed raw, a
//! narrow GMD's logits start almost input-independent and SGD sits on the ln(classes) plateau;
//! centred and scaled, the variation that carries the class is what the first layer sees.

use crate::error::{NnError, Result};

/// The statistics of one training set: per-element mean image and one global scale.
#[derive(Debug, Clone, PartialEq)]
pub struct InputStandardization {
    /// Mean of every CHW element over the training images.
    pub mean: Vec<f32>,
    /// Root mean square distance of the elements from `mean` (1 when the images are identical).
    pub scale: f32,
}

impl InputStandardization {
    /// Statistics of `images` (equal-length CHW vectors, at least one).
    pub fn fit(images: &[Vec<f32>]) -> Result<Self> {
        let first = images
            .first()
            .ok_or_else(|| NnError::input("images", "no images to fit the standardisation to"))?;
        let len = first.len();
        if let Some(index) = images.iter().position(|image| image.len() != len) {
            return Err(NnError::input(
                format!("images[{index}]"),
                format!("has {} values, images[0] has {len}", images[index].len()),
            ));
        }
        let count = images.len() as f64;
        let mut sums = vec![0.0f64; len];
        for image in images {
            for (sum, &value) in sums.iter_mut().zip(image) {
                *sum += f64::from(value);
            }
        }
        let mean: Vec<f64> = sums.into_iter().map(|sum| sum / count).collect();
        let squared: f64 = images
            .iter()
            .flat_map(|image| image.iter().zip(&mean))
            .map(|(&value, &mean)| (f64::from(value) - mean).powi(2))
            .sum();
        let rms = (squared / (count * len as f64)).sqrt();
        let scale = if rms.is_finite() && rms > 1e-6 {
            rms
        } else {
            1.0
        };
        Ok(Self {
            mean: mean.into_iter().map(|value| value as f32).collect(),
            scale: scale as f32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centres_and_scales_to_unit_spread() {
        let images = vec![vec![1.0, 3.0], vec![3.0, 5.0]];
        let stats = InputStandardization::fit(&images).unwrap();
        assert_eq!(stats.mean, vec![2.0, 4.0]);
        assert!((stats.scale - 1.0).abs() < 1e-6);
        let wide = vec![vec![0.0], vec![4.0]];
        assert!((InputStandardization::fit(&wide).unwrap().scale - 2.0).abs() < 1e-6);
    }

    #[test]
    fn identical_images_keep_unit_scale() {
        let stats = InputStandardization::fit(&[vec![0.5; 3], vec![0.5; 3]]).unwrap();
        assert_eq!(stats.scale, 1.0);
    }

    #[test]
    fn rejects_empty_and_ragged_sets() {
        assert!(InputStandardization::fit(&[]).is_err());
        let error = InputStandardization::fit(&[vec![0.0; 2], vec![0.0; 3]]).unwrap_err();
        assert!(error.to_string().contains("images[1]"), "{error}");
    }
}
