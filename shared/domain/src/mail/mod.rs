//! Retention mail: the campaigns a shop runs, when a customer's mail is due in their own local
//! time, who may receive it, and the send records that make each mail go out once.
//!
//! Everything here is a pure decision; the mail sweep (services) reads through the ports, asks
//! these functions, and writes through the ports.

pub mod campaign;
pub mod cap;
pub mod contact;
pub mod due;
pub mod feedback;
pub mod ledger_mail;
pub mod link;
pub mod link_request;
pub mod rule;
pub mod send;
pub mod slot;
pub mod zone;

pub use campaign::{Campaign, MailClass, Topic};
pub use contact::{LegalBasis, MailContact, Refusal, Suppression, SuppressionReason};
pub use rule::{MailRule, MarketingBasis};
pub use send::{DueSend, MailSend, SendState, SendStateKind};

/// The header every message carries with its shop's id: how the copies we keep (the local
/// outbox) are found for a shop-wide erasure. `List-Id` names the shop too, but may be encoded.
pub const SHOP_HEADER: &str = "X-Stammkunde-Shop";
