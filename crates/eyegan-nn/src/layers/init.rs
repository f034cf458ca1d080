//! Seeded weight initialisers.

use crate::rng::SeededRng;

/// How the values of a new parameter are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightInit {
    /// N(mean, std²): DCGAN uses N(0, 0.02) for convolutions and N(1, 0.02) for BN weights.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Keras' default `glorot_uniform`: U(−l, l) with l = √(6 / (fan_in + fan_out)).
    GlorotUniform,
    /// He (Kaiming) uniform for layers followed by a ReLU: U(−l, l) with l = √(6 / fan_in),
    /// which keeps the activations' second moment constant through ReLU layers.
    HeUniform,
    /// All zeros (biases).
    Zeros,
}

impl WeightInit {
    /// DCGAN's convolution init, N(0, 0.02).
    pub const DCGAN_CONV: Self = Self::Normal {
        mean: 0.0,
        std: 0.02,
    };
    /// DCGAN's BatchNorm weight init, N(1, 0.02).
    pub const DCGAN_BN_WEIGHT: Self = Self::Normal {
        mean: 1.0,
        std: 0.02,
    };

    /// Draws `count` values for a parameter with the given fans.
    pub fn sample(
        self,
        rng: &mut SeededRng,
        count: usize,
        fan_in: usize,
        fan_out: usize,
    ) -> Vec<f32> {
        match self {
            Self::Normal { mean, std } => rng.normal_vec_with(count, mean, std),
            Self::GlorotUniform => {
                let limit = (6.0 / (fan_in + fan_out).max(1) as f32).sqrt();
                (0..count).map(|_| rng.uniform(-limit, limit)).collect()
            }
            Self::HeUniform => {
                let limit = (6.0 / fan_in.max(1) as f32).sqrt();
                (0..count).map(|_| rng.uniform(-limit, limit)).collect()
            }
            Self::Zeros => vec![0.0; count],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_init_has_the_requested_moments() {
        let mut rng = SeededRng::new(0, 0);
        let values = WeightInit::DCGAN_BN_WEIGHT.sample(&mut rng, 20_000, 1, 1);
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32;
        assert!((mean - 1.0).abs() < 1e-3, "mean {mean}");
        assert!((var.sqrt() - 0.02).abs() < 1e-3, "std {}", var.sqrt());
    }

    #[test]
    fn glorot_stays_within_its_limit() {
        let mut rng = SeededRng::new(0, 0);
        let values = WeightInit::GlorotUniform.sample(&mut rng, 1000, 27, 288);
        let limit = (6.0f32 / 315.0).sqrt();
        assert!(values.iter().all(|v| v.abs() <= limit));
        assert!(values.iter().any(|v| v.abs() > 0.9 * limit));
    }

    #[test]
    fn he_uniform_scales_with_fan_in_only() {
        let mut rng = SeededRng::new(0, 0);
        let values = WeightInit::HeUniform.sample(&mut rng, 20_000, 27, 288);
        let limit = (6.0f32 / 27.0).sqrt();
        assert!(values.iter().all(|v| v.abs() <= limit));
        // U(−l, l) has variance l²/3 = 2 / fan_in.
        let var = values.iter().map(|v| v * v).sum::<f32>() / values.len() as f32;
        assert!((var - 2.0 / 27.0).abs() < 0.003, "variance {var}");
    }
}
