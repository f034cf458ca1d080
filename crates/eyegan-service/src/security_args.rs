//! The security flags of every service binary (with `EYEGAN_*` twins) and their loading into
//! [`ServerSecurity`] / [`ClientSecurity`].

use std::path::PathBuf;

use crate::auth::{AcceptedTokens, BearerToken};
use crate::security::{
    ClientSecurity, ServerSecurity, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_MESSAGE_BYTES,
    MIN_MAX_MESSAGE_BYTES,
};
use crate::tls::{ClientTlsFiles, SecurityError, ServerTlsFiles};

/// How the server protects itself: TLS, mutual TLS, bearer tokens, in-flight limit.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerSecurityArgs {
    /// PEM certificate chain of this server: serve TLS (needs --tls-key).
    #[arg(long, env = "EYEGAN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "EYEGAN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificate: clients must present a certificate it signed (mutual TLS).
    #[arg(long, env = "EYEGAN_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// File of accepted bearer tokens, one per line (`#` comments): every call but health then
    /// needs `authorization: Bearer <token>`.
    #[arg(long, env = "EYEGAN_AUTH_TOKENS_FILE")]
    pub auth_tokens_file: Option<PathBuf>,

    /// Accepted bearer tokens, comma-separated (prefer the file or the environment variable:
    /// flags show in process lists).
    #[arg(long, env = "EYEGAN_AUTH_TOKENS", hide_env_values = true)]
    pub auth_tokens: Option<String>,

    /// Requests handled at once (a stream counts until it ends); past it RESOURCE_EXHAUSTED.
    #[arg(long, env = "EYEGAN_MAX_CONCURRENT_REQUESTS", default_value_t = DEFAULT_MAX_CONCURRENT_REQUESTS, value_parser = parse_positive)]
    pub max_concurrent_requests: usize,

    /// Largest request message decoded, in bytes (at least 2 MiB); past it RESOURCE_EXHAUSTED.
    #[arg(long, env = "EYEGAN_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES, value_parser = parse_message_limit)]
    pub max_message_bytes: usize,
}

impl ServerSecurityArgs {
    /// Reads the PEM and token files; errors name the file (and line) or variable.
    pub fn load(&self) -> Result<ServerSecurity, SecurityError> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(
                ServerTlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: self.tls_client_ca.clone(),
                }
                .load()?,
            ),
            (None, None) if self.tls_client_ca.is_some() => {
                return Err(SecurityError::Incomplete {
                    given: "--tls-client-ca",
                    missing: "--tls-cert and --tls-key",
                })
            }
            (Some(_), None) => {
                return Err(SecurityError::Incomplete {
                    given: "--tls-cert",
                    missing: "--tls-key",
                })
            }
            (None, Some(_)) => {
                return Err(SecurityError::Incomplete {
                    given: "--tls-key",
                    missing: "--tls-cert",
                })
            }
            (None, None) => None,
        };
        let mut tokens = AcceptedTokens::none();
        if let Some(path) = &self.auth_tokens_file {
            tokens.add_file(path)?;
        }
        if let Some(list) = &self.auth_tokens {
            tokens.add_list(list, "--auth-tokens / EYEGAN_AUTH_TOKENS")?;
        }
        Ok(ServerSecurity {
            tls,
            tokens,
            max_concurrent_requests: self.max_concurrent_requests,
            max_message_bytes: self.max_message_bytes,
        })
    }
}

/// How this process reaches other services: the CA for `https://` endpoints, a client
/// certificate for servers that demand one, and the bearer token to present.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientSecurityArgs {
    /// PEM CA certificate that signed the certificates of the services this one calls
    /// (needed for https:// endpoints).
    #[arg(long, env = "EYEGAN_TLS_CA")]
    pub tls_ca: Option<PathBuf>,

    /// PEM client certificate presented to services that require mutual TLS.
    #[arg(long, env = "EYEGAN_TLS_CLIENT_CERT", requires = "tls_client_key")]
    pub tls_client_cert: Option<PathBuf>,

    /// PEM private key of --tls-client-cert.
    #[arg(long, env = "EYEGAN_TLS_CLIENT_KEY", requires = "tls_client_cert")]
    pub tls_client_key: Option<PathBuf>,

    /// File whose first line is the bearer token sent to the services this one calls.
    #[arg(long, env = "EYEGAN_TOKEN_FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,

    /// The bearer token sent to the services this one calls (prefer the file or the
    /// environment variable: flags show in process lists).
    #[arg(long, env = "EYEGAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl ClientSecurityArgs {
    /// Reads the PEM and token files; errors name the file or variable.
    pub fn load(&self) -> Result<ClientSecurity, SecurityError> {
        let files = ClientTlsFiles {
            ca: self.tls_ca.clone(),
            cert: self.tls_client_cert.clone(),
            key: self.tls_client_key.clone(),
        };
        let token = match (&self.token_file, &self.token) {
            (Some(path), _) => Some(BearerToken::from_file(path)?),
            (None, Some(token)) => Some(BearerToken::new(token, "--token / EYEGAN_TOKEN")?),
            (None, None) => None,
        };
        ClientSecurity::load(&files, token)
    }
}

impl ClientSecurity {
    /// TLS from `files` (none when no file is set) and `token`.
    pub fn load(files: &ClientTlsFiles, token: Option<BearerToken>) -> Result<Self, SecurityError> {
        let tls = if files.is_empty() {
            None
        } else {
            Some(files.load()?)
        };
        Ok(Self { tls, token })
    }
}

/// Parses a whole number of at least 1.
fn parse_message_limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(value) if value >= MIN_MAX_MESSAGE_BYTES => Ok(value),
        _ => Err(format!(
            "{text:?} is not a byte count of at least {MIN_MAX_MESSAGE_BYTES} (bulk data travels in 1 MiB chunks)"
        )),
    }
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(value) if value >= 1 => Ok(value),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}
