//! Seeded, resumable randomness.
//!
//! Candle's CPU random generator cannot be seeded, so every random number in this crate (weight
//! initialisation, noise, shuffles, augmentations) comes from a ChaCha8 stream owned here, and
//! tensors are built with `Tensor::from_vec`. A stream's exact position is part of every
//! checkpoint, so a resumed run draws the same numbers an uninterrupted one would.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};

/// Stream numbers that keep the purposes of one seed independent of each other.
pub mod streams {
    /// Generator weight initialisation.
    pub const GENERATOR_INIT: u64 = 1;
    /// Discriminator weight initialisation.
    pub const DISCRIMINATOR_INIT: u64 = 2;
    /// The fixed noise of the sample grid.
    pub const FIXED_NOISE: u64 = 3;
    /// Training-time noise and DiffAugment draws.
    pub const GAN_TRAINING: u64 = 4;
    /// GMD weight initialisation.
    pub const CLASSIFIER_INIT: u64 = 5;
    /// Classical augmentation draws of the classifier.
    pub const CLASSIFIER_AUGMENT: u64 = 6;
    /// The latent vector of one generated image, seeded by that image's own seed.
    pub const IMAGE_NOISE: u64 = 7;
    /// Epoch shuffles: stream `EPOCH_SHUFFLE_BASE + epoch`.
    pub const EPOCH_SHUFFLE_BASE: u64 = 1 << 32;
}

/// Serializable position of a [`SeededRng`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The `u64` seed the stream was created from.
    pub seed: u64,
    /// ChaCha stream number.
    pub stream: u64,
    /// Position in 32-bit words, as decimal text (it is a `u128`).
    pub word_pos: String,
}

/// A ChaCha8 stream created from a `u64` seed and a stream number, whose position can be saved.
#[derive(Debug, Clone)]
pub struct SeededRng {
    inner: ChaCha8Rng,
    seed: u64,
}

impl SeededRng {
    /// Starts stream `stream` of `seed` at position 0.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        Self { inner, seed }
    }

    /// The current position, for checkpoints.
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.seed,
            stream: self.inner.get_stream(),
            word_pos: self.inner.get_word_pos().to_string(),
        }
    }

    /// Recreates a stream at a saved position.
    pub fn from_state(state: &RngState) -> Result<Self> {
        let word_pos: u128 = state.word_pos.parse().map_err(|_| {
            NnError::checkpoint(
                "state_json",
                format!("rng word_pos {:?} is not an integer", state.word_pos),
            )
        })?;
        let mut rng = Self::new(state.seed, state.stream);
        rng.inner.set_word_pos(word_pos);
        Ok(rng)
    }

    /// `n` draws from N(0, 1).
    pub fn normal_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| self.inner.sample::<f32, _>(StandardNormal))
            .collect()
    }

    /// `n` draws from N(mean, std²).
    pub fn normal_vec_with(&mut self, n: usize, mean: f32, std: f32) -> Vec<f32> {
        (0..n)
            .map(|_| mean + std * self.inner.sample::<f32, _>(StandardNormal))
            .collect()
    }

    /// One draw from U[low, high).
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.inner.random::<f32>()
    }

    /// One integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n)
    }

    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.inner.random::<bool>()
    }

    /// Fisher–Yates shuffle of `items`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}

/// Mixes a seed with an index into a new, well-spread seed (SplitMix64 finaliser).
pub fn derive_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_state_continues_the_same_sequence() {
        let mut rng = SeededRng::new(42, streams::GAN_TRAINING);
        let _ = rng.normal_vec(37);
        let _ = rng.uniform(0.0, 1.0);
        let state = rng.state();
        let json = serde_json::to_string(&state).unwrap();
        let mut restored = SeededRng::from_state(&serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(rng.normal_vec(100), restored.normal_vec(100));
        assert_eq!(rng.next_u64(), restored.next_u64());
    }

    #[test]
    fn streams_and_seeds_differ() {
        let a = SeededRng::new(1, 1).normal_vec(8);
        let b = SeededRng::new(1, 2).normal_vec(8);
        let c = SeededRng::new(2, 1).normal_vec(8);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, SeededRng::new(1, 1).normal_vec(8));
        assert_ne!(derive_seed(7, 0), derive_seed(7, 1));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut items: Vec<usize> = (0..50).collect();
        SeededRng::new(3, 9).shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }
}
