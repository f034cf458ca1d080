//! Support code of the end-to-end tests: find (and build) the real service binaries, run them as
//! child processes on free ports, wait for them with their own `healthcheck` subcommand, and
//! stop them with SIGTERM.
//!
//! # How binaries are found
//! [`cargo_bin`] runs `cargo build -p <package> --bin <name>` into the SAME target directory and
//! profile as the running test executable (derived from `std::env::current_exe()`:
//! `<target>/<profile>/deps/<test>`), which is a quick no-op when the binary is up to date, and
//! returns `<target>/<profile>/<name>`. Set `EYEGAN_E2E_BIN_DIR` to a folder of prebuilt binaries
//! to skip the build (e.g. in a container image).
//!
//! Helpers panic with a message that says what failed: they are only used by tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Environment variable naming a folder of prebuilt binaries.
pub const BIN_DIR_ENV: &str = "EYEGAN_E2E_BIN_DIR";

/// The workspace root (the parent of this package's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e package lives in <workspace>/tests")
        .to_path_buf()
}

/// The path of binary `name` of workspace package `package`, built if needed (see the module
/// docs). Builds at most once per test process and binary.
pub fn cargo_bin(package: &str, name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let file_name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let path = match std::env::var_os(BIN_DIR_ENV) {
        Some(dir) => PathBuf::from(dir).join(&file_name),
        None => build_next_to_test(package, name, &file_name),
    };
    assert!(path.is_file(), "binary {} does not exist", path.display());
    built.insert(name.to_owned(), path.clone());
    path
}

fn build_next_to_test(package: &str, name: &str, file_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    // <target>/<profile>/deps/<test-exe>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in <target>/<profile>/deps");
    let target_dir = profile_dir
        .parent()
        .expect("the profile folder lives in the target folder");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("the profile folder has a UTF-8 name");
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned());
    let mut command = std::process::Command::new(&cargo);
    command
        .arg("build")
        .arg("--quiet")
        .args(["-p", package, "--bin", name])
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cargo} to build {name}: {e}"));
    assert!(
        status.success(),
        "building {name} with cargo failed: {status}"
    );
    profile_dir.join(file_name)
}

/// A free TCP port on 127.0.0.1 (bound and released; a later bind may race with another
/// process, which [`ServiceProcess::start`] detects as an early exit).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("cannot find a free port")
}

/// A service binary running as a child process (killed when dropped).
#[derive(Debug)]
pub struct ServiceProcess {
    binary: PathBuf,
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `binary serve --listen 127.0.0.1:<free port> <extra args>` with its log in
    /// `log_dir`, and waits until its own `healthcheck` subcommand exits 0.
    pub async fn start(binary: &Path, extra_args: &[&str], log_dir: &Path) -> Self {
        let port = free_port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let log = log_dir.join(format!("service-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("cannot create the service log");
        let child = Command::new(binary)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra_args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut process = Self {
            binary: binary.to_path_buf(),
            child,
            endpoint,
            log,
        };
        process.wait_healthy(Duration::from_secs(30)).await;
        process
    }

    /// Runs `binary healthcheck --endpoint <endpoint>` until it exits 0; panics with the
    /// service log when the service exits or `timeout` passes first.
    pub async fn wait_healthy(&mut self, timeout: Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot poll the service") {
                panic!(
                    "the service exited early ({status}); log:\n{}",
                    self.log_text()
                );
            }
            if self.healthcheck().await.success() {
                return;
            }
            if started.elapsed() > timeout {
                panic!(
                    "the service was not healthy within {timeout:?}; log:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Exit status of `binary healthcheck --endpoint <endpoint> --timeout 1s`.
    pub async fn healthcheck(&self) -> ExitStatus {
        Command::new(&self.binary)
            .args([
                "healthcheck",
                "--endpoint",
                &self.endpoint,
                "--timeout",
                "1s",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .expect("cannot run the healthcheck subcommand")
    }

    /// Runs a client subcommand of the same binary against this service and returns its stdout;
    /// panics with stderr when it fails.
    pub async fn client_command(&self, args: &[&str]) -> String {
        let output = Command::new(&self.binary)
            .args(args)
            .args(["--endpoint", &self.endpoint])
            .output()
            .await
            .expect("cannot run the client subcommand");
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Sends SIGTERM and waits for the exit status (SIGKILL after `grace`).
    pub async fn terminate(mut self, grace: Duration) -> ExitStatus {
        let pid = self.child.id().expect("the service is still running");
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("cannot run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status.expect("cannot wait for the service"),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "the service ignored SIGTERM for {grace:?}; log:\n{}",
                    self.log_text()
                );
            }
        }
    }

    /// The service's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
