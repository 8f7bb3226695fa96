//! Order rows: the JSON body plus the version columns the write guard compares.

use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::order::Order;

use crate::codec::{self, corrupt};
use crate::error::SqlResultExt;

/// Stores the order if its version is greater than the stored one (or none is stored). Versions
/// compare as (updated_at, progress) pairs, exactly like `OrderVersion`'s `Ord`. `body` is the
/// order's JSON, encoded by the caller outside the writer thread.
/// The customer of the stored order, without decoding the rest of its body.
pub fn stored_customer(conn: &Connection, shop: &ShopId, order_id: &OrderId) -> Result<Option<CustomerId>, StoreError> {
    // No row, or a NULL column for a guest order: no customer either way.
    let text: Option<Option<String>> = conn
        .prepare_cached("SELECT json_extract(body, '$.customer_id') FROM orders WHERE shop = ?1 AND order_id = ?2")
        .and_then(|mut statement| {
            statement.query_row(params![shop.as_str(), order_id.as_str()], |row| row.get(0)).optional()
        })
        .or_store("reading an order's customer")?;
    text.flatten()
        .map(|text| CustomerId::parse(&text).map_err(|e| corrupt(&format!("order {shop}/{order_id}"), e.to_string())))
        .transpose()
}

pub fn store_order(conn: &Connection, order: &Order, body: &str) -> Result<bool, StoreError> {
    let version_at = codec::timestamp(&order.version.updated_at)?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO orders (shop, order_id, version_at, version_progress, cancelled, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (shop, order_id) DO UPDATE SET
                 version_at = excluded.version_at, version_progress = excluded.version_progress,
                 cancelled = excluded.cancelled, body = excluded.body
             WHERE (excluded.version_at, excluded.version_progress) > (orders.version_at, orders.version_progress)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                order.shop.as_str(),
                order.order_id.as_str(),
                version_at,
                order.version.progress,
                order.cancelled,
                body
            ])
        })
        .or_store("storing an order")?;
    Ok(changed == 1)
}

/// Marks a stored order cancelled, keeping its version, and returns whether that changed it plus
/// the order as now stored (`None` if unknown, which is left alone). Reading before writing is
/// safe here: only the single writer thread calls this, and the `cancelled = 0` guard would catch
/// a change anyway.
pub fn cancel_order(conn: &Connection, shop: &ShopId, order_id: &OrderId) -> Result<(bool, Option<Order>), StoreError> {
    let Some(mut order) = order(conn, shop, order_id)? else { return Ok((false, None)) };
    if order.cancelled {
        return Ok((false, Some(order)));
    }
    order.cancelled = true;
    let body = codec::to_json("an order", &order)?;
    let changed = conn
        .prepare_cached(
            "UPDATE orders SET cancelled = 1, body = ?3 WHERE shop = ?1 AND order_id = ?2 AND cancelled = 0",
        )
        .and_then(|mut statement| statement.execute(params![shop.as_str(), order_id.as_str(), body]))
        .or_store("cancelling an order")?;
    Ok((changed == 1, Some(order)))
}

pub fn order(conn: &Connection, shop: &ShopId, order_id: &OrderId) -> Result<Option<Order>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM orders WHERE shop = ?1 AND order_id = ?2")
        .and_then(|mut statement| {
            statement.query_row(params![shop.as_str(), order_id.as_str()], |row| row.get(0)).optional()
        })
        .or_store("reading an order")?;
    let Some(body) = body else { return Ok(None) };
    let key = format!("order {shop}/{order_id}");
    let order: Order = codec::from_json(&key, &body)?;
    // The body must be the row it is stored under: a mismatch is a bug or a manual edit.
    if order.shop != *shop || order.order_id != *order_id {
        return Err(corrupt(&key, format!("body is order {}/{}", order.shop, order.order_id)));
    }
    Ok(Some(order))
}
