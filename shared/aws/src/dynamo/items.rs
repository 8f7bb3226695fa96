//! The items this store writes, built from domain values exactly as the store builds them. For
//! capacity estimates (`wru_for_item`) without a table: what is counted is what is written.

use chrono::{DateTime, Utc};
use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::DeliveryId;
use stammkunde_domain::ingest::DeliveryRecord;
use stammkunde_domain::ledger::LedgerEntry;
use stammkunde_domain::order::Order;

use super::codec::ledger::encode_entry;
use super::codec::order::encode_order;
use super::codec::shop::encode_delivery;
use super::codec::Item;
use super::customer_writes::{new_customer_item, Part};

/// The order item as `RecordOrder` puts it.
pub fn order_item(order: &Order) -> Result<Item, StoreError> {
    encode_order(order)
}

/// The profile item as a delivery with only this profile leaves it for a new customer.
pub fn profile_item(profile: &CustomerProfile) -> Item {
    new_customer_item(&profile.shop, &profile.customer_id, &[Part::Profile(profile)])
}

/// The profile item as a delivery with this profile and an order of the customer placed at
/// `last_order_at` leaves it for a new customer: one UpdateItem writes both (an update is charged
/// for the larger of the item before and after, and this is the after).
pub fn profile_with_last_order_item(profile: &CustomerProfile, last_order_at: DateTime<Utc>) -> Item {
    let parts = [Part::Profile(profile), Part::LastOrder(last_order_at)];
    new_customer_item(&profile.shop, &profile.customer_id, &parts)
}

/// The ledger entry item as `append_entry` puts it (the whole append: there is no balance item).
pub fn ledger_entry_item(entry: &LedgerEntry) -> Result<Item, StoreError> {
    encode_entry(entry)
}

/// The record of one delivery id.
pub fn delivery_item(record: &DeliveryRecord, id: &DeliveryId) -> Item {
    encode_delivery(record, id)
}
