//! The sample event in `events/` is a real API Gateway request for this function: a one-click
//! unsubscribe as a mail provider sends it. Against a store that holds its token, it unsubscribes.

use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::link::{token_digest, LinkToken};
use stammkunde_domain::ports::MailStore;
use stammkunde_http::from_lambda;
use stammkunde_preferences::{Pages, PreferencesService};
use stammkunde_store_sqlite::SqliteStore;

#[tokio::test]
async fn the_sample_one_click_request_unsubscribes_the_customer_its_token_stands_for() {
    let raw = include_str!("../../../events/preferences-one-click.json");
    let request = from_lambda(lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(request.uri().path(), "/u/0123456789abcdef0123456789abcdef");
    assert_eq!(request.body(), &Bytes::from_static(b"List-Unsubscribe=One-Click"));

    let now = Utc.with_ymd_and_hms(2026, 11, 20, 9, 15, 43).single().unwrap_or_default();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new(now));
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3"), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
    let config =
        AppConfig::from_toml(include_str!("../../../events/sample-config.toml")).unwrap_or_else(|e| panic!("{e}"));
    let shop = config.shops[0].id.clone();
    let customer = CustomerId::parse("7654321098765").unwrap_or_else(|e| panic!("{e}"));
    let service = PreferencesService {
        shops: Arc::new(ShopDirectory::new(config)),
        store: store.clone(),
        mail: store.clone(),
        clock,
        pages: Arc::new(Pages::new().unwrap_or_else(|e| panic!("{e}"))),
    };
    // Unknown token: the 404 page, nothing written.
    assert_eq!(service.handle(request.clone()).await.status(), 404);
    assert_eq!(store.contact(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}")), None);

    let digest = token_digest("0123456789abcdef0123456789abcdef").unwrap_or_default();
    let link = LinkToken {
        shop: shop.clone(),
        customer_id: customer.clone(),
        issued_at: now,
        expires_at: now + Duration::days(180),
    };
    store.put_link(&digest, &link).await.unwrap_or_else(|e| panic!("{e}"));
    let response = service.handle(request).await;
    assert_eq!((response.status().as_u16(), response.body().trim()), (200, "unsubscribed"));
    let contact = store.contact(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(contact.and_then(|c| c.unsubscribed_at), Some(now));
}
