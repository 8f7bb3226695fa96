//! Order items (`sk = O`): `v` version sort key (the guard), `vt` exact `updated_at` only when `v`
//! cannot carry it (sub-microsecond), `p` platform, `n` number, `c` customer, `cu` currency, `ti`
//! taxes included, `l` lines, `sh` shipping, `ps` payment, `x` cancelled, `dc` discount codes,
//! `pa` placed_at, `g7` the shop's order listing (for a shop-wide erasure), and where the platform gives them `pd` paid_at, `fa` fulfilled_at, `tm` the
//! order's total.
//!
//! Lines are one compact JSON string of arrays `[line, product, quantity, amount, tax]`: a
//! DynamoDB list of maps would repeat every field name per line, in every write.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, LineId, OrderId, ShopId};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};

use super::{key_item, n, s, strings, time, Item, Reader};
use crate::dynamo::schema::{order_key, shop_orders_index_value, BY_SHOP};

pub(crate) const VERSION: &str = "v";
const VERSION_TIME: &str = "vt";
const PLATFORM: &str = "p";
const NUMBER: &str = "n";
pub(crate) const CUSTOMER: &str = "c";
const CURRENCY: &str = "cu";
const TAXES_INCLUDED: &str = "ti";
const LINES: &str = "l";
const SHIPPING: &str = "sh";
const PAYMENT: &str = "ps";
pub(crate) const CANCELLED: &str = "x";
const DISCOUNT_CODES: &str = "dc";
const PLACED_AT: &str = "pa";
const PAID_AT: &str = "pd";
const FULFILLED_AT: &str = "fa";
const TOTAL: &str = "tm";

type LineTuple = (LineId, Option<String>, u32, i64, i64);

pub(crate) fn encode_order(order: &Order) -> Result<Item, StoreError> {
    let mut item = key_item(&order_key(&order.shop, &order.order_id));
    // Listed for a shop-wide erasure: no other key of the shop leads to its orders.
    item.insert(BY_SHOP.attribute.into(), s(shop_orders_index_value(&order.shop)));
    let version = order.version.sort_key();
    if decode_version(&version, None).ok() != Some(order.version) {
        item.insert(VERSION_TIME.into(), time(order.version.updated_at));
    }
    item.insert(VERSION.into(), s(version));
    item.insert(PLATFORM.into(), s(order.platform.as_str()));
    if let Some(number) = &order.order_number {
        item.insert(NUMBER.into(), s(number));
    }
    if let Some(customer) = &order.customer_id {
        item.insert(CUSTOMER.into(), s(customer.as_str()));
    }
    item.insert(CURRENCY.into(), s(order.currency.code()));
    item.insert(TAXES_INCLUDED.into(), AttributeValue::Bool(order.taxes_included));
    let lines: Vec<LineTuple> = order
        .lines
        .iter()
        .map(|l| (l.line_id.clone(), l.product_id.clone(), l.quantity, l.amount_minor, l.tax_minor))
        .collect();
    let lines = serde_json::to_string(&lines).map_err(|e| StoreError::backend("encoding order lines", e))?;
    item.insert(LINES.into(), s(lines));
    item.insert(SHIPPING.into(), n(order.shipping_minor));
    item.insert(PAYMENT.into(), s(payment_text(order.payment)));
    item.insert(CANCELLED.into(), AttributeValue::Bool(order.cancelled));
    if !order.discount_codes.is_empty() {
        item.insert(DISCOUNT_CODES.into(), strings(order.discount_codes.iter().map(String::as_str)));
    }
    item.insert(PLACED_AT.into(), time(order.placed_at));
    for (name, at) in [(PAID_AT, order.paid_at), (FULFILLED_AT, order.fulfilled_at)] {
        if let Some(at) = at {
            item.insert(name.into(), time(at));
        }
    }
    if let Some(total) = order.total_minor {
        item.insert(TOTAL.into(), n(total));
    }
    Ok(item)
}

pub(crate) fn decode_order(shop: &ShopId, order_id: &OrderId, item: &Item) -> Result<Order, StoreError> {
    let r = Reader::new(item);
    let version = decode_version(r.s(VERSION)?, r.opt_time(VERSION_TIME)?).map_err(|e| r.corrupt(e))?;
    let lines: Vec<LineTuple> = r.parse(LINES, r.s(LINES)?, |t| serde_json::from_str(t))?;
    Ok(Order {
        shop: shop.clone(),
        platform: r.parse(PLATFORM, r.s(PLATFORM)?, platform_from)?,
        order_id: order_id.clone(),
        order_number: r.opt_s(NUMBER)?.map(str::to_owned),
        customer_id: r.opt_s(CUSTOMER)?.map(|t| r.parse(CUSTOMER, t, CustomerId::parse)).transpose()?,
        currency: r.parse(CURRENCY, r.s(CURRENCY)?, Currency::parse)?,
        taxes_included: r.opt_bool(TAXES_INCLUDED)?.unwrap_or(false),
        lines: lines
            .into_iter()
            .map(|(line_id, product_id, quantity, amount_minor, tax_minor)| OrderLine {
                line_id,
                product_id,
                quantity,
                amount_minor,
                tax_minor,
            })
            .collect(),
        shipping_minor: r.i64(SHIPPING)?,
        payment: r.parse(PAYMENT, r.s(PAYMENT)?, payment_from)?,
        cancelled: r.opt_bool(CANCELLED)?.unwrap_or(false),
        discount_codes: r.opt_strings(DISCOUNT_CODES)?.into_iter().map(str::to_owned).collect(),
        placed_at: r.time(PLACED_AT)?,
        version,
        paid_at: r.opt_time(PAID_AT)?,
        fulfilled_at: r.opt_time(FULFILLED_AT)?,
        total_minor: r.opt_i64(TOTAL)?,
    })
}

/// Reads `OrderVersion::sort_key()` text back; `exact` overrides its microsecond timestamp.
fn decode_version(text: &str, exact: Option<DateTime<Utc>>) -> Result<OrderVersion, String> {
    let invalid = || format!("`{text}` is not an order version");
    let (stamp, progress) = text.rsplit_once('#').ok_or_else(invalid)?;
    let progress: u8 = progress.parse().map_err(|_| invalid())?;
    let updated_at = match exact {
        Some(at) => at,
        None => DateTime::parse_from_rfc3339(stamp).map_err(|_| invalid())?.with_timezone(&Utc),
    };
    Ok(OrderVersion { updated_at, progress })
}

fn payment_text(payment: PaymentState) -> &'static str {
    match payment {
        PaymentState::Pending => "pending",
        PaymentState::Voided => "voided",
        PaymentState::Paid => "paid",
        PaymentState::PartiallyRefunded => "partially_refunded",
        PaymentState::Refunded => "refunded",
    }
}

fn payment_from(text: &str) -> Result<PaymentState, String> {
    Ok(match text {
        "pending" => PaymentState::Pending,
        "voided" => PaymentState::Voided,
        "paid" => PaymentState::Paid,
        "partially_refunded" => PaymentState::PartiallyRefunded,
        "refunded" => PaymentState::Refunded,
        other => return Err(format!("unknown payment state `{other}`")),
    })
}

fn platform_from(text: &str) -> Result<Platform, String> {
    [Platform::Shopify, Platform::Woocommerce, Platform::Shopware]
        .into_iter()
        .find(|p| p.as_str() == text)
        .ok_or_else(|| format!("unknown platform `{text}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_with_nanoseconds_survives_the_microsecond_sort_key() {
        let at = DateTime::from_timestamp(1_763_884_800, 123_456_789).unwrap_or_default();
        let version = OrderVersion::of(at, PaymentState::Paid, false);
        let text = version.sort_key();
        assert_ne!(decode_version(&text, None).ok(), Some(version));
        assert_eq!(decode_version(&text, Some(at)), Ok(version));
        let whole =
            OrderVersion::of(DateTime::from_timestamp(1_763_884_800, 0).unwrap_or_default(), PaymentState::Paid, true);
        assert_eq!(decode_version(&whole.sort_key(), None), Ok(whole));
    }

    #[test]
    fn every_payment_state_and_platform_round_trips() {
        for p in [
            PaymentState::Pending,
            PaymentState::Voided,
            PaymentState::Paid,
            PaymentState::PartiallyRefunded,
            PaymentState::Refunded,
        ] {
            assert_eq!(payment_from(payment_text(p)), Ok(p));
        }
        for p in [Platform::Shopify, Platform::Woocommerce, Platform::Shopware] {
            assert_eq!(platform_from(p.as_str()), Ok(p));
        }
    }
}
