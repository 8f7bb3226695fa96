//! The single-table layout: key shapes, index names and the table definition.
//!
//! Table definition (the SAM template must mirror this exactly; a test compares them):
//!
//! ```yaml
//! Table:
//!   Type: AWS::DynamoDB::Table
//!   Properties:
//!     BillingMode: PAY_PER_REQUEST
//!     AttributeDefinitions:
//!       - { AttributeName: pk, AttributeType: S }
//!       - { AttributeName: sk, AttributeType: S }
//!       - { AttributeName: g1, AttributeType: S }
//!       - { AttributeName: g2, AttributeType: S }
//!       - { AttributeName: g3, AttributeType: S }
//!       - { AttributeName: g4, AttributeType: S }
//!       - { AttributeName: due, AttributeType: N }
//!       - { AttributeName: g5, AttributeType: S }
//!       - { AttributeName: g6, AttributeType: S }
//!       - { AttributeName: g7, AttributeType: S }
//!       - { AttributeName: g8, AttributeType: S }
//!       - { AttributeName: g9, AttributeType: S }
//!     KeySchema:
//!       - { AttributeName: pk, KeyType: HASH }
//!       - { AttributeName: sk, KeyType: RANGE }
//!     GlobalSecondaryIndexes:
//!       - IndexName: by_email
//!         KeySchema: [{ AttributeName: g1, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_birthday
//!         KeySchema: [{ AttributeName: g2, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_last_order
//!         KeySchema: [{ AttributeName: g3, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_due
//!         KeySchema: [{ AttributeName: g4, KeyType: HASH }, { AttributeName: due, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_pool
//!         KeySchema: [{ AttributeName: g5, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_shop_code
//!         KeySchema: [{ AttributeName: g6, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: INCLUDE, NonKeyAttributes: [rw] }
//!       - IndexName: by_shop
//!         KeySchema: [{ AttributeName: g7, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_deferred
//!         KeySchema: [{ AttributeName: g8, KeyType: HASH }, { AttributeName: g9, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!     TimeToLiveSpecification: { AttributeName: expires_at, Enabled: true }
//! ```
//!
//! Items (`{shop}`, `{customer}`, … are the domain ids, which never contain `#`):
//!
//! | item | pk | sk | index keys |
//! |---|---|---|---|
//! | customer profile | `{shop}#C#{customer}` | `C` | `g1`, `g2`, `g3` while not deleted; `g7` always |
//! | ledger entry | `{shop}#C#{customer}` | `L#{position:010}` | |
//! | timer | `{shop}#C#{customer}` | `T` | `g4` + `due` while a timer is due |
//! | mail send record | `{shop}#C#{customer}` | `M#{campaign}#{YYYY-MM-DD}` | `g8` + `g9` while deferred or claimed; `g7` = `{shop}#V` while flagged for review |
//! | mail settings | `{shop}#C#{customer}` | `MC` | |
//! | consent record | `{shop}#C#{customer}` | `Q#{record key}` | |
//! | order | `{shop}#O#{order}` | `O` | `g7` = `{shop}#O` |
//! | refund | `{shop}#O#{order}` | `F#{refund}` | `g7` = `{shop}#O` |
//! | coupon code | `{shop}#K#{code}` | `K` | `g6` always; `g5` while in its pool |
//! | code claim (redemption → code) | `{shop}#R#{redemption}` | `R` | |
//! | delivery id | `{shop}#D#{delivery id}` | `D` (TTL `expires_at`) | |
//! | privacy request | `{shop}#P` | `{kind}#{request ref}` | |
//! | Shopware registration | `{shop}#S` | `R` | |
//! | uninstall | `{shop}#S` | `U` | |
//! | shop erased (tombstone) | `{shop}#S` | `E` | |
//! | sweep mark | `{shop}#S` | `M#{name}` | |
//! | suppressed address | `{shop}#X` | `{address digest}` | |
//! | soft bounces of an address | `{shop}#X` | `B#{address digest}` | |
//! | consent wording | `{shop}#W` | `{wording digest}` | |
//! | request counter | `{shop}#Z` | `{key digest}#{window start}` (TTL `expires_at`) | |
//!
//! The indexes are sparse: an item is in an index only while it carries the index's keys.
//! - `by_email` (`g1` = `{shop}#E#{email}`), `by_birthday` (`g2` = `{shop}#B#{MM-DD}`) and
//!   `by_last_order` (`g3` = `{shop}#L#{YYYY-MM-DD}`, UTC) hold live customer profiles: a deleted
//!   customer drops all three, so the sweeps never mail them.
//! - `by_shop` (`g7` = `{shop}#A`) holds every profile item, deleted ones too: the listing for
//!   recalculations. Customers known only from ledger entries (no profile item) are not in it;
//!   through ingest every customer with an order has a profile item. Two more partitions of it
//!   list what a shop-wide erasure must find and no key of the shop's leads to: `{shop}#O` the
//!   order and refund items, `{shop}#L` the link tokens. A third, `{shop}#V`, holds the send
//!   records flagged for review (a claim never confirmed), which a person must look at.
//! - `by_due` (`g4` = `{shop}#T`, range `due`, epoch seconds as a number like every timestamp
//!   here) holds the timers that are due some time; clearing a timer removes both keys.
//! - `by_pool` (`g5` = `{shop}#P#{reward}`) holds the codes waiting in a reward's pool; a claim
//!   removes `g5` in the same transaction that binds the code.
//! - `by_shop_code` (`g6` = `{shop}#K`) holds every code of the shop, ordered by code. It projects
//!   the reward (`rw`) so a listing of one reward filters on the index; the reward never changes,
//!   so claims and returns never rewrite this index.
//! - `by_deferred` (`g8` = `{shop}#M`, range `g9` = `{due}#{customer}#{campaign}#{YYYY-MM-DD}`,
//!   `due` fixed-width epoch seconds `{seconds:011}.{nanos:09}`) holds the mail send records
//!   deferred by the frequency cap; every other state's record is put without both keys, so it
//!   leaves the index.
//!
//! Every sort key but `by_due`'s and `by_deferred`'s is the table's own `pk`, so no extra
//! attribute is stored for it and a page comes back ordered by customer (or code). `by_due` sorts
//! by time; ties come back in an order DynamoDB keeps stable, and page cursors carry the table
//! key, so paging never skips or repeats. `by_deferred` sorts by a string that is unique per
//! record and orders it by (due, customer, campaign, date): ids never hold a character below `#`,
//! so the separators sort before any id character and string order is tuple order.
//!
//! There is no balance item: a customer's balance is derived, the replay of their ledger entries,
//! which share the profile's partition. An append is conditional on the position it takes (a
//! conditional put of the entry, 1 write unit, no transaction, for the usual single entry), so the
//! balance can never disagree with the entries, and reading it is the same one Query that reads
//! the profile (entries are a few hundred bytes each; a strongly consistent read unit covers 4 KB).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, Utc};
use stammkunde_domain::consent::WordingDigest;
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, IdempotencyKey, OrderId, RefundId, RewardId, ShopId};
use stammkunde_domain::ingest::PrivacyRequestKind;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::Campaign;
use std::time::Duration;

use super::errors::store_error;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The TTL attribute, epoch seconds. Delivery records and mail link tokens carry it.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// One sparse index over customer profiles: its name and its partition key attribute (the sort
/// key is `pk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomerIndex {
    pub name: &'static str,
    pub attribute: &'static str,
}

pub const BY_EMAIL: CustomerIndex = CustomerIndex { name: "by_email", attribute: "g1" };
pub const BY_BIRTHDAY: CustomerIndex = CustomerIndex { name: "by_birthday", attribute: "g2" };
pub const BY_LAST_ORDER: CustomerIndex = CustomerIndex { name: "by_last_order", attribute: "g3" };
/// The indexes the sweeps select through: a deleted customer leaves all of them.
pub const CUSTOMER_INDEXES: [CustomerIndex; 3] = [BY_EMAIL, BY_BIRTHDAY, BY_LAST_ORDER];
/// Every profile item of a shop, deleted customers included (not one of `CUSTOMER_INDEXES`,
/// which a deletion removes).
pub const BY_SHOP: CustomerIndex = CustomerIndex { name: "by_shop", attribute: "g7" };
/// Codes waiting in a reward's pool.
pub const BY_POOL: CustomerIndex = CustomerIndex { name: "by_pool", attribute: "g5" };
/// Every code of a shop.
pub const BY_SHOP_CODE: CustomerIndex = CustomerIndex { name: "by_shop_code", attribute: "g6" };

/// The timers index: partition `g4`, sorted by the due time.
pub const BY_DUE: &str = "by_due";
pub const TIMER_INDEX_ATTRIBUTE: &str = "g4";
/// A timer's due time (a number: epoch seconds), the sort key of `by_due`.
pub const DUE: &str = "due";
/// A code's reward: projected into `by_shop_code` so a listing of one reward filters there.
pub const CODE_REWARD: &str = "rw";

/// The deferred mail index: partition `g8` (`{shop}#M`), sorted by `g9`.
pub const BY_DEFERRED: &str = "by_deferred";
pub const DEFERRED_INDEX_ATTRIBUTE: &str = "g8";
/// A deferred record's place in `by_deferred`: `{due}#{customer}#{campaign}#{YYYY-MM-DD}`.
pub const DEFERRED_ORDER: &str = "g9";

/// One global secondary index as the table declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    pub hash: &'static str,
    pub range: &'static str,
    /// Non-key attributes projected (`INCLUDE`); empty for `KEYS_ONLY`.
    pub include: &'static [&'static str],
}

const fn keyed_by_pk(index: CustomerIndex) -> IndexDefinition {
    IndexDefinition { name: index.name, hash: index.attribute, range: PK, include: &[] }
}

/// Every index of the table, as `create_table` creates them and the template declares them.
pub const INDEXES: [IndexDefinition; 8] = [
    keyed_by_pk(BY_EMAIL),
    keyed_by_pk(BY_BIRTHDAY),
    keyed_by_pk(BY_LAST_ORDER),
    IndexDefinition { name: BY_DUE, hash: TIMER_INDEX_ATTRIBUTE, range: DUE, include: &[] },
    keyed_by_pk(BY_POOL),
    IndexDefinition { name: BY_SHOP_CODE.name, hash: BY_SHOP_CODE.attribute, range: PK, include: &[CODE_REWARD] },
    keyed_by_pk(BY_SHOP),
    IndexDefinition { name: BY_DEFERRED, hash: DEFERRED_INDEX_ATTRIBUTE, range: DEFERRED_ORDER, include: &[] },
];

/// Every key attribute of the table and its indexes, with its type.
pub const KEY_ATTRIBUTES: [(&str, AttributeKind); 12] = [
    (PK, AttributeKind::S),
    (SK, AttributeKind::S),
    (BY_EMAIL.attribute, AttributeKind::S),
    (BY_BIRTHDAY.attribute, AttributeKind::S),
    (BY_LAST_ORDER.attribute, AttributeKind::S),
    (TIMER_INDEX_ATTRIBUTE, AttributeKind::S),
    (DUE, AttributeKind::N),
    (BY_POOL.attribute, AttributeKind::S),
    (BY_SHOP_CODE.attribute, AttributeKind::S),
    (BY_SHOP.attribute, AttributeKind::S),
    (DEFERRED_INDEX_ATTRIBUTE, AttributeKind::S),
    (DEFERRED_ORDER, AttributeKind::S),
];

/// A key attribute's type (the SDK's `ScalarAttributeType` is not `const`-constructible).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeKind {
    S,
    N,
}

pub const SK_PROFILE: &str = "C";
pub const SK_ORDER: &str = "O";
pub const SK_DELIVERY: &str = "D";
pub const SK_REGISTRATION: &str = "R";
pub const SK_UNINSTALL: &str = "U";
pub const SK_SHOP_ERASED: &str = "E";
pub const SK_LEDGER_PREFIX: &str = "L#";
/// The last sort key of a customer as `customer` reads it (profile `C`, then ledger `L#{position}`):
/// `~` sorts after every digit.
pub const SK_CUSTOMER_LAST: &str = "L#~";
pub const SK_TIMER: &str = "T";
pub const SK_REFUND_PREFIX: &str = "F#";
pub const SK_CODE: &str = "K";
pub const SK_CLAIM: &str = "R";
pub const SK_SWEEP_MARK_PREFIX: &str = "M#";
/// Mail send records in the customer's partition (another partition than sweep marks').
pub const SK_MAIL_SEND_PREFIX: &str = "M#";
pub const SK_MAIL_CONTACT: &str = "MC";
/// Beside the suppressions (whose sort key is the bare 64-digit digest), so never one of them.
pub const SK_SOFT_BOUNCES_PREFIX: &str = "B#";
/// Consent records in the customer's partition: after `L#~`, so `customer`'s range (profile and
/// ledger) never reads them.
pub const SK_CONSENT_PREFIX: &str = "Q#";

/// A primary key: partition and sort key values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Key { pk, sk: sk.into() }
    }

    /// `pk/sk`, for error messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.pk, self.sk)
    }
}

pub fn customer_pk(shop: &ShopId, customer: &CustomerId) -> String {
    format!("{shop}#C#{customer}")
}

/// Recovers the customer id from a customer partition key of this shop.
pub fn customer_from_pk(shop: &ShopId, pk: &str) -> Option<CustomerId> {
    let rest = pk.strip_prefix(shop.as_str())?.strip_prefix("#C#")?;
    CustomerId::parse(rest).ok()
}

pub fn profile_key(shop: &ShopId, customer: &CustomerId) -> Key {
    Key::new(customer_pk(shop, customer), SK_PROFILE)
}

/// Zero-padded to the ten digits of `u32::MAX`, so sort key order is position order.
pub fn ledger_sk(position: u32) -> String {
    format!("{SK_LEDGER_PREFIX}{position:010}")
}

pub fn ledger_key(shop: &ShopId, customer: &CustomerId, position: u32) -> Key {
    Key::new(customer_pk(shop, customer), ledger_sk(position))
}

/// The position in a ledger entry's sort key.
pub fn position_from_sk(sk: &str) -> Option<u32> {
    let digits = sk.strip_prefix(SK_LEDGER_PREFIX)?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
}

pub fn timer_key(shop: &ShopId, customer: &CustomerId) -> Key {
    Key::new(customer_pk(shop, customer), SK_TIMER)
}

pub fn timer_index_value(shop: &ShopId) -> String {
    format!("{shop}#T")
}

pub fn order_pk(shop: &ShopId, order: &OrderId) -> String {
    format!("{shop}#O#{order}")
}

pub fn order_key(shop: &ShopId, order: &OrderId) -> Key {
    Key::new(order_pk(shop, order), SK_ORDER)
}

pub fn refund_key(shop: &ShopId, order: &OrderId, refund: &RefundId) -> Key {
    Key::new(order_pk(shop, order), format!("{SK_REFUND_PREFIX}{refund}"))
}

pub fn code_key(shop: &ShopId, code: &CouponCode) -> Key {
    Key::new(format!("{shop}#K#{code}"), SK_CODE)
}

/// Recovers the code from a code item's partition key of this shop.
pub fn code_from_pk(shop: &ShopId, pk: &str) -> Option<CouponCode> {
    let rest = pk.strip_prefix(shop.as_str())?.strip_prefix("#K#")?;
    CouponCode::parse(rest).ok().filter(|code| code.as_str() == rest)
}

pub fn claim_key(shop: &ShopId, redemption: &IdempotencyKey) -> Key {
    Key::new(format!("{shop}#R#{redemption}"), SK_CLAIM)
}

pub fn pool_index_value(shop: &ShopId, reward: &RewardId) -> String {
    format!("{shop}#P#{reward}")
}

pub fn shop_codes_index_value(shop: &ShopId) -> String {
    format!("{shop}#K")
}

pub fn shop_customers_index_value(shop: &ShopId) -> String {
    format!("{shop}#A")
}

/// The shop's orders and refunds in `by_shop` (a partition of that index beside the profiles'),
/// for a shop-wide erasure.
pub fn shop_orders_index_value(shop: &ShopId) -> String {
    format!("{shop}#O")
}

/// The shop's link tokens in `by_shop`: a link's own key names no shop.
pub fn shop_links_index_value(shop: &ShopId) -> String {
    format!("{shop}#L")
}

/// The shop's send records flagged for review in `by_shop`, for the merchant's listing.
pub fn shop_flagged_sends_index_value(shop: &ShopId) -> String {
    format!("{shop}#V")
}

/// The partition of the shop's own items (registration, uninstall, sweep marks, tombstone).
pub fn shop_pk(shop: &ShopId) -> String {
    format!("{shop}#S")
}

/// The tombstone of a shop erased as a whole; it stays when the rest goes.
pub fn shop_erased_key(shop: &ShopId) -> Key {
    Key::new(shop_pk(shop), SK_SHOP_ERASED)
}

pub fn wording_pk(shop: &ShopId) -> String {
    format!("{shop}#W")
}

pub fn address_pk(shop: &ShopId) -> String {
    format!("{shop}#X")
}

pub fn delivery_key(shop: &ShopId, id: &DeliveryId) -> Key {
    Key::new(format!("{shop}#D#{id}"), SK_DELIVERY)
}

pub fn privacy_pk(shop: &ShopId) -> String {
    format!("{shop}#P")
}

pub fn privacy_key(shop: &ShopId, kind: PrivacyRequestKind, request_ref: &str) -> Key {
    Key::new(privacy_pk(shop), format!("{}#{request_ref}", kind.as_str()))
}

pub fn registration_key(shop: &ShopId) -> Key {
    Key::new(shop_pk(shop), SK_REGISTRATION)
}

pub fn uninstall_key(shop: &ShopId) -> Key {
    Key::new(shop_pk(shop), SK_UNINSTALL)
}

pub fn sweep_mark_key(shop: &ShopId, name: &str) -> Key {
    Key::new(shop_pk(shop), format!("{SK_SWEEP_MARK_PREFIX}{name}"))
}

pub fn mail_send_key(shop: &ShopId, customer: &CustomerId, campaign: Campaign, date: NaiveDate) -> Key {
    Key::new(customer_pk(shop, customer), format!("{SK_MAIL_SEND_PREFIX}{campaign}#{}", date.format("%Y-%m-%d")))
}

/// The campaign and date in a send record's sort key.
pub fn mail_send_from_sk(sk: &str) -> Option<(Campaign, NaiveDate)> {
    let (campaign, date) = sk.strip_prefix(SK_MAIL_SEND_PREFIX)?.split_once('#')?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok().filter(|d| date_text(*d) == date)?;
    Some((Campaign::parse(campaign)?, date))
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn mail_contact_key(shop: &ShopId, customer: &CustomerId) -> Key {
    Key::new(customer_pk(shop, customer), SK_MAIL_CONTACT)
}

pub fn deferred_index_value(shop: &ShopId) -> String {
    format!("{shop}#M")
}

/// `due` is the fixed-width due time (see the module documentation).
pub fn deferred_order_value(due: &str, customer: &CustomerId, campaign: Campaign, date: NaiveDate) -> String {
    format!("{due}#{customer}#{campaign}#{}", date_text(date))
}

/// A mail's link token, by its digest: a partition of its own (`#` starts no shop's keys: ids
/// never hold one), since a link names no shop.
pub fn link_key(digest: &str) -> Key {
    Key::new(format!("#L#{digest}"), "L")
}

pub fn consent_record_key(shop: &ShopId, customer: &CustomerId, key: &str) -> Key {
    Key::new(customer_pk(shop, customer), format!("{SK_CONSENT_PREFIX}{key}"))
}

pub fn wording_key(shop: &ShopId, digest: &WordingDigest) -> Key {
    Key::new(wording_pk(shop), digest.as_str())
}

pub fn suppression_key(shop: &ShopId, address: &AddressDigest) -> Key {
    Key::new(address_pk(shop), address.as_str())
}

pub fn soft_bounces_key(shop: &ShopId, address: &AddressDigest) -> Key {
    Key::new(address_pk(shop), format!("{SK_SOFT_BOUNCES_PREFIX}{}", address.as_str()))
}

/// The partition of the shop's request counters (`mail::link_request`).
pub fn counters_pk(shop: &ShopId) -> String {
    format!("{shop}#Z")
}

/// A request counter: its key (a digest) and its window's start, as epoch seconds.
pub fn request_counter_key(shop: &ShopId, key: &str, window: DateTime<Utc>) -> Key {
    Key::new(counters_pk(shop), format!("{key}#{}", window.timestamp()))
}

pub fn email_index_value(shop: &ShopId, email: &str) -> String {
    format!("{shop}#E#{email}")
}

/// `month_day` is `MM-DD`.
pub fn birthday_index_value(shop: &ShopId, month_day: &str) -> String {
    format!("{shop}#B#{month_day}")
}

pub fn last_order_index_value(shop: &ShopId, date: NaiveDate) -> String {
    format!("{shop}#L#{}", date.format("%Y-%m-%d"))
}

/// How long `create_table` waits for the table to become ACTIVE (real AWS takes seconds; moto is
/// immediate).
const TABLE_ACTIVE_POLLS_MAX: u32 = 120;
const TABLE_ACTIVE_POLL_INTERVAL: Duration = Duration::from_millis(500);

fn definition_error(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::backend("table definition", e)
}

/// Creates the table as described in the module documentation, waits until it is ACTIVE and
/// enables TTL on `expires_at`. For tests and local tooling; production tables come from SAM.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?);
    for (attribute, kind) in KEY_ATTRIBUTES {
        let kind = match kind {
            AttributeKind::S => ScalarAttributeType::S,
            AttributeKind::N => ScalarAttributeType::N,
        };
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(kind)
                .build()
                .map_err(definition_error)?,
        );
    }
    for index in INDEXES {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.hash, KeyType::Hash)?)
                .key_schema(key(index.range, KeyType::Range)?)
                .projection(projection(index))
                .build()
                .map_err(definition_error)?,
        );
    }
    request.send().await.map_err(|e| store_error("CreateTable", e))?;
    wait_until_active(client, name).await?;
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(definition_error)?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| store_error("UpdateTimeToLive", e))?;
    Ok(())
}

fn projection(index: IndexDefinition) -> Projection {
    if index.include.is_empty() {
        return Projection::builder().projection_type(ProjectionType::KeysOnly).build();
    }
    let builder = Projection::builder().projection_type(ProjectionType::Include);
    index.include.iter().fold(builder, |b, attribute| b.non_key_attributes(*attribute)).build()
}

fn key(attribute: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(attribute).key_type(key_type).build().map_err(definition_error)
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), StoreError> {
    for _ in 0..TABLE_ACTIVE_POLLS_MAX {
        let described =
            client.describe_table().table_name(name).send().await.map_err(|e| store_error("DescribeTable", e))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(TABLE_ACTIVE_POLL_INTERVAL).await;
    }
    Err(StoreError::Unavailable { message: format!("table {name} did not become ACTIVE"), source: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_customer_id_survives_the_round_trip_through_its_partition_key() {
        let customer = CustomerId::parse("gid://shopify/Customer/1").unwrap_or_else(|e| panic!("{e}"));
        let pk = customer_pk(&shop(), &customer);
        assert_eq!(customer_from_pk(&shop(), &pk), Some(customer));
        assert_eq!(customer_from_pk(&ShopId::parse("dem").unwrap_or_else(|e| panic!("{e}")), &pk), None);
    }

    #[test]
    fn ledger_sort_keys_sort_in_position_order_and_give_their_position_back() {
        let keys: Vec<String> = [1, 9, 10, 11, 100, u32::MAX].into_iter().map(ledger_sk).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert_eq!(keys[0], "L#0000000001");
        for (sk, position) in keys.iter().zip([1, 9, 10, 11, 100, u32::MAX]) {
            assert_eq!(position_from_sk(sk), Some(position));
        }
        for other in ["L#1", "L#earn:order:1", "L#00000000x1", "C", "L#99999999999"] {
            assert_eq!(position_from_sk(other), None, "{other}");
        }
    }

    #[test]
    fn a_code_survives_the_round_trip_through_its_partition_key() {
        let code = CouponCode::parse("SK-ABCD").unwrap_or_else(|e| panic!("{e}"));
        let key = code_key(&shop(), &code);
        assert_eq!(code_from_pk(&shop(), &key.pk), Some(code));
        assert_eq!(code_from_pk(&shop(), "demo#K#sk-abcd"), None, "stored codes are upper case");
    }

    #[test]
    fn a_send_key_gives_its_campaign_and_date_back() {
        let customer = CustomerId::parse("1").unwrap_or_else(|e| panic!("{e}"));
        let date = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_else(|| panic!("valid date"));
        for campaign in Campaign::ALL {
            let key = mail_send_key(&shop(), &customer, campaign, date);
            assert_eq!(key.pk, customer_pk(&shop(), &customer));
            assert_eq!(mail_send_from_sk(&key.sk), Some((campaign, date)), "{}", key.sk);
        }
        assert_eq!(mail_send_key(&shop(), &customer, Campaign::WinBack, date).sk, "M#win_back#2026-06-30");
        for other in ["M#birthday#2026-6-30", "M#nope#2026-06-30", "M#birthday", "MC", "M#birthday#2026-02-30"] {
            assert_eq!(mail_send_from_sk(other), None, "{other}");
        }
    }

    #[test]
    fn every_index_key_attribute_is_declared_once() {
        for index in INDEXES {
            for attribute in [index.hash, index.range] {
                assert_eq!(KEY_ATTRIBUTES.iter().filter(|(a, _)| *a == attribute).count(), 1, "{attribute}");
            }
        }
    }
}
