//! The compute device named by a request.

use candle_core::Device;
use eyegan_service::ServiceError;

/// The device of `spec` ([`eyegan_nn::resolve_device`]: `cpu`, `cuda`, `cuda:N`; empty = the
/// best available); a bad or unavailable spec is INVALID_ARGUMENT naming `field`.
pub fn resolve_device(spec: &str, field: &str) -> Result<Device, ServiceError> {
    eyegan_nn::resolve_device(spec)
        .map_err(|error| ServiceError::invalid_argument(field, error.to_string()))
}
