//! Builders for the values the suite stores: plain functions, each returning a complete, valid
//! value that a test then changes where it matters.
//!
//! These are test helpers: a fixture that cannot be built is a bug in the suite, so they panic
//! with the reason instead of returning errors.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;

use stammkunde_domain::coupon::{CouponCode, Issue};
use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::ids::{
    CustomerId, DeliveryId, IdempotencyKey, LineId, OrderId, ProductId, RefundId, ReviewId, RewardId, ShopId, TierId,
};
use stammkunde_domain::ingest::{Change, DeliveryRecord, PrivacyRequest, PrivacyRequestKind, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::ledger::{
    Bucket, BusinessKey, EarnBasis, EntryDetail, EntryKind, LedgerEntry, LineCredit, LineReversal, ReversalCause,
    ReversalDetail,
};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::refund::{Refund, RefundLine};

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
        paid_at: None,
        fulfilled_at: None,
        total_minor: None,
    }
}

/// The same order in a later (or earlier) snapshot: new payment state and version.
pub fn order_snapshot(base: &Order, payment: PaymentState, updated_at: DateTime<Utc>) -> Order {
    Order { payment, version: OrderVersion::of(updated_at, payment, base.cancelled), ..base.clone() }
}

/// A valid earn entry for an order at `position`: `points` in one basis line, keyed
/// `earn:order:{order}`, in `bucket`.
pub fn earn_entry(
    shop: &ShopId,
    customer: &CustomerId,
    order: &OrderId,
    position: u32,
    bucket: Bucket,
    points: i64,
    created_at: DateTime<Utc>,
) -> LedgerEntry {
    let (available, pending) = match bucket {
        Bucket::Available => (points, 0),
        Bucket::Pending => (0, points),
    };
    LedgerEntry {
        shop: shop.clone(),
        customer_id: customer.clone(),
        position,
        key: BusinessKey::earn_for_order(order),
        kind: EntryKind::Earn,
        available,
        pending,
        reason: format!("order #{order} paid"),
        customer_text: None,
        order_id: Some(order.clone()),
        detail: EntryDetail::Earn(EarnBasis {
            currency: eur(),
            points_per_unit: Decimal::ONE,
            tax_included: true,
            multiplier: Decimal::ONE,
            tier: None,
            order_total_minor: None,
            paid_at: None,
            lines: vec![LineCredit {
                line_id: line_id("1"),
                product_id: None,
                quantity: 1,
                amount_minor: points * 100,
                points,
            }],
        }),
        created_at,
    }
}

/// A manual adjustment at `position` (any sign, available bucket), keyed by `key`.
pub fn adjustment_entry(
    shop: &ShopId,
    customer: &CustomerId,
    key: &str,
    position: u32,
    points: i64,
    created_at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        shop: shop.clone(),
        customer_id: customer.clone(),
        position,
        key: BusinessKey::adjustment(&parsed("idempotency key", key, IdempotencyKey::parse(key))),
        kind: EntryKind::Adjustment,
        available: points,
        pending: 0,
        reason: "goodwill".into(),
        customer_text: Some("Danke für Ihre Geduld".into()),
        order_id: None,
        detail: EntryDetail::None,
        created_at,
    }
}

/// One entry of every kind, at positions 1, 2, …, as a real ledger would hold them: each detail
/// variant with its fields set, so a store's codec must carry all of them.
pub fn entries_of_every_kind(shop: &ShopId, customer: &CustomerId) -> Vec<LedgerEntry> {
    let order = order_id("5001");
    let refund = parsed("refund id", "r-1", RefundId::parse("r-1"));
    let product = parsed("product id", "p-1", ProductId::parse("p-1"));
    let review = parsed("review id", "rev-1", ReviewId::parse("rev-1"));
    let reward = parsed("reward id", "5-euro", RewardId::parse("5-euro"));
    let tier = parsed("tier id", "gold", TierId::parse("gold"));
    let code = parsed("code", "SK-ABCD-EFGH", CouponCode::parse("SK-ABCD-EFGH"));
    let earn = earn_entry(shop, customer, &order, 1, Bucket::Pending, 300, at(1));
    let mut earn = earn;
    if let EntryDetail::Earn(basis) = &mut earn.detail {
        basis.multiplier = Decimal::new(125, 2);
        basis.tier = Some(tier.clone());
        basis.order_total_minor = Some(35_990);
        basis.paid_at = Some(at(1) + Duration::nanoseconds(5));
        basis.lines[0].product_id = Some("p-1".into());
        basis.lines[0].quantity = 3;
    }
    let base = |position: u32, key: BusinessKey, kind: EntryKind, detail: EntryDetail| LedgerEntry {
        shop: shop.clone(),
        customer_id: customer.clone(),
        position,
        key,
        kind,
        available: 0,
        pending: 0,
        reason: format!("{} 🎁 Ünïcode", kind.as_str()),
        customer_text: None,
        order_id: Some(order.clone()),
        detail,
        created_at: at(i64::from(position)),
    };
    let reversal = ReversalDetail {
        cause: ReversalCause::Refund { refund_id: refund.clone(), amount_minor: Some(1_999) },
        from: Bucket::Pending,
        lines: vec![LineReversal { line_id: line_id("1"), quantity: 1, amount_minor: 10_000, points: 100 }],
        shortfall: 0,
    };
    vec![
        earn,
        base(2, BusinessKey::window_for_order(&order), EntryKind::Window, EntryDetail::Window { fulfilled_at: at(2) }),
        LedgerEntry {
            pending: -100,
            ..base(
                3,
                BusinessKey::reversal_for_refund(&order, &refund),
                EntryKind::Reversal,
                EntryDetail::Reversal(reversal),
            )
        },
        LedgerEntry {
            available: 200,
            pending: -200,
            ..base(
                4,
                BusinessKey::release_for_order(&order),
                EntryKind::Release,
                EntryDetail::Release { of: BusinessKey::earn_for_order(&order) },
            )
        },
        LedgerEntry {
            pending: 50,
            order_id: None,
            ..base(
                5,
                BusinessKey::review(&product),
                EntryKind::Review,
                EntryDetail::Review { product_id: product.clone(), review_id: review },
            )
        },
        LedgerEntry {
            available: -150,
            order_id: None,
            ..base(
                6,
                BusinessKey::redemption(&parsed("key", "redeem-1", IdempotencyKey::parse("redeem-1"))),
                EntryKind::Redemption,
                EntryDetail::Redemption { reward, code: code.clone(), expires_at: at(90_000) },
            )
        },
        base(7, BusinessKey::code_used(&code), EntryKind::CodeUsed, EntryDetail::Code { code: code.clone() }),
        LedgerEntry {
            order_id: None,
            ..base(
                8,
                BusinessKey::expiry_notice(at(50_000).date_naive()),
                EntryKind::ExpiryNotice,
                EntryDetail::ExpiryNotice { points: 50, expires_at: at(50_000) },
            )
        },
        LedgerEntry {
            available: -50,
            order_id: None,
            ..base(
                9,
                BusinessKey::expiry(&BusinessKey::release_for_order(&order)),
                EntryKind::Expiry,
                EntryDetail::Expiry { lot: BusinessKey::release_for_order(&order) },
            )
        },
        LedgerEntry {
            order_id: None,
            ..base(
                10,
                BusinessKey::tier_change(10),
                EntryKind::TierChange,
                EntryDetail::Tier { from: None, to: Some(tier) },
            )
        },
        LedgerEntry { position: 11, ..adjustment_entry(shop, customer, "adj-1", 11, 25, at(11)) },
    ]
}

/// A refund of `quantity` units of line `1` of `order`.
pub fn refund(shop: &ShopId, order: &OrderId, refund: &str, quantity: u32, created_at: DateTime<Utc>) -> Refund {
    Refund {
        shop: shop.clone(),
        order_id: order.clone(),
        refund_id: parsed("refund id", refund, RefundId::parse(refund)),
        created_at,
        lines: vec![RefundLine { line_id: line_id("1"), quantity }],
        amount_minor: None,
    }
}

/// A pool of codes `{prefix}-0001 …` for a reward.
pub fn codes(prefix: &str, count: u32) -> Vec<CouponCode> {
    (1..=count)
        .map(|n| {
            let raw = format!("{prefix}-{n:04}");
            parsed("code", &raw, CouponCode::parse(&raw))
        })
        .collect()
}

pub fn reward(raw: &str) -> RewardId {
    parsed("reward id", raw, RewardId::parse(raw))
}

pub fn idempotency_key(raw: &str) -> IdempotencyKey {
    parsed("idempotency key", raw, IdempotencyKey::parse(raw))
}

/// What a redemption asks the pool for: valid for 90 days from `issued_at`.
pub fn issue(customer: &CustomerId, redemption: &str, issued_at: DateTime<Utc>) -> Issue {
    Issue {
        customer_id: customer.clone(),
        redemption: idempotency_key(redemption),
        issued_at,
        expires_at: issued_at + Duration::days(90),
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
