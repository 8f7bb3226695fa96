//! Shop-level state: the Shopware registration, the latest uninstall, privacy requests, and the
//! sweeps' bookmarks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ingest::PrivacyRequest;
use stammkunde_domain::ports::ShopStore;
use stammkunde_domain::registration::ShopwareRegistration;
use stammkunde_domain::secret::Secret;

use crate::codec;
use crate::error::SqlResultExt;
use crate::SqliteStore;

/// Records the request once per (shop, kind, request_ref); a repeat keeps the first record.
pub fn record_privacy_request(conn: &Connection, request: &PrivacyRequest) -> Result<bool, StoreError> {
    let body = codec::to_json("a privacy request", request)?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO privacy_requests (shop, kind, request_ref, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (shop, kind, request_ref) DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![request.shop.as_str(), request.kind.as_str(), request.request_ref, body])
        })
        .or_store("recording a privacy request")?;
    Ok(changed == 1)
}

/// The shop's privacy requests in the order they were recorded.
pub fn privacy_requests(conn: &Connection, shop: &ShopId) -> Result<Vec<PrivacyRequest>, StoreError> {
    let bodies: Vec<String> = conn
        .prepare_cached("SELECT body FROM privacy_requests WHERE shop = ?1 ORDER BY seq")
        .and_then(|mut statement| statement.query_map(params![shop.as_str()], |row| row.get(0))?.collect())
        .or_store("reading privacy requests")?;
    let key = format!("privacy requests of {shop}");
    bodies.iter().map(|body| codec::from_json(&key, body)).collect()
}

/// Keeps the latest uninstall time: an older one arriving late changes nothing.
pub fn record_uninstall(conn: &Connection, shop: &ShopId, at: &DateTime<Utc>) -> Result<bool, StoreError> {
    let at = codec::timestamp(at)?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO shops (shop, uninstalled_at) VALUES (?1, ?2)
             ON CONFLICT (shop) DO UPDATE SET uninstalled_at = excluded.uninstalled_at
             WHERE shops.uninstalled_at IS NULL OR shops.uninstalled_at < excluded.uninstalled_at",
        )
        .and_then(|mut statement| statement.execute(params![shop.as_str(), at]))
        .or_store("recording an uninstall")?;
    Ok(changed == 1)
}

/// The registration a shop asked for, in the order of the statement's parameters.
struct Registration {
    url: String,
    pending: Secret,
    requested_at: String,
    at: String,
}

/// Stores the registration only if it was requested after the last accepted one: the upsert's
/// WHERE is the guard, so a replay (the same `timestamp`) or an older request changes nothing.
fn begin(conn: &Connection, shop: &ShopId, registration: &Registration) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO shops (shop, shop_url, pending_secret, registration_requested_at, registered_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (shop) DO UPDATE SET
                 shop_url = excluded.shop_url, pending_secret = excluded.pending_secret,
                 registration_requested_at = excluded.registration_requested_at,
                 registered_at = excluded.registered_at
             WHERE shops.registration_requested_at IS NULL
                OR shops.registration_requested_at < excluded.registration_requested_at",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                shop.as_str(),
                registration.url,
                registration.pending.expose(),
                registration.requested_at,
                registration.at
            ])
        })
        .or_store("beginning a registration")?;
    Ok(changed == 1)
}

/// The secrets a confirmation stores, in the order of the statement's parameters.
struct Confirmation {
    confirmed: Secret,
    api_key: Secret,
    secret_key: Secret,
    at: String,
}

/// Promotes the pending secret only if it equals the confirmed one: the comparison is the guard.
fn confirm(conn: &Connection, shop: &ShopId, confirmation: &Confirmation) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE shops SET shop_secret = pending_secret, pending_secret = NULL,
                 api_key = ?3, secret_key = ?4, confirmed_at = ?5
             WHERE shop = ?1 AND pending_secret IS NOT NULL AND pending_secret = ?2",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                shop.as_str(),
                confirmation.confirmed.expose(),
                confirmation.api_key.expose(),
                confirmation.secret_key.expose(),
                confirmation.at
            ])
        })
        .or_store("confirming a registration")?;
    Ok(changed == 1)
}

fn registration(conn: &Connection, shop: &ShopId) -> Result<Option<ShopwareRegistration>, StoreError> {
    type Secrets = (Option<String>, Option<String>, Option<String>, Option<String>);
    type Columns = (String, Secrets, String, Option<String>, Option<String>);
    let row: Option<Columns> = conn
        .prepare_cached(
            "SELECT shop_url, pending_secret, shop_secret, api_key, secret_key, registered_at,
                    registration_requested_at, confirmed_at
             FROM shops WHERE shop = ?1 AND shop_url IS NOT NULL AND registered_at IS NOT NULL",
        )
        .and_then(|mut statement| {
            statement
                .query_row(params![shop.as_str()], |row| {
                    let secrets = (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
                    Ok((row.get(0)?, secrets, row.get(5)?, row.get(6)?, row.get(7)?))
                })
                .optional()
        })
        .or_store("reading a registration")?;
    let Some((shop_url, (pending, secret, api_key, secret_key), registered_at, requested_at, confirmed_at)) = row
    else {
        return Ok(None);
    };
    let key = format!("registration of {shop}");
    Ok(Some(ShopwareRegistration {
        shop: shop.clone(),
        shop_url,
        pending_secret: pending.map(Secret::new),
        shop_secret: secret.map(Secret::new),
        api_key: api_key.map(Secret::new),
        secret_key: secret_key.map(Secret::new),
        registered_at: codec::parse_timestamp(&key, &registered_at)?,
        requested_at: codec::parse_optional_timestamp(&key, requested_at)?,
        confirmed_at: codec::parse_optional_timestamp(&key, confirmed_at)?,
    }))
}

fn uninstalled_at(conn: &Connection, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
    let at: Option<Option<String>> = conn
        .prepare_cached("SELECT uninstalled_at FROM shops WHERE shop = ?1")
        .and_then(|mut statement| statement.query_row(params![shop.as_str()], |row| row.get(0)).optional())
        .or_store("reading an uninstall")?;
    codec::parse_optional_timestamp(&format!("shop {shop}"), at.flatten())
}

fn sweep_mark(conn: &Connection, shop: &ShopId, name: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached("SELECT value FROM sweep_marks WHERE shop = ?1 AND name = ?2")
        .and_then(|mut statement| statement.query_row(params![shop.as_str(), name], |row| row.get(0)).optional())
        .or_store("reading a sweep mark")
}

/// A bookmark is the sweep's own progress, written by one sweep at a time: the last write wins.
fn set_sweep_mark(conn: &Connection, shop: &ShopId, name: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sweep_marks (shop, name, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (shop, name) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut statement| statement.execute(params![shop.as_str(), name, value]))
    .or_store("setting a sweep mark")?;
    Ok(())
}

#[async_trait]
impl ShopStore for SqliteStore {
    async fn begin_registration(
        &self,
        shop: &ShopId,
        shop_url: &str,
        pending_secret: &Secret,
        requested_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let shop = shop.clone();
        let registration = Registration {
            url: shop_url.to_owned(),
            pending: pending_secret.clone(),
            requested_at: codec::timestamp(&requested_at)?,
            at: codec::timestamp(&at)?,
        };
        self.writer.write(move |tx| begin(tx, &shop, &registration)).await
    }

    async fn confirm_registration(
        &self,
        shop: &ShopId,
        confirmed_secret: &Secret,
        api_key: &Secret,
        secret_key: &Secret,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let shop = shop.clone();
        let confirmation = Confirmation {
            confirmed: confirmed_secret.clone(),
            api_key: api_key.clone(),
            secret_key: secret_key.clone(),
            at: codec::timestamp(&at)?,
        };
        self.writer.write(move |tx| confirm(tx, &shop, &confirmation)).await
    }

    async fn registration(&self, shop: &ShopId) -> Result<Option<ShopwareRegistration>, StoreError> {
        self.readers.read(|conn| registration(conn, shop))
    }

    async fn uninstalled_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.readers.read(|conn| uninstalled_at(conn, shop))
    }

    async fn sweep_mark(&self, shop: &ShopId, name: &str) -> Result<Option<String>, StoreError> {
        self.readers.read(|conn| sweep_mark(conn, shop, name))
    }

    async fn set_sweep_mark(&self, shop: &ShopId, name: &str, value: &str) -> Result<(), StoreError> {
        let (shop, name, value) = (shop.clone(), name.to_owned(), value.to_owned());
        self.writer.write(move |tx| set_sweep_mark(tx, &shop, &name, &value)).await
    }

    async fn mark_shop_erased(&self, shop: &ShopId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (shop, at) = (shop.clone(), codec::timestamp(&at)?);
        self.writer.write(move |tx| crate::shop_erasure::mark_erased(tx, &shop, &at)).await
    }

    async fn shop_erased_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.readers.read(|conn| crate::shop_erasure::erased_at(conn, shop))
    }

    async fn erase_shop_batch(&self, shop: &ShopId, limit: u32) -> Result<bool, StoreError> {
        let shop = shop.clone();
        self.writer.write(move |tx| crate::shop_erasure::erase_batch(tx, &shop, limit)).await
    }
}
