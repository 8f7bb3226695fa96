//! The consent ledger: one row per record under (shop, customer, key), inserted once; wordings
//! under (shop, digest), inserted once. Bodies are the domain's JSON.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::consent::{ConsentRecord, ConsentWording, WordingDigest};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ports::{ConsentStore, CreateOutcome};

use crate::codec;
use crate::error::SqlResultExt;
use crate::SqliteStore;

fn read_record(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    key: &str,
) -> Result<Option<ConsentRecord>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM consent_records WHERE shop = ?1 AND customer_id = ?2 AND key = ?3")
        .and_then(|mut statement| {
            statement.query_row(params![shop.as_str(), customer.as_str(), key], |row| row.get(0)).optional()
        })
        .or_store("reading a consent record")?;
    body.map(|body| codec::from_json(&format!("consent record {shop}/{customer}/{key}"), &body)).transpose()
}

fn record_consent(
    conn: &Connection,
    record: &ConsentRecord,
    at: &str,
    body: &str,
) -> Result<CreateOutcome<ConsentRecord>, StoreError> {
    let (shop, customer) = (&record.shop, &record.customer_id);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO consent_records (shop, customer_id, key, at, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut statement| statement.execute(params![shop.as_str(), customer.as_str(), record.key, at, body]))
        .or_store("recording consent")?;
    if inserted == 1 {
        return Ok(CreateOutcome::Created);
    }
    read_record(conn, shop, customer, &record.key)?
        .map(CreateOutcome::Exists)
        .ok_or_else(|| StoreError::Invariant(format!("consent record {} neither inserted nor found", record.key)))
}

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn put_wording(&self, wording: &ConsentWording) -> Result<(), StoreError> {
        let body = codec::to_json("a consent wording", wording)?;
        let (shop, digest) = (wording.shop.clone(), wording.digest.clone());
        self.writer
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO consent_wordings (shop, digest, body) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut statement| statement.execute(params![shop.as_str(), digest.as_str(), body]))
                .or_store("storing a consent wording")
                .map(|_| ())
            })
            .await
    }

    async fn wording(&self, shop: &ShopId, digest: &WordingDigest) -> Result<Option<ConsentWording>, StoreError> {
        self.readers.read(|conn| {
            let body: Option<String> = conn
                .prepare_cached("SELECT body FROM consent_wordings WHERE shop = ?1 AND digest = ?2")
                .and_then(|mut statement| {
                    statement.query_row(params![shop.as_str(), digest.as_str()], |row| row.get(0)).optional()
                })
                .or_store("reading a consent wording")?;
            body.map(|body| codec::from_json(&format!("consent wording {shop}/{}", digest.as_str()), &body)).transpose()
        })
    }

    async fn record_consent(&self, record: &ConsentRecord) -> Result<CreateOutcome<ConsentRecord>, StoreError> {
        record.check().map_err(|e| StoreError::Invariant(e.to_string()))?;
        let at = codec::timestamp(&record.at)?;
        let body = codec::to_json("a consent record", record)?;
        let record = record.clone();
        self.writer.write(move |tx| record_consent(tx, &record, &at, &body)).await
    }

    async fn consents(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<ConsentRecord>, StoreError> {
        self.readers.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT key, body FROM consent_records WHERE shop = ?1 AND customer_id = ?2 ORDER BY at, key",
                )
                .or_store("listing consent records")?;
            let rows = statement
                .query_map(params![shop.as_str(), customer.as_str()], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .or_store("listing consent records")?;
            rows.map(|row| {
                let (key, body) = row.or_store("listing consent records")?;
                codec::from_json(&format!("consent record {shop}/{customer}/{key}"), &body)
            })
            .collect()
        })
    }
}
