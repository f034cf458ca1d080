//! The experiment's steps, each cached in the run folder by a content hash of its inputs.

mod cache;
mod classify;
mod context;
mod data;
mod gan;
pub mod gan_quality;
mod generate;
mod images;
pub mod inspect;
mod nearest;
mod pipeline;
pub mod records;

pub use cache::{content_hash, CacheError, StepCache, StepRecord};
pub use context::{StepContext, StepIdentity, STEP_KINDS};
pub use nearest::quantile;
pub use pipeline::{run_pipeline, RunResults};
