//! What the deployment files (docker-compose.yml, deploy/docker-compose.gpu.yml, deploy/k8s)
//! may use, read off the real binaries: the flags and `EYEGAN_*` variables each subcommand's
//! `--help` lists, its default port, the AWS_* variables object_store's S3 builder reads, and
//! which image runs which binary (the compose files' build arguments).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use regex::Regex;
use serde_yaml_ng::Value;

use crate::seaweedfs::{announce_skip, weed_binary};
use crate::{workspace_root, Binaries};

/// The compose files whose `build.args.BIN` say which binary each image holds.
pub const COMPOSE_FILES: [&str; 2] = ["docker-compose.yml", "deploy/docker-compose.gpu.yml"];

/// What one subcommand of a binary accepts, from its `--help`.
#[derive(Debug, Clone, Default)]
pub struct Cli {
    /// Long flags without the dashes (`listen`, `dataset-endpoint`).
    pub flags: BTreeSet<String>,
    /// Environment variables (`EYEGAN_LISTEN`).
    pub env: BTreeSet<String>,
    /// The help text, for messages.
    pub help: String,
}

impl Cli {
    /// Runs `binary <subcommand> --help`; panics when it fails.
    pub fn read(binary: &Path, subcommand: &str) -> Self {
        let output = Command::new(binary)
            .args([subcommand, "--help"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let help = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{} {subcommand} --help failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let flag = Regex::new(r"(?m)^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)").unwrap();
        let env = Regex::new(r"\[env: ([A-Z0-9_]+)=").unwrap();
        Self {
            flags: flag.captures_iter(&help).map(|c| c[1].to_owned()).collect(),
            env: env.captures_iter(&help).map(|c| c[1].to_owned()).collect(),
            help,
        }
    }

    /// The port of the `--listen` default (`[default: 127.0.0.1:50052]`), if any.
    pub fn default_listen_port(&self) -> Option<u16> {
        let default = Regex::new(r"\[default: 127\.0\.0\.1:(\d+)\]").unwrap();
        default.captures(&self.help).and_then(|c| c[1].parse().ok())
    }
}

/// Whether object_store's `AmazonS3Builder::from_env` reads `name` (it takes every `AWS_*`
/// variable whose lower-case name is one of its config keys).
pub fn is_s3_env(name: &str) -> bool {
    name.starts_with("AWS_")
        && object_store::aws::AmazonS3ConfigKey::from_str(&name.to_ascii_lowercase()).is_ok()
}

/// Variables that are no binary's flag but read by every EyeGAN binary's logging.
pub const LOGGING_ENV: [&str; 1] = ["RUST_LOG"];

/// The variables SeaweedFS's `weed server` reads for its S3 admin identity.
pub const WEED_ENV: [&str; 2] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

/// A YAML file's documents; panics naming the file when it does not parse.
pub fn yaml_documents(path: &Path) -> Vec<Value> {
    use serde::Deserialize;
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
        })
        .filter(|document| !document.is_null())
        .collect()
}

/// Image → binary it runs, from the compose files' `build.args.BIN` (e.g. `eyegan/trainer:gpu` →
/// `eyegan-trainer`, `eyegan/seaweedfs:latest` → `weed`): the images build-images.sh builds.
pub fn image_binaries() -> BTreeMap<String, String> {
    let mut images = BTreeMap::new();
    for file in COMPOSE_FILES {
        let path = workspace_root().join(file);
        for document in yaml_documents(&path) {
            let Some(services) = document["services"].as_mapping() else {
                continue;
            };
            for (name, service) in services {
                let image = service["image"].as_str();
                let binary = service["build"]["args"]["BIN"].as_str();
                let (Some(image), Some(binary)) = (image, binary) else {
                    panic!("{file}: service {name:?} needs image and build.args.BIN");
                };
                images.insert(image.to_owned(), binary.to_owned());
            }
        }
    }
    images
}

/// Paths of the EyeGAN binaries by installed name (`eyegan-trainer`, `orchestrate`).
pub fn binary_paths(binaries: &Binaries) -> BTreeMap<&'static str, PathBuf> {
    BTreeMap::from([
        ("eyegan-dataset", binaries.dataset.clone()),
        ("eyegan-trainer", binaries.trainer.clone()),
        ("eyegan-generator", binaries.generator.clone()),
        ("eyegan-classifier", binaries.classifier.clone()),
        ("orchestrate", binaries.orchestrate.clone()),
    ])
}

/// The flags of a `weed server` command line (`-s3.port=8333` → `s3.port`) that `weed server
/// -h` does not list.
pub fn unknown_weed_flags(weed: &Path, args: &[String]) -> Vec<String> {
    let output = Command::new(weed)
        .args(["server", "-h"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", weed.display()));
    let help = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let flag = Regex::new(r"(?m)^\s+-([A-Za-z0-9.]+)").unwrap();
    let known: BTreeSet<String> = flag.captures_iter(&help).map(|c| c[1].to_owned()).collect();
    args.iter()
        .filter_map(|arg| arg.strip_prefix('-'))
        .map(|arg| arg.split('=').next().unwrap_or(arg).to_owned())
        .filter(|name| !known.contains(name))
        .collect()
}

/// `--flag` words of a command line (`--out`, `--endpoint=x` → `out`, `endpoint`).
pub fn long_flags(words: &[String]) -> Vec<String> {
    words
        .iter()
        .filter_map(|word| word.strip_prefix("--"))
        .map(|flag| flag.split('=').next().unwrap_or(flag).to_owned())
        .collect()
}

/// The port of a `host:port` or `scheme://host:port` address.
pub fn port_of(address: &str) -> Option<u16> {
    address
        .rsplit(':')
        .next()?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// The services whose pods must request a GPU.
pub const GPU_BINARIES: [&str; 3] = ["eyegan-trainer", "eyegan-generator", "eyegan-classifier"];

/// A YAML sequence as strings (numbers and other scalars as YAML writes them).
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    other => serde_yaml_ng::to_string(other).unwrap().trim().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The endpoints (URLs) of a `[services]` section.
pub fn service_endpoints(services_toml: &str) -> Vec<String> {
    let table: toml::Table = toml::from_str(services_toml).expect("the [services] section parses");
    let services = &table["services"];
    let mut urls: Vec<String> = ["dataset", "generator", "classifier"]
        .iter()
        .filter_map(|key| services.get(key).and_then(toml::Value::as_str))
        .map(str::to_owned)
        .collect();
    if let Some(trainers) = services.get("trainers").and_then(toml::Value::as_array) {
        urls.extend(
            trainers
                .iter()
                .filter_map(toml::Value::as_str)
                .map(str::to_owned),
        );
    }
    urls
}

/// `http://host:port` → (host, port).
pub fn host_and_port(url: &str) -> (String, Option<u16>) {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host = rest.split([':', '/']).next().unwrap_or(rest).to_owned();
    (host, port_of(url))
}

/// Checks programs of a deployment file against the binaries and collects every problem.
#[derive(Debug)]
pub struct Checker {
    paths: BTreeMap<&'static str, PathBuf>,
    /// Image → binary (see [`image_binaries`]).
    pub images: BTreeMap<String, String>,
    problems: Vec<String>,
}

impl Checker {
    /// A checker for `binaries`.
    pub fn new(binaries: &Binaries) -> Self {
        Self {
            paths: binary_paths(binaries),
            images: image_binaries(),
            problems: Vec::new(),
        }
    }

    /// Records a problem when `ok` is false.
    pub fn expect(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.problems.push(problem());
        }
    }

    /// The binary `image` runs; a problem when no compose file builds it.
    pub fn binary_of(&mut self, context: &str, image: &str) -> Option<String> {
        let binary = self.images.get(image).cloned();
        self.expect(binary.is_some(), || {
            format!("{context}: image {image} is not built by build-images.sh ({COMPOSE_FILES:?})")
        });
        binary
    }

    /// Checks a program's command line (`[serve]`, `[server, -s3, ...]` for weed, or `[bash, -c,
    /// SCRIPT]` that runs the binary) and the environment variables it gets; returns the
    /// subcommand's [`Cli`] (none for weed).
    pub fn program(
        &mut self,
        context: &str,
        binary: &str,
        words: &[String],
        env: &BTreeSet<String>,
    ) -> Option<Cli> {
        if binary == "weed" {
            self.weed(context, words, env);
            return None;
        }
        let Some(path) = self.paths.get(binary).cloned() else {
            self.problems
                .push(format!("{context}: unknown binary {binary}"));
            return None;
        };
        let script = shell_script(words).unwrap_or_default().to_owned();
        let (subcommand, words) = subcommand_and_words(binary, words);
        let cli = Cli::read(&path, &subcommand);
        for flag in long_flags(&words) {
            self.expect(cli.flags.contains(&flag), || {
                format!("{context}: `{binary} {subcommand}` has no --{flag}")
            });
        }
        for name in env {
            let known = cli.env.contains(name)
                || LOGGING_ENV.contains(&name.as_str())
                || script.contains(&format!("${{{name}}}"));
            self.expect(known || is_s3_env(name), || {
                format!("{context}: `{binary} {subcommand}` reads no {name}")
            });
        }
        Some(cli)
    }

    fn weed(&mut self, context: &str, words: &[String], env: &BTreeSet<String>) {
        match weed_binary() {
            Some(weed) => {
                let unknown = unknown_weed_flags(&weed, words.get(1..).unwrap_or_default());
                let server = words.first().map(String::as_str) == Some("server");
                self.expect(server && unknown.is_empty(), || {
                    format!("{context}: weed {words:?}: not `server`, or unknown flags {unknown:?}")
                });
            }
            None => announce_skip(context, "no `weed` to check the SeaweedFS flags against"),
        }
        for name in env {
            self.expect(WEED_ENV.contains(&name.as_str()), || {
                format!("{context}: weed does not read {name}")
            });
        }
    }

    /// Checks a health check command `[binary, healthcheck, --endpoint, URL, ...]` of a service
    /// listening on `port`.
    pub fn healthcheck(&mut self, context: &str, binary: &str, command: &[String], port: u16) {
        let is_healthcheck = command.first().map(String::as_str) == Some(binary)
            && command.get(1).map(String::as_str) == Some("healthcheck");
        self.expect(is_healthcheck, || {
            format!("{context}: health check {command:?} is not `{binary} healthcheck`")
        });
        if !is_healthcheck {
            return;
        }
        self.program(context, binary, &command[1..], &BTreeSet::new());
        let endpoint = command.iter().skip_while(|w| *w != "--endpoint").nth(1);
        self.expect(endpoint.and_then(|url| port_of(url)) == Some(port), || {
            format!("{context}: health check endpoint {endpoint:?} is not port {port}")
        });
    }

    /// Checks that `examples/smoke.toml` plus `services_toml` passes `orchestrate validate`.
    pub fn validate_with_smoke(&mut self, context: &str, services_toml: &str) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let smoke = std::fs::read_to_string(workspace_root().join("examples/smoke.toml"))
            .expect("examples/smoke.toml");
        let file = dir.path().join("experiment.toml");
        std::fs::write(&file, format!("{smoke}\n{services_toml}")).expect("writable");
        let output = Command::new(&self.paths["orchestrate"])
            .arg("validate")
            .arg(&file)
            .output()
            .expect("cannot run orchestrate validate");
        self.expect(output.status.success(), || {
            format!(
                "{context}: smoke.toml + this [services] does not validate: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
    }

    /// Panics listing every problem found.
    pub fn finish(self) {
        assert!(
            self.problems.is_empty(),
            "{} problem(s):\n{}",
            self.problems.len(),
            self.problems.join("\n")
        );
    }
}

/// The subcommand and the words after it: `[serve, ...]` as is; a `[bash, -c, SCRIPT]` whose
/// script runs `binary SUBCOMMAND ...` gives the words after `binary`.
fn subcommand_and_words(binary: &str, words: &[String]) -> (String, Vec<String>) {
    let words: Vec<String> = if let Some(script) = shell_script(words) {
        let script_words: Vec<String> = script.split_whitespace().map(str::to_owned).collect();
        match script_words.iter().position(|w| w == binary) {
            Some(start) => script_words[start + 1..].to_vec(),
            None => panic!("the shell script does not run {binary}: {script}"),
        }
    } else {
        words.to_vec()
    };
    let subcommand = words.first().cloned().unwrap_or_else(|| "serve".to_owned());
    (subcommand, words)
}

/// The script of a `[bash, -c, SCRIPT, ...]` command line.
fn shell_script(words: &[String]) -> Option<&str> {
    if words.first().is_some_and(|w| w == "bash") {
        words
            .iter()
            .skip_while(|w| *w != "-c")
            .nth(1)
            .map(String::as_str)
    } else {
        None
    }
}
