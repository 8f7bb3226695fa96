//! End-to-end tests against the local runner and moto.
