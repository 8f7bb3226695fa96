//! The ports: what the domain needs from the outside world, as traits. Adapters (SQLite, DynamoDB,
//! EventBridge, the in-process bus) implement them; handlers receive them as `Arc<dyn …>`.
//!
//! Every write a retry can repeat is idempotent here: a conditional create under a business key,
//! or an update guarded by a version. No method is a read-then-write.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::consent::{ConsentRecord, ConsentWording, WordingDigest};
use crate::coupon::{Coupon, CouponCode, Issue, IssueRequest};
use crate::customer::{Birthday, Customer, Email};
use crate::error::{BusError, MailError, ShopApiError, StoreError};
use crate::events::DomainEvent;
use crate::ids::{CustomerId, DeliveryId, IdempotencyKey, OrderId, RewardId, ShopId};
use crate::ingest::{ApplyOutcome, Change, DeliveryRecord, PrivacyRequest};
use crate::ledger::{AppendOutcome, LedgerEntry};
use crate::mail::contact::AddressDigest;
use crate::mail::link::LinkToken;
use crate::mail::{Campaign, DueSend, MailContact, MailSend, SendStateKind, Suppression};
use crate::order::Order;
use crate::refund::Refund;
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
    /// The refunds stored for an order (known or not yet), oldest first.
    async fn refunds(&self, shop: &ShopId, order: &OrderId) -> Result<Vec<Refund>, StoreError>;
    /// Every customer of the shop, deleted ones included, ordered by id (for recalculations
    /// after a rule change, never for mail).
    async fn customers(&self, shop: &ShopId, page: PageRequest) -> Result<Page<CustomerId>, StoreError>;

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

/// Changes to a customer the customer or the merchant makes, beside the platform's deliveries:
/// the merchant API, a CSV import, the preference centre.
#[async_trait]
pub trait CustomerEdits: Send + Sync {
    /// Sets the birthday of a live customer, or clears it with `None`. A month and day that
    /// differ from the stored ones (or a first birthday) are stamped `at` as `birthday_since`, the
    /// birthday mail's anti-fraud guard; the same month and day again keep their stamp (a year
    /// added or changed is no new birthday). A later profile from the platform that carries a
    /// birthday replaces this one, as it replaces any. False, writing nothing, if there is no such
    /// customer or it was deleted.
    async fn set_birthday(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        birthday: Option<Birthday>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Erases the customer's personal data (GDPR Art. 17): every field of the profile but the
    /// platform's id (address, names, language, country, birthday, marketing flag) and the index
    /// entries made of them, the mail settings, and the consent records (which hold addresses and
    /// browsers). Marks the customer deleted at `at` (unless deleted before), so no later profile
    /// from the platform stores them again. The ledger, orders, codes and send records stay under
    /// the pseudonymous platform id: the shop's accounting needs them. Idempotent; an unknown
    /// customer gets a tombstone.
    async fn erase_customer(&self, shop: &ShopId, customer: &CustomerId, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// The points ledger: each customer's entries in position order, appended conditionally.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Appends `entries`, which continue the customer's ledger (positions `n + 1, n + 2, …`), if
    /// the ledger still holds exactly `n` entries; otherwise writes nothing and answers `Moved`.
    /// All or nothing. Every entry is checked (`LedgerEntry::check`) before anything is written.
    ///
    /// This is the one write of the ledger, and what serialises it: a caller reads the ledger,
    /// decides on exactly what it read, and appends; a caller that lost the race reads again. Two
    /// entries can never share a key, because the second writer would have read the first.
    async fn append_entries(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        entries: &[LedgerEntry],
    ) -> Result<AppendOutcome, StoreError>;

    /// The customer's entries, in position order (a strongly consistent read).
    async fn entries(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// When each customer's ledger next needs the sweep (a hold ending, a code or points expiring, a
/// tier review), so the sweep selects only the customers due.
#[async_trait]
pub trait TimerStore: Send + Sync {
    /// Records `due` (or no timer) as computed from the first `ledger_len` entries of the
    /// customer's ledger, unless the stored timer was computed from a longer ledger: a late
    /// writer never overwrites a newer answer.
    async fn set_timer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        due: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<(), StoreError>;

    async fn timer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Timer>, StoreError>;

    /// Customers whose timer is due at or before `now`, earliest first.
    async fn due_timers(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueTimer>, StoreError>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer {
    pub due: Option<DateTime<Utc>>,
    pub ledger_len: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTimer {
    pub customer_id: CustomerId,
    pub due: DateTime<Utc>,
}

/// Coupon codes: reward pools the merchant fills, and each code's binding to one redemption.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Adds codes to a reward's pool, skipping codes the shop already has (in any pool or issued).
    /// Returns how many were added.
    async fn import_codes(
        &self,
        shop: &ShopId,
        reward: &RewardId,
        codes: &[CouponCode],
        generated: bool,
    ) -> Result<u32, StoreError>;

    /// Binds a pooled code of the reward to the redemption in `issue`, exactly once: the same
    /// redemption always gets the same code, and no code goes to two redemptions, however many
    /// claims race. `None` if the pool is empty.
    async fn claim_code(&self, shop: &ShopId, reward: &RewardId, issue: &Issue) -> Result<Option<Coupon>, StoreError>;

    /// Stores a new code already bound to its redemption (a generated code). Returns the code
    /// bound to that redemption, which is an earlier attempt's if there was one; `None` if the
    /// code itself is taken (draw another).
    async fn insert_issued(&self, coupon: &Coupon) -> Result<Option<Coupon>, StoreError>;

    /// Undoes a claim whose redemption could not be booked: the code goes back to its pool (a
    /// generated code is removed). Only the redemption that holds the code can return it.
    async fn return_code(
        &self,
        shop: &ShopId,
        code: &CouponCode,
        redemption: &IdempotencyKey,
    ) -> Result<(), StoreError>;

    async fn code(&self, shop: &ShopId, code: &CouponCode) -> Result<Option<Coupon>, StoreError>;

    async fn code_for_redemption(
        &self,
        shop: &ShopId,
        redemption: &IdempotencyKey,
    ) -> Result<Option<Coupon>, StoreError>;

    /// The shop's codes (of one reward, or all), ordered by code.
    async fn codes(
        &self,
        shop: &ShopId,
        reward: Option<&RewardId>,
        page: PageRequest,
    ) -> Result<Page<Coupon>, StoreError>;
}

/// Shop-level state: Shopware app registrations and the app's uninstall.
#[async_trait]
pub trait ShopStore: Send + Sync {
    /// Records a registration with a freshly issued, not yet confirmed secret, only if its signed
    /// `requested_at` (the registration's `timestamp`) is newer than the last accepted one's: one
    /// conditional write, so of two registrations with the same timestamp exactly one is
    /// accepted. Returns false, changing nothing, for a replay or an older request. A shop that
    /// registers again (reinstall, app update) gets a new pending secret; the confirmed one keeps
    /// signing webhooks until the new one is confirmed.
    async fn begin_registration(
        &self,
        shop: &ShopId,
        shop_url: &str,
        pending_secret: &Secret,
        requested_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

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

    /// A sweep's bookmark for the shop (e.g. how far a tier recalculation got), by name.
    async fn sweep_mark(&self, shop: &ShopId, name: &str) -> Result<Option<String>, StoreError>;
    async fn set_sweep_mark(&self, shop: &ShopId, name: &str, value: &str) -> Result<(), StoreError>;

    /// Marks the whole shop erased (Shopify's `shop/redact`) at `at`; a shop marked before keeps
    /// its first time. The mark is the tombstone that keeps a later delivery from storing
    /// anything for the shop again; it outlives the erasure.
    async fn mark_shop_erased(&self, shop: &ShopId, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn shop_erased_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Deletes one bounded batch of what the shop's customers left: per step at most about `limit`
    /// customers (with everything in their keys: profile, ledger, timer, send records, mail
    /// settings, consent records), orders (with their refunds), codes (with their claims), link
    /// tokens, privacy requests, soft bounces, request counters, consent wordings, the shop's own
    /// items (registration, uninstall, sweep marks) and delivery records (ids and topics only;
    /// where no index lists them, DynamoDB, they expire by TTL within `DELIVERY_RETENTION_DAYS`).
    /// The suppression list and the tombstone stay. True while something may be left. What is
    /// deleted is the progress: a retry, a second run or two runs at once go on with what is left
    /// and change nothing twice.
    async fn erase_shop_batch(&self, shop: &ShopId, limit: u32) -> Result<bool, StoreError>;
}

/// Everything a store adapter provides.
pub trait Store:
    IngestStore + CustomerStore + CustomerEdits + LedgerStore + TimerStore + CodeStore + ShopStore
{
}
impl<T: IngestStore + CustomerStore + CustomerEdits + LedgerStore + TimerStore + CodeStore + ShopStore> Store for T {}

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

/// Hands out single-use codes for redemptions: from a pool of the merchant's codes, or freshly
/// generated. The same redemption always gets the same code.
#[async_trait]
pub trait CouponIssuer: Send + Sync {
    /// `None`: no code to give (an empty pool).
    async fn issue(&self, request: &IssueRequest) -> Result<Option<Coupon>, StoreError>;
    /// Gives a code back that its redemption could not book.
    async fn withdraw(&self, coupon: &Coupon) -> Result<(), StoreError>;
}

/// The mail sweep's records: one send record per (shop, customer, campaign, date), each customer's
/// mail settings, and the shop's suppression list.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Creates the send record unless one exists under its key; then returns the stored one and
    /// changes nothing. This conditional create is the claim that makes a mail go out once.
    async fn create_send(&self, send: &MailSend) -> Result<CreateOutcome<MailSend>, StoreError>;

    /// Replaces the record under `send`'s key if its stored state is still `expected`. Returns
    /// false, changing nothing, if it is not (another sweep moved it on).
    async fn replace_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError>;

    /// Deletes a record still in state `expected` (a claim whose mail was certainly not sent, so a
    /// later sweep may try again). Returns whether it was deleted.
    async fn delete_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError>;

    async fn send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        campaign: Campaign,
        date: NaiveDate,
    ) -> Result<Option<MailSend>, StoreError>;

    /// The customer's records claimed (handed to the mailer) at or after `since`: what the
    /// frequency cap counts. Any order.
    async fn sends_claimed_since(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Vec<MailSend>, StoreError>;

    /// Records whose `SendState::sweep_due` is at or before `now`, earliest first: deferred mails
    /// due, and claims past their lease.
    async fn due_sends(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueSend>, StoreError>;

    /// The shop's records flagged for review (`SendState::Review`: a claim whose sender died
    /// before confirming, so the mail may or may not have gone out): what a person must look at,
    /// and nothing else. Ordered by customer (a customer's records in any order), and paged
    /// exactly: no record twice, none skipped.
    async fn flagged_sends(&self, shop: &ShopId, page: PageRequest) -> Result<Page<MailSend>, StoreError>;

    /// The customer's mail settings; `None` if they never set any (the defaults apply).
    async fn contact(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<MailContact>, StoreError>;
    /// Stores the settings as given, whatever is stored: for imports and seeding. What a person
    /// changes goes through `update_contact`.
    async fn put_contact(&self, shop: &ShopId, customer: &CustomerId, contact: &MailContact) -> Result<(), StoreError>;
    /// Stores `contact` with its `revision` one higher, if the stored settings are still at
    /// `contact.revision` (no settings stored counts as revision 0); `false` if another write
    /// came first, and then nothing is written: read again and decide again.
    async fn update_contact(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        contact: &MailContact,
    ) -> Result<bool, StoreError>;

    /// Keeps a mail's link token under its digest (`mail::link::token_digest`), before the mail
    /// goes out. The same digest again replaces it (a retry of the same mail).
    async fn put_link(&self, digest: &str, link: &LinkToken) -> Result<(), StoreError>;
    /// The token stored under a digest, expired or not (the caller decides).
    async fn link(&self, digest: &str) -> Result<Option<LinkToken>, StoreError>;

    /// Puts an address on the suppression list; the first reason recorded stays.
    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError>;
    async fn suppression(&self, shop: &ShopId, address: &AddressDigest) -> Result<Option<Suppression>, StoreError>;

    /// Counts a soft bounce of the address's mail `message_id` (SES's message id) at `at`, and
    /// returns how many soft bounces of different messages the address has had, this one
    /// included. Atomic: concurrent calls never lose a count. Idempotent per message: a bounce
    /// event delivered again (EventBridge and Lambda deliver at least once) names the same
    /// message and leaves the count as it was, so a redelivery can never push an address over
    /// the limit. The count is never reset: no delivery events come back to reset it, and a
    /// shop sends a customer a few mails a year, so repeated soft bounces are a pattern.
    async fn count_soft_bounce(
        &self,
        shop: &ShopId,
        address: &AddressDigest,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<u32, StoreError>;

    /// Takes one request under `key` (a digest, `mail::link_request`) in the fixed window that
    /// starts at `window`, if fewer than `limit` were taken in it: true, and it is counted; false,
    /// counting nothing. One conditional write, so concurrent calls never take more than `limit`.
    /// The counter may be dropped after `expires_at` (DynamoDB TTL; SQLite drops a key's earlier
    /// windows with the next take).
    async fn take_request(
        &self,
        shop: &ShopId,
        key: &str,
        window: DateTime<Utc>,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The consent ledger (`consent`): each customer's records, appended once per business key, and
/// the wordings they point at, stored once per shop.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Keeps a wording under its digest; a digest already stored is the same words and is left
    /// as it is.
    async fn put_wording(&self, wording: &ConsentWording) -> Result<(), StoreError>;
    async fn wording(&self, shop: &ShopId, digest: &WordingDigest) -> Result<Option<ConsentWording>, StoreError>;
    /// Appends the record unless the customer has one under its key; then returns the stored one
    /// and changes nothing. The record is checked (`ConsentRecord::check`) before anything is
    /// written.
    async fn record_consent(&self, record: &ConsentRecord) -> Result<CreateOutcome<ConsentRecord>, StoreError>;
    /// The customer's records, oldest first (by time, then key).
    async fn consents(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<ConsentRecord>, StoreError>;
}

/// What a conditional create found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome<T> {
    Created,
    /// Something was stored under the key already: this is it, unchanged.
    Exists(T),
}

/// A finished message for one recipient: the complete MIME text, as SES v2 `SendEmail` takes it
/// (`Content.Raw`) and as the local outbox writes it to a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    pub shop: ShopId,
    /// The envelope sender: the address inside the `From` header.
    pub from_address: String,
    /// The envelope recipient.
    pub to: Email,
    /// RFC 5322 message: headers and body, CRLF line ends.
    pub raw: Vec<u8>,
    pub configuration_set: Option<String>,
    /// SES message tags (`shop`, `campaign`): names and values of [A-Za-z0-9_-].
    pub tags: Vec<(String, String)>,
    /// A name for the message without PII (`shop-customer-campaign-date`), for the outbox file.
    pub label: String,
}

/// The copies of sent mail we keep ourselves (the local outbox; SES keeps none we own), for
/// erasure.
#[async_trait]
pub trait MailArchive: Send + Sync {
    /// Deletes every kept mail of the shop to the customer (by their mails' labels) or to
    /// `address`; returns how many.
    async fn erase(&self, shop: &ShopId, customer: &CustomerId, address: Option<&Email>) -> Result<usize, MailError>;
    /// Deletes every kept mail of the shop (a shop-wide erasure); returns how many.
    async fn erase_shop(&self, shop: &ShopId) -> Result<usize, MailError>;
}

/// Sends a finished message.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Returns the provider's message id.
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError>;
}
