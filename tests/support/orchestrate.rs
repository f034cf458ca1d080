//! Running the `orchestrate` binary on experiment files derived from `examples/smoke.toml`, and
//! reading what a run leaves in its folder.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::workspace_root;

/// `examples/smoke.toml` with `changes` applied: each `(table, key, value)` sets `key` in
/// `[table]` (dotted for sub-tables, `""` = the top level) to `value`, written as TOML (`"40"`, `"\"none\""`); `extra`
/// is appended verbatim (e.g. a `[services]` section).
pub fn smoke_experiment(changes: &[(&str, &str, &str)], extra: &str) -> String {
    let path = workspace_root().join("examples/smoke.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut experiment: toml::Table = toml::from_str(&text).expect("smoke.toml parses");
    for (table, key, value) in changes {
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .unwrap_or_else(|e| panic!("{table}.{key} = {value}: {e}"))
            .remove("v")
            .expect("the value just parsed");
        let mut target = &mut experiment;
        for part in table.split('.').filter(|part| !part.is_empty()) {
            target = target
                .get_mut(part)
                .and_then(toml::Value::as_table_mut)
                .unwrap_or_else(|| panic!("smoke.toml has no [{table}]"));
        }
        target.insert((*key).to_owned(), value);
    }
    let mut text = toml::to_string(&experiment).expect("the experiment serialises");
    text.push('\n');
    text.push_str(extra);
    text
}

/// Writes `experiment` to `dir/<name>.toml` and returns its path.
pub fn write_experiment(dir: &Path, name: &str, experiment: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, experiment).expect("cannot write the experiment file");
    path
}

/// Starts `orchestrate run FILE --out RUN_DIR --json` (events on stdout, logs on stderr, both
/// into files in `run_dir`'s parent); the caller waits for it or kills it.
pub fn spawn_run(orchestrate: &Path, file: &Path, run_dir: &Path) -> Child {
    let parent = run_dir.parent().expect("the run folder has a parent");
    let name = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let log = |suffix: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(parent.join(format!("{name}.{suffix}")))
            .expect("cannot open the orchestrate log")
    };
    Command::new(orchestrate)
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(run_dir)
        .arg("--json")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(log("events.jsonl")))
        .stderr(Stdio::from(log("stderr.log")))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", orchestrate.display()))
}

/// Runs `orchestrate run FILE --out RUN_DIR` to its end and returns its output; panics with
/// its stderr when it fails.
pub async fn run_to_end(orchestrate: &Path, file: &Path, run_dir: &Path) -> Output {
    let output = Command::new(orchestrate)
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(run_dir)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", orchestrate.display()));
    assert!(
        output.status.success(),
        "orchestrate run {} failed ({}):\n{}",
        file.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The run's `report.json`.
pub fn read_report(run_dir: &Path) -> Value {
    read_json(&run_dir.join("report.json"))
}

/// A JSON file.
pub fn read_json(path: &Path) -> Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The structure of a JSON value: every object key and array element kept, every leaf replaced
/// by its type (numbers and nulls are both `"number"`: a metric may be undefined, e.g. NaN).
pub fn json_shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), json_shape(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json_shape).collect()),
        Value::String(_) => Value::from("string"),
        Value::Bool(_) => Value::from("bool"),
        Value::Number(_) | Value::Null => Value::from("number"),
    }
}
