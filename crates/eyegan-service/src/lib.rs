//! Shared plumbing of every EyeGAN service.
//!
//! # Entry-point convention
//! Each service crate is a library plus a thin binary. The library exposes
//!
//! ```ignore
//! pub async fn run(
//!     listener: tokio::net::TcpListener,
//!     store: eyegan_store::Store,
//!     config: XxxConfig,
//!     shutdown: impl Future<Output = ()> + Send + 'static,
//! ) -> Result<(), XxxError>
//! ```
//!
//! which builds its gRPC service, calls [`serve`] with a [`Readiness`] it sets ready once it
//! can answer (e.g. after resuming unfinished jobs), and returns after `shutdown` completes and
//! work has been checkpointed. Tests call `run` on `127.0.0.1:0` and a `memory://` or
//! `file://` store; binaries call it through [`run_command`] (see [`cli`]).
//!
//! # Pieces
//! - [`serve`], [`Services`], [`Readiness`]: health (NOT_SERVING until ready), reflection v1 and
//!   v1alpha, a span per request, graceful shutdown.
//! - [`ServiceError`]: the one error → gRPC code mapping, never leaking internals;
//!   [`validate_name`] for client names that become store keys.
//! - [`init_tracing`] / [`LogFormat`], [`shutdown_signal`].
//! - [`CommonArgs`], [`DatasetEndpointArgs`], [`HealthcheckArgs`], [`ServiceCommand`]: clap
//!   blocks with `EYEGAN_*` env twins; [`check_health`] for probes.
//! - [`connect`] / [`endpoint`]: clients of other services.
//! - [`Security`]: TLS (rustls, optional mutual TLS) and bearer tokens for servers and clients,
//!   from PEM and token files ([`ServerSecurityArgs`], [`ClientSecurityArgs`]);
//!   [`service_channel`] / [`ServiceChannel`] for calls that present a token.

mod access;
mod auth;
pub mod cli;
mod client;
mod config;
mod error;
mod healthcheck;
mod logging;
mod readiness;
mod request_span;
mod security;
mod security_args;
mod server;
mod service_channel;
mod shutdown;
mod tls;

pub use auth::{AcceptedTokens, BearerToken, MIN_TOKEN_CHARS};
pub use cli::{run_command, ServeArgs, ServeContext, ServiceCommand, ShutdownFuture};
pub use client::{connect, endpoint, endpoint_with, ConnectError, CONNECT_TIMEOUT};
pub use config::{
    default_listen, ports, CommonArgs, ConfigError, DatasetEndpointArgs, NoArgs, DEFAULT_STORE_URL,
};
pub use error::{oversized_message, validate_name, BoxError, ErrorChain, ServiceError};
pub use healthcheck::{check_health, parse_duration, HealthcheckArgs, HealthcheckError};
pub use logging::{init_tracing, LogFormat, TracingInitError};
pub use readiness::Readiness;
pub use security::{
    max_message_bytes, with_security, ClientSecurity, Security, ServerSecurity,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_MESSAGE_BYTES, MIN_MAX_MESSAGE_BYTES,
};
pub use security_args::{ClientSecurityArgs, ServerSecurityArgs};
pub use server::{
    serve, ServeError, Services, DEFAULT_GRACE_PERIOD, HEALTH_SERVICE, REFLECTION_SERVICES,
};
pub use service_channel::{service_channel, ServiceChannel};
pub use shutdown::shutdown_signal;
pub use tls::{ClientTlsFiles, SecurityError, ServerTlsFiles};
