//! The ports: what the domain needs from the outside world, as traits. Adapters (SQLite, DynamoDB,
//! EventBridge, the in-process bus) implement them; handlers receive them as `Arc<dyn …>`.
//!
//! Every write a retry can repeat is idempotent here: a conditional create under a business key,
//! or an update guarded by a version. No method is a read-then-write.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::customer::{Customer, Email};
use crate::error::{BusError, ShopApiError, StoreError};
use crate::events::DomainEvent;
use crate::ids::{CustomerId, DeliveryId, OrderId, ShopId};
use crate::ingest::{ApplyOutcome, Change, DeliveryRecord, PrivacyRequest};
use crate::ledger::{AppendOutcome, LedgerEntry};
use crate::order::Order;
use crate::registration::ShopwareRegistration;
use crate::secret::Secret;

/// Webhook ingest: deduplicate deliveries and apply their changes.
#[async_trait]
pub trait IngestStore: Send + Sync {
    /// Whether any of these delivery ids has been recorded for the shop.
    async fn delivery_seen(&self, shop: &ShopId, ids: &[DeliveryId]) -> Result<bool, StoreError>;

    /// Applies the changes, each under its own guard, then records the delivery.
    ///
    /// The delivery record is written last, so when this returns `Ok` every change is stored, and
    /// when it fails part-way a retry re-applies the (idempotent) changes. Stores that can, apply
    /// everything in one transaction and write nothing for a duplicate.
    async fn apply_delivery(&self, delivery: &DeliveryRecord, changes: &[Change]) -> Result<ApplyOutcome, StoreError>;
}

/// Reads of customers and orders, and the indexes the sweeps select through.
#[async_trait]
pub trait CustomerStore: Send + Sync {
    async fn customer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Customer>, StoreError>;
    async fn order(&self, shop: &ShopId, order: &OrderId) -> Result<Option<Order>, StoreError>;
    async fn privacy_requests(&self, shop: &ShopId) -> Result<Vec<PrivacyRequest>, StoreError>;

    // The index reads below never return deleted customers: sweeps must not mail them.

    /// Customers with this email (normally one; a platform can hold duplicates).
    async fn customers_by_email(
        &self,
        shop: &ShopId,
        email: &Email,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError>;
    /// Customers whose birthday is on this month and day.
    async fn customers_by_birthday(
        &self,
        shop: &ShopId,
        month: u8,
        day: u8,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError>;
    /// Customers whose last order was placed on this UTC date.
    async fn customers_by_last_order_date(
        &self,
        shop: &ShopId,
        date: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError>;
}

/// The points ledger.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Appends the entry under its business key and moves the customer's balance by its points, in
    /// one atomic write. If the key exists, writes nothing and returns the stored entry.
    async fn append_entry(&self, entry: &LedgerEntry) -> Result<AppendOutcome, StoreError>;

    /// The customer's entries, oldest first.
    async fn entries(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// Shop-level state: Shopware app registrations and the app's uninstall.
#[async_trait]
pub trait ShopStore: Send + Sync {
    /// Records a registration with a freshly issued, not yet confirmed secret. A shop that
    /// registers again (reinstall, app update) gets a new pending secret; the confirmed one keeps
    /// signing webhooks until the new one is confirmed.
    async fn begin_registration(
        &self,
        shop: &ShopId,
        shop_url: &str,
        pending_secret: &Secret,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Promotes the pending secret to the shop secret and stores the Admin API credentials.
    /// Returns false if there was no pending secret equal to `confirmed_secret` (a stale or
    /// replayed confirmation), in which case nothing changes.
    async fn confirm_registration(
        &self,
        shop: &ShopId,
        confirmed_secret: &Secret,
        api_key: &Secret,
        secret_key: &Secret,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    async fn registration(&self, shop: &ShopId) -> Result<Option<ShopwareRegistration>, StoreError>;

    /// When the shop last uninstalled our app (recorded by `Change::RecordUninstall`).
    async fn uninstalled_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Everything a store adapter provides.
pub trait Store: IngestStore + CustomerStore + LedgerStore + ShopStore {}
impl<T: IngestStore + CustomerStore + LedgerStore + ShopStore> Store for T {}

/// Most items one index page returns.
pub const PAGE_LIMIT_MAX: u32 = 500;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Opaque cursor from the previous page's `next`.
    pub cursor: Option<String>,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        PageRequest { cursor: None, limit: limit.clamp(1, PAGE_LIMIT_MAX) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor for the next page; `None` when this was the last.
    pub next: Option<String>,
}

/// Publishes domain events. Delivery is at-least-once: subscribers must be idempotent.
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), BusError>;
}

/// Reads from a Shopware shop's Admin API with the credentials its registration gave us. Entity
/// events (`customer.written`) name rows but carry none of their values; this fetches them.
#[async_trait]
pub trait ShopwareAdminApi: Send + Sync {
    /// `POST {shop_url}/api/search/{entity}` with the criteria, as the integration the shop
    /// created for us (OAuth client credentials). Returns the response body (simple JSON format).
    async fn search(
        &self,
        registration: &ShopwareRegistration,
        entity: &str,
        criteria: &serde_json::Value,
    ) -> Result<Vec<u8>, ShopApiError>;
}
