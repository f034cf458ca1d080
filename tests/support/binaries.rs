//! Where the real binaries are.
//!
//! This package compiles the binaries' own `main.rs` files as its `[[bin]]` targets (see
//! `tests/Cargo.toml`), so `cargo test` builds them with the tests, in the same profile and with
//! the same features, and passes their paths as `CARGO_BIN_EXE_<name>`. Those variables exist
//! only while a test crate compiles, hence the [`binaries!`](crate::binaries) macro. Set
//! `EYEGAN_E2E_BIN_DIR` to a folder of prebuilt binaries (`eyegan-dataset`, `eyegan-trainer`,
//! `eyegan-generator`, `eyegan-classifier`, `orchestrate`) to test those instead.

use std::path::{Path, PathBuf};

/// Environment variable naming a folder of prebuilt binaries.
pub const BIN_DIR_ENV: &str = "EYEGAN_E2E_BIN_DIR";

/// The paths of the four service binaries and `orchestrate`.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `eyegan-dataset`.
    pub dataset: PathBuf,
    /// `eyegan-trainer`.
    pub trainer: PathBuf,
    /// `eyegan-generator`.
    pub generator: PathBuf,
    /// `eyegan-classifier`.
    pub classifier: PathBuf,
    /// `orchestrate`.
    pub orchestrate: PathBuf,
}

/// The binaries built with the calling test crate (or the `EYEGAN_E2E_BIN_DIR` override).
#[macro_export]
macro_rules! binaries {
    () => {
        $crate::Binaries::resolve([
            env!("CARGO_BIN_EXE_e2e-eyegan-dataset"),
            env!("CARGO_BIN_EXE_e2e-eyegan-trainer"),
            env!("CARGO_BIN_EXE_e2e-eyegan-generator"),
            env!("CARGO_BIN_EXE_e2e-eyegan-classifier"),
            env!("CARGO_BIN_EXE_e2e-orchestrate"),
        ])
    };
}

/// Installed names, in the order of [`Binaries::resolve`]'s argument.
const INSTALLED_NAMES: [&str; 5] = [
    "eyegan-dataset",
    "eyegan-trainer",
    "eyegan-generator",
    "eyegan-classifier",
    "orchestrate",
];

impl Binaries {
    /// The binaries cargo built (dataset, trainer, generator, classifier, orchestrate), or
    /// their installed names in `EYEGAN_E2E_BIN_DIR` when it is set; panics when one is missing.
    pub fn resolve(built: [&str; 5]) -> Self {
        let override_dir = std::env::var_os(BIN_DIR_ENV).map(PathBuf::from);
        let paths: Vec<PathBuf> = built
            .iter()
            .zip(INSTALLED_NAMES)
            .map(|(built, installed)| match &override_dir {
                Some(dir) => dir.join(format!("{installed}{}", std::env::consts::EXE_SUFFIX)),
                None => Path::new(built).to_path_buf(),
            })
            .inspect(|path| assert!(path.is_file(), "binary {} does not exist", path.display()))
            .collect();
        let [dataset, trainer, generator, classifier, orchestrate] =
            <[PathBuf; 5]>::try_from(paths).expect("five binaries");
        Self {
            dataset,
            trainer,
            generator,
            classifier,
            orchestrate,
        }
    }
}
