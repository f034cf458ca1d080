//! The per-image random stream and the distributions the phantom draws from.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::class::PhantomClass;
use super::noise::splitmix64;

/// A ChaCha8 stream determined by (seed, class, index) alone.
pub fn image_rng(seed: u64, class: PhantomClass, index: u32) -> ChaCha8Rng {
    let mut key = [0_u8; 32];
    let words = [
        splitmix64(seed),
        splitmix64(seed ^ 0xC1A5_5000 ^ class.index() as u64),
        splitmix64((u64::from(index) << 8) ^ class.index() as u64 ^ seed.rotate_left(17)),
        0x4555_4745_414E_5048, // "EYEGANPH"
    ];
    for (chunk, word) in key.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// Draws from the random stream with the shapes the phantom needs.
pub trait Draw {
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f32, hi: f32) -> f32;
    /// Approximately normal with the given mean and standard deviation (bounded by ±3.5 sd).
    fn normal(&mut self, mean: f32, sd: f32) -> f32;
    /// True with probability `p`.
    fn chance(&mut self, p: f32) -> bool;
    /// -1 or +1 with equal probability.
    fn sign(&mut self) -> f32;
    /// Uniform integer in lo..=hi.
    fn count(&mut self, lo: u32, hi: u32) -> u32;
    /// A fresh 32-bit seed for a noise field.
    fn noise_seed(&mut self) -> u32;
}

impl<R: Rng> Draw for R {
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.random::<f32>()
    }

    fn normal(&mut self, mean: f32, sd: f32) -> f32 {
        let sum: f32 = (0..4).map(|_| self.random::<f32>()).sum();
        mean + sd * (sum - 2.0) * 1.732_050_8
    }

    fn chance(&mut self, p: f32) -> bool {
        self.random::<f32>() < p
    }

    fn sign(&mut self) -> f32 {
        if self.random::<bool>() {
            1.0
        } else {
            -1.0
        }
    }

    fn count(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            lo
        } else {
            self.random_range(lo..=hi)
        }
    }

    fn noise_seed(&mut self) -> u32 {
        self.random::<u32>()
    }
}
