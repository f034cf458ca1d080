//! Connecting to another EyeGAN service.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::error::ServiceError;
use crate::security::{ClientSecurity, Security};

/// How long [`connect`] waits for the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a client could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The endpoint is not a usable URL.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing answered at the endpoint.
    #[error("cannot reach {endpoint}: {source}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },
}

/// A configured endpoint for `url`: `http://host:port`, `https://host:port`, or `host:port`
/// (http is assumed). `https` uses the ambient client TLS settings
/// ([`Security::current`](crate::Security::current)). Does not connect; use it for lazily
/// connecting channels (`endpoint(url)?.connect_lazy()`).
pub fn endpoint(url: &str) -> Result<Endpoint, ConnectError> {
    endpoint_with(url, &Security::current().client)
}

/// A configured endpoint for `url` using `security.tls` for `https` (see [`endpoint`]).
pub fn endpoint_with(url: &str, security: &ClientSecurity) -> Result<Endpoint, ConnectError> {
    let invalid = |reason: &str| ConnectError::InvalidEndpoint {
        endpoint: url.to_owned(),
        reason: reason.to_owned(),
    };
    let url = url.trim();
    if url.is_empty() {
        return Err(invalid("the endpoint is empty"));
    }
    let full = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let tls = full.starts_with("https://");
    if !tls && !full.starts_with("http://") {
        return Err(invalid("the scheme must be http:// or https://"));
    }
    let uri: http::Uri = full
        .parse()
        .map_err(|error: http::uri::InvalidUri| invalid(&error.to_string()))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("the endpoint has no host"));
    }
    let endpoint = Endpoint::from(uri)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    if !tls {
        return Ok(endpoint);
    }
    let Some(config) = &security.tls else {
        return Err(invalid(
            "https endpoints need the CA of the server (--tls-ca / EYEGAN_TLS_CA, or tls_ca in [services])",
        ));
    };
    endpoint
        .tls_config(config.clone())
        .map_err(|error| invalid(&format!("bad TLS settings: {error}")))
}

/// Connects to the service at `url` now, failing fast with [`ConnectError::Unreachable`] when
/// nothing answers (the channel reconnects by itself later if the service restarts).
pub async fn connect(url: &str) -> Result<Channel, ConnectError> {
    connect_with(url, &Security::current().client).await
}

/// [`connect`] with `security`'s TLS settings.
pub(crate) async fn connect_with(
    url: &str,
    security: &ClientSecurity,
) -> Result<Channel, ConnectError> {
    endpoint_with(url, security)?
        .connect()
        .await
        .map_err(|source| ConnectError::Unreachable {
            endpoint: url.to_owned(),
            source,
        })
}

/// An unreachable dependency is UNAVAILABLE (retryable); a malformed endpoint is a
/// configuration bug, INTERNAL.
impl From<ConnectError> for ServiceError {
    fn from(error: ConnectError) -> Self {
        match error {
            ConnectError::Unreachable { endpoint, .. } => {
                ServiceError::unavailable(format!("{endpoint} is unreachable"))
            }
            invalid @ ConnectError::InvalidEndpoint { .. } => ServiceError::internal(invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_accept_http_urls_and_host_port() {
        assert_eq!(
            endpoint("127.0.0.1:50051").unwrap().uri().to_string(),
            "http://127.0.0.1:50051/"
        );
        assert_eq!(
            endpoint("http://dataset:50051").unwrap().uri().host(),
            Some("dataset")
        );
    }

    #[test]
    fn malformed_endpoints_are_rejected_with_a_reason() {
        for (url, expected) in [
            ("", "empty"),
            ("https://x:1", "--tls-ca"),
            ("ftp://x:1", "scheme"),
            ("http://", "invalid endpoint"),
            ("http://:50051", "host"),
            ("http://a b:1", "invalid"),
        ] {
            let error = endpoint(url).unwrap_err();
            assert!(
                error
                    .to_string()
                    .to_lowercase()
                    .contains(&expected.to_lowercase()),
                "{url:?}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn connecting_to_a_closed_port_says_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let error = connect(&addr.to_string()).await.unwrap_err();
        assert!(matches!(error, ConnectError::Unreachable { .. }), "{error}");
        assert!(error.to_string().contains(&addr.to_string()));
    }
}
