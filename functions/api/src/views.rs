//! The API's JSON: a stable wire format, separate from the domain's internal types so they can
//! change without breaking merchants' integrations.

use serde_json::{json, Value};

use stammkunde_domain::customer::Customer;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{Balance, LedgerEntry};

pub(crate) fn customer(c: &Customer) -> Value {
    let p = &c.profile;
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
        "points": points(c.balance),
        "consent": {
            // What the shop platform reports. Provable (double opt-in) consent is recorded by the
            // preference centre; until then `provable` is false.
            "email_marketing": match p.accepts_email_marketing {
                Some(true) => "subscribed",
                Some(false) => "not_subscribed",
                None => "unknown",
            },
            "source": "platform",
            "provable": false,
        },
    })
}

pub(crate) fn ledger(shop: &ShopId, customer: &CustomerId, balance: Balance, entries: &[LedgerEntry]) -> Value {
    json!({
        "shop": shop,
        "customer_id": customer,
        "points": points(balance),
        "entries": entries.iter().map(entry).collect::<Vec<_>>(),
    })
}

fn points(b: Balance) -> Value {
    json!({ "available": b.available, "pending": b.pending })
}

fn entry(e: &LedgerEntry) -> Value {
    json!({
        "key": e.key,
        "kind": e.kind,
        "bucket": e.bucket,
        "points": e.points,
        "reason": e.reason,
        "order_id": e.order_id,
        "created_at": e.created_at,
        "basis": e.basis.as_ref().map(|b| json!({
            "currency": b.currency,
            "points_per_unit": b.points_per_unit.to_string(),
            "tax_included": b.tax_included,
            "lines": b.lines.iter().map(|l| json!({
                "line_id": l.line_id,
                "quantity": l.quantity,
                "amount_minor": l.amount_minor,
                "points": l.points,
            })).collect::<Vec<_>>(),
        })),
    })
}
