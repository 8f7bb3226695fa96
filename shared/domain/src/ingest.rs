//! What a verified webhook delivery turns into: typed changes to apply to the store, and the record
//! of the delivery itself for deduplication.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::CustomerProfile;
use crate::ids::{CustomerId, DeliveryId, OrderId, ShopId};
use crate::order::Order;
use crate::refund::Refund;

/// One change a delivery asks for. Each is idempotent on its own business key: applying it twice,
/// or applying an older one after a newer one, changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Create the customer, or update the profile if `source_updated_at` is newer than stored.
    UpsertCustomer(CustomerProfile),
    /// Store the order if its version is newer than stored; moves the customer's last order date
    /// forward (never back).
    RecordOrder(Order),
    /// The platform deleted the customer. Marks them deleted; the ledger stays.
    DeleteCustomer { shop: ShopId, customer_id: CustomerId, at: DateTime<Utc> },
    /// The platform deleted (trashed) the order. For points it is a cancellation: a stored order is
    /// marked `cancelled` (its version unchanged); an unknown order is left alone.
    DeleteOrder { shop: ShopId, order_id: OrderId, at: DateTime<Utc> },
    /// A privacy request (Shopify's mandatory compliance topics), recorded once per request.
    RecordPrivacyRequest(PrivacyRequest),
    /// The shop removed our app. Kept as the latest uninstall time per shop.
    RecordUninstall { shop: ShopId, at: DateTime<Utc> },
    /// A refund, stored once under (order, refund id) whether or not the order is known yet.
    RecordRefund(Refund),
}

impl Change {
    /// The shop the change writes to.
    pub fn shop(&self) -> &ShopId {
        match self {
            Change::UpsertCustomer(profile) => &profile.shop,
            Change::RecordOrder(order) => &order.shop,
            Change::DeleteCustomer { shop, .. }
            | Change::DeleteOrder { shop, .. }
            | Change::RecordUninstall { shop, .. } => shop,
            Change::RecordPrivacyRequest(request) => &request.shop,
            Change::RecordRefund(refund) => &refund.shop,
        }
    }

    /// The order the change touches, if it is an order change.
    pub fn order_id(&self) -> Option<&OrderId> {
        match self {
            Change::RecordOrder(order) => Some(&order.order_id),
            Change::DeleteOrder { order_id, .. } => Some(order_id),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyRequestKind {
    /// GDPR Art. 15: the customer asks the shop for their data.
    DataRequest,
    /// GDPR Art. 17: erase the customer.
    CustomerRedact,
    /// Erase the whole shop (sent 48 h after uninstall).
    ShopRedact,
}

impl PrivacyRequestKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PrivacyRequestKind::DataRequest => "data_request",
            PrivacyRequestKind::CustomerRedact => "customer_redact",
            PrivacyRequestKind::ShopRedact => "shop_redact",
        }
    }
}

/// A privacy request as recorded. Holds ids only: the email and phone in the payload are not kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyRequest {
    pub shop: ShopId,
    pub kind: PrivacyRequestKind,
    /// The platform's request id where it has one (`data_request.id`), else the delivery's id.
    pub request_ref: String,
    pub customer_id: Option<CustomerId>,
    pub order_ids: Vec<OrderId>,
    pub received_at: DateTime<Utc>,
}

/// The record of a delivery we have processed, kept for longer than any platform retries
/// (Shopify 4 h, Shopware up to 5 h on newer versions): see `DELIVERY_RETENTION_DAYS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub shop: ShopId,
    /// Every id the platform gave this delivery; a delivery is a duplicate if any was seen.
    pub ids: Vec<DeliveryId>,
    pub topic: String,
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// How long delivery ids are remembered. Generous against the longest platform retry window so a
/// late retry is still recognised; stores may drop records after `expires_at` (DynamoDB TTL).
pub const DELIVERY_RETENTION_DAYS: i64 = 7;

/// What applying a delivery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// One of the delivery's ids was already recorded: this delivery was applied before (or is
    /// being applied concurrently). Stores that apply atomically wrote nothing.
    pub duplicate: bool,
    /// For each change in order: whether it changed stored state.
    pub applied: Vec<bool>,
    /// The stored state, after the apply, of every order the changes touched. Events are published
    /// from this, not from the payload, so a stale retry republishes the current state.
    pub orders: Vec<Order>,
}
