//! The API's JSON: a stable wire format, separate from the domain's internal types so they can
//! change without breaking merchants' integrations.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::customer::Customer;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::schedule;
use stammkunde_domain::ledger::state::CodeAccount;
use stammkunde_domain::ledger::{tiers, Balance, EntryDetail, LedgerEntry, LedgerState};
use stammkunde_domain::mail::MailContact;

pub(crate) fn customer(
    shop: &ShopConfig,
    c: &Customer,
    contact: &MailContact,
    state: &LedgerState,
    now: DateTime<Utc>,
) -> Value {
    let p = &c.profile;
    let tier = tiers::current_level(state, &shop.tiers, shop.currency, now, shop.time_zone);
    json!({
        "shop": p.shop,
        "customer_id": p.customer_id,
        "email": p.email,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "locale": p.locale,
        "country": p.country,
        "birthday": p.birthday.map(|b| json!({ "month": b.month, "day": b.day, "year": b.year })),
        "last_order_at": c.last_order_at,
        "deleted_at": c.deleted_at,
        "points": points(state.balance()),
        "tier": tier.map(|t| json!({ "id": t.id, "name": t.name })),
        "next_expiry": next_expiry(shop, state),
        "codes": codes(state),
        "consent": {
            // What the shop platform reports: not proof of consent.
            "email_marketing": match p.accepts_email_marketing {
                Some(true) => "subscribed",
                Some(false) => "not_subscribed",
                None => "unknown",
            },
            "source": "platform",
            // A confirmed double opt-in not withdrawn since and with nothing left to confirm: its
            // proof is under `/consents`.
            "provable": contact.double_opt_in_standing(),
            "double_opt_in_at": contact.double_opt_in_at,
            // Consent without proof here, and the day it stops counting unless confirmed.
            "imported_consent_at": contact.imported_consent_at,
            "reconsent_by": contact.reconsent_by,
            "unsubscribed_at": contact.unsubscribed_at,
        },
    })
}

/// The earliest date points expire on, and how many expire then.
fn next_expiry(shop: &ShopConfig, state: &LedgerState) -> Value {
    schedule::next_expiry(state, &shop.expiry).map_or(Value::Null, |(at, points)| json!({ "points": points, "at": at }))
}

/// The codes the customer was given, oldest first by expiry: active (issued, unused, unexpired),
/// used or expired.
fn codes(state: &LedgerState) -> Value {
    let mut codes: Vec<(&stammkunde_domain::coupon::CouponCode, &CodeAccount)> = state.codes.iter().collect();
    codes.sort_by_key(|(code, account)| (account.expires_at, (*code).clone()));
    let view = |(code, account): (&stammkunde_domain::coupon::CouponCode, &CodeAccount)| {
        let status = if account.used {
            "used"
        } else if account.expired {
            "expired"
        } else {
            "active"
        };
        json!({ "code": code, "reward": account.reward, "points": account.points, "expires_at": account.expires_at, "status": status })
    };
    Value::Array(codes.into_iter().map(view).collect())
}

pub(crate) fn ledger(shop: &ShopId, customer: &CustomerId, state: &LedgerState, entries: &[LedgerEntry]) -> Value {
    json!({
        "shop": shop,
        "customer_id": customer,
        "points": points(state.balance()),
        "shortfall": state.shortfall,
        "entries": entries.iter().map(entry).collect::<Vec<_>>(),
    })
}

pub(crate) fn points(b: Balance) -> Value {
    json!({ "available": b.available, "pending": b.pending })
}

pub(crate) fn entry(e: &LedgerEntry) -> Value {
    json!({
        "position": e.position,
        "key": e.key,
        "kind": e.kind,
        "points": e.points(),
        "available": e.available,
        "pending": e.pending,
        "reason": e.reason,
        "customer_text": e.customer_text,
        "order_id": e.order_id,
        "created_at": e.created_at,
        "detail": detail(&e.detail),
    })
}

/// The detail as the domain serialises it, with the earn rate as text (a decimal, never a float).
fn detail(d: &EntryDetail) -> Value {
    match d {
        EntryDetail::None => Value::Null,
        other => serde_json::to_value(other).unwrap_or(Value::Null),
    }
}
