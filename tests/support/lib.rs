//! Support code of the end-to-end tests: the real binaries (built by cargo as targets of this
//! package, see [`binaries!`]), service processes on free ports that can be killed and
//! restarted on the same port and store ([`ServiceProcess`], [`ServiceSet`]), `orchestrate`
//! runs ([`orchestrate`]), and a store audit that verifies every blob, dataset version and
//! checkpoint by hash ([`store_audit`]).
//!
//! Helpers panic with a message that says what failed: they are only used by tests.

mod binaries;
pub mod deploy_config;
pub mod job_records;
pub mod orchestrate;
mod process;
pub mod seaweedfs;
mod service_set;
pub mod store_audit;

pub use binaries::{Binaries, BIN_DIR_ENV};
pub use process::{free_port, ServiceProcess};
pub use service_set::ServiceSet;

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this package's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e package lives in <workspace>/tests")
        .to_path_buf()
}
