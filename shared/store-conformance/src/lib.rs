//! One conformance suite for every store adapter.
