//! The embedded store: SQLite on disk (WAL), group commit.
