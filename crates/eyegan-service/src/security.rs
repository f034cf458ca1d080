//! [`Security`]: TLS, tokens and the in-flight limit of a server, and the TLS and token its
//! clients of other services use.
//!
//! A service binary loads them from its flags ([`crate::SecurityArgs`]) and
//! [`run_command`](crate::run_command) makes them the ambient settings of the service it runs
//! ([`with_security`]): [`serve`](crate::serve) and [`service_channel`](crate::service_channel)
//! read them there, so the services' own `run` functions need no security parameters. Outside
//! such a scope (tests, the orchestrator's embedded services on loopback) the defaults apply:
//! plaintext, no tokens, [`DEFAULT_MAX_CONCURRENT_REQUESTS`].

use std::future::Future;

use tonic::transport::{ClientTlsConfig, ServerTlsConfig};

use crate::auth::{AcceptedTokens, BearerToken};

/// Default limit of requests a server handles at once (streams count until they end).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;

/// Default largest gRPC message a server decodes (tonic's own default): bulk data travels in
/// chunks of at most 1 MiB, so every legitimate message fits.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Smallest accepted `--max-message-bytes`: one 1 MiB data chunk plus its envelope.
pub const MIN_MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// How a server protects itself.
#[derive(Debug, Clone)]
pub struct ServerSecurity {
    /// TLS (and, with a client CA, mutual TLS); `None` = plaintext.
    pub tls: Option<ServerTlsConfig>,
    /// Bearer tokens every call but health needs; none = auth off.
    pub tokens: AcceptedTokens,
    /// Requests handled at once; past it RESOURCE_EXHAUSTED (health checks are not counted).
    pub max_concurrent_requests: usize,
    /// Largest request message decoded; a larger one is answered RESOURCE_EXHAUSTED before it
    /// is buffered. Applied by each service's `into_server` through [`max_message_bytes`].
    pub max_message_bytes: usize,
}

impl Default for ServerSecurity {
    fn default() -> Self {
        Self {
            tls: None,
            tokens: AcceptedTokens::none(),
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// How a client reaches other services: TLS for `https://` endpoints and a bearer token.
#[derive(Debug, Clone, Default)]
pub struct ClientSecurity {
    /// Used for `https://` endpoints (CA, optional client identity).
    pub tls: Option<ClientTlsConfig>,
    /// Sent with every call when set.
    pub token: Option<BearerToken>,
}

/// The security settings of one service process.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// For its server.
    pub server: ServerSecurity,
    /// For its clients of other services.
    pub client: ClientSecurity,
}

tokio::task_local! {
    static AMBIENT: Security;
}

impl Security {
    /// The ambient settings (see the module docs); the defaults outside [`with_security`].
    pub fn current() -> Security {
        AMBIENT.try_with(Clone::clone).unwrap_or_default()
    }
}

/// Runs `future` with `security` as its ambient settings.
pub async fn with_security<F: Future>(security: Security, future: F) -> F::Output {
    AMBIENT.scope(security, future).await
}

/// The ambient server's largest decoded request message ([`ServerSecurity::max_message_bytes`]).
pub fn max_message_bytes() -> usize {
    Security::current().server.max_message_bytes
}
