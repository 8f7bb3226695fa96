//! The embedded store: SQLite on disk (WAL), group commit.
//!
//! `SqliteStore` implements every store port, so it is a `Store`. Writes go through one writer
//! thread that commits many jobs per transaction (see `writer`); reads go to a small pool of
//! read-only WAL connections (see `readers`). Every `Ok` from a write means the data is on disk:
//! `synchronous=FULL` makes each commit fsync the WAL, and a job is answered only after its
//! batch's commit.

mod checkpointer;
mod codec;
mod codes;
mod consent;
mod customers;
mod erasure;
mod error;
mod ingest;
mod ledger;
mod mail;
mod orders;
mod readers;
mod refunds;
mod schema;
mod shop_erasure;
mod shops;
mod timers;
mod writer;

use std::path::Path;
use std::sync::Arc;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::error::StoreError;

pub use error::SqliteStoreError;
pub use schema::migrations;
pub use writer::{WriteStats, BATCH_JOBS_MAX, QUEUE_JOBS_MAX};

use checkpointer::Checkpointer;
use readers::Readers;
use writer::Writer;

pub struct SqliteStore {
    // Fields drop in order: the readers and the checkpointer close first, so the writer is the
    // last connection and checkpoints the WAL into the database file when it closes.
    readers: Readers,
    // Held for its thread, stopped on drop.
    _checkpointer: Checkpointer,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (or creates, with its directory) the database at `path`, migrates it, and starts the
    /// writer thread. Call it once per process and share the store: SQLite allows one writer, and
    /// a second `SqliteStore` on the same file would only wait for the first one's locks.
    /// `clock` decides when delivery records have expired: the same clock that stamped them.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<SqliteStore, StoreError> {
        let conn = schema::open_writer(path)?;
        // Readers open after the writer has created the file, switched it to WAL and migrated it.
        let readers = Readers::open(path)?;
        let checkpointer = Checkpointer::start(path)?;
        let writer = Writer::start(conn, clock)?;
        Ok(SqliteStore { readers, _checkpointer: checkpointer, writer })
    }

    /// How many transactions have committed and how many write jobs they carried.
    pub fn write_stats(&self) -> WriteStats {
        self.writer.stats()
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("write_stats", &self.write_stats()).finish_non_exhaustive()
    }
}
