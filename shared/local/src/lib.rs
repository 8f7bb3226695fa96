//! Adapters for running the whole product on one machine.

pub mod bus;
pub mod outbox;

pub use bus::{InProcessBus, Subscriber};
pub use outbox::{OutboxEntry, OutboxMailer};
