//! The shared store conformance suite, run against SQLite: a fresh database file per test.

mod common;

use common::fresh_store;

stammkunde_store_conformance::conformance_tests!(fresh_store);
