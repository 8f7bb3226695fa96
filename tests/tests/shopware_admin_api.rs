//! Shopware customer entity events through the local runner: `customer.written` names a customer
//! and the runner reads it from the shop's Admin API, over real HTTP, with the credentials the
//! registration confirmed.
//!
//! Shopware itself cannot run here (PHP application, MySQL), so the shop's Admin API is a
//! stand-in on 127.0.0.1 that implements the two endpoints we call as Shopware documents them:
//! `POST /api/oauth/token` (client credentials → bearer token) and `POST /api/search/customer`
//! (bearer token, criteria with `ids` → `{"total","data"}`), answering with the
//! `admin_search_customer.json` fixture. It refuses wrong credentials, unknown tokens and requests
//! that do not ask for plain JSON, and records what it was asked.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use stammkunde_domain::customer::Birthday;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_e2e::*;

const CUSTOMER_REGISTER: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/checkout_customer_register.json");
const CUSTOMER_WRITTEN: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/customer_written.json");
const ADMIN_SEARCH_CUSTOMER: &str = include_str!("../../fixtures/webhooks/shopware/admin_search_customer.json");
const CUSTOMER: &str = "9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a";

#[derive(Default)]
struct AdminApi {
    token_requests: AtomicUsize,
    /// Tokens handed out and not revoked.
    tokens: Mutex<Vec<String>>,
    /// The criteria of every search that was answered 200.
    searches: Mutex<Vec<Value>>,
    down: AtomicBool,
}

impl AdminApi {
    fn searches(&self) -> Vec<Value> {
        self.searches.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn revoke_tokens(&self) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.clear();
        }
    }
}

async fn token(State(api): State<Arc<AdminApi>>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let n = api.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let valid = body["grant_type"] == "client_credentials"
        && body["client_id"] == SHOPWARE_ADMIN_API_KEY
        && body["client_secret"] == SHOPWARE_ADMIN_SECRET_KEY;
    if !valid {
        return (StatusCode::UNAUTHORIZED, Json(json!({"errors": [{"code": "9"}]})));
    }
    let token = format!("token-{n}");
    if let Ok(mut tokens) = api.tokens.lock() {
        tokens.push(token.clone());
    }
    (StatusCode::OK, Json(json!({"token_type": "Bearer", "expires_in": 600, "access_token": token})))
}

async fn search_customer(
    State(api): State<Arc<AdminApi>>,
    headers: HeaderMap,
    Json(criteria): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bearer = header("authorization").strip_prefix("Bearer ").map(str::to_owned).unwrap_or_default();
    let known = api.tokens.lock().map(|tokens| tokens.contains(&bearer)).unwrap_or(false);
    if !known {
        return (StatusCode::UNAUTHORIZED, Json(json!({"errors": [{"code": "9", "title": "Unauthorized"}]})));
    }
    if header("accept") != "application/json" {
        return (StatusCode::NOT_ACCEPTABLE, Json(json!({"errors": []})));
    }
    if api.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"errors": []})));
    }
    let all: Value = serde_json::from_str(ADMIN_SEARCH_CUSTOMER).unwrap_or_else(|e| panic!("fixture: {e}"));
    let ids = criteria["ids"].as_array().cloned().unwrap_or_default();
    let data: Vec<Value> =
        all["data"].as_array().into_iter().flatten().filter(|c| ids.contains(&c["id"])).cloned().collect();
    if let Ok(mut searches) = api.searches.lock() {
        searches.push(criteria);
    }
    (StatusCode::OK, Json(json!({"total": data.len(), "data": data, "aggregations": []})))
}

/// Starts the stand-in; returns it and its base URL.
async fn admin_api() -> (Arc<AdminApi>, String) {
    let api = Arc::new(AdminApi::default());
    let router = Router::new()
        .route("/api/oauth/token", post(token))
        .route("/api/search/customer", post(search_customer))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (api, format!("http://{addr}"))
}

/// The app, its clock a minute after the written event was sent, registered as a shop whose Admin
/// API is the stand-in; returns the app, the shop secret and the stand-in.
async fn registered_app() -> (TestApp, String, Arc<AdminApi>) {
    let written_at = Utc.with_ymd_and_hms(2026, 11, 23, 7, 36, 3).single().unwrap_or_default();
    let app = spawn_app(written_at + Duration::minutes(1)).await;
    let (api, url) = admin_api().await;
    let secret = app.shopware_register_and_confirm_at(&url).await;
    (app, secret, api)
}

async fn deliver(app: &TestApp, body: &[u8], secret: &str) -> Answer {
    app.post("/webhooks/shopware", &shopware_headers(body, secret), body.to_vec()).await
}

/// A body with a new event id and the app clock's time, so it is neither a duplicate nor stale.
fn fresh(body: &[u8], event_id: &str, app: &TestApp) -> Vec<u8> {
    let now = app.clock_now().timestamp();
    edit_json(body, |json| {
        json["source"]["eventId"] = json!(event_id);
        json["timestamp"] = json!(now);
    })
}

async fn stored_customer(app: &TestApp) -> Option<stammkunde_domain::customer::Customer> {
    let shop = ShopId::parse("shopware-shop").unwrap_or_else(|e| panic!("{e}"));
    let id = CustomerId::parse(CUSTOMER).unwrap_or_else(|e| panic!("{e}"));
    app.app.store.customer(&shop, &id).await.unwrap_or_else(|e| panic!("{e}"))
}

fn accepted(answer: &Answer) -> bool {
    answer.status == 200 && answer.body["status"] == "accepted"
}

#[tokio::test]
async fn a_customer_edited_in_the_shop_is_read_from_its_admin_api_and_stored_once() {
    let (app, secret, api) = registered_app().await;
    let registered = deliver(&app, &fresh(CUSTOMER_REGISTER, "5f0c1d2e3a4b45c6978899aabbccdd03", &app), &secret).await;
    assert!(accepted(&registered), "{registered:?}");
    let before = stored_customer(&app).await.unwrap_or_else(|| panic!("registered customer stored"));
    assert_eq!(before.profile.last_name.as_deref(), Some("Huber"));

    let written = deliver(&app, CUSTOMER_WRITTEN, &secret).await;
    assert!(accepted(&written), "{written:?}");
    let after = stored_customer(&app).await.unwrap_or_else(|| panic!("customer stored"));
    assert_eq!(after.profile.last_name.as_deref(), Some("Huber-Lang"));
    assert_eq!(after.profile.birthday, Birthday::new(8, 2, Some(1993)).ok());
    assert_eq!(after.profile.locale.as_deref(), Some("de-AT"));
    let searches = api.searches();
    assert_eq!(searches.len(), 1);
    assert_eq!(searches[0]["ids"], json!([CUSTOMER]));
    assert_eq!(api.token_requests.load(Ordering::SeqCst), 1);

    // The same delivery again is a duplicate and does not ask the shop.
    let again = deliver(&app, CUSTOMER_WRITTEN, &secret).await;
    assert_eq!((again.status, again.body["status"].as_str()), (200, Some("duplicate")), "{again:?}");
    assert_eq!(api.searches().len(), 1);

    // A later write is fetched again with the token we already hold.
    let later = deliver(&app, &fresh(CUSTOMER_WRITTEN, "5f0c1d2e3a4b45c6978899aabbccdd05", &app), &secret).await;
    assert!(accepted(&later), "{later:?}");
    assert_eq!((api.searches().len(), api.token_requests.load(Ordering::SeqCst)), (2, 1));
}

#[tokio::test]
async fn when_the_admin_api_fails_nothing_is_stored_and_the_retry_succeeds() {
    let (app, secret, api) = registered_app().await;
    let before = app.dump();
    api.down.store(true, Ordering::SeqCst);
    let failed = deliver(&app, CUSTOMER_WRITTEN, &secret).await;
    assert_refused(&failed, 502, "shop_api_failed");
    assert!(failed.body["reason"].as_str().is_some_and(|r| r.contains("503")), "{failed:?}");
    assert_eq!(app.dump(), before, "a failed fetch wrote something");

    api.down.store(false, Ordering::SeqCst);
    let retried = deliver(&app, CUSTOMER_WRITTEN, &secret).await;
    assert!(accepted(&retried), "{retried:?}");
    assert!(stored_customer(&app).await.is_some());
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_search_goes_through() {
    let (app, secret, api) = registered_app().await;
    let first = deliver(&app, CUSTOMER_WRITTEN, &secret).await;
    assert!(accepted(&first), "{first:?}");
    api.revoke_tokens();
    let second = deliver(&app, &fresh(CUSTOMER_WRITTEN, "5f0c1d2e3a4b45c6978899aabbccdd06", &app), &secret).await;
    assert!(accepted(&second), "{second:?}");
    assert_eq!((api.searches().len(), api.token_requests.load(Ordering::SeqCst)), (2, 2));
}

#[tokio::test]
async fn a_login_that_only_wrote_last_login_asks_the_shop_nothing() {
    let (app, secret, api) = registered_app().await;
    let login = edit_json(CUSTOMER_WRITTEN, |json| {
        json["data"]["payload"] = json!([{"entity": "customer", "operation": "update", "primaryKey": CUSTOMER,
            "updatedFields": ["id", "lastLogin", "updatedAt"], "versionId": null}]);
    });
    let answer = deliver(&app, &login, &secret).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("ignored")), "{answer:?}");
    assert_eq!((api.searches().len(), api.token_requests.load(Ordering::SeqCst)), (0, 0));
}

#[tokio::test]
async fn a_customer_deleted_entity_event_deletes_the_customer_without_asking_the_shop() {
    let (app, secret, api) = registered_app().await;
    let registered = deliver(&app, &fresh(CUSTOMER_REGISTER, "5f0c1d2e3a4b45c6978899aabbccdd03", &app), &secret).await;
    assert!(accepted(&registered), "{registered:?}");
    let deleted = edit_json(CUSTOMER_WRITTEN, |json| {
        json["data"]["event"] = json!("customer.deleted");
        json["data"]["payload"] = json!([{"entity": "customer", "operation": "delete", "primaryKey": CUSTOMER}]);
    });
    let answer = deliver(&app, &deleted, &secret).await;
    assert!(accepted(&answer), "{answer:?}");
    let customer = stored_customer(&app).await.unwrap_or_else(|| panic!("tombstone kept"));
    assert!(customer.deleted_at.is_some());
    assert_eq!(api.token_requests.load(Ordering::SeqCst), 0);
}
