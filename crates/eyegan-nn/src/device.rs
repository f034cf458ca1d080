//! Device selection from a textual spec (`cpu`, `cuda:N`, or empty for the best available).

use candle_core::Device;

use crate::error::NnError;

/// The device an empty spec means: `cuda:0` when this build has CUDA and a GPU opens, else `cpu`.
pub fn default_device_spec() -> &'static str {
    if cfg!(feature = "cuda") && parse_device("cuda:0").is_ok() {
        "cuda:0"
    } else {
        "cpu"
    }
}

/// [`parse_device`], with an empty (or blank) spec meaning [`default_device_spec`].
pub fn resolve_device(spec: &str) -> Result<Device, NnError> {
    if spec.trim().is_empty() {
        parse_device(default_device_spec())
    } else {
        parse_device(spec)
    }
}

/// Parses `cpu`, `cuda` (= `cuda:0`) or `cuda:N` into a Candle device.
///
/// A CUDA spec fails with a clear error when the crate was built without the `cuda` feature.
pub fn parse_device(spec: &str) -> Result<Device, NnError> {
    let trimmed = spec.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower == "cpu" {
        return Ok(Device::Cpu);
    }
    let ordinal = if lower == "cuda" {
        0
    } else if let Some(number) = lower.strip_prefix("cuda:") {
        number
            .parse::<usize>()
            .map_err(|_| NnError::InvalidDevice {
                spec: spec.to_string(),
                reason: format!(
                    "`{number}` is not a device ordinal (expected cuda:0, cuda:1, ...)"
                ),
            })?
    } else {
        return Err(NnError::InvalidDevice {
            spec: spec.to_string(),
            reason: "expected `cpu` or `cuda:N`".to_string(),
        });
    };
    cuda_device(spec, ordinal)
}

#[cfg(feature = "cuda")]
fn cuda_device(spec: &str, ordinal: usize) -> Result<Device, NnError> {
    Device::new_cuda(ordinal).map_err(|err| NnError::InvalidDevice {
        spec: spec.to_string(),
        reason: format!("cannot open CUDA device {ordinal}: {err}"),
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(spec: &str, _ordinal: usize) -> Result<Device, NnError> {
    Err(NnError::InvalidDevice {
        spec: spec.to_string(),
        reason: "eyegan-nn was built without the `cuda` feature; rebuild with `--features cuda` or use `cpu`".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_parses_case_insensitively() {
        assert!(parse_device("cpu").unwrap().is_cpu());
        assert!(parse_device(" CPU ").unwrap().is_cpu());
    }

    #[test]
    fn empty_means_the_default_device() {
        assert!(resolve_device("").is_ok());
        assert!(resolve_device("  ").is_ok());
        #[cfg(not(feature = "cuda"))]
        assert!(resolve_device("").unwrap().is_cpu());
        assert!(resolve_device("tpu").is_err());
    }

    #[test]
    fn garbage_is_rejected_with_the_spec_named() {
        let err = parse_device("tpu:0").unwrap_err().to_string();
        assert!(err.contains("tpu:0"), "{err}");
        let err = parse_device("cuda:x").unwrap_err().to_string();
        assert!(err.contains("not a device ordinal"), "{err}");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_feature_says_so() {
        let err = parse_device("cuda:0").unwrap_err().to_string();
        assert!(err.contains("without the `cuda` feature"), "{err}");
    }
}
