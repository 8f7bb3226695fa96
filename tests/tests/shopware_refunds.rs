//! Shopware refunds through the local runner: a transaction's `refunded_partially` (or `refunded`)
//! event carries no refund, so the runner reads the order's refunds from the shop's Admin API, over
//! real HTTP, and reverses exactly what Shopware's refund handling recorded.
//!
//! Shopware itself cannot run here (PHP application, MySQL), so the shop's Admin API is a stand-in
//! on 127.0.0.1 that implements the two endpoints we call as Shopware documents them:
//! `POST /api/oauth/token` (client credentials → bearer token) and
//! `POST /api/search/order-transaction-capture-refund` (bearer token, criteria with an `equals`
//! filter on `transactionCapture.transaction.orderId` → `{"total","data"}`), answering with the
//! refunds of `admin_search_order_transaction_capture_refund.json` that belong to the filtered
//! order: one completed refund (1 of the 2 bags of beans and the descaler), one cancelled refund
//! (the milk jug). It refuses wrong credentials, unknown tokens and requests that do not ask for
//! plain JSON, and records what it was asked.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use stammkunde_domain::ids::{OrderId, ShopId};
use stammkunde_domain::order::PaymentState;
use stammkunde_e2e::*;

const TRANSACTION_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/state_order_transaction_paid.json");
const ADMIN_SEARCH_REFUND: &str =
    include_str!("../../fixtures/webhooks/shopware/admin_search_order_transaction_capture_refund.json");
const ORDER: &str = "a3f1c2d4e5b6478899aabbccddeeff01";
const CUSTOMER: &str = "7c1e9b2a4d3f4e5a8b6c0d1e2f3a4b5c";
/// The completed refund in the fixture; the cancelled one is `…ff12`.
const REFUND: &str = "44dd55ee66ff478899aabbccddeeff11";
const BEANS: &str = "11aa22bb33cc44dd55ee66ff77889901";
const JUG: &str = "11aa22bb33cc44dd55ee66ff77889902";
const DESCALER: &str = "11aa22bb33cc44dd55ee66ff77889903";
/// 36 + 22 + 6 for beans (2 bags), jug and descaler, as in `shopware.rs`.
const PAID_POINTS: i64 = 64;

#[derive(Default)]
struct AdminApi {
    token_requests: AtomicUsize,
    tokens: Mutex<Vec<String>>,
    /// The criteria of every refund search that was answered 200.
    searches: Mutex<Vec<Value>>,
    down: AtomicBool,
    /// The app's manifest predates the refund read permission: Shopware answers 403.
    forbidden: AtomicBool,
    /// The shop has no refund entities: the status was set by hand.
    no_refunds: AtomicBool,
}

impl AdminApi {
    fn searches(&self) -> Vec<Value> {
        self.searches.lock().map(|s| s.clone()).unwrap_or_default()
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

/// The order id of an `equals` filter on `transactionCapture.transaction.orderId`, if the criteria
/// have one.
fn filtered_order(criteria: &Value) -> Option<Value> {
    criteria["filter"].as_array()?.iter().find_map(|filter| {
        let on_order = filter["type"] == "equals" && filter["field"] == "transactionCapture.transaction.orderId";
        on_order.then(|| filter["value"].clone())
    })
}

async fn search_refunds(
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
    if api.forbidden.load(Ordering::SeqCst) {
        let error = json!({"errors": [{"status": "403", "code": "FRAMEWORK__MISSING_PRIVILEGE_ERROR"}]});
        return (StatusCode::FORBIDDEN, Json(error));
    }
    // Without the filter Shopware would answer every refund of the shop; the stand-in answers none.
    let order = filtered_order(&criteria);
    let all: Value = serde_json::from_str(ADMIN_SEARCH_REFUND).unwrap_or_else(|e| panic!("fixture: {e}"));
    let data: Vec<Value> = if api.no_refunds.load(Ordering::SeqCst) {
        Vec::new()
    } else {
        let of_order = |r: &&Value| Some(&r["transactionCapture"]["transaction"]["orderId"]) == order.as_ref();
        all["data"].as_array().into_iter().flatten().filter(of_order).cloned().collect()
    };
    if let Ok(mut searches) = api.searches.lock() {
        searches.push(criteria);
    }
    (StatusCode::OK, Json(json!({"total": data.len(), "data": data, "aggregations": []})))
}

async fn admin_api() -> (Arc<AdminApi>, String) {
    let api = Arc::new(AdminApi::default());
    let router = Router::new()
        .route("/api/oauth/token", post(token))
        .route("/api/search/order-transaction-capture-refund", post(search_refunds))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (api, format!("http://{addr}"))
}

/// The envelope `timestamp` of the paid event: 2026-11-21T07:58:41Z.
fn paid_sent_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 7, 58, 41).single().unwrap_or_default()
}

/// When the refund events are sent: a few seconds after the completed refund.
fn refund_sent_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 15, 3).single().unwrap_or_default()
}

/// The app registered with the stand-in as the shop's Admin API, the order paid and credited;
/// the clock at the refund. Returns the app, the shop secret and the stand-in.
async fn paid_order() -> (TestApp, String, Arc<AdminApi>) {
    let app = spawn_app(paid_sent_at()).await;
    let (api, url) = admin_api().await;
    let secret = app.shopware_register_and_confirm_at(&url).await;
    let paid = deliver(&app, TRANSACTION_PAID, &secret).await;
    assert!(accepted(&paid), "{paid:?}");
    assert_eq!(balance(&ledger(&app).await), (0, PAID_POINTS));
    assert_eq!(api.searches().len(), 0, "a payment asks the shop nothing");
    app.clock.set(refund_sent_at());
    (app, secret, api)
}

/// The paid fixture moved on to `state` (`refunded_partially`, `refunded`): the transaction's
/// transition at 08:15:02.331, the event sent a second later.
fn refund_event(state: &str, event_id: &str) -> Vec<u8> {
    edit_json(TRANSACTION_PAID, |envelope| {
        envelope["data"]["event"] = format!("state_enter.order_transaction.state.{state}").into();
        envelope["source"]["eventId"] = event_id.into();
        envelope["timestamp"] = refund_sent_at().timestamp().into();
        let transaction = &mut envelope["data"]["payload"]["order"]["transactions"][0];
        transaction["updatedAt"] = "2026-11-23T08:15:02.331+00:00".into();
        transaction["stateMachineState"]["technicalName"] = state.into();
    })
}

async fn deliver(app: &TestApp, body: &[u8], secret: &str) -> Answer {
    app.post("/webhooks/shopware", &shopware_headers(body, secret), body.to_vec()).await
}

async fn ledger(app: &TestApp) -> Value {
    app.ledger_of("shopware-shop", SHOPWARE_API_KEY, CUSTOMER).await
}

fn accepted(answer: &Answer) -> bool {
    answer.status == 200 && answer.body["status"] == "accepted"
}

fn shop() -> ShopId {
    ShopId::parse("shopware-shop").unwrap_or_else(|e| panic!("{e}"))
}

fn order_id() -> OrderId {
    OrderId::parse(ORDER).unwrap_or_else(|e| panic!("{e}"))
}

async fn stored_refund_ids(app: &TestApp) -> Vec<String> {
    let refunds = app.app.store.refunds(&shop(), &order_id()).await.unwrap_or_else(|e| panic!("{e}"));
    refunds.iter().map(|r| r.refund_id.as_str().to_owned()).collect()
}

async fn stored_payment(app: &TestApp) -> Option<PaymentState> {
    let order = app.app.store.order(&shop(), &order_id()).await.unwrap_or_else(|e| panic!("{e}"));
    order.map(|o| o.payment)
}

/// A reversal's lines as (line, quantity, amount_minor, points).
fn reversed_lines(entry: &Value) -> Vec<(String, i64, i64, i64)> {
    entry["detail"]["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("a reversal with lines: {entry:?}"))
        .iter()
        .map(|l| {
            let number = |field: &str| l[field].as_i64().unwrap_or_else(|| panic!("{field} in {l:?}"));
            let id = l["line_id"].as_str().unwrap_or_default().to_owned();
            (id, number("quantity"), number("amount_minor"), number("points"))
        })
        .collect()
}

fn line(id: &str, quantity: i64, amount_minor: i64, points: i64) -> (String, i64, i64, i64) {
    (id.to_owned(), quantity, amount_minor, points)
}

fn refund_key() -> String {
    format!("reversal:refund:{ORDER}:{REFUND}")
}

#[tokio::test]
async fn a_partial_refund_through_shopwares_refund_handling_reverses_exactly_its_lines_once() {
    let (app, secret, api) = paid_order().await;
    let event = refund_event("refunded_partially", "5f0c1d2e3a4b45c6978899aabbccdd41");
    let answer = deliver(&app, &event, &secret).await;
    assert!(accepted(&answer), "{answer:?}");

    let searches = api.searches();
    assert_eq!(searches.len(), 1);
    assert_eq!(filtered_order(&searches[0]), Some(json!(ORDER)));
    assert!(searches[0]["associations"]["positions"].is_object(), "{:?}", searches[0]);
    assert_eq!(stored_refund_ids(&app).await, [REFUND], "the cancelled refund is not stored");
    assert_eq!(stored_payment(&app).await, Some(PaymentState::PartiallyRefunded));

    // The credit's basis is net of tax: beans 39.42 − 2.58, descaler 7.64 − 1.23, jug 26.96 − 4.30.
    // 1 of 2 bags of beans: ⌊36 × 1 / 2⌋ = 18 points and ⌊3684 × 1 / 2⌋ = 1842 cents; the descaler,
    // its only unit: 6 points and 641 cents. The milk jug's refund was cancelled: it keeps its 22.
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}"), refund_key()]);
    let reversal = entry(&ledger, &refund_key());
    assert_eq!((reversal["available"].as_i64(), reversal["pending"].as_i64()), (Some(0), Some(-24)));
    assert_eq!(
        (reversal["detail"]["cause"].as_str(), reversal["detail"]["refund_id"].as_str()),
        (Some("refund"), Some(REFUND))
    );
    assert_eq!(reversed_lines(&reversal), [line(BEANS, 1, 1842, 18), line(DESCALER, 1, 641, 6)]);
    assert_eq!(balance(&ledger), (0, PAID_POINTS - 24));

    // Shopware's retry carries the same event id: a duplicate, answered without asking the shop.
    let after_first = app.dump();
    let again = deliver(&app, &event, &secret).await;
    assert_eq!((again.status, again.body["status"].as_str()), (200, Some("duplicate")), "{again:?}");
    assert_eq!(api.searches().len(), 1, "a duplicate asks the shop nothing");
    assert_eq!(app.dump(), after_first);
}

#[tokio::test]
async fn when_the_admin_api_is_down_the_refund_event_writes_nothing_and_the_retry_reverses() {
    let (app, secret, api) = paid_order().await;
    let before = app.dump();
    api.down.store(true, Ordering::SeqCst);
    let event = refund_event("refunded_partially", "5f0c1d2e3a4b45c6978899aabbccdd42");
    let failed = deliver(&app, &event, &secret).await;
    assert_refused(&failed, 502, "shop_api_failed");
    assert!(failed.body["reason"].as_str().is_some_and(|r| r.contains("503")), "{failed:?}");
    assert_eq!(app.dump(), before, "a failed fetch wrote something: not even the order's new state");
    assert_eq!(stored_payment(&app).await, Some(PaymentState::Paid));

    api.down.store(false, Ordering::SeqCst);
    let retried = deliver(&app, &event, &secret).await;
    assert!(accepted(&retried), "{retried:?}");
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}"), refund_key()]);
    assert_eq!(balance(&ledger), (0, PAID_POINTS - 24));
}

#[tokio::test]
async fn a_refund_status_set_by_hand_changes_only_the_order() {
    let (app, secret, api) = paid_order().await;
    api.no_refunds.store(true, Ordering::SeqCst);
    let event = refund_event("refunded_partially", "5f0c1d2e3a4b45c6978899aabbccdd43");
    let answer = deliver(&app, &event, &secret).await;
    assert!(accepted(&answer), "{answer:?}");
    assert_eq!(api.searches().len(), 1);
    assert_eq!(stored_payment(&app).await, Some(PaymentState::PartiallyRefunded));
    assert_eq!(stored_refund_ids(&app).await, Vec::<String>::new());
    // Without lines or an amount nothing is reversed until the order is refunded in full.
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}")]);
    assert_eq!(balance(&ledger), (0, PAID_POINTS));
}

#[tokio::test]
async fn a_full_refund_reverses_the_recorded_refund_line_by_line_then_the_rest() {
    let (app, secret, api) = paid_order().await;
    let answer = deliver(&app, &refund_event("refunded", "5f0c1d2e3a4b45c6978899aabbccdd44"), &secret).await;
    assert!(accepted(&answer), "{answer:?}");
    assert_eq!(api.searches().len(), 1);

    let ledger = ledger(&app).await;
    let full = format!("reversal:refunded:{ORDER}");
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}"), refund_key(), full.clone()]);
    assert_eq!(reversed_lines(&entry(&ledger, &refund_key())), [line(BEANS, 1, 1842, 18), line(DESCALER, 1, 641, 6)]);
    // The rest: the other bag of beans and the milk jug.
    let rest = entry(&ledger, &full);
    assert_eq!((rest["pending"].as_i64(), rest["detail"]["cause"].as_str()), (Some(-40), Some("full_refund")));
    assert_eq!(reversed_lines(&rest), [line(BEANS, 1, 1842, 18), line(JUG, 1, 2266, 22)]);
    assert_eq!(balance(&ledger), (0, 0));

    // A later event reads the same refund again; it is stored and reversed once.
    app.clock.set(refund_sent_at() + Duration::minutes(1));
    let later = edit_json(&refund_event("refunded", "5f0c1d2e3a4b45c6978899aabbccdd45"), |envelope| {
        envelope["timestamp"] = (refund_sent_at() + Duration::minutes(1)).timestamp().into();
    });
    assert!(accepted(&deliver(&app, &later, &secret).await));
    assert_eq!(api.searches().len(), 2);
    assert_eq!(stored_refund_ids(&app).await, [REFUND]);
    assert_eq!(keys(&self::ledger(&app).await), keys(&ledger));
}

#[tokio::test]
async fn a_shop_that_does_not_let_us_read_refunds_stores_the_order_and_reverses_nothing_yet() {
    let (app, secret, api) = paid_order().await;
    api.forbidden.store(true, Ordering::SeqCst);
    let event = refund_event("refunded_partially", "5f0c1d2e3a4b45c6978899aabbccdd46");
    // Not a 502: Shopware would retry a missing permission ten times and deactivate the webhook.
    let answer = deliver(&app, &event, &secret).await;
    assert!(accepted(&answer), "{answer:?}");
    assert_eq!(stored_payment(&app).await, Some(PaymentState::PartiallyRefunded));
    assert_eq!(stored_refund_ids(&app).await, Vec::<String>::new());
    assert_eq!(keys(&ledger(&app).await), [format!("earn:order:{ORDER}")]);
}
