//! Adapters for running the whole product on one machine.

pub mod bus;

pub use bus::{InProcessBus, Subscriber};
