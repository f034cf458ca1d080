//! clap flag blocks shared by the service binaries (influxdb3 style): every flag has an
//! `EYEGAN_…` environment twin so compose and Kubernetes configure by env.

use std::net::{Ipv4Addr, SocketAddr};

use eyegan_store::{Store, StoreError};
use tokio::net::TcpListener;

use crate::logging::LogFormat;
use crate::security::Security;
use crate::security_args::{ClientSecurityArgs, ServerSecurityArgs};
use crate::tls::SecurityError;

/// Default ports, one per service.
pub mod ports {
    /// The dataset service.
    pub const DATASET: u16 = 50051;
    /// The GAN trainer service.
    pub const TRAINER: u16 = 50052;
    /// The synthetic image generator service.
    pub const GENERATOR: u16 = 50053;
    /// The GMD classifier service.
    pub const CLASSIFIER: u16 = 50054;
}

/// The default `--store`: a directory `eyegan-data` in the working directory.
pub const DEFAULT_STORE_URL: &str = "file://./eyegan-data";

/// `127.0.0.1:<port>`: services bind loopback unless told otherwise.
pub fn default_listen(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Flags every service has. `PORT` is the service's default port (see [`ports`]).
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs<const PORT: u16> {
    /// Address to listen on; loopback by default, `0.0.0.0:<port>` to accept remote clients.
    #[arg(long, env = "EYEGAN_LISTEN", default_value_t = default_listen(PORT))]
    pub listen: SocketAddr,

    /// Object store URL: `file:///abs/dir`, `file://rel/dir`, a plain directory path,
    /// `memory://` (lost on exit) or `s3://bucket/prefix` (needs the `s3` build feature; AWS_*
    /// variables give endpoint and credentials).
    #[arg(long, env = "EYEGAN_STORE", default_value = DEFAULT_STORE_URL)]
    pub store: String,

    /// Log format on stderr; the level comes from RUST_LOG (default `info`).
    #[arg(long, env = "EYEGAN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// TLS, tokens and limits of this server.
    #[command(flatten)]
    pub security: ServerSecurityArgs,

    /// TLS and token for calls to other services.
    #[command(flatten)]
    pub client: ClientSecurityArgs,
}

/// Why the common flags could not be turned into a listener and a store.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--listen` could not be bound.
    #[error("cannot listen on {addr} (--listen / EYEGAN_LISTEN): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `--store` could not be opened.
    #[error("cannot open the store (--store / EYEGAN_STORE): {0}")]
    Store(#[from] StoreError),
    /// A TLS or token setting could not be loaded.
    #[error("bad security settings: {0}")]
    Security(#[from] SecurityError),
}

impl<const PORT: u16> CommonArgs<PORT> {
    /// Binds `--listen`.
    pub async fn bind(&self) -> Result<TcpListener, ConfigError> {
        TcpListener::bind(self.listen)
            .await
            .map_err(|source| ConfigError::Bind {
                addr: self.listen,
                source,
            })
    }

    /// Loads the TLS, token and limit settings of the server and of its clients.
    pub fn load_security(&self) -> Result<Security, ConfigError> {
        Ok(Security {
            server: self.security.load()?,
            client: self.client.load()?,
        })
    }

    /// Opens `--store`.
    pub fn open_store(&self) -> Result<Store, ConfigError> {
        Ok(Store::open(&self.store)?)
    }
}

/// The flag of services that call the dataset service.
#[derive(Debug, Clone, clap::Args)]
pub struct DatasetEndpointArgs {
    /// URL of the dataset service.
    #[arg(long, env = "EYEGAN_DATASET_ENDPOINT", default_value_t = format!("http://{}", default_listen(ports::DATASET)))]
    pub dataset_endpoint: String,
}

/// For services without flags of their own.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct NoArgs {}
