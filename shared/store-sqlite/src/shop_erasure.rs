//! Erasing a whole shop (Shopify's `shop/redact`): the shop's tombstone, and batches that delete
//! what its customers left, table by table, a bounded number of rows each. What is deleted is the
//! progress, so a batch needs no cursor: the next one starts with whatever is left.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::ShopId;

use crate::codec;
use crate::error::SqlResultExt;

/// Each table the shop's rows are deleted from, in this order (ledger entries before the
/// customers they reference), with the primary key columns after `shop` that pick a row. The
/// suppression list is not here: it stays, so no later import mails an objector again.
const TABLES: [(&str, &str); 16] = [
    ("ledger_entries", "customer_id, position"),
    ("timers", "customer_id"),
    ("mail_sends", "customer_id, campaign, date"),
    ("mail_contacts", "customer_id"),
    ("consent_records", "customer_id, key"),
    ("customers", "customer_id"),
    ("refunds", "order_id, refund_id"),
    ("orders", "order_id"),
    ("codes", "code"),
    ("deliveries", "delivery_id"),
    ("privacy_requests", "seq"),
    ("soft_bounces", "address, message_id"),
    ("consent_wordings", "digest"),
    ("sweep_marks", "name"),
    ("request_counters", "key, window_start"),
    ("link_tokens", "digest"),
];

/// Rows deleted per customer-sized step: a batch of `limit` deletes at most `limit` times this.
const ROWS_PER_STEP: u32 = 10;

pub fn mark_erased(conn: &Connection, shop: &ShopId, at: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO shops (shop, erased_at) VALUES (?1, ?2)
         ON CONFLICT (shop) DO UPDATE SET erased_at = coalesce(shops.erased_at, excluded.erased_at)",
    )
    .and_then(|mut statement| statement.execute(params![shop.as_str(), at]))
    .or_store("marking a shop erased")?;
    Ok(())
}

pub fn erased_at(conn: &Connection, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
    let at: Option<Option<String>> = conn
        .prepare_cached("SELECT erased_at FROM shops WHERE shop = ?1")
        .and_then(|mut statement| statement.query_row(params![shop.as_str()], |row| row.get(0)).optional())
        .or_store("reading a shop's erasure")?;
    codec::parse_optional_timestamp(&format!("shop {shop}"), at.flatten())
}

/// Deletes up to `limit × ROWS_PER_STEP` rows of the shop, the first tables first; true if that
/// budget ran out (more may be left).
pub fn erase_batch(conn: &Connection, shop: &ShopId, limit: u32) -> Result<bool, StoreError> {
    let mut budget = i64::from(limit.max(1)) * i64::from(ROWS_PER_STEP);
    for (table, key) in TABLES {
        // Link tokens name their shop only in their body: the digest is their key.
        let shop_rows = if table == "link_tokens" { "body ->> '$.shop' = ?1" } else { "shop = ?1" };
        let statement = format!(
            "DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {shop_rows} LIMIT ?2) AND {shop_rows}"
        );
        let deleted = conn
            .prepare_cached(&statement)
            .and_then(|mut statement| statement.execute(params![shop.as_str(), budget]))
            .or_store(&format!("erasing a shop's {table}"))?;
        budget -= i64::try_from(deleted).unwrap_or(i64::MAX);
        if budget <= 0 {
            return Ok(true);
        }
    }
    // The shop's row keeps only its tombstone: the registration's secrets and the uninstall go.
    conn.prepare_cached(
        "UPDATE shops SET shop_url = NULL, pending_secret = NULL, shop_secret = NULL, api_key = NULL,
             secret_key = NULL, registered_at = NULL, confirmed_at = NULL, uninstalled_at = NULL,
             registration_requested_at = NULL
         WHERE shop = ?1",
    )
    .and_then(|mut statement| statement.execute(params![shop.as_str()]))
    .or_store("erasing a shop's registration")?;
    Ok(false)
}
