//! Statistics for comparing experiment arms: t intervals over seeds, McNemar's test and a
//! paired bootstrap on the same test images.

pub mod bootstrap;
pub mod chi_squared;
pub mod interval;
pub mod mcnemar;
pub mod paired;
mod special;
pub mod student_t;

pub use bootstrap::{paired_bootstrap_accuracy_difference, BootstrapInterval};
pub use chi_squared::chi_squared_survival;
pub use interval::{mean_confidence_interval, MeanInterval};
pub use mcnemar::{
    mcnemar, mcnemar_from_counts, McNemarMethod, McNemarResult, MCNEMAR_EXACT_BELOW,
};
pub use paired::{paired_correctness, PairedCorrectness};
pub use student_t::{student_t_quantile, student_t_upper_tail};
