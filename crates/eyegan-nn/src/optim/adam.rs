//! Adam (Kingma & Ba) exactly as PyTorch's `torch.optim.Adam` without weight decay or amsgrad.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};
use crate::optim::adam_in_place::{self, MomentUpdate, ParamUpdate};
use crate::optim::{export_slots, import_slots, Optimizer, OptimizerState, Slot};

const MOMENTS: [&str; 2] = ["exp_avg", "exp_avg_sq"];

/// Adam hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
}

impl AdamConfig {
    /// Checks ranges; `prefix` names the owning config in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(NnError::config(
                format!("{prefix}.lr"),
                "must be a positive number",
            ));
        }
        for (name, beta) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(NnError::config(
                    format!("{prefix}.{name}"),
                    "must be in [0, 1)",
                ));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(NnError::config(
                format!("{prefix}.eps"),
                "must be a positive number",
            ));
        }
        Ok(())
    }
}

/// Adam over a named parameter list.
#[derive(Debug, Clone)]
pub struct Adam {
    config: AdamConfig,
    params: Vec<Slot>,
    step: u64,
}

impl Adam {
    /// Adam over `params` with zeroed moments.
    pub fn new(params: Vec<(String, Var)>, config: AdamConfig) -> Result<Self> {
        config.validate("adam")?;
        let params = params
            .into_iter()
            .map(|(name, var)| Slot::zeros(name, var, MOMENTS.len()))
            .collect::<Result<_>>()?;
        Ok(Self {
            config,
            params,
            step: 0,
        })
    }
}

/// The constants of one Adam step and the update of one parameter with them.
#[derive(Debug, Clone, Copy)]
struct StepUpdate {
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// `lr / (1 − β₁ᵗ)`.
    step_size: f64,
    /// `√(1 − β₂ᵗ)`.
    bias_correction2_sqrt: f64,
}

impl StepUpdate {
    fn new(config: &AdamConfig, step: u64) -> Self {
        let step = step as i32;
        Self {
            beta1: config.beta1,
            beta2: config.beta2,
            eps: config.eps,
            step_size: config.lr / (1.0 - config.beta1.powi(step)),
            bias_correction2_sqrt: (1.0 - config.beta2.powi(step)).sqrt(),
        }
    }

    /// Updates `slot` from `grad`: in place on the CPU, composed from Candle's ops elsewhere
    /// (the same values either way).
    fn apply(&self, slot: &mut Slot, grad: &Tensor) -> Result<()> {
        let param = slot.var.as_tensor();
        let [exp_avg, exp_avg_sq] = [&slot.moments[0], &slot.moments[1]];
        if !adam_in_place::applies(&[param, exp_avg, exp_avg_sq, grad]) {
            return self.apply_composed(slot, grad);
        }
        let moment = |keep: f64, square| MomentUpdate {
            keep,
            add: 1.0 - keep,
            square,
        };
        exp_avg.inplace_op2(grad, &moment(self.beta1, false))?;
        exp_avg_sq.inplace_op2(grad, &moment(self.beta2, true))?;
        let update = ParamUpdate {
            bias_correction2_sqrt: self.bias_correction2_sqrt,
            eps: self.eps,
            step_size: self.step_size,
        };
        param.inplace_op3(exp_avg, exp_avg_sq, &update)?;
        Ok(())
    }

    fn apply_composed(&self, slot: &mut Slot, grad: &Tensor) -> Result<()> {
        let (beta1, beta2) = (self.beta1, self.beta2);
        let exp_avg = (slot.moments[0].affine(beta1, 0.0)? + grad.affine(1.0 - beta1, 0.0)?)?;
        let exp_avg_sq =
            (slot.moments[1].affine(beta2, 0.0)? + grad.sqr()?.affine(1.0 - beta2, 0.0)?)?;
        let denom = ((exp_avg_sq.sqrt()? / self.bias_correction2_sqrt)? + self.eps)?;
        let update = (exp_avg.div(&denom)? * self.step_size)?;
        let next: Tensor = slot.var.as_tensor().detach().sub(&update)?;
        slot.var.set(&next)?;
        slot.moments[0] = exp_avg;
        slot.moments[1] = exp_avg_sq;
        Ok(())
    }
}

impl Optimizer for Adam {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let update = StepUpdate::new(&self.config, self.step);
        for slot in &mut self.params {
            if let Some(grad) = grads.get(slot.var.as_tensor()) {
                update.apply(slot, grad)?;
            }
        }
        Ok(())
    }

    fn steps_taken(&self) -> u64 {
        self.step
    }

    fn export_state(&self) -> Result<OptimizerState> {
        Ok(OptimizerState {
            step: self.step,
            slots: export_slots(&self.params, &MOMENTS)?,
        })
    }

    fn import_state(&mut self, step: u64, slots: &HashMap<String, Tensor>) -> Result<()> {
        import_slots(&mut self.params, &MOMENTS, slots)?;
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Minimises (w − 3)² and checks the first step against the closed form: the first Adam
    /// step moves every parameter by lr·sign(grad) (up to eps).
    #[test]
    fn first_step_is_lr_times_sign_and_it_converges() {
        let var = Var::new(&[0.0f64, 10.0], &Device::Cpu).unwrap();
        let config = AdamConfig {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut adam = Adam::new(vec![("w".into(), var.clone())], config).unwrap();
        let loss = |v: &Var| {
            (v.as_tensor() - 3.0)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
        };
        adam.step(&loss(&var).backward().unwrap()).unwrap();
        let w: Vec<f64> = var.as_tensor().to_vec1().unwrap();
        assert!(
            (w[0] - 0.1).abs() < 1e-6 && (w[1] - 9.9).abs() < 1e-6,
            "{w:?}"
        );
        for _ in 0..300 {
            adam.step(&loss(&var).backward().unwrap()).unwrap();
        }
        let w: Vec<f64> = var.as_tensor().to_vec1().unwrap();
        assert!(w.iter().all(|v| (v - 3.0).abs() < 0.05), "{w:?}");
        assert_eq!(adam.export_state().unwrap().slots.len(), 2);
    }

    #[test]
    fn rejects_bad_hyper_parameters() {
        let config = AdamConfig {
            lr: 0.0,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        };
        let err = Adam::new(vec![], config).unwrap_err().to_string();
        assert!(err.contains("adam.lr"), "{err}");
    }

    /// The in-place CPU update gives bitwise the same parameters and moments as the composed
    /// one, step after step, in f32 and f64.
    #[test]
    fn in_place_update_equals_the_composed_one_bitwise() {
        for dtype in [candle_core::DType::F32, candle_core::DType::F64] {
            let device = Device::Cpu;
            let random = |seed: u64| {
                let values: Vec<f64> = (0..1000)
                    .map(|i| {
                        (((i as u64 + 1) * 2654435761 * (seed + 3)) % 2001) as f64 / 1000.0 - 1.0
                    })
                    .collect();
                Tensor::from_vec(values, 1000, &device)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap()
            };
            let slot =
                || Slot::zeros("w".into(), Var::from_tensor(&random(0)).unwrap(), 2).unwrap();
            let (mut fused, mut composed) = (slot(), slot());
            let config = AdamConfig {
                lr: 2e-3,
                beta1: 0.5,
                beta2: 0.999,
                eps: 1e-8,
            };
            for step in 1..=5 {
                let update = StepUpdate::new(&config, step);
                let grad = random(step);
                update.apply(&mut fused, &grad).unwrap();
                update.apply_composed(&mut composed, &grad).unwrap();
            }
            let bits = |t: &Tensor| -> Vec<u64> {
                let values = t
                    .to_dtype(candle_core::DType::F64)
                    .unwrap()
                    .to_vec1::<f64>();
                values.unwrap().iter().map(|v| v.to_bits()).collect()
            };
            assert_eq!(
                bits(fused.var.as_tensor()),
                bits(composed.var.as_tensor()),
                "{dtype:?}"
            );
            for (a, b) in fused.moments.iter().zip(&composed.moments) {
                assert_eq!(bits(a), bits(b), "{dtype:?} moments");
            }
        }
    }
}
