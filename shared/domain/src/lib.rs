//! Stammkunde's domain: types, rules, platform parsing and ports. It does no I/O and depends on no
//! SDK, runtime or database; adapters and handlers live in other crates.

pub mod clock;
pub mod config;
pub mod consent;
pub mod coupon;
pub mod customer;
pub mod earn;
pub mod error;
pub mod events;
pub mod ids;
pub mod ingest;
pub mod ledger;
pub mod mail;
pub mod money;
pub mod order;
pub mod platforms;
pub mod ports;
pub mod programme;
pub mod refund;
pub mod registration;
pub mod secret;
pub mod signature;
