//! CUDA against CPU (built only with `--features cuda`; needs a GPU): the paper's networks give
//! the same forward values, gradients and training trajectories on `cuda:0` as on the CPU, where
//! EyeGAN's own im2col/GEMM and fused ops run — the GPU keeps Candle's kernels.
//!
//! Tolerances are those of float32 rounding, measured on an H200: logits 1.5e-6; gradients
//! 1e-7 to 5e-7 of their largest entry, except the two convolutions before the first max pool
//! (conv1 2.3e-3, conv2 7.4e-3: where two pooled values are nearly equal, 1e-6 of rounding picks a
//! different winner and the gradient takes another path); DCGAN losses 4e-7 on the first
//! iteration (same weights) and 0.3 % two updates later (GAN training amplifies rounding). A
//! wrong kernel is off by O(1).
//!
//! `cargo test -p eyegan-nn --features cuda --test device_parity`

#![cfg(feature = "cuda")]

use candle_core::{DType, Device, Tensor};
use candle_nn::ModuleT;
use eyegan_nn::config::{DcganConfig, GanTrainingConfig, GmdConfig};
use eyegan_nn::loss::cross_entropy;
use eyegan_nn::rng::SeededRng;
use eyegan_nn::{parse_device, GanTrainer, Gmd};

/// Largest |a − b| relative to the largest |a| (both flattened to f32 on the CPU).
fn relative_difference(a: &Tensor, b: &Tensor) -> f32 {
    let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    let diff = a
        .iter()
        .zip(&b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

fn gpu() -> Device {
    parse_device("cuda:0").expect("this test needs a CUDA GPU (cuda:0)")
}

fn images(count: usize, side: usize, seed: u64, device: &Device) -> Tensor {
    let values: Vec<f32> = SeededRng::new(seed, 0)
        .normal_vec(count * 3 * side * side)
        .into_iter()
        .map(f32::tanh)
        .collect();
    Tensor::from_vec(values, (count, 3, side, side), device).unwrap()
}

#[test]
fn gmd_forward_and_gradients_match_the_cpu() {
    let config = GmdConfig::paper();
    let build =
        |device: &Device| Gmd::new(&config, &mut SeededRng::new(3, 5), device, DType::F32).unwrap();
    let (cpu, gpu_device) = (Device::Cpu, gpu());
    let (gmd_cpu, gmd_gpu) = (build(&cpu), build(&gpu_device));
    let labels: Vec<u32> = (0..8).map(|i| i % 4).collect();
    let mut results = Vec::new();
    for (gmd, device) in [(&gmd_cpu, &cpu), (&gmd_gpu, &gpu_device)] {
        let x = images(8, config.image_size, 11, device);
        let logits = gmd.forward_t(&x, true).unwrap();
        let loss =
            cross_entropy(&logits, &Tensor::new(labels.as_slice(), device).unwrap()).unwrap();
        let grads = loss.backward().unwrap();
        let gradients: Vec<(String, Tensor)> = gmd
            .params()
            .trainable_vars()
            .into_iter()
            .map(|(name, var)| {
                let grad = grads
                    .get(var.as_tensor())
                    .expect("a gradient per parameter");
                (name, grad.to_device(&Device::Cpu).unwrap())
            })
            .collect();
        results.push((logits.to_device(&Device::Cpu).unwrap(), gradients));
    }
    let logits_diff = relative_difference(&results[0].0, &results[1].0);
    println!("GMD logits: relative difference {logits_diff:.2e}");
    assert!(logits_diff < 1e-4, "logits differ by {logits_diff:.2e}");
    let mut worst = (String::new(), 0.0f32);
    for ((name, on_cpu), (_, on_gpu)) in results[0].1.iter().zip(&results[1].1) {
        let diff = relative_difference(on_cpu, on_gpu);
        println!("GMD gradient {name}: relative difference {diff:.2e}");
        if diff > worst.1 {
            worst = (name.clone(), diff);
        }
    }
    assert!(
        worst.1 < 3e-2,
        "gradient of {} differs by {:.2e}",
        worst.0,
        worst.1
    );
}

#[test]
fn dcgan_training_follows_the_cpu_trajectory() {
    let training = GanTrainingConfig {
        batch_size: 16,
        divergence_patience: 0,
        ..GanTrainingConfig::paper()
    };
    let model = DcganConfig::paper();
    let mut trajectories = Vec::new();
    for device in [Device::Cpu, gpu()] {
        let mut trainer = GanTrainer::new(model, training, 42, &device).unwrap();
        let real = images(16, model.image_size, 12, &device);
        let losses: Vec<(f32, f32)> = (0..3)
            .map(|_| {
                let metrics = trainer.train_iteration(&real).unwrap();
                (metrics.loss_d, metrics.loss_g)
            })
            .collect();
        trajectories.push(losses);
    }
    println!(
        "DCGAN (loss_d, loss_g) per iteration, CPU: {:?}",
        trajectories[0]
    );
    println!(
        "DCGAN (loss_d, loss_g) per iteration, GPU: {:?}",
        trajectories[1]
    );
    for (i, (a, b)) in trajectories[0].iter().zip(&trajectories[1]).enumerate() {
        // Identical weights on the first iteration; two updates later rounding has grown.
        let tolerance = if i == 0 { 1e-5 } else { 1e-2 };
        let close = |x: f32, y: f32| (x - y).abs() <= tolerance * x.abs().max(1e-3);
        assert!(
            close(a.0, b.0) && close(a.1, b.1),
            "iteration {i}: CPU {a:?} vs GPU {b:?}"
        );
    }
}
