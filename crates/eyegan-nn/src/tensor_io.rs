//! Safetensors (de)serialization of named tensors to and from bytes.

use std::borrow::Cow;
use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype, View};

use crate::error::{NnError, Result};

/// A tensor copied to host bytes (little endian), ready for safetensors.
struct HostTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &HostTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn to_host(name: &str, tensor: &Tensor) -> Result<HostTensor> {
    let flat = tensor.flatten_all()?.to_device(&Device::Cpu)?;
    let (dtype, bytes) = match tensor.dtype() {
        DType::F32 => (
            Dtype::F32,
            flat.to_vec1::<f32>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::F64 => (
            Dtype::F64,
            flat.to_vec1::<f64>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::I64 => (
            Dtype::I64,
            flat.to_vec1::<i64>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        other => {
            return Err(NnError::input(
                name,
                format!("dtype {other:?} cannot be written to a checkpoint"),
            ))
        }
    };
    Ok(HostTensor {
        dtype,
        shape: tensor.dims().to_vec(),
        bytes,
    })
}

/// Serializes named tensors into one safetensors buffer (keys sorted by safetensors).
pub fn tensors_to_safetensors(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let host: Vec<(String, HostTensor)> = tensors
        .iter()
        .map(|(name, tensor)| Ok((name.clone(), to_host(name, tensor)?)))
        .collect::<Result<_>>()?;
    safetensors::tensor::serialize(host.iter().map(|(n, t)| (n.as_str(), t)), None)
        .map_err(|err| NnError::checkpoint("safetensors", err.to_string()))
}

/// Parses a safetensors buffer into named tensors on `device`; `part` names the blob in errors.
pub fn safetensors_to_tensors(
    bytes: &[u8],
    device: &Device,
    part: &str,
) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load_buffer(bytes, device)
        .map_err(|err| NnError::checkpoint(part, format!("not a readable safetensors blob: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_float_and_integer_scalars() {
        let device = Device::Cpu;
        let tensors = vec![
            (
                "w".to_string(),
                Tensor::new(&[[1.5f32, -2.0], [0.25, 8.0]], &device).unwrap(),
            ),
            ("n".to_string(), Tensor::new(7i64, &device).unwrap()),
        ];
        let bytes = tensors_to_safetensors(&tensors).unwrap();
        let back = safetensors_to_tensors(&bytes, &device, "test").unwrap();
        assert_eq!(back["n"].dims(), &[] as &[usize]);
        assert_eq!(back["n"].to_scalar::<i64>().unwrap(), 7);
        assert_eq!(
            back["w"].to_vec2::<f32>().unwrap(),
            vec![vec![1.5, -2.0], vec![0.25, 8.0]]
        );
        assert!(safetensors_to_tensors(b"junk", &device, "weights").is_err());
    }
}
