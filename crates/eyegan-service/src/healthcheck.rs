//! The `healthcheck` subcommand of every service binary, for compose and Kubernetes probes.

use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::client::{connect, ConnectError};
use crate::config::default_listen;
use crate::security::{with_security, Security};
use crate::security_args::ClientSecurityArgs;
use crate::tls::SecurityError;

/// `healthcheck` flags. `PORT` is the service's default port.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs<const PORT: u16> {
    /// URL of the service to check.
    #[arg(long, env = "EYEGAN_HEALTHCHECK_ENDPOINT", default_value_t = format!("http://{}", default_listen(PORT)))]
    pub endpoint: String,

    /// gRPC service name to check (e.g. `eyegan.dataset.v1.DatasetService`); empty = the whole
    /// server.
    #[arg(long, default_value = "")]
    pub service: String,

    /// Give up after this long: `5`, `5s`, `500ms`.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// TLS for https:// endpoints (health needs no token).
    #[command(flatten)]
    pub client: ClientSecurityArgs,
}

impl<const PORT: u16> HealthcheckArgs<PORT> {
    /// Runs the check; see [`check_health`].
    pub async fn run(&self) -> Result<(), HealthcheckError> {
        let security = Security {
            client: self.client.load()?,
            ..Security::default()
        };
        with_security(
            security,
            check_health(&self.endpoint, &self.service, self.timeout),
        )
        .await
    }
}

/// Why a health check did not pass.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The TLS files could not be loaded.
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// The health RPC failed (e.g. NOT_FOUND for an unknown service name).
    #[error("health check of {endpoint} failed: {code:?}: {message}")]
    Rpc {
        /// The endpoint.
        endpoint: String,
        /// The gRPC code.
        code: tonic::Code,
        /// The status message.
        message: String,
    },
    /// The service answered with a status other than SERVING.
    #[error("{endpoint} reports {status} for service {service:?}")]
    NotServing {
        /// The endpoint.
        endpoint: String,
        /// The service name checked.
        service: String,
        /// The reported status, e.g. `NOT_SERVING`.
        status: String,
    },
    /// No answer in time.
    #[error("no health answer from {endpoint} within {timeout:?}")]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// Asks `endpoint` for the health of `service` (`""` = the whole server): `Ok` only when it
/// reports SERVING within `timeout`.
pub async fn check_health(
    endpoint: &str,
    service: &str,
    timeout: Duration,
) -> Result<(), HealthcheckError> {
    let check = async {
        let mut client = HealthClient::new(connect(endpoint).await?);
        let response = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map_err(|status| HealthcheckError::Rpc {
                endpoint: endpoint.to_owned(),
                code: status.code(),
                message: status.message().to_owned(),
            })?;
        let status = response.into_inner().status();
        if status == ServingStatus::Serving {
            Ok(())
        } else {
            Err(HealthcheckError::NotServing {
                endpoint: endpoint.to_owned(),
                service: service.to_owned(),
                status: status.as_str_name().to_owned(),
            })
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .map_err(|_| HealthcheckError::Timeout {
            endpoint: endpoint.to_owned(),
            timeout,
        })?
}

/// Parses `5`, `5s`, `1.5s` or `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 5s or 500ms"))?;
    Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("{text:?} is not a non-negative, finite duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        for bad in ["", "fast", "-1s", "NaN", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
