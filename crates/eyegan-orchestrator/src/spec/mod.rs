//! The experiment file (`version = 1`): its model, loading with located errors, meaning checks
//! and a printable summary.

mod error;
mod load;
mod location;
mod model;
mod summary;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{Located, SpecError};
pub use load::{load_experiment, parse_experiment};
pub use model::*;
pub use summary::summary;
