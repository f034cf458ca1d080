//! The crate's error type.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a GAN run was declared diverged instead of training on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DivergenceReason {
    /// A loss became NaN or infinite; the update that would have used it was not applied.
    NonFiniteLoss {
        /// Which loss: `loss_d` or `loss_g`.
        loss: String,
        /// The offending value, as text (`NaN`, `inf`).
        value: String,
    },
    /// D's mean outputs stayed within `epsilon` of 0 or 1 for `iterations` iterations in a row.
    DiscriminatorPinned {
        /// Consecutive saturated iterations.
        iterations: u64,
        /// Mean D(x) at the last of them.
        d_real: f32,
        /// Mean D(G(z)) after the D update at the last of them.
        d_fake: f32,
    },
}

impl fmt::Display for DivergenceReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFiniteLoss { loss, value } => write!(f, "{loss} is {value}"),
            Self::DiscriminatorPinned {
                iterations,
                d_real,
                d_fake,
            } => write!(
                f,
                "discriminator pinned for {iterations} iterations (D(x)={d_real:.6}, D(G(z))={d_fake:.6})"
            ),
        }
    }
}

/// Errors of eyegan-nn.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A tensor operation failed inside Candle.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A device spec other than `cpu` or `cuda:N`.
    #[error("invalid device {spec:?}: {reason}")]
    InvalidDevice {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration field is out of range.
    #[error("invalid config field `{field}`: {reason}")]
    InvalidConfig {
        /// Dotted field name, e.g. `dcgan.image_size`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Input data (images, labels, ids) does not fit the model.
    #[error("invalid input `{what}`: {reason}")]
    InvalidInput {
        /// Which argument or element, e.g. `images[17]`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// GAN training diverged; the trainer refuses further iterations.
    #[error("training diverged at iteration {iteration}: {reason}")]
    Diverged {
        /// The iteration (1-based count of iterations attempted) at which it was detected.
        iteration: u64,
        /// Why.
        reason: DivergenceReason,
    },
    /// A checkpoint blob is malformed or does not match the model.
    #[error("invalid checkpoint {part}: {reason}")]
    Checkpoint {
        /// Which blob: `generator`, `discriminator`, `optimizer`, `weights` or `state_json`.
        part: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl NnError {
    /// Shorthand for [`NnError::InvalidConfig`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`NnError::InvalidInput`].
    pub fn input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`NnError::Checkpoint`].
    pub fn checkpoint(part: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Checkpoint {
            part: part.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of eyegan-nn.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
