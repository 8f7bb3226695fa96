//! Refunds as the platform reports them: stored once under (order, refund id) through ingest,
//! whether or not the order is known yet, and read back for their order.

use rusqlite::{params, Connection};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{OrderId, ShopId};
use stammkunde_domain::refund::Refund;

use crate::codec::{self, corrupt};
use crate::error::SqlResultExt;

/// Stores the refund unless one with its id is stored for the order: a redelivery keeps the
/// first. `body` is the refund's JSON, encoded by the caller outside the writer thread. Returns
/// whether it was stored.
pub fn record_refund(conn: &Connection, refund: &Refund, body: &str) -> Result<bool, StoreError> {
    let created_at = codec::timestamp(&refund.created_at)?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO refunds (shop, order_id, refund_id, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (shop, order_id, refund_id) DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                refund.shop.as_str(),
                refund.order_id.as_str(),
                refund.refund_id.as_str(),
                created_at,
                body
            ])
        })
        .or_store("recording a refund")?;
    Ok(changed == 1)
}

/// The order's refunds, oldest first (ties by refund id), each checked against the row it is
/// stored under: a mismatch is a bug or a manual edit.
pub fn refunds(conn: &Connection, shop: &ShopId, order: &OrderId) -> Result<Vec<Refund>, StoreError> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT refund_id, body FROM refunds WHERE shop = ?1 AND order_id = ?2 ORDER BY created_at, refund_id",
        )
        .and_then(|mut statement| {
            statement.query_map(params![shop.as_str(), order.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))?.collect()
        })
        .or_store("reading refunds")?;
    rows.iter()
        .map(|(refund_id, body)| {
            let key = format!("refund {shop}/{order}/{refund_id}");
            let refund: Refund = codec::from_json(&key, body)?;
            if refund.shop != *shop || refund.order_id != *order || refund.refund_id.as_str() != refund_id {
                let found = format!("body is refund {}/{}/{}", refund.shop, refund.order_id, refund.refund_id);
                return Err(corrupt(&key, found));
            }
            Ok(refund)
        })
        .collect()
}
