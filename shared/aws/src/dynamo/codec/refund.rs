//! Refund items (`sk = F#{refund}` in the order's partition): `ct` created_at, `l` the lines as
//! one compact JSON string of `[line, quantity]` pairs (left out when there are none), `am` the
//! amount of a refund that reports only money, `g7` the shop's order listing (for a shop-wide
//! erasure).

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{LineId, OrderId, RefundId, ShopId};
use stammkunde_domain::refund::{Refund, RefundLine};

use super::{key_item, n, s, time, Item, Reader};
use crate::dynamo::schema::{refund_key, shop_orders_index_value, BY_SHOP, SK, SK_REFUND_PREFIX};

const CREATED_AT: &str = "ct";
const LINES: &str = "l";
const AMOUNT: &str = "am";

pub(crate) fn encode_refund(refund: &Refund) -> Result<Item, StoreError> {
    let mut item = key_item(&refund_key(&refund.shop, &refund.order_id, &refund.refund_id));
    // Listed with the orders: a refund can arrive before (or without) its order.
    item.insert(BY_SHOP.attribute.into(), s(shop_orders_index_value(&refund.shop)));
    item.insert(CREATED_AT.into(), time(refund.created_at));
    if !refund.lines.is_empty() {
        let lines: Vec<(&LineId, u32)> = refund.lines.iter().map(|l| (&l.line_id, l.quantity)).collect();
        let text = serde_json::to_string(&lines).map_err(|e| StoreError::backend("encoding refund lines", e))?;
        item.insert(LINES.into(), s(text));
    }
    if let Some(amount) = refund.amount_minor {
        item.insert(AMOUNT.into(), n(amount));
    }
    Ok(item)
}

pub(crate) fn decode_refund(shop: &ShopId, order: &OrderId, item: &Item) -> Result<Refund, StoreError> {
    let r = Reader::new(item);
    let refund = r.s(SK)?.strip_prefix(SK_REFUND_PREFIX).ok_or_else(|| r.corrupt("not a refund"))?;
    let lines: Vec<(LineId, u32)> = match r.opt_s(LINES)? {
        Some(text) => r.parse(LINES, text, |t| serde_json::from_str(t))?,
        None => Vec::new(),
    };
    Ok(Refund {
        shop: shop.clone(),
        order_id: order.clone(),
        refund_id: r.parse(SK, refund, RefundId::parse)?,
        created_at: r.time(CREATED_AT)?,
        lines: lines.into_iter().map(|(line_id, quantity)| RefundLine { line_id, quantity }).collect(),
        amount_minor: r.opt_i64(AMOUNT)?,
    })
}
