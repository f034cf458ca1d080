//! Optimizers whose complete state (step count and moments) can be exported for checkpoints.
//!
//! Candle's `AdamW` keeps its moments private and defaults to weight decay 0.01; these are the
//! plain PyTorch `Adam` (no weight decay) and `SGD` (optional momentum) update rules.

pub mod adam;
mod adam_in_place;
pub mod sgd;

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

pub use adam::{Adam, AdamConfig};
pub use sgd::{Sgd, SgdConfig};

use crate::error::{NnError, Result};

/// Exported optimizer state: the number of steps taken and one tensor per (slot, parameter),
/// keyed `<slot>.<parameter name>` (e.g. `exp_avg.main.0.weight`).
#[derive(Debug, Clone)]
pub struct OptimizerState {
    /// Update steps applied so far.
    pub step: u64,
    /// Moment tensors by key.
    pub slots: Vec<(String, Tensor)>,
}

/// An optimizer over a fixed, named set of parameters.
pub trait Optimizer {
    /// Applies one update from `grads`; parameters without a gradient are left unchanged.
    fn step(&mut self, grads: &GradStore) -> Result<()>;
    /// Update steps applied so far.
    fn steps_taken(&self) -> u64;
    /// A copy of the full state (its own storage: later steps do not change it).
    fn export_state(&self) -> Result<OptimizerState>;
    /// Restores a state exported from an optimizer over the same parameters.
    fn import_state(&mut self, step: u64, slots: &HashMap<String, Tensor>) -> Result<()>;
}

/// One parameter with its moment slots.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub name: String,
    pub var: Var,
    pub moments: Vec<Tensor>,
}

impl Slot {
    pub fn zeros(name: String, var: Var, count: usize) -> Result<Self> {
        let moments = (0..count)
            .map(|_| var.as_tensor().zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { name, var, moments })
    }
}

/// Exports the slots of `params` under the given moment names.
pub(crate) fn export_slots(
    params: &[Slot],
    moment_names: &[&str],
) -> Result<Vec<(String, Tensor)>> {
    let mut out = Vec::new();
    for slot in params {
        for (moment_name, tensor) in moment_names.iter().zip(&slot.moments) {
            // a copy: the CPU optimizers update moments in place
            out.push((format!("{moment_name}.{}", slot.name), tensor.copy()?));
        }
    }
    Ok(out)
}

/// Imports the slots of `params` from `tensors`, strictly (same keys, same shapes).
pub(crate) fn import_slots(
    params: &mut [Slot],
    moment_names: &[&str],
    tensors: &HashMap<String, Tensor>,
) -> Result<()> {
    let expected = params.len() * moment_names.len();
    if tensors.len() != expected {
        return Err(NnError::checkpoint(
            "optimizer",
            format!(
                "expected {expected} moment tensors, found {}",
                tensors.len()
            ),
        ));
    }
    for slot in params.iter_mut() {
        for (index, moment_name) in moment_names.iter().enumerate() {
            let key = format!("{moment_name}.{}", slot.name);
            let value = tensors.get(&key).ok_or_else(|| {
                NnError::checkpoint("optimizer", format!("missing tensor `{key}`"))
            })?;
            if value.dims() != slot.var.dims() {
                return Err(NnError::checkpoint(
                    "optimizer",
                    format!(
                        "tensor `{key}` has shape {:?}, the parameter has {:?}",
                        value.dims(),
                        slot.var.dims()
                    ),
                ));
            }
            // a contiguous copy of its own: the CPU optimizers update moments in place
            slot.moments[index] = value
                .to_dtype(slot.var.dtype())?
                .to_device(slot.var.device())?
                .contiguous()?
                .copy()?;
        }
    }
    Ok(())
}
