//! The local runner: every function on one HTTP port, SQLite and an in-process bus.
