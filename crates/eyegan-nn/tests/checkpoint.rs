//! Checkpoint blobs: PyTorch-compatible generator keys, BN running statistics, strict loading.

use candle_core::{DType, Device, Tensor};
use eyegan_nn::config::{DcganConfig, GanTrainingConfig};
use eyegan_nn::tensor_io::{safetensors_to_tensors, tensors_to_safetensors};
use eyegan_nn::{load_gan_models, GanCheckpointState, GanTrainer, NnError};

fn trained_trainer() -> GanTrainer {
    let training = GanTrainingConfig {
        batch_size: 4,
        ..GanTrainingConfig::paper()
    };
    let mut trainer = GanTrainer::new(DcganConfig::tiny(), training, 3, &Device::Cpu).unwrap();
    let real = Tensor::rand(-1f32, 1f32, (4, 3, 32, 32), &Device::Cpu).unwrap();
    trainer.train_iteration(&real).unwrap();
    trainer.train_iteration(&real).unwrap();
    trainer
}

#[test]
fn generator_blob_is_a_reference_state_dict_with_running_stats() {
    let trainer = trained_trainer();
    let blobs = trainer.checkpoint().unwrap();
    let g = safetensors_to_tensors(&blobs.generator, &Device::Cpu, "generator").unwrap();
    let mut keys: Vec<&str> = g.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert!(keys.contains(&"main.0.weight") && keys.contains(&"main.9.weight"));
    assert_eq!(g["main.0.weight"].dims(), &[16, 32, 4, 4]); // (nz, 4·ngf, 4, 4) at 32×32
    assert_eq!(g["main.1.num_batches_tracked"].dtype(), DType::I64);
    assert_eq!(g["main.1.num_batches_tracked"].dims(), &[] as &[usize]);
    // one G forward in train mode per iteration
    assert_eq!(
        g["main.1.num_batches_tracked"].to_scalar::<i64>().unwrap(),
        2
    );
    let running_var: Vec<f32> = g["main.1.running_var"].to_vec1().unwrap();
    assert!(
        running_var.iter().any(|v| (v - 1.0).abs() > 1e-4),
        "running stats were updated"
    );
    // D sees three train-mode batches per iteration (real, fake for D, fake for G)
    let d = safetensors_to_tensors(&blobs.discriminator, &Device::Cpu, "discriminator").unwrap();
    assert_eq!(
        d["main.3.num_batches_tracked"].to_scalar::<i64>().unwrap(),
        6
    );

    let state = GanCheckpointState::from_json(&blobs.state_json).unwrap();
    assert_eq!(
        (state.iteration, state.seed, state.generator_steps),
        (2, 3, 2)
    );
    let (_, generator, _) = load_gan_models(
        &blobs.state_json,
        &blobs.generator,
        &blobs.discriminator,
        &Device::Cpu,
    )
    .unwrap();
    let z = Tensor::zeros((1, 16), DType::F32, &Device::Cpu).unwrap();
    let a = candle_nn::ModuleT::forward_t(&generator, &z, false).unwrap();
    let b = candle_nn::ModuleT::forward_t(trainer.generator(), &z, false).unwrap();
    let diff = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);
}

#[test]
fn mismatched_or_corrupt_blobs_are_rejected_with_the_part_named() {
    let trainer = trained_trainer();
    let mut blobs = trainer.checkpoint().unwrap();
    let mut g = safetensors_to_tensors(&blobs.generator, &Device::Cpu, "generator")
        .unwrap()
        .into_iter()
        .collect::<Vec<_>>();
    g.retain(|(name, _)| name != "main.1.running_mean");
    blobs.generator = tensors_to_safetensors(&g).unwrap();
    let err = GanTrainer::from_checkpoint(&blobs, &Device::Cpu).unwrap_err();
    assert!(matches!(err, NnError::Checkpoint { .. }));
    assert!(err.to_string().contains("main.1.running_mean"), "{err}");

    let mut blobs = trainer.checkpoint().unwrap();
    blobs.state_json = b"{not json".to_vec();
    let err = GanTrainer::from_checkpoint(&blobs, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("state_json"), "{err}");

    let blobs = trainer.checkpoint().unwrap();
    let other = GanTrainer::new(
        DcganConfig {
            ngf: 4,
            ..DcganConfig::tiny()
        },
        *trainer.training_config(),
        3,
        &Device::Cpu,
    )
    .unwrap()
    .checkpoint()
    .unwrap();
    let mixed = eyegan_nn::GanCheckpointBlobs {
        generator: other.generator,
        ..blobs
    };
    let err = GanTrainer::from_checkpoint(&mixed, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("shape"), "{err}");
}
