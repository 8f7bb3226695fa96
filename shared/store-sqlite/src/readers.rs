//! A pool of read-only connections. Reads never queue behind the writer: in WAL mode a reader
//! sees the last committed state without taking the write lock.
//!
//! A read runs on the calling thread. Every read here is an index lookup or a bounded page that
//! takes microseconds from SQLite's page cache; handing it to a blocking pool and back costs two
//! thread switches, which measured as more than the read itself under webhook load.
//!
//! Read-your-writes holds: the writer answers a job only after its batch committed, and every read
//! here starts a fresh snapshot, so a read issued after a write returned sees that write.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;
use stammkunde_domain::error::StoreError;

use crate::schema;

/// Read connections opened up front. More are opened when more threads read at once (at most one
/// per thread reading at the same moment); all of them are kept for reuse.
pub const READERS: usize = 2;

pub struct Readers {
    idle: Mutex<Vec<Connection>>,
    path: PathBuf,
}

impl Readers {
    pub fn open(path: &Path) -> Result<Readers, StoreError> {
        let idle = (0..READERS).map(|_| schema::open_reader(path)).collect::<Result<Vec<_>, _>>()?;
        Ok(Readers { idle: Mutex::new(idle), path: path.to_owned() })
    }

    /// Runs `query` on an idle read connection.
    pub fn read<T>(&self, query: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.take()?;
        let result = query(&conn);
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
        result
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let conn = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match conn {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }
}
