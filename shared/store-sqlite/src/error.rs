//! Translating SQLite's errors into the domain's `StoreError`, keeping the cause as `source`.

use rusqlite::ErrorCode;
use stammkunde_domain::error::StoreError;
use thiserror::Error;

/// Failures that start in this adapter rather than in SQLite. They travel as the `source` of a
/// `StoreError`, so logs show the whole chain.
#[derive(Debug, Error)]
pub enum SqliteStoreError {
    /// The writer thread has stopped (the store is shutting down, or the thread died).
    #[error("the writer thread is not running")]
    WriterStopped,
    /// The batch this job was part of did not commit; the job's writes were rolled back.
    #[error("the batch did not commit: {0}")]
    BatchFailed(String),
    /// A job panicked. It is rolled back alone; the rest of its batch commits.
    #[error("a write job panicked: {0}")]
    JobPanicked(String),
    /// A reader task was cancelled or panicked.
    #[error("a read task failed: {0}")]
    ReadFailed(String),
    /// A timestamp our sortable text form cannot hold.
    #[error("timestamp {0} is outside the years 0000 to 9999")]
    TimestampOutOfRange(String),
    /// The database was written by a newer version of this adapter.
    #[error("schema version {found} is newer than the {known} this build knows")]
    SchemaTooNew { found: i64, known: i64 },
}

/// Maps a SQLite error: a busy or locked database is worth a retry, anything else is not.
pub fn from_sqlite(context: &str, error: rusqlite::Error) -> StoreError {
    let retryable = matches!(error.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked));
    if retryable {
        StoreError::unavailable(context, error)
    } else {
        StoreError::backend(context, error)
    }
}

/// `.or_store("what we were doing")` on any rusqlite result.
pub trait SqlResultExt<T> {
    fn or_store(self, context: &str) -> Result<T, StoreError>;
}

impl<T> SqlResultExt<T> for Result<T, rusqlite::Error> {
    fn or_store(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|error| from_sqlite(context, error))
    }
}

/// The extended result code of a failed constraint (`SQLITE_CONSTRAINT_UNIQUE`, …), if a
/// constraint is what failed.
pub fn constraint_failed(error: &rusqlite::Error) -> Option<std::ffi::c_int> {
    error.sqlite_error().filter(|e| e.code == ErrorCode::ConstraintViolation).map(|e| e.extended_code)
}

pub fn writer_stopped() -> StoreError {
    StoreError::unavailable("sqlite writer", SqliteStoreError::WriterStopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn busy_and_locked_are_retryable_and_other_failures_are_not() {
        assert!(from_sqlite("x", failure(rusqlite::ffi::SQLITE_BUSY)).is_retryable());
        assert!(from_sqlite("x", failure(rusqlite::ffi::SQLITE_LOCKED)).is_retryable());
        assert!(!from_sqlite("x", failure(rusqlite::ffi::SQLITE_CORRUPT)).is_retryable());
        assert!(!from_sqlite("x", rusqlite::Error::QueryReturnedNoRows).is_retryable());
    }
}
