//! Stochastic gradient descent with optional momentum, as PyTorch's `torch.optim.SGD`
//! (`buf = μ·buf + g; w −= lr·buf`; with μ = 0 this is Keras' plain `SGD(lr)` of the paper).

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};
use crate::optim::{export_slots, import_slots, Optimizer, OptimizerState, Slot};

const MOMENTUM: [&str; 1] = ["momentum_buffer"];

/// SGD hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ in [0, 1); 0 disables the buffer.
    pub momentum: f64,
}

impl SgdConfig {
    /// Checks ranges; `prefix` names the owning config in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(NnError::config(
                format!("{prefix}.lr"),
                "must be a positive number",
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(NnError::config(
                format!("{prefix}.momentum"),
                "must be in [0, 1)",
            ));
        }
        Ok(())
    }

    fn moment_names(&self) -> &'static [&'static str] {
        if self.momentum > 0.0 {
            &MOMENTUM
        } else {
            &[]
        }
    }
}

/// SGD over a named parameter list.
#[derive(Debug, Clone)]
pub struct Sgd {
    config: SgdConfig,
    params: Vec<Slot>,
    step: u64,
}

impl Sgd {
    /// SGD over `params` with zeroed momentum buffers.
    pub fn new(params: Vec<(String, Var)>, config: SgdConfig) -> Result<Self> {
        config.validate("sgd")?;
        let count = config.moment_names().len();
        let params = params
            .into_iter()
            .map(|(name, var)| Slot::zeros(name, var, count))
            .collect::<Result<_>>()?;
        Ok(Self {
            config,
            params,
            step: 0,
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let SgdConfig { lr, momentum } = self.config;
        for slot in &mut self.params {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let direction = if momentum > 0.0 {
                let buffer = (slot.moments[0].affine(momentum, 0.0)? + grad)?;
                slot.moments[0] = buffer.clone();
                buffer
            } else {
                grad.clone()
            };
            let next = slot
                .var
                .as_tensor()
                .detach()
                .sub(&direction.affine(lr, 0.0)?)?;
            slot.var.set(&next)?;
        }
        Ok(())
    }

    fn steps_taken(&self) -> u64 {
        self.step
    }

    fn export_state(&self) -> Result<OptimizerState> {
        Ok(OptimizerState {
            step: self.step,
            slots: export_slots(&self.params, self.config.moment_names())?,
        })
    }

    fn import_state(&mut self, step: u64, slots: &HashMap<String, Tensor>) -> Result<()> {
        let names = self.config.moment_names();
        import_slots(&mut self.params, names, slots)?;
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn plain_and_momentum_updates_follow_the_formula() {
        let grad_of = |v: &Var| {
            v.as_tensor()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        };
        // plain: w = 1 - 0.1 * 2 = 0.8
        let var = Var::new(&[1.0f64], &Device::Cpu).unwrap();
        let mut sgd = Sgd::new(
            vec![("w".into(), var.clone())],
            SgdConfig {
                lr: 0.1,
                momentum: 0.0,
            },
        )
        .unwrap();
        sgd.step(&grad_of(&var)).unwrap();
        assert!((var.as_tensor().to_vec1::<f64>().unwrap()[0] - 0.8).abs() < 1e-12);
        assert!(sgd.export_state().unwrap().slots.is_empty());

        // momentum 0.5: step1 buf=2, w=0.8; step2 g=1.6, buf=2.6, w=0.54
        let var = Var::new(&[1.0f64], &Device::Cpu).unwrap();
        let mut sgd = Sgd::new(
            vec![("w".into(), var.clone())],
            SgdConfig {
                lr: 0.1,
                momentum: 0.5,
            },
        )
        .unwrap();
        sgd.step(&grad_of(&var)).unwrap();
        sgd.step(&grad_of(&var)).unwrap();
        assert!((var.as_tensor().to_vec1::<f64>().unwrap()[0] - 0.54).abs() < 1e-12);
        assert_eq!(sgd.export_state().unwrap().slots[0].0, "momentum_buffer.w");
    }
}
