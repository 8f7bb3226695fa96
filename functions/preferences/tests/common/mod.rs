//! What the preference tests share: the service over a fresh embedded store, the sample
//! configuration's first shop, and one customer id.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::DeliveryId;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::mail::link::{token_digest, LinkToken};
use stammkunde_domain::ports::{IngestStore, MailStore};
use stammkunde_local::{InProcessBus, Subscriber};
use stammkunde_preferences::{Pages, PreferencesService};
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_store_sqlite::SqliteStore;

/// The events the service published.
#[derive(Default)]
pub struct Published(Mutex<Vec<DomainEvent>>);

#[async_trait::async_trait]
impl Subscriber for Published {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push(event.clone());
        Ok(())
    }
}

impl Published {
    // Each test binary compiles this module on its own; most publish nothing.
    #[allow(dead_code)]
    pub fn take(&self) -> Vec<DomainEvent> {
        self.0.lock().map(|mut events| std::mem::take(&mut *events)).unwrap_or_default()
    }
}

pub struct Fixture {
    pub service: PreferencesService,
    pub store: Arc<SqliteStore>,
    // Each test binary compiles this module on its own; most publish nothing.
    #[allow(dead_code)]
    pub published: Arc<Published>,
    pub shop: ShopId,
    pub customer: CustomerId,
    pub now: DateTime<Utc>,
    _dir: tempfile::TempDir,
}

// Each test binary compiles this module on its own; the new-link test uses its own configuration.
#[allow(dead_code)]
pub fn fixture(now: DateTime<Utc>) -> Fixture {
    fixture_with(now, include_str!("../../../../events/sample-config.toml"))
}

/// The same over another configuration, whose first shop is the test's.
pub fn fixture_with(now: DateTime<Utc>, config: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new(now));
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3"), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
    let config = AppConfig::from_toml(config).unwrap_or_else(|e| panic!("{e}"));
    let shop = config.shops[0].id.clone();
    let customer = CustomerId::parse("7654321098765").unwrap_or_else(|e| panic!("{e}"));
    let (bus, published) = (Arc::new(InProcessBus::new()), Arc::new(Published::default()));
    bus.subscribe(published.clone());
    let service = PreferencesService {
        shops: Arc::new(ShopDirectory::new(config)),
        store: store.clone(),
        mail: store.clone(),
        consent: store.clone(),
        privacy: Arc::new(Privacy::over(store.clone(), Arc::new(NoMailArchive), clock.clone())),
        bus: bus.clone(),
        clock,
        pages: Arc::new(Pages::new().unwrap_or_else(|e| panic!("{e}"))),
    };
    Fixture { service, store, published, shop, customer, now, _dir: dir }
}

impl Fixture {
    /// Stores the customer as a platform's `customers/create` would: Lena, German, in Germany,
    /// without an address or a birthday.
    // Each test binary compiles this module on its own; the sample-event test needs no customer.
    #[allow(dead_code)]
    pub async fn put_customer(&self) {
        let profile = CustomerProfile {
            shop: self.shop.clone(),
            customer_id: self.customer.clone(),
            email: None,
            first_name: Some("Lena".into()),
            last_name: None,
            locale: Some("de-DE".into()),
            country: Some("DE".into()),
            birthday: None,
            accepts_email_marketing: None,
            source_updated_at: Some(self.now),
        };
        let delivery = DeliveryRecord {
            shop: self.shop.clone(),
            ids: vec![DeliveryId::parse("d1").unwrap_or_else(|e| panic!("{e}"))],
            topic: "customers/create".into(),
            received_at: self.now,
            expires_at: self.now + Duration::days(7),
        };
        let applied = self.store.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await;
        applied.unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stores a link for the customer under `token`, valid for 180 days from now.
    #[allow(dead_code)]
    pub async fn link(&self, token: &str) {
        let link = LinkToken {
            shop: self.shop.clone(),
            customer_id: self.customer.clone(),
            issued_at: self.now,
            expires_at: self.now + Duration::days(180),
            confirms: None,
        };
        let digest = token_digest(token).unwrap_or_default();
        self.store.put_link(&digest, &link).await.unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The value of a page's hidden form field.
// Each test binary compiles this module on its own; the sample-event test reads no form.
#[allow(dead_code)]
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no {name} in {html}"));
    html[start..].split('"').next().unwrap_or_default().to_owned()
}
