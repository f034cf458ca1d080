//! One service binary as a child process: started on a port, waited for with its own
//! `healthcheck` subcommand, stopped with SIGTERM, crashed with SIGKILL and restarted on the
//! same port with the same flags.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// How long a (re)started service gets to report SERVING.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

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
    args: Vec<String>,
    port: u16,
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `binary serve --listen 127.0.0.1:<free port> <extra args>` with its log in
    /// `log_dir`, and waits until its own `healthcheck` subcommand exits 0.
    pub async fn start(binary: &Path, extra_args: &[&str], log_dir: &Path) -> Self {
        Self::start_on(binary, free_port(), extra_args, log_dir).await
    }

    /// Like [`start`](Self::start) on a given port.
    pub async fn start_on(binary: &Path, port: u16, extra_args: &[&str], log_dir: &Path) -> Self {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = log_dir.join(format!("{name}-{port}.log"));
        let args: Vec<String> = extra_args.iter().map(|a| (*a).to_owned()).collect();
        let child = spawn(binary, port, &args, &log);
        let mut process = Self {
            binary: binary.to_path_buf(),
            args,
            port,
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        process.wait_healthy(READY_TIMEOUT).await;
        process
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the service is running")
    }

    /// SIGKILL (no chance to checkpoint or flush), then the same binary, flags, port and store
    /// again; waits until it is healthy. The log continues in the same file.
    pub async fn kill_and_restart(&mut self) {
        self.kill().await;
        self.restart().await;
    }

    /// Starts the same binary with the same flags on the same port again (after [`kill`]) and
    /// waits until it is healthy. The log continues in the same file.
    ///
    /// [`kill`]: Self::kill
    pub async fn restart(&mut self) {
        self.child = spawn(&self.binary, self.port, &self.args, &self.log);
        self.wait_healthy(READY_TIMEOUT).await;
    }

    /// SIGKILL, and waits until the process is gone.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("cannot send SIGKILL");
        self.child
            .wait()
            .await
            .expect("cannot wait for the service");
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

    /// The peak resident set size of the current process in KiB (`VmHWM` in
    /// `/proc/<pid>/status`); `None` where /proc is not available.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Sends SIGTERM and waits for the exit status (SIGKILL after `grace`).
    pub async fn terminate(mut self, grace: Duration) -> ExitStatus {
        let pid = self.pid();
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

    /// The service's log so far (every start of it).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn spawn(binary: &Path, port: u16, args: &[String], log: &Path) -> Child {
    let log_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("cannot open the service log");
    Command::new(binary)
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()))
}
