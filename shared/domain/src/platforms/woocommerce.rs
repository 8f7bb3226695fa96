//! WooCommerce core webhook payloads. A body is exactly what `GET /wp-json/wc/v3/{resource}s/{id}`
//! returns, built when the delivery is sent (so it shows the current state, not the state at the
//! event), except `*.deleted`, whose body is only `{"id": N}`.
//!
//! Payment states (`status`, `date_paid(_gmt)`, `refunds`):
//!
//! | WooCommerce | ours |
//! |---|---|
//! | `refunded`, or refunds adding up to the order total | `Refunded` |
//! | paid (below) with some `refunds` | `PartiallyRefunded` |
//! | `processing` or `completed`, or `date_paid(_gmt)` set (covers plugin statuses) | `Paid` |
//! | `cancelled` or `failed` and never paid | `Voided`, and `cancelled` |
//! | `cancelled` or `failed` after payment | the paid state above, and `cancelled` |
//! | anything else (`pending`, `on-hold`, `checkout-draft`, …) | `Pending` |
//!
//! Line amounts: `line_items[].total` is the line after coupons and **without tax**, whatever
//! `prices_include_tax` says. WooCommerce computes it in `WC_Cart_Totals::calculate_item_totals()`
//! (plugins/woocommerce/includes/class-wc-cart-totals.php): when prices include tax it does
//! `$item->total = $item->total - array_sum( $item->taxes )` before storing `line_total`; the
//! REST schema calls `total` "Line total (after discounts)" and `total_tax` "Line total tax". So
//! orders are recorded with `taxes_included = false` and `tax_minor = total_tax`. The float
//! `price` field is never read.
//!
//! Times and totals: `paid_at` is `date_paid_gmt`; `fulfilled_at` is `date_completed_gmt` while
//! the status is `completed` (WooCommerce has no shipping state of its own: shops mark an order
//! completed when they ship it); `total_minor` is `total`, which refunds do not reduce.
//!
//! Refunds: one `RecordRefund` per `refunds[{id, reason, total}]` entry, for money only
//! (`amount_minor` = the absolute `total`, no lines): the order's refund list names no lines.
//! It has no refund date either, so a refund is dated with the order's `date_modified_gmt`.
//! Making a refund modifies the order (and fires `order.updated`), so the first body that lists
//! a refund is dated at or just after it was made; later bodies carry later dates, but a refund
//! is stored once, under (order, refund id), so the first one stands. A refund of nothing (a
//! restock only, `total` 0) takes nothing back and is left out.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    add_minor, array, country_code, email, expect_object, get, invalid, local_without_offset, opt_id, opt_str,
    opt_str_in, parse_json, product_id_text, quantity, req_id, req_str, shown, utc_without_offset, ParseOutcome,
};
use crate::config::ShopConfig;
use crate::customer::{clean_text, CustomerProfile};
use crate::error::InputError;
use crate::ids::{CustomerId, LineId, OrderId, RefundId};
use crate::ingest::Change;
use crate::money::{minor_from_json, minor_or_zero, Currency};
use crate::order::{Order, OrderLine, OrderVersion, PaymentState, Platform, ORDER_LINES_MAX};
use crate::refund::Refund;

/// Most entries read from an order's coupon and refund lists. Real orders have a few.
const SUB_LIST_MAX: usize = 100;

/// Longest `webhook_id` in the activation ping: a WordPress post id (a 64-bit integer at most).
const PING_ID_DIGITS_MAX: usize = 20;

/// The unsigned activation ping: a form body `webhook_id=<digits>` (not JSON). True only for exactly that shape.
pub fn is_ping(body: &[u8]) -> bool {
    let Some(digits) = body.strip_prefix(b"webhook_id=") else { return false };
    !digits.is_empty() && digits.len() <= PING_ID_DIGITS_MAX && digits.iter().all(u8::is_ascii_digit)
}

pub fn parse(
    topic: &str,
    body: &[u8],
    shop: &ShopConfig,
    received_at: DateTime<Utc>,
) -> Result<ParseOutcome, InputError> {
    if shop.platform != Platform::Woocommerce {
        return Err(invalid("shop", "is not a WooCommerce shop"));
    }
    let handled = matches!(
        topic,
        "order.created"
            | "order.updated"
            | "order.restored"
            | "order.deleted"
            | "customer.created"
            | "customer.updated"
            | "customer.deleted"
    );
    if !handled {
        return Ok(ParseOutcome::Ignored { reason: ignore_reason(topic) });
    }
    let json = parse_json(body)?;
    expect_object(&json, "body")?;
    let changes = match topic {
        "order.deleted" => vec![Change::DeleteOrder {
            shop: shop.id.clone(),
            order_id: OrderId::parse(&req_id(&json, "id", "id")?)?,
            at: received_at,
        }],
        "customer.created" | "customer.updated" => vec![Change::UpsertCustomer(customer_profile(&json, shop)?)],
        "customer.deleted" => vec![Change::DeleteCustomer {
            shop: shop.id.clone(),
            customer_id: CustomerId::parse(&req_id(&json, "id", "id")?)?,
            at: received_at,
        }],
        _ => order_changes(&json, shop)?,
    };
    Ok(ParseOutcome::Changes(changes))
}

/// Why a topic is not acted on.
fn ignore_reason(topic: &str) -> String {
    let shown = shown(topic);
    if topic.starts_with("action.") {
        format!("custom action topic `{shown}` is not handled")
    } else if topic.starts_with("product.") || topic.starts_with("coupon.") {
        format!("catalogue topic `{shown}` does not concern customers or orders")
    } else {
        format!("topic `{shown}` is not handled")
    }
}

/// `[UpsertCustomer, RecordOrder]` for a customer's order, `[RecordOrder]` for a guest's
/// (`customer_id` 0), each followed by one `RecordRefund` per refund.
fn order_changes(json: &Value, shop: &ShopConfig) -> Result<Vec<Change>, InputError> {
    let customer_id = match opt_id(json, "customer_id", "customer_id")? {
        None => None,
        Some(id) if id == "0" => None,
        Some(id) => Some(CustomerId::parse(&id)?),
    };
    let order = order(json, shop, customer_id.clone())?;
    let refunds = refunds(json, &order)?;
    let mut changes = Vec::with_capacity(2 + refunds.len());
    if let Some(customer_id) = customer_id {
        changes.push(Change::UpsertCustomer(billing_profile(json, shop, customer_id)?));
    }
    changes.push(Change::RecordOrder(order));
    changes.extend(refunds.into_iter().map(Change::RecordRefund));
    Ok(changes)
}

fn order(json: &Value, shop: &ShopConfig, customer_id: Option<CustomerId>) -> Result<Order, InputError> {
    let order_id = OrderId::parse(&req_id(json, "id", "id")?)?;
    let currency = Currency::parse(req_str(json, "currency", "currency")?)?;
    let status = req_str(json, "status", "status")?;
    let paid_at = paid_at(json, shop)?;
    let paid = matches!(status, "processing" | "completed") || paid_at.is_some();
    let cancelled = matches!(status, "cancelled" | "failed");
    let payment = payment_state(json, status, paid, currency)?;
    let updated_at =
        date(json, shop, "date_modified_gmt", "date_modified")?.ok_or(InputError::Missing("date_modified_gmt"))?;
    let placed_at =
        date(json, shop, "date_created_gmt", "date_created")?.ok_or(InputError::Missing("date_created_gmt"))?;
    Ok(Order {
        shop: shop.id.clone(),
        platform: Platform::Woocommerce,
        order_id,
        order_number: opt_str(json, "number", "number")?.and_then(|n| clean_text(Some(n))),
        customer_id,
        currency,
        // Line totals exclude tax whatever `prices_include_tax` says: see the module documentation.
        taxes_included: false,
        lines: lines(json, currency)?,
        shipping_minor: minor_or_zero("shipping_total", get(json, "shipping_total"), currency)?,
        payment,
        cancelled,
        discount_codes: discount_codes(json)?,
        placed_at,
        version: OrderVersion::of(updated_at, payment, cancelled),
        paid_at,
        fulfilled_at: fulfilled_at(json, shop, status)?,
        total_minor: get(json, "total").map(|total| minor_from_json("total", total, currency)).transpose()?,
    })
}

/// `date_completed(_gmt)` of a `completed` order. Another status means the order is not (or no
/// longer) done, whatever date an earlier completion left behind.
fn fulfilled_at(json: &Value, shop: &ShopConfig, status: &str) -> Result<Option<DateTime<Utc>>, InputError> {
    if status != "completed" {
        return Ok(None);
    }
    date(json, shop, "date_completed_gmt", "date_completed")
}

/// The order's refunds, money only, dated with the order's modification (see the module
/// documentation).
fn refunds(json: &Value, order: &Order) -> Result<Vec<Refund>, InputError> {
    let mut refunds = Vec::new();
    for entry in array(json, "refunds", "refunds", SUB_LIST_MAX)? {
        expect_object(entry, "refunds[]")?;
        let refund_id = RefundId::parse(&req_id(entry, "id", "refunds[].id")?)?;
        let total = get(entry, "total").ok_or(InputError::Missing("refunds[].total"))?;
        // WooCommerce writes refund totals negative ("-12.90"); the refunded money is their size.
        let amount_minor = minor_from_json("refunds[].total", total, order.currency)?.saturating_abs();
        if amount_minor == 0 {
            continue;
        }
        refunds.push(Refund {
            shop: order.shop.clone(),
            order_id: order.order_id.clone(),
            refund_id,
            created_at: order.version.updated_at,
            lines: Vec::new(),
            amount_minor: Some(amount_minor),
        });
    }
    Ok(refunds)
}

/// See the table in the module documentation.
fn payment_state(json: &Value, status: &str, paid: bool, currency: Currency) -> Result<PaymentState, InputError> {
    if status == "refunded" {
        return Ok(PaymentState::Refunded);
    }
    if !paid {
        return Ok(if matches!(status, "cancelled" | "failed") { PaymentState::Voided } else { PaymentState::Pending });
    }
    let refunds = array(json, "refunds", "refunds", SUB_LIST_MAX)?;
    if refunds.is_empty() {
        return Ok(PaymentState::Paid);
    }
    // Refund totals are negative strings ("-8.10"); WooCommerce's order `total` is not reduced by
    // refunds, so refunds adding up to it mean the order was refunded in full even if the merchant
    // kept another status.
    let mut refunded_minor: i64 = 0;
    for refund in refunds {
        let amount = minor_or_zero("refunds[].total", get(refund, "total"), currency)?;
        refunded_minor = add_minor("refunds[].total", refunded_minor, amount.saturating_abs())?;
    }
    let total_minor = minor_or_zero("total", get(json, "total"), currency)?;
    if total_minor > 0 && refunded_minor >= total_minor {
        Ok(PaymentState::Refunded)
    } else {
        Ok(PaymentState::PartiallyRefunded)
    }
}

fn paid_at(json: &Value, shop: &ShopConfig) -> Result<Option<DateTime<Utc>>, InputError> {
    date(json, shop, "date_paid_gmt", "date_paid")
}

/// A date from its `_gmt` field (UTC written without offset), or, where only the plain field is
/// present, from that shop-local time converted with the shop's configured zone.
fn date(
    json: &Value,
    shop: &ShopConfig,
    gmt_key: &'static str,
    local_key: &'static str,
) -> Result<Option<DateTime<Utc>>, InputError> {
    if let Some(text) = opt_str(json, gmt_key, gmt_key)? {
        return utc_without_offset(gmt_key, text).map(Some);
    }
    match opt_str(json, local_key, local_key)? {
        Some(text) => local_without_offset(local_key, text, shop.time_zone).map(Some),
        None => Ok(None),
    }
}

fn lines(json: &Value, currency: Currency) -> Result<Vec<OrderLine>, InputError> {
    array(json, "line_items", "line_items", ORDER_LINES_MAX)?.iter().map(|item| line(item, currency)).collect()
}

/// One goods line: `total` (after coupons, without tax) and `total_tax`.
fn line(item: &Value, currency: Currency) -> Result<OrderLine, InputError> {
    expect_object(item, "line_items[]")?;
    let amount = get(item, "total").ok_or(InputError::Missing("line_items[].total"))?;
    // WooCommerce writes 0 for a product that no longer exists.
    let product_id = opt_id(item, "product_id", "line_items[].product_id")?
        .filter(|id| id != "0")
        .map(|id| product_id_text("line_items[].product_id", &id))
        .transpose()?;
    Ok(OrderLine {
        line_id: LineId::parse(&req_id(item, "id", "line_items[].id")?)?,
        product_id,
        quantity: quantity(item, "quantity", "line_items[].quantity")?,
        amount_minor: minor_from_json("line_items[].total", amount, currency)?,
        tax_minor: minor_or_zero("line_items[].total_tax", get(item, "total_tax"), currency)?,
    })
}

fn discount_codes(json: &Value) -> Result<Vec<String>, InputError> {
    let mut codes = Vec::new();
    for coupon in array(json, "coupon_lines", "coupon_lines", SUB_LIST_MAX)? {
        if let Some(code) = clean_text(opt_str(coupon, "code", "coupon_lines[].code")?) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// The buyer as an order shows them (its billing address). A snapshot, so `source_updated_at`
/// is `None`: it creates a customer we do not know yet and never overwrites a stored profile.
fn billing_profile(json: &Value, shop: &ShopConfig, customer_id: CustomerId) -> Result<CustomerProfile, InputError> {
    let billing = get(json, "billing");
    let text = |key: &str, field: &'static str| opt_str_in(billing, key, field);
    Ok(CustomerProfile {
        shop: shop.id.clone(),
        customer_id,
        email: email(text("email", "billing.email")?),
        first_name: clean_text(text("first_name", "billing.first_name")?),
        last_name: clean_text(text("last_name", "billing.last_name")?),
        locale: None,
        country: country_code(text("country", "billing.country")?),
        birthday: None,
        accepts_email_marketing: None,
        source_updated_at: None,
    })
}

/// A `customer.created` / `customer.updated` body. Its modification time guards against stale
/// deliveries; customers that were never modified carry only their creation time.
fn customer_profile(json: &Value, shop: &ShopConfig) -> Result<CustomerProfile, InputError> {
    let customer_id = CustomerId::parse(&req_id(json, "id", "id")?)?;
    let updated_at = match date(json, shop, "date_modified_gmt", "date_modified")? {
        Some(at) => at,
        None => {
            date(json, shop, "date_created_gmt", "date_created")?.ok_or(InputError::Missing("date_modified_gmt"))?
        }
    };
    let billing = get(json, "billing");
    let billing_text = |key: &str, field: &'static str| opt_str_in(billing, key, field);
    let first_name = match clean_text(opt_str(json, "first_name", "first_name")?) {
        Some(name) => Some(name),
        None => clean_text(billing_text("first_name", "billing.first_name")?),
    };
    let last_name = match clean_text(opt_str(json, "last_name", "last_name")?) {
        Some(name) => Some(name),
        None => clean_text(billing_text("last_name", "billing.last_name")?),
    };
    let account_email = email(opt_str(json, "email", "email")?);
    Ok(CustomerProfile {
        shop: shop.id.clone(),
        customer_id,
        email: match account_email {
            Some(address) => Some(address),
            None => email(billing_text("email", "billing.email")?),
        },
        first_name,
        last_name,
        locale: None,
        country: country_code(billing_text("country", "billing.country")?),
        birthday: None,
        accepts_email_marketing: None,
        source_updated_at: Some(updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_ping_shape_is_a_ping() {
        assert!(is_ping(b"webhook_id=42"));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(b"webhook_id=42&x=1"));
        assert!(!is_ping(b"webhook_id=42\n"));
        assert!(!is_ping(b"{\"webhook_id\":42}"));
        assert!(!is_ping(&[b"webhook_id=".as_slice(), &[b'9'; 21]].concat()));
    }

    #[test]
    fn catalogue_and_action_topics_are_ignored_with_a_reason() {
        assert!(ignore_reason("product.updated").starts_with("catalogue topic"));
        assert!(ignore_reason("action.woocommerce_x").starts_with("custom action topic"));
        assert!(ignore_reason("x\u{0}y").contains("`xy`"));
    }
}
