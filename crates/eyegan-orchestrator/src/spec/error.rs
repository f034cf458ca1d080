//! Errors of loading an experiment file: each names the file, the line and the key.

use std::fmt;

/// Why an experiment file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{file}: cannot read the experiment file: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, has a wrong type or an unknown key, or a value is not
    /// acceptable.
    #[error("{0}")]
    Invalid(Located),
}

/// A message tied to a place in the experiment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file, as given.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The key, e.g. `[dataset.folder].path`; empty when the error is not tied to one.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.message)
    }
}

impl SpecError {
    /// The located message, for tests and callers that want the parts.
    pub fn located(&self) -> Option<&Located> {
        match self {
            SpecError::Read { .. } => None,
            SpecError::Invalid(located) => Some(located),
        }
    }
}
