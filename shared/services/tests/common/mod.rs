//! What the mail sweep tests share: a confirmed customer in the store, and the sweep wired as the
//! local runner wires it, over SQLite and the outbox.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopConfig};
use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::mail::MailContact;
use stammkunde_domain::ports::{IngestStore, MailStore};
use stammkunde_local::OutboxMailer;
use stammkunde_services::mail::{MailRenderer, MailSweep, Pacer};
use stammkunde_services::Coupons;
use stammkunde_store_sqlite::SqliteStore;

/// A Shopify shop in Berlin with mail switched on, the pacer out of the way, and `mail_settings`
/// (TOML lines of `[shops.mail]`) on top.
pub fn mail_shop(id: &str, mail_settings: &str) -> ShopConfig {
    let text = format!(
        r#"
[[shops]]
id = "{id}"
platform = "shopify"
domain = "{id}.myshopify.com"
webhook_secret = "0123456789abcdef0123"
api_key = "fedcba9876543210fedc"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[shops.mail]
enabled = true
from = "Shop <news@shop.example>"
shop_name = "Shop"
shop_url = "https://shop.example/"
imprint = "Shop GmbH"
sends_per_second_max = 1000
{mail_settings}
"#
    );
    let config = AppConfig::from_toml(&text).unwrap_or_else(|e| panic!("{e}"));
    config.shops.into_iter().next().unwrap_or_else(|| panic!("no shop"))
}

/// A fresh SQLite store in `dir`.
pub fn open_store(dir: &tempfile::TempDir, clock: Arc<FixedClock>) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3"), clock).unwrap_or_else(|e| panic!("{e}")))
}

pub fn at(raw: &str) -> DateTime<Utc> {
    raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
}

/// A customer in Germany, `c{i}@example.de`, stored from a profile stamped `since` and with a
/// subscription confirmed then.
pub async fn add_confirmed_customer(
    store: &SqliteStore,
    shop: &ShopId,
    id: &CustomerId,
    birthday: Option<Birthday>,
    since: DateTime<Utc>,
) {
    let profile = CustomerProfile {
        shop: shop.clone(),
        customer_id: id.clone(),
        email: Email::parse(&format!("{id}@example.de")).ok(),
        first_name: None,
        last_name: None,
        locale: None,
        country: Some("DE".into()),
        birthday,
        accepts_email_marketing: None,
        source_updated_at: Some(since),
    };
    let delivery = DeliveryRecord {
        shop: shop.clone(),
        ids: vec![DeliveryId::parse(&format!("d-{id}")).unwrap_or_else(|e| panic!("{e}"))],
        topic: "customers/create".into(),
        received_at: since,
        expires_at: since + Duration::days(7),
    };
    store.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await.unwrap_or_else(|e| panic!("{e}"));
    let contact = MailContact { double_opt_in_at: Some(since), ..MailContact::default() };
    store.put_contact(shop, id, &contact).await.unwrap_or_else(|e| panic!("{e}"));
}

/// The sweep over `store`, mailing into `outbox`.
pub fn mail_sweep(store: Arc<SqliteStore>, clock: Arc<FixedClock>, outbox: Arc<OutboxMailer>) -> MailSweep {
    MailSweep {
        customers: store.clone(),
        mail: store.clone(),
        codes: store.clone(),
        ledger: store.clone(),
        marks: store.clone(),
        coupons: Arc::new(Coupons::new(store)),
        mailer: outbox,
        clock,
        renderer: Arc::new(MailRenderer::new().unwrap_or_else(|e| panic!("{e}"))),
        public_url: "https://prefs.example".into(),
        pacer: Pacer::default(),
    }
}
