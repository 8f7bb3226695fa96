//! Builders for the values the suite stores: plain functions, each returning a complete, valid
//! value that a test then changes where it matters.
//!
//! These are test helpers: a fixture that cannot be built is a bug in the suite, so they panic
//! with the reason instead of returning errors.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;

use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::ids::{CustomerId, DeliveryId, LineId, OrderId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord, PrivacyRequest, PrivacyRequestKind, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::ledger::{Bucket, BusinessKey, EarnBasis, EntryKind, LedgerEntry, LineCredit};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};

fn parsed<T, E: std::fmt::Debug>(what: &str, raw: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("fixture {what} `{raw}` is invalid: {error:?}"),
    }
}

/// A shop id no other test (in this run or any earlier one) uses: `{name}-{random}`. Tests work
/// only in shops from here, so backends that share state between tests stay correct.
pub fn shop(name: &str) -> ShopId {
    let raw = format!("{name}-{:016x}", rand::random::<u64>());
    parsed("shop id", &raw, ShopId::parse(&raw))
}

pub fn customer_id(raw: &str) -> CustomerId {
    parsed("customer id", raw, CustomerId::parse(raw))
}

pub fn order_id(raw: &str) -> OrderId {
    parsed("order id", raw, OrderId::parse(raw))
}

pub fn delivery_id(raw: &str) -> DeliveryId {
    parsed("delivery id", raw, DeliveryId::parse(raw))
}

pub fn line_id(raw: &str) -> LineId {
    parsed("line id", raw, LineId::parse(raw))
}

pub fn email(raw: &str) -> Email {
    parsed("email", raw, Email::parse(raw))
}

pub fn birthday(month: u8, day: u8, year: Option<u16>) -> Birthday {
    parsed("birthday", &format!("{month}-{day}"), Birthday::new(month, day, year))
}

pub fn eur() -> Currency {
    parsed("currency", "EUR", Currency::parse("EUR"))
}

/// A fixed point in time plus `minutes`: the suite's timeline, so every comparison is exact.
pub fn at(minutes: i64) -> DateTime<Utc> {
    let base = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single();
    let base = base.unwrap_or_else(|| panic!("fixture base time is not a valid instant"));
    base + Duration::minutes(minutes)
}

/// A profile with only the ids set, as a platform snapshot carrying nothing else would give.
pub fn bare_profile(shop: &ShopId, customer: &CustomerId, updated: Option<DateTime<Utc>>) -> CustomerProfile {
    CustomerProfile {
        shop: shop.clone(),
        customer_id: customer.clone(),
        email: None,
        first_name: None,
        last_name: None,
        locale: None,
        country: None,
        birthday: None,
        accepts_email_marketing: None,
        source_updated_at: updated,
    }
}

/// A profile with every field set.
pub fn full_profile(shop: &ShopId, customer: &CustomerId, updated: Option<DateTime<Utc>>) -> CustomerProfile {
    CustomerProfile {
        email: Some(email(&format!("{customer}@example.de"))),
        first_name: Some("Anna".into()),
        last_name: Some("Schmidt".into()),
        locale: Some("de".into()),
        country: Some("DE".into()),
        birthday: Some(birthday(7, 14, Some(1988))),
        accepts_email_marketing: Some(true),
        ..bare_profile(shop, customer, updated)
    }
}

/// One goods line of 19.99 EUR incl. 3.19 tax.
pub fn order_line(id: &str, quantity: u32) -> OrderLine {
    OrderLine {
        line_id: line_id(id),
        product_id: Some(format!("sku-{id}")),
        quantity,
        amount_minor: 1999 * i64::from(quantity),
        tax_minor: 319 * i64::from(quantity),
    }
}

/// A paid one-line order placed at `placed_at`, with its version stamped `updated_at`.
pub fn order(
    shop: &ShopId,
    order: &OrderId,
    customer: Option<&CustomerId>,
    placed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
) -> Order {
    let payment = PaymentState::Paid;
    Order {
        shop: shop.clone(),
        platform: Platform::Shopify,
        order_id: order.clone(),
        order_number: Some(format!("#{order}")),
        customer_id: customer.cloned(),
        currency: eur(),
        taxes_included: true,
        lines: vec![order_line("1", 1)],
        shipping_minor: 495,
        payment,
        cancelled: false,
        discount_codes: Vec::new(),
        placed_at,
        version: OrderVersion::of(updated_at, payment, false),
    }
}

/// The same order in a later (or earlier) snapshot: new payment state and version.
pub fn order_snapshot(base: &Order, payment: PaymentState, updated_at: DateTime<Utc>) -> Order {
    Order { payment, version: OrderVersion::of(updated_at, payment, base.cancelled), ..base.clone() }
}

/// A valid earn entry for an order: `points` in one basis line, keyed `earn:order:{order}`.
pub fn earn_entry(
    shop: &ShopId,
    customer: &CustomerId,
    order: &OrderId,
    bucket: Bucket,
    points: i64,
    created_at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        shop: shop.clone(),
        customer_id: customer.clone(),
        key: BusinessKey::earn_for_order(order),
        kind: EntryKind::Earn,
        bucket,
        points,
        reason: format!("order #{order} paid"),
        order_id: Some(order.clone()),
        basis: Some(EarnBasis {
            currency: eur(),
            points_per_unit: Decimal::ONE,
            tax_included: true,
            lines: vec![LineCredit { line_id: line_id("1"), quantity: 1, amount_minor: points * 100, points }],
        }),
        created_at,
    }
}

/// A delivery record with these ids, received now and remembered for the retention period.
/// Real time rather than the suite's timeline: a store may prune records past `expires_at`.
pub fn delivery(shop: &ShopId, ids: &[&str]) -> DeliveryRecord {
    let received_at = Utc::now();
    DeliveryRecord {
        shop: shop.clone(),
        ids: ids.iter().map(|raw| delivery_id(raw)).collect(),
        topic: "orders/updated".into(),
        received_at,
        expires_at: received_at + Duration::days(DELIVERY_RETENTION_DAYS),
    }
}

pub fn privacy_request(
    shop: &ShopId,
    kind: PrivacyRequestKind,
    request_ref: &str,
    customer: &CustomerId,
) -> PrivacyRequest {
    PrivacyRequest {
        shop: shop.clone(),
        kind,
        request_ref: request_ref.into(),
        customer_id: Some(customer.clone()),
        order_ids: vec![order_id("9001"), order_id("9002")],
        received_at: at(0),
    }
}

pub fn upsert(profile: CustomerProfile) -> Change {
    Change::UpsertCustomer(profile)
}

pub fn record(order: Order) -> Change {
    Change::RecordOrder(order)
}
