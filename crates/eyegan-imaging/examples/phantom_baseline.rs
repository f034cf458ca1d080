//! Calibration baseline for the fundus phantom: multinomial logistic regression on
//! downsampled pixels, trained with plain full-batch gradient descent (deterministic).
//!
//! ```text
//! cargo run --release -p eyegan-imaging --example phantom_baseline -- \
//!     --per-class 300 --size 64 --grid 16 --seed 0
//! ```
//!
//! It renders `per_class` images of each class, holds out a stratified 25 %, trains on the rest
//! and prints held-out accuracy and the confusion matrix. At the default difficulty the score
//! should be clearly above chance (25 %) and clearly below 100 %.

use std::time::Instant;

use anyhow::{ensure, Result};
use clap::Parser;
use eyegan_imaging::phantom::{self, Difficulty, PhantomClass};
use image::RgbImage;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Parser)]
struct Args {
    /// Images per class.
    #[arg(long, default_value_t = 300)]
    per_class: u32,
    /// Rendered image side.
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Side of the downsampled feature grid (must divide `size`).
    #[arg(long, default_value_t = 16)]
    grid: u32,
    /// Phantom seed (the split uses it too).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Gradient-descent steps.
    #[arg(long, default_value_t = 400)]
    steps: u32,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01)]
    learning_rate: f64,
    /// L2 penalty on the weights.
    #[arg(long, default_value_t = 1e-3)]
    l2: f64,
    /// Difficulty preset: easy, default or hard.
    #[arg(long, default_value = "default")]
    preset: String,
    /// Overrides the preset's severity skew.
    #[arg(long)]
    severity_skew: Option<f32>,
    /// Overrides the preset's lowest severity.
    #[arg(long)]
    severity_min: Option<f32>,
    /// Overrides the preset's look-alike rate.
    #[arg(long)]
    confounder_rate: Option<f32>,
    /// Overrides the preset's noise multiplier.
    #[arg(long)]
    noise: Option<f32>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.grid > 0 && args.size % args.grid == 0,
        "--grid must divide --size"
    );
    let preset = match args.preset.as_str() {
        "easy" => Difficulty::easy(),
        "default" => Difficulty::default(),
        "hard" => Difficulty::hard(),
        other => anyhow::bail!("unknown preset `{other}` (easy, default, hard)"),
    };
    let difficulty = Difficulty {
        severity_skew: args.severity_skew.unwrap_or(preset.severity_skew),
        severity_min: args.severity_min.unwrap_or(preset.severity_min),
        confounder_rate: args.confounder_rate.unwrap_or(preset.confounder_rate),
        noise: args.noise.unwrap_or(preset.noise),
        ..preset
    };

    let started = Instant::now();
    let mut samples = Vec::new();
    for class in PhantomClass::ALL {
        let images =
            phantom::render_batch(args.seed, class, 0..args.per_class, args.size, &difficulty)?;
        samples.extend(
            images
                .iter()
                .map(|img| (features(img, args.grid), class.index())),
        );
    }
    let render_seconds = started.elapsed().as_secs_f64();

    let (train, test) = stratified_split(&samples, args.seed);
    let standardiser = Standardiser::fit(&train);
    let train: Vec<_> = train
        .iter()
        .map(|(x, y)| (standardiser.apply(x), *y))
        .collect();
    let test: Vec<_> = test
        .iter()
        .map(|(x, y)| (standardiser.apply(x), *y))
        .collect();

    let mut model = Softmax::new(train[0].0.len(), PhantomClass::ALL.len());
    let first_loss = model.loss(&train, args.l2);
    for _ in 0..args.steps {
        model.step(&train, args.learning_rate, args.l2);
    }
    let last_loss = model.loss(&train, args.l2);

    println!(
        "rendered {} images of {size}x{size} in {render_seconds:.2} s; features {grid}x{grid}x3",
        samples.len(),
        size = args.size,
        grid = args.grid,
    );
    println!(
        "train loss {first_loss:.3} -> {last_loss:.3} after {} steps",
        args.steps
    );
    println!(
        "train accuracy {:.1} % ({} images)",
        100.0 * model.accuracy(&train),
        train.len()
    );
    println!(
        "held-out accuracy {:.1} % ({} images)",
        100.0 * model.accuracy(&test),
        test.len()
    );
    println!("confusion (rows = truth, columns = predicted):");
    let confusion = model.confusion(&test);
    for class in PhantomClass::ALL {
        println!("  {:<22} {:?}", class.name(), confusion[class.index()]);
    }
    Ok(())
}

/// Area-averaged `grid`x`grid` RGB values in [0, 1].
fn features(img: &RgbImage, grid: u32) -> Vec<f64> {
    let block = img.width() / grid;
    let mut out = Vec::with_capacity((grid * grid * 3) as usize);
    for gy in 0..grid {
        for gx in 0..grid {
            let mut sum = [0.0_f64; 3];
            for y in gy * block..(gy + 1) * block {
                for x in gx * block..(gx + 1) * block {
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += f64::from(img.get_pixel(x, y).0[c]);
                    }
                }
            }
            out.extend(sum.iter().map(|s| s / (255.0 * f64::from(block * block))));
        }
    }
    out
}

type Sample = (Vec<f64>, usize);

/// 75 % / 25 % per class, shuffled with a seeded ChaCha stream.
fn stratified_split(samples: &[Sample], seed: u64) -> (Vec<Sample>, Vec<Sample>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5B11);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in 0..PhantomClass::ALL.len() {
        let mut members: Vec<&Sample> = samples.iter().filter(|(_, y)| *y == class).collect();
        members.shuffle(&mut rng);
        let cut = members.len() * 3 / 4;
        train.extend(members[..cut].iter().map(|s| (*s).clone()));
        test.extend(members[cut..].iter().map(|s| (*s).clone()));
    }
    (train, test)
}

/// Per-feature mean and standard deviation of the training set.
struct Standardiser {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Standardiser {
    fn fit(samples: &[Sample]) -> Self {
        let n = samples.len() as f64;
        let dim = samples[0].0.len();
        let mut mean = vec![0.0; dim];
        for (x, _) in samples {
            for (m, v) in mean.iter_mut().zip(x) {
                *m += v / n;
            }
        }
        let mut var = vec![0.0; dim];
        for (x, _) in samples {
            for ((s, v), m) in var.iter_mut().zip(x).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        let scale = var.iter().map(|v| 1.0 / (v.sqrt() + 1e-6)).collect();
        Standardiser { mean, scale }
    }

    fn apply(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| (v - m) * s)
            .collect()
    }
}

/// Multinomial logistic regression.
struct Softmax {
    weights: Vec<Vec<f64>>,
    bias: Vec<f64>,
}

impl Softmax {
    fn new(dim: usize, classes: usize) -> Self {
        Softmax {
            weights: vec![vec![0.0; dim]; classes],
            bias: vec![0.0; classes],
        }
    }

    fn probabilities(&self, x: &[f64]) -> Vec<f64> {
        let logits: Vec<f64> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| b + w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let max = logits.iter().copied().fold(f64::MIN, f64::max);
        let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }

    fn predict(&self, x: &[f64]) -> usize {
        let p = self.probabilities(x);
        (0..p.len()).fold(0, |best, k| if p[k] > p[best] { k } else { best })
    }

    fn loss(&self, data: &[Sample], l2: f64) -> f64 {
        let nll: f64 = data
            .iter()
            .map(|(x, y)| -self.probabilities(x)[*y].max(1e-12).ln())
            .sum::<f64>()
            / data.len() as f64;
        let penalty: f64 = self.weights.iter().flatten().map(|w| w * w).sum();
        nll + 0.5 * l2 * penalty
    }

    fn step(&mut self, data: &[Sample], learning_rate: f64, l2: f64) {
        let n = data.len() as f64;
        let mut grad_w = vec![vec![0.0; self.weights[0].len()]; self.weights.len()];
        let mut grad_b = vec![0.0; self.bias.len()];
        for (x, y) in data {
            let p = self.probabilities(x);
            for k in 0..p.len() {
                let error = p[k] - f64::from(u8::from(k == *y));
                grad_b[k] += error / n;
                for (g, v) in grad_w[k].iter_mut().zip(x) {
                    *g += error * v / n;
                }
            }
        }
        for k in 0..self.bias.len() {
            self.bias[k] -= learning_rate * grad_b[k];
            for (w, g) in self.weights[k].iter_mut().zip(&grad_w[k]) {
                *w -= learning_rate * (g + l2 * *w);
            }
        }
    }

    fn accuracy(&self, data: &[Sample]) -> f64 {
        let correct = data.iter().filter(|(x, y)| self.predict(x) == *y).count();
        correct as f64 / data.len() as f64
    }

    fn confusion(&self, data: &[Sample]) -> Vec<Vec<usize>> {
        let k = self.bias.len();
        let mut m = vec![vec![0; k]; k];
        for (x, y) in data {
            m[*y][self.predict(x)] += 1;
        }
        m
    }
}
