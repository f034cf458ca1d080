//! The command line every service binary shares: `serve` and `healthcheck`. With it a binary's
//! `main` is a few lines:
//!
//! ```ignore
//! #[derive(clap::Parser)]
//! #[command(name = "eyegan-trainer", version, about = "EyeGAN GAN trainer service")]
//! struct Cli {
//!     #[command(subcommand)]
//!     command: ServiceCommand<TrainerArgs, { ports::TRAINER }>,
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     let cli = <Cli as clap::Parser>::parse();
//!     run_command(cli.command, |context, args| async move {
//!         eyegan_trainer::run(context.listener, context.store, args.into(), context.shutdown).await
//!     })
//!     .await
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use eyegan_store::Store;
use tokio::net::TcpListener;

use crate::config::CommonArgs;
use crate::error::ErrorChain;
use crate::healthcheck::HealthcheckArgs;
use crate::logging::init_tracing;
use crate::security::with_security;
use crate::shutdown::shutdown_signal;

/// A shutdown future that can be passed around and stored.
pub type ShutdownFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The subcommands of a service binary. `A` holds the service's own flags (use
/// [`NoArgs`](crate::NoArgs) when it has none); `PORT` is its default port.
#[derive(Debug, clap::Subcommand)]
pub enum ServiceCommand<A: clap::Args, const PORT: u16> {
    /// Run the service until SIGINT or SIGTERM.
    Serve(ServeArgs<A, PORT>),
    /// Exit 0 when the service at --endpoint reports SERVING, non-zero otherwise.
    Healthcheck(HealthcheckArgs<PORT>),
}

/// Flags of `serve`: the common block plus the service's own.
#[derive(Debug, clap::Args)]
pub struct ServeArgs<A: clap::Args, const PORT: u16> {
    /// Listen address, store, log format.
    #[command(flatten)]
    pub common: CommonArgs<PORT>,
    /// The service's own flags.
    #[command(flatten)]
    pub service: A,
}

/// What `serve` hands the service: a bound listener, the opened store, and the shutdown signal
/// (SIGINT or SIGTERM).
pub struct ServeContext {
    /// Bound to `--listen`.
    pub listener: TcpListener,
    /// Opened from `--store`.
    pub store: Store,
    /// Completes on SIGINT or SIGTERM.
    pub shutdown: ShutdownFuture,
    /// Whether every call but health needs a token (`--auth-tokens`, `--auth-tokens-file`).
    pub access_control: bool,
}

impl std::fmt::Debug for ServeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeContext")
            .field("listener", &self.listener.local_addr().ok())
            .field("store", &self.store)
            .field("access_control", &self.access_control)
            .finish_non_exhaustive()
    }
}

/// Runs a parsed [`ServiceCommand`] and returns the process exit code.
///
/// `serve`: initialises tracing from `--log-format`/`RUST_LOG`, binds `--listen`, opens
/// `--store`, then calls `serve_fn` with them, the service flags and the shutdown signal; any
/// error is logged and gives exit code 1. `healthcheck`: prints `SERVING` and exits 0, or prints
/// why not to stderr and exits 1.
pub async fn run_command<A, const PORT: u16, F, Fut, E>(
    command: ServiceCommand<A, PORT>,
    serve_fn: F,
) -> ExitCode
where
    A: clap::Args,
    F: FnOnce(ServeContext, A) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + 'static,
{
    match command {
        ServiceCommand::Healthcheck(args) => match args.run().await {
            Ok(()) => {
                report(&mut std::io::stdout(), "SERVING");
                ExitCode::SUCCESS
            }
            Err(error) => {
                report(
                    &mut std::io::stderr(),
                    &format!("unhealthy: {}", ErrorChain(&error)),
                );
                ExitCode::FAILURE
            }
        },
        ServiceCommand::Serve(args) => {
            if let Err(error) = init_tracing(args.common.log_format) {
                report(&mut std::io::stderr(), &format!("error: {error}"));
                return ExitCode::FAILURE;
            }
            match serve_command(args, serve_fn).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(error = %ErrorChain(error.as_ref()), "service failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve_command<A, const PORT: u16, F, Fut, E>(
    args: ServeArgs<A, PORT>,
    serve_fn: F,
) -> Result<(), Box<dyn std::error::Error>>
where
    A: clap::Args,
    F: FnOnce(ServeContext, A) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::error::Error + 'static,
{
    let security = args.common.load_security()?;
    let store = args.common.open_store()?;
    let listener = args.common.bind().await?;
    let listen = args.common.listen;
    tracing::info!(
        %listen,
        store = %store.url(),
        tls = security.server.tls.is_some(),
        auth = security.server.tokens.is_enabled(),
        "starting"
    );
    if !listen.ip().is_loopback()
        && (security.server.tls.is_none() || !security.server.tokens.is_enabled())
    {
        tracing::warn!(
            %listen,
            "listening beyond loopback without both TLS and tokens: anyone who can reach this port can read and change its data (see --tls-cert, --auth-tokens-file)"
        );
    }
    let context = ServeContext {
        listener,
        store,
        shutdown: Box::pin(shutdown_signal()),
        access_control: security.server.tokens.is_enabled(),
    };
    with_security(security, serve_fn(context, args.service)).await?;
    Ok(())
}

/// Writes one line of CLI output (the product of the `healthcheck` command, not logging).
fn report(out: &mut dyn std::io::Write, line: &str) {
    let _ = writeln!(out, "{line}");
}
