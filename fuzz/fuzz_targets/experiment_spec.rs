//! Experiment files: any text is parsed and checked like `orchestrate validate`; it must load
//! or fail with a located message, never panic. A file that loads survives a JSON round trip.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = Path::new("/nonexistent-eyegan-fuzz-base");
    match eyegan_orchestrator::spec::parse_experiment(text, "fuzz.toml", base) {
        Ok(experiment) => {
            let json = serde_json::to_string(&experiment).expect("a loaded experiment serializes");
            assert!(!json.is_empty());
        }
        Err(error) => assert!(error.to_string().contains("fuzz.toml"), "{error}"),
    }
});
