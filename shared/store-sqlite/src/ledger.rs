//! The points ledger: each customer's entries at their positions, and the ledger's end (length
//! and balances) on the customer row, moved in the same savepoint as the inserts so the two can
//! never disagree.
//!
//! An append is conditional on the ledger's length: the writer moves the end only if the ledger
//! still holds the entries the caller read, and inserts the entries after it. The single writer
//! runs one append at a time, and the primary key (shop, customer, position) and the unique key
//! (shop, customer, entry key) stand behind the condition as the last guards.

use async_trait::async_trait;
use rusqlite::{params, Connection};
use std::collections::HashSet;

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{AppendOutcome, Balance, LedgerEntry};
use stammkunde_domain::ports::LedgerStore;

use crate::codec::{self, corrupt};
use crate::customers;
use crate::error::{constraint_failed, from_sqlite, SqlResultExt};
use crate::SqliteStore;

/// One entry ready for the writer: its columns, and its JSON encoded on the caller's task (under
/// load the single writer thread is the bottleneck and should only run SQL).
struct EntryRow {
    position: u32,
    key: String,
    available: i64,
    pending: i64,
    body: String,
}

/// A checked append: where the ledger must end for it to apply, where it ends after, and by how
/// much the balances move.
struct Append {
    shop: ShopId,
    customer: CustomerId,
    from_len: u32,
    to_len: u32,
    delta: Balance,
    rows: Vec<EntryRow>,
}

fn refuse(reason: String) -> StoreError {
    StoreError::Invariant(reason)
}

/// Checks one entry of an append: its own rules, its ledger, and its place right after the one
/// before it (`expected_position`).
fn check_entry(
    shop: &ShopId,
    customer: &CustomerId,
    entry: &LedgerEntry,
    expected_position: u32,
) -> Result<(), StoreError> {
    entry.check().map_err(refuse)?;
    if entry.shop != *shop || entry.customer_id != *customer {
        return Err(refuse(format!(
            "entry {} belongs to {}/{}, not to the ledger of {shop}/{customer}",
            entry.key, entry.shop, entry.customer_id
        )));
    }
    if entry.position != expected_position {
        return Err(refuse(format!(
            "entry {} is at position {} where {expected_position} comes next",
            entry.key, entry.position
        )));
    }
    Ok(())
}

/// Everything an append can be refused for without reading the ledger, checked before anything is
/// queued: each entry's own check, its ledger, contiguous positions, distinct keys, and a balance
/// movement that fits in 64 bits.
fn check_append(shop: &ShopId, customer: &CustomerId, entries: &[LedgerEntry]) -> Result<Append, StoreError> {
    let first = entries.first().ok_or_else(|| refuse("an append needs at least one entry".into()))?;
    let from_len = first.position.saturating_sub(1);
    let mut keys = HashSet::with_capacity(entries.len());
    let mut delta = Balance::default();
    let mut rows = Vec::with_capacity(entries.len());
    for (offset, entry) in entries.iter().enumerate() {
        let expected = u32::try_from(offset)
            .ok()
            .and_then(|offset| first.position.checked_add(offset))
            .ok_or_else(|| refuse(format!("entry {} is past the longest ledger", entry.key)))?;
        check_entry(shop, customer, entry, expected)?;
        if !keys.insert(&entry.key) {
            return Err(refuse(format!("entry {} appears twice in one append", entry.key)));
        }
        delta = delta.moved_by(entry).ok_or_else(|| refuse(format!("entry {} overflows the append", entry.key)))?;
        rows.push(entry_row(entry)?);
    }
    let to_len = rows.last().map_or(from_len, |row| row.position);
    Ok(Append { shop: shop.clone(), customer: customer.clone(), from_len, to_len, delta, rows })
}

fn entry_row(entry: &LedgerEntry) -> Result<EntryRow, StoreError> {
    Ok(EntryRow {
        position: entry.position,
        key: entry.key.as_str().to_owned(),
        available: entry.available,
        pending: entry.pending,
        body: codec::to_json("a ledger entry", entry)?,
    })
}

/// A key or position already taken, after the length guard let the append through: the caller
/// appended a fact the ledger it read already holds. Refused, and the savepoint rolls back the
/// whole append.
fn insert_error(key: &str, error: rusqlite::Error) -> StoreError {
    let taken = matches!(
        constraint_failed(&error),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    );
    if taken {
        return refuse(format!("entry {key} is already in the ledger"));
    }
    from_sqlite("appending a ledger entry", error)
}

fn insert_entry(conn: &Connection, shop: &ShopId, customer: &CustomerId, row: &EntryRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO ledger_entries (shop, customer_id, position, entry_key, available, pending, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            shop.as_str(),
            customer.as_str(),
            row.position,
            row.key,
            row.available,
            row.pending,
            row.body
        ])
    })
    .map_err(|error| insert_error(&row.key, error))?;
    Ok(())
}

/// Runs in the writer: the ledger's end first (the condition, and the customer row the entries'
/// foreign key needs), then the entries. Any failure rolls back the job's savepoint, end and all.
fn append(conn: &Connection, append: &Append) -> Result<AppendOutcome, StoreError> {
    let (shop, customer) = (&append.shop, &append.customer);
    if !customers::advance_ledger(conn, shop, customer, append.from_len, append.to_len, append.delta)? {
        return Ok(AppendOutcome::Moved);
    }
    for row in &append.rows {
        insert_entry(conn, shop, customer, row)?;
    }
    Ok(AppendOutcome::Appended)
}

/// The entry stored at `position`, checked against the row it is stored under: a mismatch is a bug
/// or a manual edit.
fn decode_entry(
    shop: &ShopId,
    customer: &CustomerId,
    expected_position: u32,
    body: &str,
) -> Result<LedgerEntry, StoreError> {
    let key = format!("ledger entry {shop}/{customer}/{expected_position}");
    let entry: LedgerEntry = codec::from_json(&key, body)?;
    if entry.shop != *shop || entry.customer_id != *customer || entry.position != expected_position {
        let found = format!("body is entry {}/{}/{}", entry.shop, entry.customer_id, entry.position);
        return Err(corrupt(&key, found));
    }
    Ok(entry)
}

/// The customer's entries in position order. Positions are 1, 2, … without gaps (the row's
/// position is checked against where it comes in the list).
fn entries(conn: &Connection, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
    let rows: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT position, body FROM ledger_entries WHERE shop = ?1 AND customer_id = ?2 ORDER BY position",
        )
        .and_then(|mut statement| {
            statement
                .query_map(params![shop.as_str(), customer.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .or_store("reading ledger entries")?;
    let mut listed = Vec::with_capacity(rows.len());
    for (expected, (position, body)) in (1_u32..).zip(&rows) {
        if i64::from(expected) != *position {
            let key = format!("ledger of {shop}/{customer}");
            return Err(corrupt(&key, format!("position {position} where {expected} comes next")));
        }
        listed.push(decode_entry(shop, customer, expected, body)?);
    }
    Ok(listed)
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn append_entries(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        entries: &[LedgerEntry],
    ) -> Result<AppendOutcome, StoreError> {
        // Checked before it is queued: a refused append never reaches the database.
        let checked = check_append(shop, customer, entries)?;
        self.writer.write(move |tx| append(tx, &checked)).await
    }

    async fn entries(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        self.readers.read(|conn| entries(conn, shop, customer))
    }
}
