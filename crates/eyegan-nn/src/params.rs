//! Named parameters and buffers of one network, in a deterministic (sorted) order.
//!
//! Trainable parameters are what the optimizers update; buffers (BatchNorm running statistics
//! and batch counters) are state that is saved and restored but not trained. Names are the
//! safetensors keys of the checkpoint.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor, Var};

use crate::error::{NnError, Result};

#[derive(Debug, Clone)]
struct Entry {
    var: Var,
    trainable: bool,
}

/// Parameters and buffers of one network.
#[derive(Debug, Clone)]
pub struct ParamStore {
    device: Device,
    dtype: DType,
    entries: BTreeMap<String, Entry>,
}

impl ParamStore {
    /// An empty store whose float tensors live on `device` with `dtype`.
    pub fn new(device: &Device, dtype: DType) -> Self {
        Self {
            device: device.clone(),
            dtype,
            entries: BTreeMap::new(),
        }
    }

    /// The device of the store.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The float dtype of the store.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Adds a trainable parameter with the given values and returns its (variable) tensor.
    pub fn add_trainable(
        &mut self,
        name: &str,
        shape: &[usize],
        values: Vec<f32>,
    ) -> Result<Tensor> {
        let var = self.insert(name, self.float_tensor(shape, values)?, true)?;
        Ok(var.as_tensor().clone())
    }

    /// Adds a float buffer (not trained, but checkpointed).
    pub fn add_buffer(&mut self, name: &str, shape: &[usize], values: Vec<f32>) -> Result<Var> {
        self.insert(name, self.float_tensor(shape, values)?, false)
    }

    /// Adds a buffer holding an arbitrary tensor (e.g. an `i64` counter).
    pub fn add_buffer_tensor(&mut self, name: &str, tensor: Tensor) -> Result<Var> {
        self.insert(name, tensor, false)
    }

    fn float_tensor(&self, shape: &[usize], values: Vec<f32>) -> Result<Tensor> {
        Ok(Tensor::from_vec(values, shape, &Device::Cpu)?
            .to_dtype(self.dtype)?
            .to_device(&self.device)?)
    }

    fn insert(&mut self, name: &str, tensor: Tensor, trainable: bool) -> Result<Var> {
        if self.entries.contains_key(name) {
            return Err(NnError::input(name, "parameter name registered twice"));
        }
        let var = Var::from_tensor(&tensor)?;
        self.entries.insert(
            name.to_string(),
            Entry {
                var: var.clone(),
                trainable,
            },
        );
        Ok(var)
    }

    /// Trainable parameters as `(name, var)`, sorted by name.
    pub fn trainable_vars(&self) -> Vec<(String, Var)> {
        self.entries
            .iter()
            .filter(|(_, entry)| entry.trainable)
            .map(|(name, entry)| (name.clone(), entry.var.clone()))
            .collect()
    }

    /// Number of trainable scalars (what PyTorch's `sum(p.numel() for p in parameters())` gives).
    pub fn num_trainable_params(&self) -> usize {
        self.entries
            .values()
            .filter(|entry| entry.trainable)
            .map(|entry| entry.var.elem_count())
            .sum()
    }

    /// All names (parameters and buffers), sorted.
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Detached copies (own storage, unaffected by later updates) of every parameter and
    /// buffer, sorted by name.
    pub fn tensors(&self) -> Result<Vec<(String, Tensor)>> {
        self.entries
            .iter()
            .map(|(name, entry)| Ok((name.clone(), entry.var.as_detached_tensor().copy()?)))
            .collect()
    }

    /// Overwrites every entry from `tensors`; the key sets must match exactly and so must shapes.
    /// Values are converted to each entry's dtype and device. `part` names the blob in errors.
    pub fn load(&self, tensors: &HashMap<String, Tensor>, part: &str) -> Result<()> {
        if let Some(extra) = tensors.keys().find(|key| !self.entries.contains_key(*key)) {
            return Err(NnError::checkpoint(
                part,
                format!("unexpected tensor `{extra}`"),
            ));
        }
        for (name, entry) in &self.entries {
            let source = tensors
                .get(name)
                .ok_or_else(|| NnError::checkpoint(part, format!("missing tensor `{name}`")))?;
            if source.dims() != entry.var.dims() {
                return Err(NnError::checkpoint(
                    part,
                    format!(
                        "tensor `{name}` has shape {:?}, the model expects {:?}",
                        source.dims(),
                        entry.var.dims()
                    ),
                ));
            }
            let value = source
                .to_dtype(entry.var.dtype())?
                .to_device(&self.device)?
                .copy()?;
            entry.var.set(&value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_trainables_and_round_trips() {
        let mut store = ParamStore::new(&Device::Cpu, DType::F32);
        store
            .add_trainable("b.weight", &[2, 3], vec![1.0; 6])
            .unwrap();
        store
            .add_buffer("b.running_mean", &[3], vec![0.5; 3])
            .unwrap();
        assert_eq!(store.num_trainable_params(), 6);
        assert!(store.add_buffer("b.weight", &[1], vec![0.0]).is_err());

        let mut values: HashMap<String, Tensor> = store.tensors().unwrap().into_iter().collect();
        store.load(&values, "test").unwrap();
        values.insert(
            "b.weight".into(),
            Tensor::full(2f32, (2, 3), &Device::Cpu).unwrap(),
        );
        store.load(&values, "test").unwrap();
        let loaded: Vec<f32> = store.tensors().unwrap()[1]
            .1
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(loaded, vec![2.0; 6]);

        values.insert(
            "extra".into(),
            Tensor::zeros(1, DType::F32, &Device::Cpu).unwrap(),
        );
        let err = store.load(&values, "test").unwrap_err().to_string();
        assert!(err.contains("unexpected tensor `extra`"), "{err}");
    }
}
