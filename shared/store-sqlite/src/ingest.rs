//! Webhook ingest: deduplicating deliveries and applying their changes.
//!
//! A delivery is one write job, so its changes and its record commit together or not at all: a
//! duplicate writes nothing, and a crash part-way leaves no trace for the retry to trip over.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{DeliveryId, ShopId};
use stammkunde_domain::ingest::{ApplyOutcome, Change, DeliveryRecord};
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::IngestStore;
use stammkunde_domain::refund::Refund;

use crate::codec;
use crate::error::SqlResultExt;
use crate::{customers, orders, refunds, shops, SqliteStore};

/// Most expired delivery records one prune deletes, so housekeeping never makes a batch slow.
const PRUNE_ROWS_MAX: i64 = 1_000;

fn seen(conn: &Connection, shop: &ShopId, ids: &[DeliveryId]) -> Result<bool, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT 1 FROM deliveries WHERE shop = ?1 AND delivery_id = ?2")
        .or_store("checking a delivery")?;
    for id in ids {
        let found: Option<i64> = statement
            .query_row(params![shop.as_str(), id.as_str()], |row| row.get(0))
            .optional()
            .or_store("checking a delivery")?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn record_delivery(conn: &Connection, delivery: &DeliveryRecord) -> Result<(), StoreError> {
    let received_at = codec::timestamp(&delivery.received_at)?;
    let expires_at = codec::timestamp(&delivery.expires_at)?;
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO deliveries (shop, delivery_id, topic, received_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (shop, delivery_id) DO NOTHING",
        )
        .or_store("recording a delivery")?;
    for id in &delivery.ids {
        statement
            .execute(params![delivery.shop.as_str(), id.as_str(), delivery.topic, received_at, expires_at])
            .or_store("recording a delivery")?;
    }
    Ok(())
}

/// Deletes a bounded number of delivery records that expired before `now`.
pub fn prune_expired_deliveries(conn: &Connection, now: DateTime<Utc>) -> Result<usize, rusqlite::Error> {
    // Now is always inside the four-digit years the codec accepts; if not, prune nothing.
    let Ok(now) = codec::timestamp(&now) else { return Ok(0) };
    conn.prepare_cached(
        "DELETE FROM deliveries WHERE rowid IN
             (SELECT rowid FROM deliveries WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)",
    )?
    .execute(params![now, PRUNE_ROWS_MAX])
}

/// A change ready for the writer: the JSON body of an order or a refund is encoded up front, on
/// the caller's task, because under load the single writer thread is the bottleneck and should
/// only run SQL.
struct Prepared {
    change: Change,
    body: Option<String>,
}

fn prepare(changes: &[Change]) -> Result<Vec<Prepared>, StoreError> {
    changes
        .iter()
        .map(|change| {
            let body = match change {
                Change::RecordOrder(order) => Some(codec::to_json("an order", order)?),
                Change::RecordRefund(refund) => Some(codec::to_json("a refund", refund)?),
                _ => None,
            };
            Ok(Prepared { change: change.clone(), body })
        })
        .collect()
}

/// What applying one change did: whether it changed stored state, and for an order change the
/// order as stored afterwards (`None` for an unknown order).
struct ChangeOutcome {
    applied: bool,
    order: Option<Order>,
}

fn changed(applied: bool) -> ChangeOutcome {
    ChangeOutcome { applied, order: None }
}

fn record_order(conn: &Connection, order: &Order, body: Option<&str>) -> Result<ChangeOutcome, StoreError> {
    // Reading before writing is safe: only the writer thread writes.
    let stored_customer = orders::stored_customer(conn, &order.shop, &order.order_id)?;
    let (kept, encoded);
    let (order, body) = match (&stored_customer, body) {
        (Some(customer), _) if order.customer_id.as_ref() != Some(customer) => {
            kept = order.clone().keeping_customer(Some(customer));
            encoded = codec::to_json("an order", &kept)?;
            (&kept, encoded.as_str())
        }
        (_, Some(body)) => (order, body),
        (_, None) => {
            encoded = codec::to_json("an order", order)?;
            (order, encoded.as_str())
        }
    };
    let stored = orders::store_order(conn, order, body)?;
    let moved = match &order.customer_id {
        Some(customer) => customers::record_last_order(conn, &order.shop, customer, &order.placed_at)?,
        None => false,
    };
    // Stored: the payload is the stored state, no need to read it back. Stale: report what is.
    let order = if stored { Some(order.clone()) } else { orders::order(conn, &order.shop, &order.order_id)? };
    Ok(ChangeOutcome { applied: stored || moved, order })
}

fn record_refund(conn: &Connection, refund: &Refund, body: Option<&str>) -> Result<bool, StoreError> {
    match body {
        Some(body) => refunds::record_refund(conn, refund, body),
        // `prepare` encodes every refund; encoding here only keeps this path total.
        None => refunds::record_refund(conn, refund, &codec::to_json("a refund", refund)?),
    }
}

/// Applies one change under its own guard.
fn apply_change(conn: &Connection, prepared: &Prepared) -> Result<ChangeOutcome, StoreError> {
    match &prepared.change {
        Change::UpsertCustomer(profile) => customers::upsert_profile(conn, profile).map(changed),
        Change::RecordOrder(order) => record_order(conn, order, prepared.body.as_deref()),
        Change::DeleteCustomer { shop, customer_id, at } => {
            customers::mark_deleted(conn, shop, customer_id, at).map(changed)
        }
        Change::DeleteOrder { shop, order_id, .. } => {
            let (applied, order) = orders::cancel_order(conn, shop, order_id)?;
            Ok(ChangeOutcome { applied, order })
        }
        Change::RecordPrivacyRequest(request) => shops::record_privacy_request(conn, request).map(changed),
        Change::RecordUninstall { shop, at } => shops::record_uninstall(conn, shop, at).map(changed),
        Change::RecordRefund(refund) => record_refund(conn, refund, prepared.body.as_deref()).map(changed),
    }
}

/// Keeps the latest state of each order, in the order first touched.
fn remember(orders: &mut Vec<Order>, order: Order) {
    match orders.iter_mut().find(|known| known.order_id == order.order_id) {
        Some(known) => *known = order,
        None => orders.push(order),
    }
}

/// The stored state of every order the changes name, each once, in the order first named.
fn stored_orders(conn: &Connection, shop: &ShopId, changes: &[Prepared]) -> Result<Vec<Order>, StoreError> {
    let mut stored: Vec<Order> = Vec::new();
    for id in changes.iter().filter_map(|prepared| prepared.change.order_id()) {
        if !stored.iter().any(|known| known.order_id == *id) {
            stored.extend(orders::order(conn, shop, id)?);
        }
    }
    Ok(stored)
}

/// The whole delivery, run inside the writer as one job (one savepoint).
fn apply(conn: &Connection, delivery: &DeliveryRecord, changes: &[Prepared]) -> Result<ApplyOutcome, StoreError> {
    if seen(conn, &delivery.shop, &delivery.ids)? {
        let orders = stored_orders(conn, &delivery.shop, changes)?;
        return Ok(ApplyOutcome { duplicate: true, applied: vec![false; changes.len()], orders });
    }
    let mut applied = Vec::with_capacity(changes.len());
    let mut orders = Vec::new();
    for prepared in changes {
        let outcome = apply_change(conn, prepared)?;
        applied.push(outcome.applied);
        if let Some(order) = outcome.order {
            remember(&mut orders, order);
        }
    }
    record_delivery(conn, delivery)?;
    Ok(ApplyOutcome { duplicate: false, applied, orders })
}

/// One shop's webhook never writes another shop's data: a mismatch is a bug in the caller.
fn check_shops(delivery: &DeliveryRecord, changes: &[Change]) -> Result<(), StoreError> {
    match changes.iter().find(|change| change.shop() != &delivery.shop) {
        Some(change) => Err(StoreError::Invariant(format!(
            "a delivery for shop {} carries a change for shop {}",
            delivery.shop,
            change.shop()
        ))),
        None => Ok(()),
    }
}

#[async_trait]
impl IngestStore for SqliteStore {
    async fn delivery_seen(&self, shop: &ShopId, ids: &[DeliveryId]) -> Result<bool, StoreError> {
        if ids.is_empty() {
            return Ok(false);
        }
        self.readers.read(|conn| seen(conn, shop, ids))
    }

    async fn apply_delivery(&self, delivery: &DeliveryRecord, changes: &[Change]) -> Result<ApplyOutcome, StoreError> {
        check_shops(delivery, changes)?;
        let (delivery, changes) = (delivery.clone(), prepare(changes)?);
        self.writer.write(move |tx| apply(tx, &delivery, &changes)).await
    }
}
