//! The merchant API: customers and their ledgers.
