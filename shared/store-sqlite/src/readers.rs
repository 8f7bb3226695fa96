//! A small pool of read-only connections. Reads never queue behind the writer: in WAL mode a
//! reader sees the last committed state without taking the write lock.
//!
//! Read-your-writes holds: the writer answers a job only after its batch committed, and every read
//! here starts a fresh snapshot, so a read issued after a write returned sees that write.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use stammkunde_domain::error::StoreError;
use tokio::sync::Semaphore;

use crate::error::SqliteStoreError;
use crate::schema;

/// Read connections kept open. Reads are short point or range lookups; a few connections keep
/// the blocking pool busy without competing with the writer for the disk.
pub const READERS: usize = 4;

pub struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    path: PathBuf,
}

impl Readers {
    pub fn open(path: &Path) -> Result<Arc<Readers>, StoreError> {
        let idle = (0..READERS).map(|_| schema::open_reader(path)).collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Readers {
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(READERS)),
            path: path.to_owned(),
        }))
    }

    /// Runs `query` on an idle read connection in the blocking pool.
    pub async fn read<T, F>(self: &Arc<Self>, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        // The permit moves into the blocking task, so a cancelled caller cannot hand out a
        // connection that is still in use.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|error| StoreError::unavailable("sqlite read", SqliteStoreError::ReadFailed(error.to_string())))?;
        let readers = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = query(&conn);
            readers.put(conn);
            drop(permit);
            result
        });
        task.await
            .map_err(|error| StoreError::backend("sqlite read", SqliteStoreError::ReadFailed(error.to_string())))?
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let conn = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match conn {
            Some(conn) => Ok(conn),
            // Only if a read panicked and lost its connection: replace it.
            None => schema::open_reader(&self.path),
        }
    }

    fn put(&self, conn: Connection) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
    }
}
