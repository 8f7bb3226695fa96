//! Checkpoints off the writer's path.
//!
//! A WAL checkpoint copies committed pages into the database file and fsyncs it. Left to SQLite's
//! automatic checkpoint, the writer thread runs it inside a commit every 1,000 pages of WAL, and
//! every webhook queued behind that commit waits for it: under load that was the latency tail.
//! Here a thread of its own runs a PASSIVE checkpoint (it never blocks the writer or a reader)
//! every few milliseconds on its own connection. The writer keeps a far larger automatic
//! checkpoint only as a backstop, for when this thread cannot keep up.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use stammkunde_domain::error::StoreError;

use crate::error::SqlResultExt;
use crate::schema;

/// Pause between checkpoints: a few commits' worth of WAL each time.
const INTERVAL: Duration = Duration::from_millis(20);
/// WAL pages (4 KB each) after which the writer checkpoints itself (64 MB).
pub const WRITER_BACKSTOP_PAGES: i64 = 16_384;

pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = schema::open_checkpointer(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &thread_stop))
            .map_err(|error| StoreError::backend("starting the sqlite checkpoint thread", error))?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

fn run(conn: &Connection, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(INTERVAL);
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).or_store("checkpointing");
        if let Err(error) = result {
            // The next round tries again; the writer's backstop bounds the WAL meanwhile.
            tracing::warn!(%error, "background checkpoint failed");
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the sqlite checkpoint thread panicked");
            }
        }
    }
}
