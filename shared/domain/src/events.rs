//! Domain events: what happened, published on the event bus for other functions to act on.
//! The JSON form (`detail` on EventBridge) is the contract between functions.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, OrderId, ShopId};
use crate::ingest::PrivacyRequest;
use crate::ledger::LedgerEntry;
use crate::order::Order;
use crate::refund::Refund;

/// The `source` of every event we put on the bus.
pub const EVENT_SOURCE: &str = "stammkunde";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// An order's current stored state (after a delivery, or re-published for a duplicate).
    OrderRecorded {
        order: Order,
    },
    OrderDeleted {
        shop: ShopId,
        order_id: OrderId,
        at: DateTime<Utc>,
    },
    CustomerUpdated {
        shop: ShopId,
        customer_id: CustomerId,
    },
    CustomerDeleted {
        shop: ShopId,
        customer_id: CustomerId,
        at: DateTime<Utc>,
    },
    PrivacyRequested {
        request: PrivacyRequest,
    },
    AppUninstalled {
        shop: ShopId,
        at: DateTime<Utc>,
    },
    /// A refund was stored (its order may not be known yet).
    RefundRecorded {
        refund: Refund,
    },
    /// An entry was appended to a customer's ledger: a credit, a reversal (tell the customer), a
    /// tier change, an expiry notice, a code issued. Re-published for a while when a retry finds
    /// its entries written, so a failed publish is not lost; subscribers deduplicate by
    /// `entry.key`.
    LedgerEntryAppended {
        entry: LedgerEntry,
    },
    /// Asks the ledger sweep to go on with a shop it had to leave unfinished.
    LedgerSweepRequested {
        shop: ShopId,
    },
    /// Asks the mail sweep to go on with a shop it had to leave unfinished.
    MailSweepRequested {
        shop: ShopId,
    },
    /// The shop is erased (Shopify's `shop/redact`; its tombstone is written): deletes what it
    /// left in bounded batches, and asks again while anything is left.
    ShopErasureRequested {
        shop: ShopId,
    },
    /// A subscription to marketing mail was asked for (double opt-in): the mail sweep sends the
    /// confirmation mail for the request recorded under `consent::request_key(date)`.
    SubscriptionRequested {
        shop: ShopId,
        customer_id: CustomerId,
        date: NaiveDate,
    },
    /// A fresh preference-centre link was asked for on the "send me a new link" form by an
    /// address of this customer: the mail sweep sends it (one per customer and `date`).
    LinkRequested {
        shop: ShopId,
        customer_id: CustomerId,
        date: NaiveDate,
    },
}

impl DomainEvent {
    /// The EventBridge `detail-type`, which rules match on.
    pub fn detail_type(&self) -> &'static str {
        match self {
            DomainEvent::OrderRecorded { .. } => "OrderRecorded",
            DomainEvent::OrderDeleted { .. } => "OrderDeleted",
            DomainEvent::CustomerUpdated { .. } => "CustomerUpdated",
            DomainEvent::CustomerDeleted { .. } => "CustomerDeleted",
            DomainEvent::PrivacyRequested { .. } => "PrivacyRequested",
            DomainEvent::AppUninstalled { .. } => "AppUninstalled",
            DomainEvent::RefundRecorded { .. } => "RefundRecorded",
            DomainEvent::LedgerEntryAppended { .. } => "LedgerEntryAppended",
            DomainEvent::LedgerSweepRequested { .. } => "LedgerSweepRequested",
            DomainEvent::MailSweepRequested { .. } => "MailSweepRequested",
            DomainEvent::ShopErasureRequested { .. } => "ShopErasureRequested",
            DomainEvent::SubscriptionRequested { .. } => "SubscriptionRequested",
            DomainEvent::LinkRequested { .. } => "LinkRequested",
        }
    }

    pub fn shop(&self) -> &ShopId {
        match self {
            DomainEvent::OrderRecorded { order } => &order.shop,
            DomainEvent::OrderDeleted { shop, .. }
            | DomainEvent::CustomerUpdated { shop, .. }
            | DomainEvent::CustomerDeleted { shop, .. }
            | DomainEvent::AppUninstalled { shop, .. }
            | DomainEvent::LedgerSweepRequested { shop }
            | DomainEvent::MailSweepRequested { shop }
            | DomainEvent::ShopErasureRequested { shop }
            | DomainEvent::SubscriptionRequested { shop, .. }
            | DomainEvent::LinkRequested { shop, .. } => shop,
            DomainEvent::PrivacyRequested { request } => &request.shop,
            DomainEvent::RefundRecorded { refund } => &refund.shop,
            DomainEvent::LedgerEntryAppended { entry } => &entry.shop,
        }
    }
}
