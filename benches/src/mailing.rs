//! The embedded store with the real mail sweep on it, in this process: `SqliteStore` on disk
//! (WAL, `synchronous=FULL`, group commit), `MailSweep` with the coupon issuers, the renderer and
//! the `.eml` outbox, wired as the local runner wires them (`runner/src/lib.rs`). Used by the
//! `mail` benchmark, with readings of the SQLite file for its checks.
//!
//! The benchmark shop is `shop::config_toml` with mail switched on: a birthday and a win-back
//! campaign whose rewards have generated codes, so every mail issues a code of its own.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::{AppConfig, ShopConfig};
use stammkunde_local::OutboxMailer;
use stammkunde_services::mail::{MailRenderer, MailSweep, Pacer};
use stammkunde_services::Coupons;
use stammkunde_store_sqlite::{SqliteStore, WriteStats};

use crate::embedded::DATABASE_FILE;
use crate::shop::config_toml;
use crate::BenchResult;

pub const BIRTHDAY_REWARD: &str = "bench-birthday";
pub const WIN_BACK_REWARD: &str = "bench-win-back";
/// Where the preference centre is reached: only part of the links in every mail.
pub const PUBLIC_URL: &str = "https://prefs.bench-shop.example";
/// The outbox directory inside the store's directory, as the runner keeps it beside its database.
pub const OUTBOX_DIR: &str = "outbox";

/// The benchmark shop with mail on. `sends_per_second_max` is the SES account rate the sweep
/// paces itself below; set far above what one sweep can send, so the pacer never waits and the
/// figure is the sweep's own speed.
pub fn config(sends_per_second_max: u32) -> BenchResult<AppConfig> {
    Ok(AppConfig::from_toml(&config_toml_with_mail(sends_per_second_max))?)
}

/// `config` as TOML, for a runner's `STAMMKUNDE_CONFIG`.
pub fn config_toml_with_mail(sends_per_second_max: u32) -> String {
    format!(
        r#"{}
[[shops.rewards]]
id = "{BIRTHDAY_REWARD}"
name = "Geburtstagsgeschenk"
points = 0
codes = "generate"
code_prefix = "BDAY"

[[shops.rewards]]
id = "{WIN_BACK_REWARD}"
name = "Willkommen zurück"
points = 0
codes = "generate"
code_prefix = "BACK"

[shops.mail]
enabled = true
from = "Bench Shop <news@bench-shop.example>"
shop_name = "Bench Shop"
shop_url = "https://bench-shop.example/"
imprint = "Bench Shop GmbH, Hauptstraße 1, 10115 Berlin"
sends_per_second_max = {sends_per_second_max}

[shops.mail.birthday]
reward = "{BIRTHDAY_REWARD}"

[shops.mail.win_back]
reward = "{WIN_BACK_REWARD}"
"#,
        config_toml()
    )
}

/// The store, the outbox and the mail sweep over them.
pub struct MailEnv {
    pub store: Arc<SqliteStore>,
    pub outbox: Arc<OutboxMailer>,
    pub sweep: MailSweep,
    pub shop: ShopConfig,
    /// The database file.
    pub path: PathBuf,
    pub outbox_dir: PathBuf,
}

impl MailEnv {
    /// Opens (creates) the store at `dir/stammkunde.db` and the outbox at `dir/outbox`.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>, shop: &ShopConfig) -> BenchResult<MailEnv> {
        let path = dir.join(DATABASE_FILE);
        let outbox_dir = dir.join(OUTBOX_DIR);
        let store = Arc::new(SqliteStore::open(&path, clock.clone())?);
        let outbox = Arc::new(OutboxMailer::new(&outbox_dir)?);
        let sweep = MailSweep {
            customers: store.clone(),
            mail: store.clone(),
            codes: store.clone(),
            ledger: store.clone(),
            marks: store.clone(),
            coupons: Arc::new(Coupons::new(store.clone())),
            mailer: outbox.clone(),
            clock,
            renderer: Arc::new(MailRenderer::new()?),
            public_url: PUBLIC_URL.to_owned(),
            pacer: Pacer::default(),
        };
        Ok(MailEnv { store, outbox, sweep, shop: shop.clone(), path, outbox_dir })
    }

    pub fn write_stats(&self) -> WriteStats {
        self.store.write_stats()
    }
}

/// One send record as the SQLite file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSend {
    pub customer_id: String,
    pub campaign: String,
    pub date: String,
    pub state: String,
    pub message_id: Option<String>,
    pub code: Option<String>,
}

/// What the file holds of the mail, read through a connection of its own (read-only, WAL).
pub struct MailContents {
    conn: Connection,
}

impl MailContents {
    pub fn open(path: &Path) -> BenchResult<MailContents> {
        Ok(MailContents { conn: Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)? })
    }

    pub fn count(&self, sql: &str) -> BenchResult<u64> {
        Ok(self.conn.query_row(sql, [], |row| row.get(0))?)
    }

    /// Every send record for the local date `date`.
    pub fn sends_on(&self, date: NaiveDate) -> BenchResult<Vec<StoredSend>> {
        let mut statement = self.conn.prepare(
            "SELECT customer_id, campaign, date, state, body ->> '$.state.message_id', body ->> '$.state.code'
             FROM mail_sends WHERE date = ?1",
        )?;
        let rows = statement.query_map(params![date.format("%Y-%m-%d").to_string()], |row| {
            Ok(StoredSend {
                customer_id: row.get(0)?,
                campaign: row.get(1)?,
                date: row.get(2)?,
                state: row.get(3)?,
                message_id: row.get(4)?,
                code: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sent records whose code is a stored code of the campaign's reward, issued to the record's
    /// customer: the code the mail carries is the one the shop will accept from that customer.
    pub fn sends_with_their_code(&self) -> BenchResult<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM mail_sends s JOIN codes c
               ON c.shop = s.shop AND c.code = s.body ->> '$.state.code' AND c.customer_id = s.customer_id
              AND c.reward = CASE s.campaign WHEN 'birthday' THEN ?1 WHEN 'win_back' THEN ?2 END
             WHERE s.state = 'sent'",
            params![BIRTHDAY_REWARD, WIN_BACK_REWARD],
            |row| row.get(0),
        )?)
    }

    /// Customers per birthday (`MM-DD`).
    pub fn birthdays(&self) -> BenchResult<BTreeMap<String, u64>> {
        self.grouped(
            "SELECT printf('%02d-%02d', birthday_month, birthday_day), count(*) FROM customers
             WHERE birthday_month IS NOT NULL GROUP BY 1",
        )
    }

    /// Customers per UTC date of their last order (`YYYY-MM-DD`).
    pub fn last_order_dates(&self) -> BenchResult<BTreeMap<String, u64>> {
        self.grouped("SELECT last_order_date, count(*) FROM customers WHERE last_order_date IS NOT NULL GROUP BY 1")
    }

    fn grouped(&self, sql: &str) -> BenchResult<BTreeMap<String, u64>> {
        let mut statement = self.conn.prepare(sql)?;
        let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Bytes of the files in a directory (not recursive): the outbox's size.
pub fn directory_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
}
