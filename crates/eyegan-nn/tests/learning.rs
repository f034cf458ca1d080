//! Learning: a tiny DCGAN moves its samples toward a two-mode toy set, and a narrow GMD
//! reaches ≥ 90% training accuracy on four easy classes within a bounded number of steps.
//! On the CPU by default; `EYEGAN_TEST_DEVICE=cuda:0` (with `--features cuda`) runs them on a GPU.

mod common;

use std::ops::ControlFlow;

use eyegan_nn::batches::tensor_to_images;
use eyegan_nn::config::{ClassifierTrainingConfig, DcganConfig, GanTrainingConfig, GmdConfig};
use eyegan_nn::{ClassifierTrainer, GanTrainer};

/// Top-minus-bottom contrast of an image divided by its standard deviation: about ±2 for the
/// two modes of the data, about 0 for unstructured samples. Dividing by the spread makes it
/// insensitive to overall amplitude, which D (batch norm per batch) barely sees.
fn normalised_mode_statistic(image: &[f32]) -> f32 {
    let n = image.len() as f32;
    let mean = image.iter().sum::<f32>() / n;
    let std = (image.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n)
        .sqrt()
        .max(1e-6);
    common::mode_statistic(image) / std
}

/// Mean |normalised statistic| and the histogram over {mode A (> 1), mode B (< −1), neither}.
fn sample_statistics(images: &[Vec<f32>]) -> (f32, [f32; 3]) {
    let mut total = 0.0;
    let mut bins = [0.0f32; 3];
    for image in images {
        let stat = normalised_mode_statistic(image);
        total += stat.abs();
        let bin = if stat > 1.0 {
            0
        } else if stat < -1.0 {
            1
        } else {
            2
        };
        bins[bin] += 1.0 / images.len() as f32;
    }
    (total / images.len() as f32, bins)
}

/// Total-variation distance between a histogram and the data's (½, ½, 0).
fn distance_to_data(histogram: [f32; 3]) -> f32 {
    0.5 * ((histogram[0] - 0.5).abs() + (histogram[1] - 0.5).abs() + histogram[2])
}

/// Mode statistics of one tiny DCGAN's samples before and after training.
struct TrainingOutcome {
    stat_before: f32,
    stat_after: f32,
    distance_before: f32,
    distance_after: f32,
}

/// Trains the tiny DCGAN from `seed` for 240 iterations on `data`. GAN training oscillates, so
/// the after-statistics are averaged over the grids of the last 80 iterations.
fn train_tiny_dcgan(data: &[Vec<f32>], seed: u64) -> TrainingOutcome {
    let training = GanTrainingConfig {
        batch_size: 16,
        lr: 2e-3,
        sample_count: 64,
        ..GanTrainingConfig::paper()
    };
    let mut trainer =
        GanTrainer::new(DcganConfig::tiny(), training, seed, &common::test_device()).unwrap();
    let grid = |trainer: &GanTrainer| tensor_to_images(&trainer.sample_grid().unwrap()).unwrap();
    let (stat_before, histogram_before) = sample_statistics(&grid(&trainer));
    let (mut stat_after, mut distance_after, mut grids) = (0.0, 0.0, 0.0);
    for _ in 0..240 {
        let metrics = trainer.step(data).unwrap();
        if metrics.iteration >= 160 && metrics.iteration.is_multiple_of(20) {
            let (stat, histogram) = sample_statistics(&grid(&trainer));
            stat_after += stat;
            distance_after += distance_to_data(histogram);
            grids += 1.0;
        }
    }
    TrainingOutcome {
        stat_before,
        stat_after: stat_after / grids,
        distance_before: distance_to_data(histogram_before),
        distance_after: distance_after / grids,
    }
}

/// Seeds of the tiny DCGAN runs. A single GAN run is chaotic: a rounding-level change (another
/// summation order in a kernel, another CPU's cache blocking) decides whether one seed's run
/// escapes its unstructured start within 240 iterations (about 70 % did in 60 runs:
/// 30 seeds, each with two tanh forms).
/// The mean over 8 seeds falls below the thresholds for under 1 % of such perturbations
/// (bootstrap over those 60 runs); an untrained or broken loop stays at its start (≈ 0.03).
const DCGAN_SEEDS: std::ops::Range<u64> = 2024..2032;

#[test]
fn tiny_dcgan_moves_samples_toward_the_two_modes() {
    let data = common::two_mode_images_with_noise(64, 1, 0.4);
    let (data_stat, data_histogram) = sample_statistics(&data);
    assert!(data_stat > 1.8 && distance_to_data(data_histogram) < 1e-6);
    let runs = DCGAN_SEEDS.count() as f32;
    let (mut stat_before, mut stat_after, mut distance_before, mut distance_after) =
        (0.0, 0.0, 0.0, 0.0);
    for seed in DCGAN_SEEDS {
        let outcome = train_tiny_dcgan(&data, seed);
        println!(
            "seed {seed}: normalised top-bottom contrast {:.3} -> {:.3}; mode histogram \
             distance {:.3} -> {:.3}",
            outcome.stat_before,
            outcome.stat_after,
            outcome.distance_before,
            outcome.distance_after
        );
        assert!(
            outcome.stat_before < 0.2,
            "seed {seed}: init samples are unstructured: {}",
            outcome.stat_before
        );
        stat_before += outcome.stat_before / runs;
        stat_after += outcome.stat_after / runs;
        distance_before += outcome.distance_before / runs;
        distance_after += outcome.distance_after / runs;
    }
    println!(
        "mean over {runs} seeds: contrast {stat_before:.3} -> {stat_after:.3} (data \
         {data_stat:.3}); histogram distance {distance_before:.3} -> {distance_after:.3}"
    );
    assert!(
        stat_after > 0.4 && stat_after > 4.0 * stat_before,
        "mean contrast {stat_before} -> {stat_after}"
    );
    assert!(
        distance_after < distance_before - 0.1,
        "mean histogram distance {distance_before} -> {distance_after}"
    );
}

#[test]
fn tiny_gmd_reaches_ninety_percent_on_four_easy_classes() {
    let (images, labels) = common::quadrant_images(16, 3);
    let training = ClassifierTrainingConfig {
        batch_size: 16,
        lr: 0.01,
        momentum: 0.9,
        epochs: 30,
        ..ClassifierTrainingConfig::paper()
    };
    let mut trainer =
        ClassifierTrainer::new(GmdConfig::tiny(), training, 7, &common::test_device()).unwrap();
    let first = trainer
        .train_epoch(&images, &labels, |_| ControlFlow::Continue(()))
        .unwrap()
        .unwrap();
    let mut last = first;
    while last.train_accuracy < 0.9 && !trainer.is_finished() {
        last = trainer
            .train_epoch(&images, &labels, |_| ControlFlow::Continue(()))
            .unwrap()
            .unwrap();
    }
    println!(
        "GMD: epoch 0 loss {:.3} acc {:.3}; epoch {} loss {:.3} acc {:.3}",
        first.train_loss, first.train_accuracy, last.epoch, last.train_loss, last.train_accuracy
    );
    assert!(
        last.train_accuracy >= 0.9,
        "train accuracy {} after {} epochs",
        last.train_accuracy,
        last.epoch + 1
    );
    assert!(last.train_loss < first.train_loss);
    let ids: Vec<String> = (0..images.len()).map(|i| format!("img-{i}")).collect();
    let (loss, predictions) = trainer.evaluate(&images, &labels, &ids).unwrap();
    let correct = predictions
        .iter()
        .filter(|p| p.predicted == p.label)
        .count();
    assert!(
        correct as f32 / images.len() as f32 >= 0.9,
        "eval accuracy {correct}/{}",
        images.len()
    );
    assert!(loss.is_finite() && predictions[5].image_id == "img-5");
    let probabilities = trainer.predict_probabilities(&images[..3]).unwrap();
    for (a, b) in probabilities[0].iter().zip(&predictions[0].probabilities) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    assert!((probabilities[0].iter().sum::<f32>() - 1.0).abs() < 1e-5);
}
