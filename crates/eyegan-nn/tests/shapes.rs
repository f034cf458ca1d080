//! Parameter counts (PyTorch's reference DCGAN, the GMD doc comment) and output shapes at
//! 32, 64 and 128.

use candle_core::{DType, Device, Tensor};
use candle_nn::ModuleT;
use eyegan_nn::config::{DcganConfig, GmdConfig, GmdPadding};
use eyegan_nn::rng::SeededRng;
use eyegan_nn::{Discriminator, Generator, Gmd};

fn paper_gan(image_size: usize) -> (Generator, Discriminator) {
    let config = DcganConfig {
        image_size,
        ..DcganConfig::paper()
    };
    let mut rng = SeededRng::new(0, 0);
    let g = Generator::new(&config, &mut rng, &Device::Cpu, DType::F32).unwrap();
    let d = Discriminator::new(&config, &mut rng, &Device::Cpu, DType::F32).unwrap();
    (g, d)
}

#[test]
fn dcgan_parameter_counts_equal_pytorch_reference() {
    let (g, d) = paper_gan(64);
    assert_eq!(g.params().num_trainable_params(), 3_576_704);
    assert_eq!(d.params().num_trainable_params(), 2_765_568);
}

fn values(g: &Generator, key: &str) -> Vec<f32> {
    let tensors = g.params().tensors().unwrap();
    let tensor = &tensors.iter().find(|(name, _)| name == key).unwrap().1;
    tensor.flatten_all().unwrap().to_vec1().unwrap()
}

fn mean_std(values: &[f32]) -> (f32, f32) {
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
    (mean, var.sqrt())
}

#[test]
fn dcgan_initialisation_follows_the_reference() {
    let (g, _) = paper_gan(64);
    let (mean, std) = mean_std(&values(&g, "main.0.weight"));
    assert!(
        mean.abs() < 1e-3 && (std - 0.02).abs() < 1e-3,
        "conv N(0, 0.02): {mean} {std}"
    );
    let (mean, std) = mean_std(&values(&g, "main.1.weight"));
    assert!(
        (mean - 1.0).abs() < 5e-3 && (std - 0.02).abs() < 4e-3,
        "BN weight N(1, 0.02): {mean} {std}"
    );
    assert!(values(&g, "main.1.bias").iter().all(|v| *v == 0.0));
    assert!(values(&g, "main.1.running_var").iter().all(|v| *v == 1.0));
}

#[test]
fn dcgan_keys_follow_the_reference_state_dict() {
    let (g, d) = paper_gan(64);
    let bn = |i: usize| {
        [
            "bias",
            "num_batches_tracked",
            "running_mean",
            "running_var",
            "weight",
        ]
        .map(move |t| format!("main.{i}.{t}"))
    };
    let mut expected_g: Vec<String> = [0, 3, 6, 9, 12]
        .iter()
        .map(|i| format!("main.{i}.weight"))
        .collect();
    for i in [1, 4, 7, 10] {
        expected_g.extend(bn(i));
    }
    expected_g.sort();
    assert_eq!(g.params().names(), expected_g);
    let mut expected_d: Vec<String> = [0, 2, 5, 8, 11]
        .iter()
        .map(|i| format!("main.{i}.weight"))
        .collect();
    for i in [3, 6, 9] {
        expected_d.extend(bn(i));
    }
    expected_d.sort();
    assert_eq!(d.params().names(), expected_d);
}

#[test]
fn dcgan_output_shapes_at_32_64_128() {
    for size in [32, 64, 128] {
        let (g, d) = paper_gan(size);
        let z = Tensor::zeros((2, 100), DType::F32, &Device::Cpu).unwrap();
        let images = g.forward_t(&z, false).unwrap();
        assert_eq!(images.dims(), &[2, 3, size, size], "G at {size}");
        let logits = d.forward_t(&images, false).unwrap();
        assert_eq!(logits.dims(), &[2], "D at {size}");
    }
}

#[test]
fn gmd_parameter_counts_and_shapes() {
    let mut rng = SeededRng::new(0, 0);
    let same = Gmd::new(&GmdConfig::paper(), &mut rng, &Device::Cpu, DType::F32).unwrap();
    assert_eq!(same.params().num_trainable_params(), 599_652);
    let valid_config = GmdConfig {
        padding: GmdPadding::Valid,
        ..GmdConfig::paper()
    };
    let valid = Gmd::new(&valid_config, &mut rng, &Device::Cpu, DType::F32).unwrap();
    assert_eq!(valid.params().num_trainable_params(), 561_252);

    for (size, padding) in [
        (32, GmdPadding::Same),
        (64, GmdPadding::Same),
        (128, GmdPadding::Same),
        (64, GmdPadding::Valid),
        (128, GmdPadding::Valid),
    ] {
        let config = GmdConfig {
            image_size: size,
            padding,
            ..GmdConfig::paper()
        };
        let model = Gmd::new(&config, &mut rng, &Device::Cpu, DType::F32).unwrap();
        let x = Tensor::zeros((2, 3, size, size), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(
            model.forward_t(&x, false).unwrap().dims(),
            &[2, 4],
            "GMD {padding:?} at {size}"
        );
    }
}
