//! Classical augmentation of classifier training images: random horizontal flips, small
//! rotations and brightness shifts, on CHW `f32` images in [-1, 1].
//!
//! Vertical flips are not used: fundus images have a natural up/down orientation. Rotation
//! samples bilinearly around the image centre and fills the uncovered corners with −1 (black,
//! the fundus background).

use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};
use crate::rng::SeededRng;

/// Classical augmentation switch and strengths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassicalAugmentation {
    /// Master switch (off in the paper; on for the ablation arm).
    pub enabled: bool,
    /// Random horizontal flip with probability ½.
    pub flips: bool,
    /// Rotation angle drawn from U[−max, max] degrees (0 disables).
    pub max_rotation_deg: f32,
    /// Brightness offset drawn from U[−b, b] (in [-1, 1] pixel units; 0 disables).
    pub brightness: f32,
}

impl Default for ClassicalAugmentation {
    fn default() -> Self {
        Self {
            enabled: false,
            flips: true,
            max_rotation_deg: 10.0,
            brightness: 0.1,
        }
    }
}

impl ClassicalAugmentation {
    /// Checks ranges; `prefix` names the owning config in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        if !(0.0..=45.0).contains(&self.max_rotation_deg) {
            return Err(NnError::config(
                format!("{prefix}.max_rotation_deg"),
                "must be in [0, 45]",
            ));
        }
        if !(0.0..=1.0).contains(&self.brightness) {
            return Err(NnError::config(
                format!("{prefix}.brightness"),
                "must be in [0, 1]",
            ));
        }
        Ok(())
    }

    /// Augments one CHW image; returns it unchanged (a copy) when disabled. The number of draws
    /// from `rng` is fixed per image (3), whatever is enabled.
    pub fn apply(
        &self,
        pixels: &[f32],
        channels: usize,
        side: usize,
        rng: &mut SeededRng,
    ) -> Vec<f32> {
        let flip = rng.coin();
        let angle = rng.uniform(-1.0, 1.0) * self.max_rotation_deg;
        let shift = rng.uniform(-1.0, 1.0) * self.brightness;
        if !self.enabled {
            return pixels.to_vec();
        }
        let mut out = if angle != 0.0 {
            rotate(pixels, channels, side, angle.to_radians())
        } else {
            pixels.to_vec()
        };
        if self.flips && flip {
            flip_horizontal(&mut out, channels, side);
        }
        if shift != 0.0 {
            out.iter_mut()
                .for_each(|v| *v = (*v + shift).clamp(-1.0, 1.0));
        }
        out
    }
}

fn flip_horizontal(pixels: &mut [f32], channels: usize, side: usize) {
    for row in pixels.chunks_exact_mut(side).take(channels * side) {
        row.reverse();
    }
}

/// Rotates each channel by `angle` radians around the centre with bilinear sampling.
fn rotate(pixels: &[f32], channels: usize, side: usize, angle: f32) -> Vec<f32> {
    let (sin, cos) = angle.sin_cos();
    let centre = (side as f32 - 1.0) / 2.0;
    let mut out = vec![-1.0f32; pixels.len()];
    let sample = |plane: &[f32], x: f32, y: f32| -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let at = |xi: f32, yi: f32| -> f32 {
            if xi < 0.0 || yi < 0.0 || xi >= side as f32 || yi >= side as f32 {
                -1.0
            } else {
                plane[yi as usize * side + xi as usize]
            }
        };
        at(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + at(x0 + 1.0, y0) * fx * (1.0 - fy)
            + at(x0, y0 + 1.0) * (1.0 - fx) * fy
            + at(x0 + 1.0, y0 + 1.0) * fx * fy
    };
    for channel in 0..channels {
        let plane = &pixels[channel * side * side..(channel + 1) * side * side];
        for y in 0..side {
            for x in 0..side {
                let (dx, dy) = (x as f32 - centre, y as f32 - centre);
                let source_x = cos * dx + sin * dy + centre;
                let source_y = -sin * dx + cos * dy + centre;
                out[channel * side * side + y * side + x] = sample(plane, source_x, source_y);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(side: usize) -> Vec<f32> {
        (0..3 * side * side)
            .map(|i| ((i % side) as f32 / (side - 1) as f32) * 2.0 - 1.0)
            .collect()
    }

    #[test]
    fn disabled_is_identity_and_flip_reverses_rows() {
        let image = ramp(8);
        let mut rng = SeededRng::new(0, 0);
        assert_eq!(
            ClassicalAugmentation::default().apply(&image, 3, 8, &mut rng),
            image
        );

        let flip_only = ClassicalAugmentation {
            enabled: true,
            flips: true,
            max_rotation_deg: 0.0,
            brightness: 0.0,
        };
        let outputs: Vec<Vec<f32>> = (0..16)
            .map(|_| flip_only.apply(&image, 3, 8, &mut rng))
            .collect();
        let mut flipped = image.clone();
        flip_horizontal(&mut flipped, 3, 8);
        assert!(outputs.contains(&image));
        assert!(outputs.contains(&flipped));
        assert!(outputs.iter().all(|o| *o == image || *o == flipped));
    }

    #[test]
    fn rotation_by_zero_is_identity_and_small_rotation_keeps_the_centre() {
        let image = ramp(9);
        assert_eq!(rotate(&image, 3, 9, 0.0), image);
        let rotated = rotate(&image, 3, 9, 5f32.to_radians());
        assert!((rotated[4 * 9 + 4] - image[4 * 9 + 4]).abs() < 1e-5);
        assert_ne!(rotated, image);
        let brighter = ClassicalAugmentation {
            enabled: true,
            flips: false,
            max_rotation_deg: 0.0,
            brightness: 0.5,
        };
        let out = brighter.apply(&image, 3, 9, &mut SeededRng::new(2, 0));
        assert!(out.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert!(ClassicalAugmentation {
            brightness: 2.0,
            ..brighter
        }
        .validate("aug")
        .is_err());
    }
}
