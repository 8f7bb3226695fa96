//! A store on a fresh database file in its own temporary directory, removed after the test.
//! Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use stammkunde_domain::clock::SystemClock;

use stammkunde_domain::ports::Store;
use stammkunde_store_sqlite::SqliteStore;
use tempfile::TempDir;

pub struct TestStore {
    // Declared first so it drops first: the writer closes the database before the directory goes.
    pub store: SqliteStore,
    pub dir: TempDir,
}

impl TestStore {
    pub fn path(&self) -> PathBuf {
        database_path(&self.dir)
    }
}

impl Deref for TestStore {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        &self.store
    }
}

pub fn database_path(dir: &TempDir) -> PathBuf {
    // A subdirectory the store must create itself.
    dir.path().join("data").join("stammkunde.sqlite")
}

pub fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(path, Arc::new(SystemClock)).unwrap_or_else(|error| panic!("opening {}: {error}", path.display()))
}

pub async fn fresh_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("creating a temp dir: {error}"));
    let store = open(&database_path(&dir));
    TestStore { store, dir }
}
