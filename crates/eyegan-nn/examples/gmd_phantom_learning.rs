//! Trains a narrow GMD on easy phantom fundus images and prints loss/accuracy per epoch.
//!
//! `cargo run -p eyegan-nn --example gmd_phantom_learning -- [width] [lr] [momentum] [epochs]
//! [images_per_class] [image_size] [batch_size]` (defaults 0.125 0.01 0.9 10 32 32 32).
//! The trainer standardises inputs (mean image, global spread) fitted on these images.

use std::ops::ControlFlow;
use std::time::Instant;

use candle_core::Device;
use eyegan_imaging::phantom::{render, Difficulty, PhantomClass};
use eyegan_imaging::to_chw_f32;
use eyegan_nn::config::{ClassifierTrainingConfig, GmdConfig};
use eyegan_nn::ClassifierTrainer;

fn arg<T: std::str::FromStr>(index: usize, default: T) -> T {
    std::env::args()
        .nth(index)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let width: f64 = arg(1, 0.125);
    let lr: f64 = arg(2, 0.01);
    let momentum: f64 = arg(3, 0.9);
    let epochs: u64 = arg(4, 10);
    let per_class: u32 = arg(5, 32);
    let size: usize = arg(6, 32);
    let difficulty = Difficulty::easy();
    let mut images: Vec<Vec<f32>> = Vec::new();
    let mut labels = Vec::new();
    for index in 0..per_class {
        for class in PhantomClass::ALL {
            images.push(to_chw_f32(&render(
                11,
                class,
                index,
                size as u32,
                &difficulty,
            )));
            labels.push(class.index() as u32);
        }
    }
    let model = GmdConfig {
        image_size: size,
        width_multiplier: width,
        ..GmdConfig::paper()
    };
    let training = ClassifierTrainingConfig {
        batch_size: arg(7, 32),
        lr,
        momentum,
        epochs,
        ..ClassifierTrainingConfig::paper()
    };
    let mut trainer = ClassifierTrainer::new(model, training, 7, &Device::Cpu)?;
    let probe = trainer.predict_probabilities(&images[..16])?;
    for row in probe.iter().take(6) {
        println!("init probs {row:?}");
    }
    let start = Instant::now();
    while !trainer.is_finished() {
        if let Some(m) = trainer.train_epoch(&images, &labels, |_| ControlFlow::Continue(()))? {
            println!(
                "epoch {:>3} loss {:.4} acc {:.3} ({:.1}s)",
                m.epoch,
                m.train_loss,
                m.train_accuracy,
                start.elapsed().as_secs_f32()
            );
        }
    }
    Ok(())
}
