//! Trains a narrow GMD on easy phantom fundus images and prints loss/accuracy per epoch.
//!
//! `cargo run -p eyegan-nn --example gmd_phantom_learning -- [width] [lr] [momentum] [epochs]
//! [images_per_class] [image_size] [batch_size]` (defaults 0.125 0.01 0.9 10 32 32 32).
//! Set `CENTER=1` to subtract the mean image and divide by the spread around it before
//! training (a diagnostic: phantom images differ little from their common mean image, which
//! is what keeps a narrow GMD on the ln 4 plateau).

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
    let n = images.len() as f32;
    let len = images[0].len();
    let mean: Vec<f32> = (0..len)
        .map(|i| images.iter().map(|im| im[i]).sum::<f32>() / n)
        .collect();
    let spread = images
        .iter()
        .map(|im| {
            im.iter()
                .zip(&mean)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
        })
        .sum::<f32>()
        / n
        / len as f32;
    let power = mean.iter().map(|v| v * v).sum::<f32>() / len as f32;
    println!("pixel mean power {power:.4}, per-image variance around the mean image {spread:.4}");
    if std::env::var_os("CENTER").is_some() {
        let scale = spread.sqrt();
        for im in &mut images {
            for (v, m) in im.iter_mut().zip(&mean) {
                *v = (*v - m) / scale;
            }
        }
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
