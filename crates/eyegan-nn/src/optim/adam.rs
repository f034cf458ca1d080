//! Adam (Kingma & Ba) exactly as PyTorch's `torch.optim.Adam` without weight decay or amsgrad.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};
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

impl Optimizer for Adam {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
        } = self.config;
        let step = self.step as i32;
        let bias_correction1 = 1.0 - beta1.powi(step);
        let bias_correction2_sqrt = (1.0 - beta2.powi(step)).sqrt();
        let step_size = lr / bias_correction1;
        for slot in &mut self.params {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let exp_avg = (slot.moments[0].affine(beta1, 0.0)? + grad.affine(1.0 - beta1, 0.0)?)?;
            let exp_avg_sq =
                (slot.moments[1].affine(beta2, 0.0)? + grad.sqr()?.affine(1.0 - beta2, 0.0)?)?;
            let denom = ((exp_avg_sq.sqrt()? / bias_correction2_sqrt)? + eps)?;
            let update = (exp_avg.div(&denom)? * step_size)?;
            let next: Tensor = slot.var.as_tensor().detach().sub(&update)?;
            slot.var.set(&next)?;
            slot.moments[0] = exp_avg;
            slot.moments[1] = exp_avg_sq;
        }
        Ok(())
    }

    fn steps_taken(&self) -> u64 {
        self.step
    }

    fn export_state(&self) -> OptimizerState {
        OptimizerState {
            step: self.step,
            slots: export_slots(&self.params, &MOMENTS),
        }
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
        assert_eq!(adam.export_state().slots.len(), 2);
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
}
