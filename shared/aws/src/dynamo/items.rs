//! The items this store writes, built from domain values exactly as the store builds them. For
//! capacity estimates (`wru_for_item`) without a table: what is counted is what is written.

use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::DeliveryRecord;
use stammkunde_domain::ledger::{Bucket, LedgerEntry};
use stammkunde_domain::order::Order;

use super::codec::customer::{bucket_attribute, profile_attributes};
use super::codec::ledger::encode_entry;
use super::codec::order::encode_order;
use super::codec::shop::encode_delivery;
use super::codec::{key_item, n, Item};
use super::schema::{balance_key, profile_key};

/// The order item as `RecordOrder` puts it.
pub fn order_item(order: &Order) -> Result<Item, StoreError> {
    encode_order(order)
}

/// The profile item as an upsert leaves it for a new customer.
pub fn profile_item(profile: &CustomerProfile) -> Item {
    let mut item = key_item(&profile_key(&profile.shop, &profile.customer_id));
    item.extend(profile_attributes(profile).into_iter().map(|(name, value)| (name.to_owned(), value)));
    item
}

/// The ledger entry item as `append_entry` puts it.
pub fn ledger_entry_item(entry: &LedgerEntry) -> Result<Item, StoreError> {
    encode_entry(entry)
}

/// The balance item after an append that left `points` in `bucket` (an update is charged for the
/// larger of the item before and after).
pub fn balance_item(shop: &ShopId, customer: &CustomerId, bucket: Bucket, points: i64) -> Item {
    let mut item = key_item(&balance_key(shop, customer));
    item.insert(bucket_attribute(bucket).to_owned(), n(points));
    item
}

/// The record of one delivery id.
pub fn delivery_item(record: &DeliveryRecord, id: &DeliveryId) -> Item {
    encode_delivery(record, id)
}
