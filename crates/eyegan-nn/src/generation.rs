//! Sampling the generator and keeping the images D scores at or above the filter threshold.
//!
//! Both networks run in eval mode (BatchNorm with running statistics), so an image depends only
//! on its own latent vector, and the latent vector only on the image's seed: every kept image
//! can be regenerated from its [`ScoredImage::seed`].

use candle_core::{DType, Tensor};
use candle_nn::ModuleT;
use serde::{Deserialize, Serialize};

use crate::batches::tensor_to_images;
use crate::dcgan::{Discriminator, Generator};
use crate::error::{NnError, Result};
use crate::filter::{FilterPreset, ScoredImage};
use crate::loss::sigmoid;
use crate::rng::{derive_seed, streams, SeededRng};

/// Scores images: D(x) ∈ [0, 1] per image of an NCHW batch.
pub trait ImageScorer {
    /// One score per image.
    fn score(&self, images: &Tensor) -> Result<Vec<f32>>;
}

impl ImageScorer for Discriminator {
    /// sigmoid(D(x)) in eval mode.
    fn score(&self, images: &Tensor) -> Result<Vec<f32>> {
        let logits = self.forward_t(images, false)?;
        Ok(sigmoid(&logits)?.to_dtype(DType::F32)?.to_vec1()?)
    }
}

impl<F> ImageScorer for F
where
    F: Fn(&Tensor) -> Result<Vec<f32>>,
{
    fn score(&self, images: &Tensor) -> Result<Vec<f32>> {
        self(images)
    }
}

/// The seed of the image at attempt `index` of a generation run seeded with `seed`.
pub fn image_seed(seed: u64, index: u64) -> u64 {
    derive_seed(seed, index)
}

/// Generates one image per seed (eval mode), as CHW vectors.
pub fn generate_from_seeds(generator: &Generator, seeds: &[u64]) -> Result<Vec<Vec<f32>>> {
    tensor_to_images(&generate_batch(generator, seeds)?)
}

fn generate_batch(generator: &Generator, seeds: &[u64]) -> Result<Tensor> {
    let nz = generator.config().nz;
    let mut noise = Vec::with_capacity(seeds.len() * nz);
    for &seed in seeds {
        noise.extend(SeededRng::new(seed, streams::IMAGE_NOISE).normal_vec(nz));
    }
    let params = generator.params();
    let z = Tensor::from_vec(noise, (seeds.len(), nz, 1, 1), params.device())?
        .to_dtype(params.dtype())?;
    Ok(generator.forward_t(&z, false)?)
}

fn score_batch(scorer: &dyn ImageScorer, images: &Tensor) -> Result<Vec<f32>> {
    let scores = scorer.score(images)?;
    let expected = images.dim(0)?;
    if scores.len() != expected {
        return Err(NnError::input(
            "scorer",
            format!("returned {} scores for {expected} images", scores.len()),
        ));
    }
    Ok(scores)
}

/// What to generate in `final` mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// Images to keep.
    pub count: usize,
    /// The score filter.
    pub filter: FilterPreset,
    /// Upper bound on images generated and scored, so a collapsed D cannot loop forever.
    pub max_attempts: u64,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Seed of the run; image `i` uses seed [`image_seed`]`(seed, i)`.
    pub seed: u64,
}

impl GenerationRequest {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        self.filter.validate()?;
        if self.max_attempts == 0 {
            return Err(NnError::config(
                "generation.max_attempts",
                "must be at least 1",
            ));
        }
        crate::config::check_range("generation.batch_size", self.batch_size, 1, 4096)
    }
}

/// Result of a `final`-mode generation run.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationOutcome {
    /// The kept images, in attempt order.
    pub kept: Vec<ScoredImage>,
    /// Images generated and scored.
    pub attempted: u64,
    /// Images kept (`kept.len()`).
    pub accepted: u64,
    /// Whether the run stopped at `max_attempts` before keeping `count` images.
    pub cap_reached: bool,
}

/// A `final`-mode generation run driven one batch at a time, so a service can report progress
/// and stop on cancel between batches.
///
/// Attempts are considered in index order; the run stops at the first attempt that completes
/// `count` kept images, or after `max_attempts`. Hence the kept images are exactly the attempts
/// `0..attempted` whose score passes the filter.
#[derive(Debug, Clone)]
pub struct FilteredGeneration {
    request: GenerationRequest,
    attempted: u64,
    kept: Vec<ScoredImage>,
}

impl FilteredGeneration {
    /// Starts a run.
    pub fn new(request: GenerationRequest) -> Result<Self> {
        request.validate()?;
        Ok(Self {
            request,
            attempted: 0,
            kept: Vec::new(),
        })
    }

    /// Whether `count` images are kept or the attempt cap is reached.
    pub fn is_finished(&self) -> bool {
        self.kept.len() >= self.request.count || self.attempted >= self.request.max_attempts
    }

    /// `(attempted, accepted)` so far.
    pub fn progress(&self) -> (u64, u64) {
        (self.attempted, self.kept.len() as u64)
    }

    /// Generates and scores one batch; returns how many images of it were kept.
    pub fn step(&mut self, generator: &Generator, scorer: &dyn ImageScorer) -> Result<usize> {
        if self.is_finished() {
            return Ok(0);
        }
        let remaining = self.request.max_attempts - self.attempted;
        let size = (self.request.batch_size as u64).min(remaining) as usize;
        let first = self.attempted;
        let seeds: Vec<u64> = (first..first + size as u64)
            .map(|index| image_seed(self.request.seed, index))
            .collect();
        let images = generate_batch(generator, &seeds)?;
        let scores = score_batch(scorer, &images)?;
        let pixels = tensor_to_images(&images)?;
        let before = self.kept.len();
        for (offset, ((seed, score), pixels)) in
            seeds.into_iter().zip(scores).zip(pixels).enumerate()
        {
            self.attempted = first + offset as u64 + 1;
            if self.request.filter.accepts(score) {
                self.kept.push(ScoredImage {
                    index: first + offset as u64,
                    seed,
                    score,
                    pixels,
                });
                if self.kept.len() >= self.request.count {
                    break;
                }
            }
        }
        Ok(self.kept.len() - before)
    }

    /// The outcome so far (complete once [`Self::is_finished`]).
    pub fn into_outcome(self) -> GenerationOutcome {
        let cap_reached = self.kept.len() < self.request.count;
        GenerationOutcome {
            accepted: self.kept.len() as u64,
            attempted: self.attempted,
            kept: self.kept,
            cap_reached,
        }
    }
}

/// Runs a whole `final`-mode generation (see [`FilteredGeneration`] for stepwise control).
pub fn generate_filtered(
    generator: &Generator,
    scorer: &dyn ImageScorer,
    request: GenerationRequest,
) -> Result<GenerationOutcome> {
    let mut run = FilteredGeneration::new(request)?;
    while !run.is_finished() {
        run.step(generator, scorer)?;
    }
    let outcome = run.into_outcome();
    tracing::debug!(
        attempted = outcome.attempted,
        accepted = outcome.accepted,
        cap_reached = outcome.cap_reached,
        "filtered generation finished"
    );
    Ok(outcome)
}

/// The `during-training` step: one image from `image_seed`, kept if it passes `filter`.
pub fn during_training_candidate(
    generator: &Generator,
    scorer: &dyn ImageScorer,
    filter: &FilterPreset,
    image_seed: u64,
    index: u64,
) -> Result<Option<ScoredImage>> {
    filter.validate()?;
    let images = generate_batch(generator, &[image_seed])?;
    let score = score_batch(scorer, &images)?[0];
    if !filter.accepts(score) {
        return Ok(None);
    }
    let pixels = tensor_to_images(&images)?.swap_remove(0);
    Ok(Some(ScoredImage {
        index,
        seed: image_seed,
        score,
        pixels,
    }))
}
