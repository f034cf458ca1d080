//! The score filter with scorers whose scores are known: exactly the images at or above the
//! threshold are kept, in `final` and `during-training` mode, and the attempt cap holds.

use std::cell::RefCell;

use candle_core::{DType, Device, Tensor};
use eyegan_nn::config::{DcganConfig, GanTrainingConfig};
use eyegan_nn::error::Result;
use eyegan_nn::generation::{during_training_candidate, image_seed};
use eyegan_nn::rng::SeededRng;
use eyegan_nn::{
    generate_filtered, generate_from_seeds, FilterPreset, FilteredGeneration, GanTrainer,
    GenerationRequest, Generator, ImageScorer,
};

fn tiny_generator() -> Generator {
    Generator::new(
        &DcganConfig::tiny(),
        &mut SeededRng::new(11, 1),
        &Device::Cpu,
        DType::F32,
    )
    .unwrap()
}

/// Returns a scripted score per attempt, in call order: attempt `i` scores `script(i)`.
struct ScriptedScorer {
    script: fn(u64) -> f32,
    next: RefCell<u64>,
    seen: RefCell<u64>,
}

impl ScriptedScorer {
    fn new(script: fn(u64) -> f32) -> Self {
        Self {
            script,
            next: RefCell::new(0),
            seen: RefCell::new(0),
        }
    }
}

impl ImageScorer for ScriptedScorer {
    fn score(&self, images: &Tensor) -> Result<Vec<f32>> {
        let count = images.dim(0)? as u64;
        let mut next = self.next.borrow_mut();
        let scores = (*next..*next + count).map(self.script).collect();
        *next += count;
        *self.seen.borrow_mut() += count;
        Ok(scores)
    }
}

/// Scores cycling through values below, exactly at, and above both paper thresholds.
fn cycle(index: u64) -> f32 {
    const SCORES: [f32; 7] = [0.1, 0.76, 0.5, 0.9, 0.532, 0.75999, 1.0];
    SCORES[(index % 7) as usize]
}

#[test]
fn final_mode_keeps_exactly_the_images_at_or_above_the_threshold() {
    let generator = tiny_generator();
    for (filter, count) in [
        (FilterPreset::PaperText, 9),
        (FilterPreset::MinScore(0.5), 12),
        (FilterPreset::None, 5),
    ] {
        let scorer = ScriptedScorer::new(cycle);
        let request = GenerationRequest {
            count,
            filter,
            max_attempts: 1000,
            batch_size: 4,
            seed: 5,
        };
        let outcome = generate_filtered(&generator, &scorer, request).unwrap();
        let expected: Vec<u64> = (0..outcome.attempted)
            .filter(|&i| filter == FilterPreset::None || cycle(i) >= filter.min_score())
            .collect();
        let kept: Vec<u64> = outcome.kept.iter().map(|image| image.index).collect();
        assert_eq!(kept, expected, "{filter}");
        assert_eq!(outcome.accepted as usize, count);
        assert!(!outcome.cap_reached);
        // the run stopped at the attempt that completed `count`
        assert_eq!(*kept.last().unwrap() + 1, outcome.attempted);
        for image in &outcome.kept {
            assert_eq!(image.score, cycle(image.index));
            assert_eq!(image.seed, image_seed(5, image.index));
            assert_eq!(image.pixels.len(), 3 * 32 * 32);
        }
        // 0.76 exactly is kept by paper-text, 0.75999 is not
        if filter == FilterPreset::PaperText {
            assert!(kept.contains(&1) && !kept.contains(&5));
        }
    }
}

#[test]
fn kept_images_regenerate_from_their_seed() {
    let generator = tiny_generator();
    let request = GenerationRequest {
        count: 3,
        filter: FilterPreset::None,
        max_attempts: 3,
        batch_size: 2,
        seed: 8,
    };
    let scorer = |images: &Tensor| -> Result<Vec<f32>> { Ok(vec![0.5; images.dim(0)?]) };
    let outcome = generate_filtered(&generator, &scorer, request).unwrap();
    let seeds: Vec<u64> = outcome.kept.iter().map(|image| image.seed).collect();
    let again = generate_from_seeds(&generator, &seeds).unwrap();
    for (image, pixels) in outcome.kept.iter().zip(again) {
        let max_diff = image
            .pixels
            .iter()
            .zip(&pixels)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 1e-5, "{max_diff}");
    }
}

#[test]
fn image_dependent_scores_select_exactly_the_passing_images() {
    // A D with known scores: the image's mean intensity mapped to [0, 1].
    let generator = tiny_generator();
    let mean_score = |images: &Tensor| -> Result<Vec<f32>> {
        let means = images.flatten_from(1)?.mean(1)?;
        Ok(((means + 1.0)? * 0.5)?.to_vec1::<f32>()?)
    };
    let all = generate_filtered(
        &generator,
        &mean_score,
        GenerationRequest {
            count: 40,
            filter: FilterPreset::None,
            max_attempts: 40,
            batch_size: 16,
            seed: 3,
        },
    )
    .unwrap();
    let mut scores: Vec<f32> = all.kept.iter().map(|image| image.score).collect();
    scores.sort_by(f32::total_cmp);
    let threshold = scores[20]; // the median: about half pass
    let filtered = generate_filtered(
        &generator,
        &mean_score,
        GenerationRequest {
            count: 40,
            filter: FilterPreset::MinScore(threshold),
            max_attempts: 40,
            batch_size: 16,
            seed: 3,
        },
    )
    .unwrap();
    let expected: Vec<u64> = all
        .kept
        .iter()
        .filter(|image| {
            let mean = image.pixels.iter().sum::<f32>() / image.pixels.len() as f32;
            (mean + 1.0) * 0.5 >= threshold
        })
        .map(|image| image.index)
        .collect();
    let kept: Vec<u64> = filtered.kept.iter().map(|image| image.index).collect();
    assert_eq!(kept, expected);
    assert!(kept.len() >= 15 && kept.len() <= 25, "{}", kept.len());
    assert!(filtered.cap_reached);
}

#[test]
fn attempt_cap_holds_when_nothing_passes() {
    let generator = tiny_generator();
    let scorer = ScriptedScorer::new(|_| 0.2);
    let request = GenerationRequest {
        count: 10,
        filter: FilterPreset::PaperCode,
        max_attempts: 37,
        batch_size: 8,
        seed: 1,
    };
    let mut run = FilteredGeneration::new(request).unwrap();
    let mut steps = 0;
    while !run.is_finished() {
        run.step(&generator, &scorer).unwrap();
        steps += 1;
        assert!(steps <= 5, "the cap must stop the run");
    }
    let outcome = run.into_outcome();
    assert_eq!(outcome.attempted, 37);
    assert_eq!(*scorer.seen.borrow(), 37, "never scores more than the cap");
    assert!(outcome.kept.is_empty() && outcome.cap_reached);
}

#[test]
fn during_training_mode_keeps_exactly_the_passing_epochs() {
    let generator = tiny_generator();
    let scorer = ScriptedScorer::new(cycle);
    let filter = FilterPreset::PaperCode;
    let mut kept = Vec::new();
    for epoch in 0..21u64 {
        if let Some(image) =
            during_training_candidate(&generator, &scorer, &filter, 100 + epoch, epoch).unwrap()
        {
            assert_eq!(image.seed, 100 + epoch);
            kept.push(image.index);
        }
    }
    let expected: Vec<u64> = (0..21)
        .filter(|&e| cycle(e) >= filter.min_score())
        .collect();
    assert_eq!(kept, expected);
    // 0.532 < 1 − e^−0.76 ≈ 0.53233 is rejected; 0.76 is kept
    assert!(!expected.contains(&4) && expected.contains(&1));
}

#[test]
fn trainer_candidate_uses_its_discriminator_score() {
    let mut training = GanTrainingConfig::paper();
    training.batch_size = 4;
    let trainer = GanTrainer::new(DcganConfig::tiny(), training, 21, &Device::Cpu).unwrap();
    let candidate = trainer
        .end_of_epoch_candidate(&FilterPreset::None)
        .unwrap()
        .expect("`none` keeps every candidate");
    let batch = Tensor::from_vec(candidate.pixels.clone(), (1, 3, 32, 32), &Device::Cpu).unwrap();
    let rescored = trainer.discriminator().score(&batch).unwrap()[0];
    assert!((rescored - candidate.score).abs() < 1e-5);
    let above = FilterPreset::MinScore((candidate.score + 1e-3).min(1.0));
    assert!(trainer.end_of_epoch_candidate(&above).unwrap().is_none());
    let at = FilterPreset::MinScore(candidate.score);
    assert!(trainer.end_of_epoch_candidate(&at).unwrap().is_some());
}
