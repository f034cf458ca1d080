//! The benchmark figures: the paper's DCGAN and GMD at the sizes the issue names, each a closure
//! that performs one timed repetition on the device it was prepared for.

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use candle_nn::ModuleT;
use eyegan_nn::loss::cross_entropy;
use eyegan_nn::optim::{Optimizer, Sgd};
use eyegan_nn::rng::SeededRng;
use eyegan_nn::{
    ClassifierTrainingConfig, DcganConfig, GanTrainer, GanTrainingConfig, Generator, Gmd, GmdConfig,
};

/// Names of every figure, in the order they run by default.
pub const FIGURES: [&str; 5] = [
    "dcgan_iter_b64",
    "dcgan_iter_b16",
    "gen_b64",
    "gmd_step_b32",
    "gmd_infer_256",
];

/// Seed of every network and input in the benchmarks.
const SEED: u64 = 0;

/// A prepared figure: images per repetition and the repetition itself.
pub struct Figure {
    /// Images processed by one repetition.
    pub images: usize,
    /// Runs one repetition.
    pub run: Box<dyn FnMut() -> Result<()>>,
}

/// Images in [-1, 1] (a squashed normal), `(count, channels, side, side)`.
fn random_images(rng: &mut SeededRng, count: usize, channels: usize, side: usize) -> Vec<f32> {
    rng.normal_vec(count * channels * side * side)
        .into_iter()
        .map(|v| v.tanh())
        .collect()
}

fn dcgan_iteration(batch: usize, device: &Device) -> Result<Figure> {
    let model = DcganConfig::paper();
    let training = GanTrainingConfig {
        batch_size: batch,
        divergence_patience: 0,
        ..GanTrainingConfig::paper()
    };
    let mut trainer = GanTrainer::new(model, training, SEED, device)?;
    let side = model.image_size;
    let data = random_images(&mut SeededRng::new(SEED, 100), batch, model.channels, side);
    let real = Tensor::from_vec(data, (batch, model.channels, side, side), device)?;
    Ok(Figure {
        images: batch,
        run: Box::new(move || {
            trainer.train_iteration(&real)?;
            Ok(())
        }),
    })
}

fn generator_forward(batch: usize, device: &Device) -> Result<Figure> {
    let model = DcganConfig::paper();
    let generator = Generator::new(
        &model,
        &mut SeededRng::new(SEED, 1),
        device,
        candle_core::DType::F32,
    )?;
    let mut rng = SeededRng::new(SEED, 101);
    Ok(Figure {
        images: batch,
        run: Box::new(move || {
            let noise = generator.noise(&mut rng, batch)?;
            let images = generator.forward_t(&noise, false)?;
            images.flatten_all()?.to_vec1::<f32>()?;
            Ok(())
        }),
    })
}

/// The paper's GMD with the benchmarks' initialisation.
fn paper_gmd(config: &GmdConfig, device: &Device) -> Result<Gmd> {
    Ok(Gmd::new(
        config,
        &mut SeededRng::new(SEED, 5),
        device,
        candle_core::DType::F32,
    )?)
}

fn gmd_sgd_step(batch: usize, device: &Device) -> Result<Figure> {
    let config = GmdConfig::paper();
    let gmd = paper_gmd(&config, device)?;
    let mut sgd = Sgd::new(
        gmd.params().trainable_vars(),
        ClassifierTrainingConfig::paper().sgd(),
    )?;
    let side = config.image_size;
    let data = random_images(&mut SeededRng::new(SEED, 102), batch, config.channels, side);
    let images = Tensor::from_vec(data, (batch, config.channels, side, side), device)?;
    let labels: Vec<u32> = (0..batch)
        .map(|i| (i % config.num_classes) as u32)
        .collect();
    let labels = Tensor::new(labels.as_slice(), device)?;
    Ok(Figure {
        images: batch,
        run: Box::new(move || {
            let logits = gmd.forward_t(&images, true)?;
            let loss = cross_entropy(&logits, &labels)?;
            loss.to_scalar::<f32>()?;
            sgd.step(&loss.backward()?)?;
            Ok(())
        }),
    })
}

fn gmd_inference(count: usize, device: &Device) -> Result<Figure> {
    let config = GmdConfig::paper();
    let gmd = paper_gmd(&config, device)?;
    let mut rng = SeededRng::new(SEED, 103);
    let images: Vec<Vec<f32>> = (0..count)
        .map(|_| random_images(&mut rng, 1, config.channels, config.image_size))
        .collect();
    Ok(Figure {
        images: count,
        run: Box::new(move || {
            gmd.predict_probabilities(&images)?;
            Ok(())
        }),
    })
}

/// Builds the named figure on `device` (networks initialised, inputs drawn, nothing timed yet).
pub fn prepare(name: &str, device: &Device) -> Result<Figure> {
    match name {
        "dcgan_iter_b64" => dcgan_iteration(64, device),
        "dcgan_iter_b16" => dcgan_iteration(16, device),
        "gen_b64" => generator_forward(64, device),
        "gmd_step_b32" => gmd_sgd_step(32, device),
        "gmd_infer_256" => gmd_inference(256, device),
        other => bail!("unknown figure `{other}`; known: {}", FIGURES.join(", ")),
    }
}
