//! Adapters for running on one machine: the in-process event bus.
