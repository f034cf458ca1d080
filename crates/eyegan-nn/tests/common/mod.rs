//! Toy data sets shared by the integration tests.

#![allow(dead_code)]

use candle_core::Device;
use eyegan_nn::rng::SeededRng;

/// Device of the learning tests: `EYEGAN_TEST_DEVICE` (`cpu` when unset, `cuda:0` on a GPU node
/// with a `--features cuda` build).
pub fn test_device() -> Device {
    let spec = std::env::var("EYEGAN_TEST_DEVICE").unwrap_or_else(|_| "cpu".to_string());
    eyegan_nn::parse_device(&spec).unwrap_or_else(|err| panic!("EYEGAN_TEST_DEVICE: {err}"))
}

/// Two-mode 32×32×3 images: mode A has a bright top half and dark bottom half, mode B the
/// reverse (±0.8 plus a little noise).
pub fn two_mode_images(count: usize, seed: u64) -> Vec<Vec<f32>> {
    two_mode_images_with_noise(count, seed, 0.05)
}

/// [`two_mode_images`] with uniform pixel noise of the given amplitude.
pub fn two_mode_images_with_noise(count: usize, seed: u64, noise: f32) -> Vec<Vec<f32>> {
    let mut rng = SeededRng::new(seed, 0);
    (0..count)
        .map(|index| {
            let top_bright = index % 2 == 0;
            let mut image = Vec::with_capacity(3 * 32 * 32);
            for _channel in 0..3 {
                for y in 0..32 {
                    let bright = (y < 16) == top_bright;
                    for _x in 0..32 {
                        let base = if bright { 0.8 } else { -0.8 };
                        image.push(base + noise * rng.uniform(-1.0, 1.0));
                    }
                }
            }
            image
        })
        .collect()
}

/// Top-minus-bottom mean intensity of a CHW 32×32 image: ±1.6 for the two modes.
pub fn mode_statistic(image: &[f32]) -> f32 {
    let side = 32;
    let (mut top, mut bottom) = (0.0f32, 0.0f32);
    for (i, value) in image.iter().enumerate() {
        if (i / side) % side < side / 2 {
            top += value;
        } else {
            bottom += value;
        }
    }
    let half = (image.len() / 2) as f32;
    top / half - bottom / half
}

/// Four easy classes at 32×32×3: a bright square in quadrant `label` on a dark background.
pub fn quadrant_images(per_class: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<u32>) {
    let mut rng = SeededRng::new(seed, 0);
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for index in 0..4 * per_class {
        let label = (index % 4) as u32;
        let (qy, qx) = ((label / 2) as usize, (label % 2) as usize);
        let mut image = Vec::with_capacity(3 * 32 * 32);
        for _channel in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    let inside = y / 16 == qy
                        && x / 16 == qx
                        && (2..14).contains(&(y % 16))
                        && (2..14).contains(&(x % 16));
                    let base = if inside { 0.7 } else { -0.7 };
                    image.push(base + rng.uniform(-0.2, 0.2));
                }
            }
        }
        images.push(image);
        labels.push(label);
    }
    (images, labels)
}
