//! Exact resume: N steps, checkpoint to bytes, restore, M steps equals N + M uninterrupted
//! (within 1e-6) for both networks, on CPU in one process (same thread count).

mod common;

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use candle_core::{Device, Tensor};
use eyegan_nn::config::{ClassifierTrainingConfig, DcganConfig, GanTrainingConfig, GmdConfig};
use eyegan_nn::params::ParamStore;
use eyegan_nn::{ClassicalAugmentation, ClassifierTrainer, GanTrainer};

fn snapshot(store: &ParamStore) -> BTreeMap<String, Vec<f64>> {
    store
        .tensors()
        .unwrap()
        .into_iter()
        .map(|(name, tensor): (String, Tensor)| {
            let values = tensor
                .to_dtype(candle_core::DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            (name, values)
        })
        .collect()
}

fn assert_close(a: &BTreeMap<String, Vec<f64>>, b: &BTreeMap<String, Vec<f64>>, what: &str) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, values) in a {
        let max_diff = values
            .iter()
            .zip(&b[name])
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(max_diff <= 1e-6, "{what} {name}: max diff {max_diff}");
    }
}

#[test]
fn gan_resume_is_exact() {
    let images = common::two_mode_images(10, 4);
    let training = GanTrainingConfig {
        batch_size: 4, // 3 batches per epoch (last one partial), so the run crosses epochs
        diff_augment: true,
        ..GanTrainingConfig::paper()
    };
    let (n, m) = (4, 3);
    let device = Device::Cpu;

    let mut uninterrupted = GanTrainer::new(DcganConfig::tiny(), training, 77, &device).unwrap();
    let mut reference_metrics = Vec::new();
    for _ in 0..n + m {
        reference_metrics.push(uninterrupted.step(&images).unwrap());
    }

    let mut first = GanTrainer::new(DcganConfig::tiny(), training, 77, &device).unwrap();
    for _ in 0..n {
        first.step(&images).unwrap();
    }
    let blobs = first.checkpoint().unwrap();
    drop(first);
    let mut resumed = GanTrainer::from_checkpoint(&blobs, &device).unwrap();
    assert_eq!(
        (
            resumed.iteration(),
            resumed.epoch(),
            resumed.batch_in_epoch()
        ),
        (4, 1, 1)
    );
    let mut resumed_metrics = Vec::new();
    for _ in 0..m {
        resumed_metrics.push(resumed.step(&images).unwrap());
    }

    assert_eq!(
        resumed_metrics,
        reference_metrics[n..],
        "per-iteration metrics"
    );
    assert_close(
        &snapshot(resumed.generator().params()),
        &snapshot(uninterrupted.generator().params()),
        "G",
    );
    assert_close(
        &snapshot(resumed.discriminator().params()),
        &snapshot(uninterrupted.discriminator().params()),
        "D",
    );
    // the optimizer moments and random streams continue too: the next checkpoints match
    let a = resumed.checkpoint().unwrap();
    let b = uninterrupted.checkpoint().unwrap();
    assert_eq!(a.optimizer, b.optimizer);
    assert_eq!(a.state_json, b.state_json);
}

#[test]
fn classifier_resume_is_exact_even_mid_epoch() {
    let (images, labels) = common::quadrant_images(6, 9);
    let training = ClassifierTrainingConfig {
        batch_size: 5, // 24 images: 5 batches, the last one partial
        lr: 0.01,
        momentum: 0.9,
        epochs: 3,
        augmentation: ClassicalAugmentation {
            enabled: true,
            ..ClassicalAugmentation::default()
        },
    };
    let device = Device::Cpu;
    let go_on = |_: &_| ControlFlow::Continue(());

    let mut uninterrupted =
        ClassifierTrainer::new(GmdConfig::tiny(), training, 5, &device).unwrap();
    let mut reference = Vec::new();
    for _ in 0..2 {
        reference.push(
            uninterrupted
                .train_epoch(&images, &labels, go_on)
                .unwrap()
                .unwrap(),
        );
    }

    let mut first = ClassifierTrainer::new(GmdConfig::tiny(), training, 5, &device).unwrap();
    let epoch0 = first.train_epoch(&images, &labels, go_on).unwrap().unwrap();
    assert_eq!(epoch0, reference[0]);
    // stop after 2 batches of the second epoch
    let stopped = first
        .train_epoch(&images, &labels, |progress| {
            if progress.batches_done == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert!(stopped.is_none());
    let blobs = first.checkpoint().unwrap();
    drop(first);
    let mut resumed = ClassifierTrainer::from_checkpoint(&blobs, &device).unwrap();
    assert_eq!((resumed.epoch(), resumed.batch_in_epoch()), (1, 2));
    let epoch1 = resumed
        .train_epoch(&images, &labels, go_on)
        .unwrap()
        .unwrap();

    assert_eq!(
        epoch1, reference[1],
        "epoch metrics after a mid-epoch resume"
    );
    assert_close(
        &snapshot(resumed.model().params()),
        &snapshot(uninterrupted.model().params()),
        "GMD",
    );
    let a = resumed.checkpoint().unwrap();
    let b = uninterrupted.checkpoint().unwrap();
    assert_eq!(a.optimizer, b.optimizer);
    assert_eq!(a.state_json, b.state_json);
}
