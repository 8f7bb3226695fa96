//! The items this store writes, built from domain values exactly as the store builds them. For
//! capacity estimates (`wru_for_item`) without a table: what is counted is what is written.

use chrono::{DateTime, Utc};
use stammkunde_domain::coupon::{Coupon, CouponCode};
use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, IdempotencyKey, ShopId};
use stammkunde_domain::ingest::DeliveryRecord;
use stammkunde_domain::ledger::LedgerEntry;
use stammkunde_domain::order::Order;
use stammkunde_domain::refund::Refund;

use super::codec::code::{encode_claim, encode_code};
use super::codec::ledger::encode_entry;
use super::codec::order::encode_order;
use super::codec::refund::encode_refund;
use super::codec::shop::encode_delivery;
use super::codec::timer::encode_timer;
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

/// The ledger entry item as `append_entries` puts it: a single-entry append is one conditional
/// PutItem of exactly this (there is no balance item); a multi-entry append puts one of these per
/// entry in one transaction (twice the units).
pub fn ledger_entry_item(entry: &LedgerEntry) -> Result<Item, StoreError> {
    encode_entry(entry)
}

/// The timer item as `set_timer` puts it (one conditional PutItem).
pub fn timer_item(shop: &ShopId, customer: &CustomerId, due: Option<DateTime<Utc>>, ledger_len: u32) -> Item {
    encode_timer(shop, customer, due, ledger_len)
}

/// The refund item as `RecordRefund` puts it.
pub fn refund_item(refund: &Refund) -> Result<Item, StoreError> {
    encode_refund(refund)
}

/// The code item as `import_codes` (no issue) or `insert_issued` (issued) puts it.
pub fn code_item(coupon: &Coupon) -> Item {
    encode_code(coupon)
}

/// The claim item a claim or `insert_issued` creates next to the code, in the same transaction.
pub fn claim_item(shop: &ShopId, redemption: &IdempotencyKey, code: &CouponCode) -> Item {
    encode_claim(shop, redemption, code)
}

/// The record of one delivery id.
pub fn delivery_item(record: &DeliveryRecord, id: &DeliveryId) -> Item {
    encode_delivery(record, id)
}
