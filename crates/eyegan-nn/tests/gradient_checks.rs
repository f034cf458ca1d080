//! f64 finite-difference checks of every layer type the networks use: the analytic gradient
//! from Candle's backward pass must match central differences of the same f64 computation.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Module, ModuleT};
use eyegan_nn::config::DcganConfig;
use eyegan_nn::layers::activation::{leaky_relu, LEAKY_RELU_SLOPE};
use eyegan_nn::layers::{
    conv2d, conv_transpose2d, linear, max_pool_2x2, BatchNorm2d, ConvSpec, WeightInit,
};
use eyegan_nn::loss::{bce_with_logits, bce_with_logits_const, cross_entropy};
use eyegan_nn::params::ParamStore;
use eyegan_nn::rng::SeededRng;
use eyegan_nn::{Discriminator, Generator};

const STEP: f64 = 1e-5;
/// Coordinates checked per variable (all of them when the variable is smaller).
const PROBES: usize = 24;

fn random_var(rng: &mut SeededRng, shape: &[usize]) -> Var {
    let count = shape.iter().product();
    let values: Vec<f64> = rng.normal_vec(count).into_iter().map(f64::from).collect();
    Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap()).unwrap()
}

/// Values bounded away from 0 (for the kinks of ReLU / LeakyReLU / |x|).
fn away_from_zero(rng: &mut SeededRng, shape: &[usize]) -> Var {
    let count = shape.iter().product();
    let values: Vec<f64> = (0..count)
        .map(|_| {
            let magnitude = f64::from(rng.uniform(0.05, 2.0));
            if rng.coin() {
                magnitude
            } else {
                -magnitude
            }
        })
        .collect();
    Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap()).unwrap()
}

/// A scalar loss `Σ out ⊙ R` with a fixed random projection R, so every output element matters.
fn project(out: &Tensor, seed: u64) -> Tensor {
    let mut rng = SeededRng::new(seed, 99);
    let weights: Vec<f64> = rng
        .normal_vec(out.elem_count())
        .into_iter()
        .map(f64::from)
        .collect();
    let weights = Tensor::from_vec(weights, out.dims(), out.device()).unwrap();
    (out * weights).unwrap().sum_all().unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_scalar::<f64>().unwrap()
}

/// Compares analytic and numeric gradients of `loss()` with respect to each variable.
fn check(name: &str, vars: &[(&str, &Var)], loss: impl Fn() -> Tensor) {
    let grads = loss().backward().unwrap();
    for (var_name, var) in vars {
        let analytic: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{name}: no gradient for {var_name}"))
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let original: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let stride = (original.len() / PROBES).max(1);
        for index in (0..original.len()).step_by(stride) {
            let mut shifted = original.clone();
            shifted[index] = original[index] + STEP;
            var.set(&Tensor::from_vec(shifted.clone(), var.dims(), &Device::Cpu).unwrap())
                .unwrap();
            let plus = scalar(&loss());
            shifted[index] = original[index] - STEP;
            var.set(&Tensor::from_vec(shifted, var.dims(), &Device::Cpu).unwrap())
                .unwrap();
            let minus = scalar(&loss());
            var.set(&Tensor::from_vec(original.clone(), var.dims(), &Device::Cpu).unwrap())
                .unwrap();
            let numeric = (plus - minus) / (2.0 * STEP);
            let tolerance = 1e-6 + 1e-5 * numeric.abs().max(analytic[index].abs());
            assert!(
                (numeric - analytic[index]).abs() <= tolerance,
                "{name}: d/d{var_name}[{index}] analytic {} vs numeric {numeric}",
                analytic[index]
            );
        }
    }
}

fn f64_store() -> ParamStore {
    ParamStore::new(&Device::Cpu, DType::F64)
}

fn trainables(store: &ParamStore) -> Vec<(String, Var)> {
    store.trainable_vars()
}

fn check_with_params(name: &str, input: &Var, store: &ParamStore, loss: impl Fn() -> Tensor) {
    let params = trainables(store);
    let mut vars: Vec<(&str, &Var)> = vec![("input", input)];
    vars.extend(params.iter().map(|(n, v)| (n.as_str(), v)));
    check(name, &vars, loss);
}

#[test]
fn conv2d_gradients() {
    let mut rng = SeededRng::new(1, 0);
    for (kernel, stride, padding) in [(3, 1, 1), (3, 1, 0), (4, 2, 1), (4, 1, 0)] {
        let mut store = f64_store();
        let spec = ConvSpec {
            in_channels: 2,
            out_channels: 3,
            kernel,
            stride,
            padding,
            bias: true,
        };
        let conv = conv2d(
            &mut store,
            "conv",
            spec,
            WeightInit::Normal {
                mean: 0.0,
                std: 0.5,
            },
            &mut rng,
        )
        .unwrap();
        let x = random_var(&mut rng, &[2, 2, 6, 6]);
        let name = format!("conv2d k{kernel} s{stride} p{padding}");
        check_with_params(&name, &x, &store, || {
            project(&conv.forward(x.as_tensor()).unwrap(), 1)
        });
    }
}

#[test]
fn conv_transpose2d_gradients() {
    let mut rng = SeededRng::new(2, 0);
    for (stride, padding, side) in [(1, 0, 1), (2, 1, 3)] {
        let mut store = f64_store();
        let spec = ConvSpec {
            in_channels: 3,
            out_channels: 2,
            kernel: 4,
            stride,
            padding,
            bias: false,
        };
        let conv = conv_transpose2d(
            &mut store,
            "convt",
            spec,
            WeightInit::Normal {
                mean: 0.0,
                std: 0.5,
            },
            &mut rng,
        )
        .unwrap();
        let x = random_var(&mut rng, &[2, 3, side, side]);
        let name = format!("conv_transpose2d s{stride} p{padding}");
        check_with_params(&name, &x, &store, || {
            project(&conv.forward(x.as_tensor()).unwrap(), 2)
        });
    }
}

#[test]
fn batch_norm_train_and_eval_gradients() {
    let mut rng = SeededRng::new(3, 0);
    let mut store = f64_store();
    let bn = BatchNorm2d::new(
        &mut store,
        "bn",
        3,
        WeightInit::Normal {
            mean: 1.0,
            std: 0.3,
        },
        &mut rng,
    )
    .unwrap();
    let bias = store
        .trainable_vars()
        .into_iter()
        .find(|(n, _)| n == "bn.bias")
        .unwrap()
        .1;
    bias.set(&Tensor::new(&[0.3f64, -0.2, 0.1], &Device::Cpu).unwrap())
        .unwrap();
    let x = random_var(&mut rng, &[3, 3, 2, 2]);
    check_with_params("batch norm (train)", &x, &store, || {
        project(&bn.forward_t(x.as_tensor(), true).unwrap(), 3)
    });
    check_with_params("batch norm (eval)", &x, &store, || {
        project(&bn.forward_t(x.as_tensor(), false).unwrap(), 3)
    });
}

#[test]
fn linear_gradients() {
    let mut rng = SeededRng::new(4, 0);
    let mut store = f64_store();
    let layer = linear(
        &mut store,
        "dense",
        5,
        4,
        WeightInit::GlorotUniform,
        &mut rng,
    )
    .unwrap();
    let x = random_var(&mut rng, &[3, 5]);
    check_with_params("linear", &x, &store, || {
        project(&layer.forward(x.as_tensor()).unwrap(), 4)
    });
}

#[test]
fn activation_gradients() {
    let mut rng = SeededRng::new(5, 0);
    let x = away_from_zero(&mut rng, &[2, 3, 4]);
    check("relu", &[("x", &x)], || {
        project(&x.as_tensor().relu().unwrap(), 5)
    });
    check("leaky relu", &[("x", &x)], || {
        project(&leaky_relu(x.as_tensor(), LEAKY_RELU_SLOPE).unwrap(), 5)
    });
    check("tanh", &[("x", &x)], || {
        project(&x.as_tensor().tanh().unwrap(), 5)
    });
}

#[test]
fn max_pool_gradients_including_odd_sizes() {
    let mut rng = SeededRng::new(6, 0);
    // distinct values: a random permutation scaled, so no window has a near tie
    for side in [4, 5] {
        let count = 2 * 2 * side * side;
        let mut values: Vec<f64> = (0..count).map(|i| i as f64 * 0.1).collect();
        rng.shuffle(&mut values);
        let x =
            Var::from_tensor(&Tensor::from_vec(values, (2, 2, side, side), &Device::Cpu).unwrap())
                .unwrap();
        check(&format!("max pool {side}x{side}"), &[("x", &x)], || {
            project(&max_pool_2x2(x.as_tensor()).unwrap(), 6)
        });
    }
}

#[test]
fn stable_bce_gradients() {
    let mut rng = SeededRng::new(7, 0);
    let logits = away_from_zero(&mut rng, &[8]);
    let targets = Tensor::new(&[0.0f64, 1.0, 0.3, 1.0, 0.0, 0.8, 1.0, 0.0], &Device::Cpu).unwrap();
    check("bce with logits", &[("logits", &logits)], || {
        bce_with_logits(logits.as_tensor(), &targets).unwrap()
    });
    check("bce real", &[("logits", &logits)], || {
        bce_with_logits_const(logits.as_tensor(), 1.0).unwrap()
    });
    check("bce fake", &[("logits", &logits)], || {
        bce_with_logits_const(logits.as_tensor(), 0.0).unwrap()
    });
}

#[test]
fn cross_entropy_gradients() {
    let mut rng = SeededRng::new(8, 0);
    let logits = random_var(&mut rng, &[5, 4]);
    let labels = Tensor::new(&[0u32, 3, 1, 2, 3], &Device::Cpu).unwrap();
    check("cross entropy", &[("logits", &logits)], || {
        cross_entropy(logits.as_tensor(), &labels).unwrap()
    });
}

/// The composed networks: G's loss through D (train mode, as the G step), checked on G's and
/// D's parameters.
#[test]
fn dcgan_generator_loss_through_discriminator() {
    let config = DcganConfig {
        image_size: 32,
        nz: 4,
        ngf: 2,
        ndf: 2,
        channels: 3,
    };
    let generator =
        Generator::new(&config, &mut SeededRng::new(9, 1), &Device::Cpu, DType::F64).unwrap();
    let discriminator =
        Discriminator::new(&config, &mut SeededRng::new(9, 2), &Device::Cpu, DType::F64).unwrap();
    let z = random_var(&mut SeededRng::new(9, 3), &[3, 4, 1, 1]);
    let loss = || {
        let fake = generator.forward_t(z.as_tensor(), true).unwrap();
        let logits = discriminator.forward_t(&fake, true).unwrap();
        bce_with_logits_const(&logits, 1.0).unwrap()
    };
    let g_params = generator.params().trainable_vars();
    let d_params = discriminator.params().trainable_vars();
    let mut vars: Vec<(&str, &Var)> = vec![("z", &z)];
    vars.extend(g_params.iter().map(|(n, v)| (n.as_str(), v)));
    vars.extend(d_params.iter().take(3).map(|(n, v)| (n.as_str(), v)));
    check("dcgan G loss", &vars, loss);
}

/// DiffAugment sits between G and D in the G step, so it must pass gradients correctly too
/// (same random draws for every evaluation).
#[test]
fn diff_augment_gradients() {
    use eyegan_nn::diff_augment::{diff_augment, DiffAugmentPolicy};
    let mut rng = SeededRng::new(10, 0);
    let x = random_var(&mut rng, &[2, 3, 8, 8]);
    let policy = DiffAugmentPolicy::default();
    check("diff augment", &[("x", &x)], || {
        let mut draws = SeededRng::new(10, 1);
        project(
            &diff_augment(x.as_tensor(), &policy, &mut draws).unwrap(),
            10,
        )
    });
}
