//! A child process that cannot outlive the benchmark: dropping the guard kills and reaps it, so an
//! early error or a panic never leaves a server or a Lambda bootstrap running.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::BenchResult;

const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(20);

pub struct ChildGuard {
    child: Option<Child>,
    pid: u32,
    /// Taken right before the spawn: where a start-up time is measured from.
    started_at: Instant,
    /// Where the child's stdout and stderr go, shown when it fails.
    log: PathBuf,
}

impl ChildGuard {
    /// Spawns `command` with stdout and stderr appended to `log`.
    pub fn spawn(mut command: Command, log: &Path) -> BenchResult<ChildGuard> {
        let out = std::fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let err = out.try_clone()?;
        command.stdin(std::process::Stdio::null()).stdout(out).stderr(err);
        let program = command.get_program().to_string_lossy().into_owned();
        let started_at = Instant::now();
        let child = command.spawn().map_err(|e| format!("starting {program}: {e}"))?;
        let pid = child.id();
        Ok(ChildGuard { child: Some(child), pid, started_at, log: log.to_path_buf() })
    }

    pub fn started_at(&self) -> Instant {
        self.started_at
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `Some(status)` once the child has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// The tail of what the child printed, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Sends SIGINT (what Ctrl-C sends, so the runner shuts down as it would for a person) and
    /// waits up to `grace` for the exit; then kills.
    pub fn interrupt(&mut self, grace: Duration) {
        let _ = Command::new("kill").args(["-INT", &self.pid.to_string()]).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                self.child = None;
                return;
            }
            std::thread::sleep(EXIT_POLL_INTERVAL);
        }
        self.kill();
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}
