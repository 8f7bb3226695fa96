//! The local runner under test, as a child process (so its memory and CPU are the server's alone)
//! with a fresh data directory and configuration, on a free 127.0.0.1 port.

use bytes::Bytes;
use http::{Method, StatusCode};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::child::ChildGuard;
use crate::client::Connection;
use crate::BenchResult;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);
/// The runner's SQLite file in its data directory (`runner/src/lib.rs`).
pub const DATABASE_FILE: &str = "stammkunde.sqlite3";

pub struct Server {
    pub child: ChildGuard,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub runner: PathBuf,
    // Removed (with the database) when the benchmark ends.
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `runner` with `config_toml` as its configuration, in a new directory under
    /// `data_parent`, and waits until it answers `/health`.
    pub async fn start(runner: &Path, data_parent: &Path, config_toml: &str) -> BenchResult<Server> {
        if !runner.is_file() {
            return Err(format!(
                "runner binary {} not found; build it first: cargo build --release --bin stammkunde",
                runner.display()
            )
            .into());
        }
        let dir = tempfile::Builder::new().prefix("stammkunde-bench-").tempdir_in(data_parent)?;
        let config = dir.path().join("stammkunde.toml");
        std::fs::write(&config, config_toml)?;
        let data_dir = dir.path().join("data");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let mut command = Command::new(runner);
        command
            .env("STAMMKUNDE_CONFIG", &config)
            .env("STAMMKUNDE_DATA_DIR", &data_dir)
            .env("STAMMKUNDE_ADDR", addr.to_string())
            .env("RUST_LOG", "warn")
            .env_remove("STAMMKUNDE_PUBLIC_URL");
        let mut child = ChildGuard::spawn(command, &dir.path().join("runner.log"))?;
        wait_until_healthy(addr, &mut child).await?;
        Ok(Server { child, addr, data_dir, runner: runner.to_path_buf(), _dir: dir })
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }
}

fn free_port() -> BenchResult<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

async fn wait_until_healthy(addr: SocketAddr, child: &mut ChildGuard) -> BenchResult<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(status) = child.exited() {
            return Err(format!("the runner exited at start-up ({status}):\n{}", child.log_tail()).into());
        }
        if let Ok(mut connection) = Connection::open(addr).await {
            let answer = connection.send(Method::GET, "/health", &[], Bytes::new()).await;
            if answer.is_ok_and(|a| a.status == StatusCode::OK) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("the runner did not answer /health within {STARTUP_TIMEOUT:?}:\n{}", child.log_tail()).into())
}
