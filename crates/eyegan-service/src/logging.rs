//! Tracing setup: `RUST_LOG` filter, text or JSON lines on stderr.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// Log line format, chosen with `--log-format` / `EYEGAN_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (with the current span and its parents).
    Json,
}

/// Why tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TracingInitError {
    /// `RUST_LOG` is set but is not a valid filter.
    #[error("invalid RUST_LOG {value:?}: {reason}")]
    InvalidFilter {
        /// The variable's value.
        value: String,
        /// The parser's message.
        reason: String,
    },
    /// A global subscriber is installed already.
    #[error("tracing is already initialised: {0}")]
    AlreadyInitialised(String),
}

/// Installs the global tracing subscriber: filter from `RUST_LOG` (default `info`), events on
/// stderr as text or JSON. Call once, at the start of a binary.
pub fn init_tracing(format: LogFormat) -> Result<(), TracingInitError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::try_new(&value).map_err(|error| TracingInitError::InvalidFilter {
                value,
                reason: error.to_string(),
            })?
        }
        _ => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|error| TracingInitError::AlreadyInitialised(error.to_string()))
}
