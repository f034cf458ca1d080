//! The experiment files shipped in `examples/`, embedded so `orchestrate run` works from any
//! folder.

/// An embedded example experiment.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Its name (`--example NAME`).
    pub name: &'static str,
    /// Its TOML text.
    pub text: &'static str,
}

/// Every embedded example.
pub const EXAMPLES: [Example; 4] = [
    Example {
        name: "smoke",
        text: include_str!("../../../examples/smoke.toml"),
    },
    Example {
        name: "demo",
        text: include_str!("../../../examples/demo.toml"),
    },
    Example {
        name: "paper",
        text: include_str!("../../../examples/paper.toml"),
    },
    Example {
        name: "own-folder",
        text: include_str!("../../../examples/own-folder.toml"),
    },
];

/// The example `orchestrate run` uses without a file.
pub const DEFAULT_EXAMPLE: &str = "smoke";

/// The embedded example called `name`.
pub fn example(name: &str) -> Option<Example> {
    EXAMPLES
        .iter()
        .copied()
        .find(|example| example.name == name)
}
