//! The fundus camera: framing, uneven illumination, defocus, exposure, colour cast and sensor
//! noise — everything that differs between two photographs of the same eye.

use image::RgbImage;

use super::detmath;
use super::difficulty::Difficulty;
use super::geometry::Vec2;
use super::noise::gaussian_at;
use super::sampling::Draw;

/// Signal level at which the sensor noise has the drawn standard deviation.
const NOISE_REFERENCE_LEVEL: f32 = 0.5;

/// One photograph's camera settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Field radius as a fraction of the image side.
    pub field_radius: f32,
    /// Offset of the field centre from the image centre, as a fraction of the image side.
    pub field_offset: Vec2,
    /// Rotation of the eye in the image, radians.
    pub rotation: f32,
    /// Exposure multiplier.
    pub gain: f32,
    /// Tone-curve exponent applied after exposure.
    pub gamma: f32,
    /// Per-channel colour cast multipliers.
    pub cast: [f32; 3],
    /// Radial illumination fall-off: brightness 1 - falloff * r^2 at field radius r.
    pub falloff: f32,
    /// Linear illumination gradient across the field (decentred light).
    pub gradient: Vec2,
    /// Gaussian defocus blur, standard deviation in field units.
    pub blur: f32,
    /// Sensor noise standard deviation at mid-grey, fraction of full scale.
    pub noise: f32,
    /// Seed of the sensor noise.
    pub noise_seed: u64,
}

impl Camera {
    /// Draws the settings of one photograph.
    pub fn draw(difficulty: &Difficulty, rng: &mut impl Draw) -> Self {
        let e = difficulty.exposure;
        let v = difficulty.patient_variation;
        Camera {
            field_radius: rng.uniform(0.445, 0.49),
            field_offset: Vec2::new(rng.normal(0.0, 0.008), rng.normal(0.0, 0.008)),
            rotation: rng.normal(0.0, 0.07 * v),
            gain: detmath::exp(rng.normal(0.0, 0.16 * e)),
            gamma: 1.0 + rng.normal(0.0, 0.07 * e),
            cast: [
                1.0 + rng.normal(0.0, 0.035 * e),
                1.0 + rng.normal(0.0, 0.035 * e),
                1.0 + rng.normal(0.0, 0.05 * e),
            ],
            falloff: rng.uniform(0.25, 0.5),
            gradient: Vec2::new(rng.normal(0.0, 0.08 * e), rng.normal(0.0, 0.08 * e)),
            blur: rng.uniform(0.0, 0.008) * difficulty.blur,
            noise: rng.uniform(0.004, 0.024) * difficulty.noise,
            noise_seed: u64::from(rng.noise_seed()) << 32 | u64::from(rng.noise_seed()),
        }
    }

    /// Relative illumination at field position `p` (field units, image orientation).
    pub fn illumination(&self, p: Vec2) -> f32 {
        let r2 = p.dot(p);
        ((1.0 - self.falloff * r2 - 0.25 * self.falloff * r2 * r2) * (1.0 + self.gradient.dot(p)))
            .max(0.05)
    }

    /// Turns the scene's linear RGB (interleaved, `size`x`size`) into the final 8-bit photo:
    /// defocus, exposure, colour cast, tone curve, sensor noise and quantisation.
    pub fn develop(&self, mut linear: Vec<f32>, size: u32, field_radius_px: f32) -> RgbImage {
        let sigma_px = self.blur * field_radius_px;
        if sigma_px > 0.25 {
            gaussian_blur(&mut linear, size as usize, sigma_px);
        }
        let tone = ToneCurve::new(self.gamma);
        let mut out = RgbImage::new(size, size);
        for (i, (pixel, rgb)) in out.pixels_mut().zip(linear.chunks_exact(3)).enumerate() {
            for (c, (out, value)) in pixel.0.iter_mut().zip(rgb).enumerate() {
                let toned = tone.apply(value * self.gain * self.cast[c]);
                // Shot noise: its spread grows with the square root of the signal.
                let spread = self.noise * (toned.max(0.0) / NOISE_REFERENCE_LEVEL).sqrt();
                let noisy = toned + spread * gaussian_at((i * 3 + c) as u64, self.noise_seed);
                *out = (noisy.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        out
    }
}

/// The tone curve `x^gamma` on 0..=[`ToneCurve::MAX`], tabulated and linearly interpolated
/// (one table per photograph instead of a power per pixel).
struct ToneCurve {
    table: Vec<f32>,
}

impl ToneCurve {
    const MAX: f32 = 1.5;
    const STEPS: usize = 1024;

    fn new(gamma: f32) -> Self {
        let table = (0..=Self::STEPS)
            .map(|k| detmath::powf(k as f32 * Self::MAX / Self::STEPS as f32, gamma))
            .collect();
        ToneCurve { table }
    }

    fn apply(&self, x: f32) -> f32 {
        let position = x.clamp(0.0, Self::MAX) * (Self::STEPS as f32 / Self::MAX);
        let k = (position as usize).min(Self::STEPS - 1);
        let t = position - k as f32;
        self.table[k] + (self.table[k + 1] - self.table[k]) * t
    }
}

/// Separable Gaussian blur of an interleaved RGB square, clamping at the borders.
fn gaussian_blur(data: &mut [f32], size: usize, sigma: f32) {
    let radius = (3.0 * sigma).ceil() as i64;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|k| detmath::exp(-((k * k) as f32) / (2.0 * sigma * sigma)))
        .collect();
    let total: f32 = weights.iter().sum();
    let weights: Vec<f32> = weights.iter().map(|w| w / total).collect();
    let last = size as i64 - 1;
    let mut scratch = vec![0.0_f32; data.len()];
    for pass in 0..2 {
        let (src, dst): (&[f32], &mut [f32]) = if pass == 0 {
            (&*data, &mut scratch)
        } else {
            (&scratch, &mut *data)
        };
        for y in 0..size as i64 {
            for x in 0..size as i64 {
                let mut acc = [0.0_f32; 3];
                for (k, w) in (-radius..=radius).zip(&weights) {
                    let (sx, sy) = if pass == 0 {
                        ((x + k).clamp(0, last), y)
                    } else {
                        (x, (y + k).clamp(0, last))
                    };
                    let s = (sy as usize * size + sx as usize) * 3;
                    for c in 0..3 {
                        acc[c] += w * src[s + c];
                    }
                }
                let d = (y as usize * size + x as usize) * 3;
                dst[d..d + 3].copy_from_slice(&acc);
            }
        }
    }
}
