//! The points ledger: entries under their business keys, and the balance on the customer row,
//! moved in the same savepoint as the entry insert so the two can never disagree.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{AppendOutcome, Balance, Bucket, LedgerEntry};
use stammkunde_domain::ports::LedgerStore;

use crate::codec::{self, corrupt};
use crate::customers;
use crate::error::SqlResultExt;
use crate::SqliteStore;

fn bucket_name(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Available => "available",
        Bucket::Pending => "pending",
    }
}

/// The balance after `entry`, or an invariant error if it would overflow.
fn moved(balance: Balance, entry: &LedgerEntry) -> Result<Balance, StoreError> {
    let overflow = || StoreError::Invariant(format!("entry {} would overflow the balance", entry.key));
    Ok(match entry.bucket {
        Bucket::Available => {
            Balance { available: balance.available.checked_add(entry.points).ok_or_else(overflow)?, ..balance }
        }
        Bucket::Pending => {
            Balance { pending: balance.pending.checked_add(entry.points).ok_or_else(overflow)?, ..balance }
        }
    })
}

fn insert_entry(conn: &Connection, entry: &LedgerEntry, body: &str) -> Result<bool, StoreError> {
    let created_at = codec::timestamp(&entry.created_at)?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO ledger_entries (shop, customer_id, entry_key, bucket, points, created_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (shop, customer_id, entry_key) DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                entry.shop.as_str(),
                entry.customer_id.as_str(),
                entry.key.as_str(),
                bucket_name(entry.bucket),
                entry.points,
                created_at,
                body
            ])
        })
        .or_store("appending a ledger entry")?;
    Ok(changed == 1)
}

/// The entry stored under `entry`'s key, if there is one.
fn stored_entry(conn: &Connection, entry: &LedgerEntry) -> Result<Option<LedgerEntry>, StoreError> {
    let key = format!("ledger entry {}/{}/{}", entry.shop, entry.customer_id, entry.key);
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM ledger_entries WHERE shop = ?1 AND customer_id = ?2 AND entry_key = ?3")
        .and_then(|mut statement| {
            statement
                .query_row(params![entry.shop.as_str(), entry.customer_id.as_str(), entry.key.as_str()], |row| {
                    row.get(0)
                })
                .optional()
        })
        .or_store("reading a ledger entry")?;
    body.map(|body| codec::from_json(&key, &body)).transpose()
}

/// Runs in the writer (`body` is the entry's JSON, encoded before it was queued): customer row first (the entry's foreign key), then the conditional insert,
/// then the balance, guarded by the value it was computed from.
fn append(conn: &Connection, entry: &LedgerEntry, body: &str) -> Result<AppendOutcome, StoreError> {
    customers::ensure_row(conn, &entry.shop, &entry.customer_id)?;
    if !insert_entry(conn, entry, body)? {
        let existing = stored_entry(conn, entry)?.ok_or_else(|| {
            corrupt(&format!("ledger entry {}", entry.key), "the key exists but its entry cannot be read")
        })?;
        return Ok(AppendOutcome::AlreadyExists(Box::new(existing)));
    }
    let key = format!("customer {}/{}", entry.shop, entry.customer_id);
    let old = customers::balance(conn, &entry.shop, &entry.customer_id)?
        .ok_or_else(|| corrupt(&key, "the row created for the entry is missing"))?;
    let new = moved(old, entry)?;
    if !customers::replace_balance(conn, &entry.shop, &entry.customer_id, old, new)? {
        return Err(StoreError::Contention { key });
    }
    Ok(AppendOutcome::Appended)
}

fn entries(conn: &Connection, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
    let bodies: Vec<String> = conn
        .prepare_cached("SELECT body FROM ledger_entries WHERE shop = ?1 AND customer_id = ?2 ORDER BY created_at, seq")
        .and_then(|mut statement| {
            statement.query_map(params![shop.as_str(), customer.as_str()], |row| row.get(0))?.collect()
        })
        .or_store("reading ledger entries")?;
    let key = format!("ledger of {shop}/{customer}");
    bodies.iter().map(|body| codec::from_json(&key, body)).collect()
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn append_entry(&self, entry: &LedgerEntry) -> Result<AppendOutcome, StoreError> {
        // Checked before it is queued: a refused entry never reaches the database.
        entry.check().map_err(StoreError::Invariant)?;
        // Most repeats (redelivered webhooks, re-published events) find their entry already
        // there: answered from a reader, they never wait for a commit. A repeat racing the first
        // append still meets the conditional insert in the writer.
        if let Some(existing) = self.readers.read(|conn| stored_entry(conn, entry))? {
            return Ok(AppendOutcome::AlreadyExists(Box::new(existing)));
        }
        // Encoded on the caller's task: the writer thread should only run SQL.
        let body = codec::to_json("a ledger entry", entry)?;
        let entry = entry.clone();
        self.writer.write(move |tx| append(tx, &entry, &body)).await
    }

    async fn entries(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        self.readers.read(|conn| entries(conn, shop, customer))
    }
}
