//! The compute device of a request.

use candle_core::Device;
use eyegan_service::ServiceError;

/// Parses a request's device: `cpu`, `cuda`, `cuda:N`; empty = `cuda:0` when this build has
/// CUDA and a GPU answers, else `cpu`. INVALID_ARGUMENT naming `field` otherwise.
pub fn resolve_device(spec: &str, field: &str) -> Result<Device, ServiceError> {
    if spec.trim().is_empty() {
        return Ok(eyegan_nn::parse_device("cuda:0").unwrap_or(Device::Cpu));
    }
    eyegan_nn::parse_device(spec)
        .map_err(|error| ServiceError::invalid_argument(field, error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_auto_and_garbage_names_the_field() {
        assert!(resolve_device("", "device").is_ok());
        assert!(resolve_device("cpu", "device").unwrap().is_cpu());
        let error = resolve_device("tpu", "device").unwrap_err().to_string();
        assert!(error.contains("device"), "{error}");
    }
}
