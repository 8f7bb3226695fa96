//! Shopware 6 through the local runner's HTTP port: the app registration handshake, then signed
//! webhooks with the issued shop secret, exactly once, inside the timestamp window. A paid order's
//! points are pending until its return window closes, so "credited once" is one earn entry and a
//! pending balance of exactly its points.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stammkunde_domain::ids::{OrderId, ShopId};
use stammkunde_domain::order::{Order, PaymentState};
use stammkunde_e2e::*;

const ORDER_PLACED: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/checkout_order_placed.json");
const TRANSACTION_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/state_order_transaction_paid.json");
const ORDER: &str = "a3f1c2d4e5b6478899aabbccddeeff01";
const CUSTOMER: &str = "7c1e9b2a4d3f4e5a8b6c0d1e2f3a4b5c";
/// 36 + 22 + 6: gross lines less their tax, after the promotion is spread over them.
const PAID_POINTS: i64 = 64;
const CONFIRM_PATH: &str = "/webhooks/shopware/registration/confirm";

/// The envelope `timestamp` of the placed event: 2026-11-20T09:31:08Z.
fn placed_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 31, 8).single().unwrap_or_default()
}

/// The envelope `timestamp` of the paid event: 2026-11-21T07:58:41Z.
fn paid_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 7, 58, 41).single().unwrap_or_default()
}

/// An app whose clock is one minute after the placed event was sent.
async fn app() -> TestApp {
    spawn_app(placed_at() + Duration::minutes(1)).await
}

async fn deliver(app: &TestApp, body: &[u8], secret: &str) -> Answer {
    app.post("/webhooks/shopware", &shopware_headers(body, secret), body.to_vec()).await
}

async fn ledger(app: &TestApp) -> serde_json::Value {
    let path = format!("/api/shops/shopware-shop/customers/{CUSTOMER}/ledger");
    let answer = app.get(&path, &bearer(SHOPWARE_API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_ledger_consistent(&answer.body);
    answer.body
}

fn entry_count(ledger: &serde_json::Value) -> usize {
    ledger["entries"].as_array().map_or(0, Vec::len)
}

async fn stored_order(app: &TestApp) -> Option<Order> {
    let shop = ShopId::parse("shopware-shop").unwrap_or_else(|e| panic!("{e}"));
    let order = OrderId::parse(ORDER).unwrap_or_else(|e| panic!("{e}"));
    app.app.store.order(&shop, &order).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The proof as Shopware checks it, computed here from the documented recipe rather than with the
/// product's own function: hex HMAC-SHA256 of shop id + shop URL + app name under the app secret.
fn expected_proof() -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SHOPWARE_APP_SECRET.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    mac.update(format!("{SHOPWARE_SHOP_ID}{SHOPWARE_SHOP_URL}StammkundeE2E").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn registration_confirmation_and_a_signed_webhook_round_trip() {
    let app = app().await;
    let registered = app.shopware_register().await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    assert_eq!(registered.body["proof"], expected_proof());
    assert_eq!(registered.body["confirmation_url"], format!("{}{CONFIRM_PATH}", app.base));
    let secret = registered.body["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.len() >= 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()), "secret {secret:?}");

    // Before the confirmation the issued secret does not sign webhooks yet.
    let early = deliver(&app, ORDER_PLACED, &secret).await;
    assert_refused(&early, 401, "not_registered");

    let body = shopware_confirmation_body(app.clock_now().timestamp());
    let confirmed = app.post(CONFIRM_PATH, &shopware_headers(&body, &secret), body).await;
    assert_eq!((confirmed.status, confirmed.body["status"].as_str()), (200, Some("confirmed")), "{confirmed:?}");

    let shop = ShopId::parse("shopware-shop").unwrap_or_else(|e| panic!("{e}"));
    let registration = app.app.store.registration(&shop).await.unwrap_or_else(|e| panic!("{e}"));
    let registration = registration.unwrap_or_else(|| panic!("registration stored"));
    assert_eq!(registration.shop_secret.as_ref().map(|s| s.expose()), Some(secret.as_str()));
    assert!(registration.pending_secret.is_none());
    assert_eq!(registration.shop_url, SHOPWARE_SHOP_URL);
    assert_eq!(registration.api_key.as_ref().map(|s| s.expose()), Some("SWIAE2EAPIKEY0123456789"));

    let answer = deliver(&app, ORDER_PLACED, &secret).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);
    assert!(stored_order(&app).await.is_some());
}

#[tokio::test]
async fn a_placed_open_order_credits_nothing_and_the_paid_event_credits_64_points() {
    let app = app().await;
    let secret = app.shopware_register_and_confirm().await;
    let placed = deliver(&app, ORDER_PLACED, &secret).await;
    assert_eq!(placed.body["status"], "accepted", "{:?}", placed.body);
    let order = stored_order(&app).await.unwrap_or_else(|| panic!("order stored"));
    assert_eq!(order.payment, PaymentState::Pending);
    let before_payment = ledger(&app).await;
    assert_eq!(entry_count(&before_payment), 0);
    assert_eq!(balance(&before_payment), (0, 0));

    app.clock.set(paid_at() + Duration::seconds(2));
    let paid = deliver(&app, TRANSACTION_PAID, &secret).await;
    assert_eq!(paid.body["status"], "accepted", "{:?}", paid.body);
    let order = stored_order(&app).await.unwrap_or_else(|| panic!("order stored"));
    assert_eq!(order.payment, PaymentState::Paid);
    let ledger = ledger(&app).await;
    assert_eq!(entry_count(&ledger), 1, "{ledger:?}");
    assert_eq!(ledger["entries"][0]["key"], format!("earn:order:{ORDER}"));
    assert_eq!(ledger["entries"][0]["kind"], "earn");
    assert_eq!(ledger["entries"][0]["points"], PAID_POINTS);
    assert_eq!(ledger["entries"][0]["pending"], PAID_POINTS);
    let line_points: Vec<i64> = ledger["entries"][0]["detail"]["lines"]
        .as_array()
        .map(|lines| lines.iter().filter_map(|l| l["points"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(line_points, [36, 22, 6]);
    assert_eq!(balance(&ledger), (0, PAID_POINTS));
}

// Shopware writes the envelope `timestamp` when it *sends* a delivery, not when the event
// happened: `AppPayloadServiceHelper::buildWebhookRequest` (and the newer `WebhookSender`) set
// `$payload['timestamp'] = time()` right before `json_encode`, also on every retry. The payload
// itself is encoded at the event. So a `checkout.order.placed` body that carries no `updatedAt`
// shows the order as it was at checkout, under a timestamp that can be later than the payment.

#[tokio::test]
async fn a_paid_event_after_a_placed_event_sent_late_by_the_queue_still_credits_the_order() {
    // Checkout at 09:31:07, card payment confirmed at 09:31:09; the message queue worker sends the
    // placed webhook at 09:31:12 and the paid one at 09:31:15.
    let at = |seconds: u32| Utc.with_ymd_and_hms(2026, 11, 20, 9, 31, seconds).single().unwrap_or_default();
    let placed = edit_json(ORDER_PLACED, |envelope| envelope["timestamp"] = at(12).timestamp().into());
    let paid = edit_json(TRANSACTION_PAID, |envelope| {
        envelope["timestamp"] = at(15).timestamp().into();
        envelope["data"]["payload"]["order"]["transactions"][0]["updatedAt"] = "2026-11-20T09:31:09.204+00:00".into();
    });
    let app = spawn_app(at(12)).await;
    let secret = app.shopware_register_and_confirm().await;
    assert_eq!(deliver(&app, &placed, &secret).await.body["status"], "accepted");
    app.clock.set(at(15));
    assert_eq!(deliver(&app, &paid, &secret).await.body["status"], "accepted");

    let order = stored_order(&app).await.unwrap_or_else(|| panic!("order stored"));
    assert_eq!(order.payment, PaymentState::Paid, "the payment at 09:31:09 is newer than the checkout state");
    let ledger = ledger(&app).await;
    assert_eq!(balance(&ledger), (0, PAID_POINTS), "{ledger:?}");
}

#[tokio::test]
async fn a_placed_event_retried_after_the_paid_one_does_not_undo_the_payment() {
    let app = spawn_app(paid_at()).await;
    let secret = app.shopware_register_and_confirm().await;
    assert_eq!(deliver(&app, TRANSACTION_PAID, &secret).await.body["status"], "accepted");
    let before = (stored_order(&app).await, ledger(&app).await);

    // The placed event's first attempt failed (a timeout on our side); Shopware retries it now,
    // stamped with the time of the retry.
    app.clock.set(paid_at() + Duration::minutes(30));
    let retried = edit_json(ORDER_PLACED, |envelope| envelope["timestamp"] = app.clock_now().timestamp().into());
    let answer = deliver(&app, &retried, &secret).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let after = (stored_order(&app).await, ledger(&app).await);
    assert_eq!(after.0.as_ref().map(|o| o.payment), Some(PaymentState::Paid), "the stored order stays paid");
    assert_eq!(after, before);
}

#[tokio::test]
async fn the_same_event_id_twice_is_a_duplicate() {
    let app = spawn_app(paid_at()).await;
    let secret = app.shopware_register_and_confirm().await;
    let first = deliver(&app, TRANSACTION_PAID, &secret).await;
    let second = deliver(&app, TRANSACTION_PAID, &secret).await;
    assert_eq!(first.body["status"], "accepted", "{:?}", first.body);
    assert_eq!(second.body["status"], "duplicate", "{:?}", second.body);
    // A retry carries the same eventId; the event id, not the bytes, makes it the same delivery.
    let retried = edit_json(TRANSACTION_PAID, |envelope| envelope["timestamp"] = (paid_at().timestamp() + 60).into());
    let third = deliver(&app, &retried, &secret).await;
    assert_eq!(third.body["status"], "duplicate", "{:?}", third.body);
    let ledger = ledger(&app).await;
    assert_eq!(entry_count(&ledger), 1);
    assert_eq!(balance(&ledger), (0, PAID_POINTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_deliveries_credit_once() {
    let app = spawn_app(paid_at()).await;
    let secret = app.shopware_register_and_confirm().await;
    let answers = futures::future::join_all((0..50).map(|_| deliver(&app, TRANSACTION_PAID, &secret))).await;
    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    let accepted = answers.iter().filter(|a| a.body["status"] == "accepted").count();
    assert_eq!(accepted, 1, "exactly one delivery is the first");
    let ledger = ledger(&app).await;
    assert_eq!(entry_count(&ledger), 1);
    assert_eq!(balance(&ledger), (0, PAID_POINTS));
}

#[tokio::test]
async fn a_registration_with_a_bad_app_signature_is_refused_and_stores_nothing() {
    let app = app().await;
    let before = app.dump();
    let query = shopware_registration_query(app.clock_now().timestamp());
    let path = format!("/webhooks/shopware/registration?{query}");

    let forged = app.get(&path, &[("shopware-app-signature", "ab".repeat(32))]).await;
    assert_refused(&forged, 401, "bad_signature");
    let unsigned = app.get(&path, &[]).await;
    assert_refused(&unsigned, 401, "bad_signature");
    // Signed, but over another query than the one sent (the timestamp moved).
    let other = shopware_registration_query(app.clock_now().timestamp() + 1);
    let mismatched = app.get(&path, &shopware_app_signature(&other)).await;
    assert_refused(&mismatched, 401, "bad_signature");
    for answer in [&forged, &unsigned, &mismatched] {
        assert!(answer.body.get("secret").is_none() && answer.body.get("proof").is_none(), "{:?}", answer.body);
    }
    assert_eq!(app.dump(), before);
}

#[tokio::test]
async fn a_registration_for_an_unknown_shop_or_with_a_stale_timestamp_is_refused() {
    let app = app().await;
    let before = app.dump();
    let now = app.clock_now().timestamp();
    let unknown = format!("shop-id=SomeOtherShop&shop-url=https%3A%2F%2Fother.example&timestamp={now}");
    let answer =
        app.get(&format!("/webhooks/shopware/registration?{unknown}"), &shopware_app_signature(&unknown)).await;
    assert_refused(&answer, 401, "unknown_shop");

    let stale = shopware_registration_query(now - 7 * 3600);
    let answer = app.get(&format!("/webhooks/shopware/registration?{stale}"), &shopware_app_signature(&stale)).await;
    assert_refused(&answer, 401, "stale_timestamp");

    let incomplete = format!("shop-id={SHOPWARE_SHOP_ID}&timestamp={now}");
    let answer =
        app.get(&format!("/webhooks/shopware/registration?{incomplete}"), &shopware_app_signature(&incomplete)).await;
    assert_refused(&answer, 400, "bad_request");
    assert_eq!(app.dump(), before);
}

#[tokio::test]
async fn a_confirmation_with_a_wrong_signature_is_refused_and_webhooks_stay_unregistered() {
    let app = app().await;
    let registered = app.shopware_register().await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    let secret = registered.body["secret"].as_str().unwrap_or_default().to_owned();
    let after_registration = app.dump();

    let body = shopware_confirmation_body(app.clock_now().timestamp());
    let wrong = app.post(CONFIRM_PATH, &shopware_headers(&body, "not-the-issued-secret"), body.clone()).await;
    assert_refused(&wrong, 401, "bad_signature");
    let app_signed = app.post(CONFIRM_PATH, &shopware_headers(&body, SHOPWARE_APP_SECRET), body.clone()).await;
    assert_refused(&app_signed, 401, "bad_signature");
    let unsigned = app.post(CONFIRM_PATH, &[("content-type", "application/json".to_owned())], body).await;
    assert_refused(&unsigned, 401, "bad_signature");
    assert_eq!(app.dump(), after_registration, "a refused confirmation writes nothing");

    let webhook = deliver(&app, ORDER_PLACED, &secret).await;
    assert_refused(&webhook, 401, "not_registered");
    assert_eq!(app.dump(), after_registration);
}

#[tokio::test]
async fn a_replayed_confirmation_is_refused() {
    let app = app().await;
    let secret = app.shopware_register_and_confirm().await;
    let before = app.dump();
    let body = shopware_confirmation_body(app.clock_now().timestamp());
    let replay = app.post(CONFIRM_PATH, &shopware_headers(&body, &secret), body).await;
    assert_refused(&replay, 401, "not_registered");
    assert_eq!(app.dump(), before);
}

#[tokio::test]
async fn a_new_registration_keeps_the_confirmed_secret_until_it_is_confirmed() {
    let app = app().await;
    let first = app.shopware_register_and_confirm().await;
    // A reinstall a minute later: a newer registration (the same timestamp would be a replay).
    app.clock.set(app.clock_now() + Duration::minutes(1));
    let again = app.shopware_register().await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    let second = again.body["secret"].as_str().unwrap_or_default().to_owned();
    assert_ne!(first, second, "every registration issues a fresh secret");

    let with_pending = deliver(&app, ORDER_PLACED, &second).await;
    assert_refused(&with_pending, 401, "bad_signature");
    let with_confirmed = deliver(&app, ORDER_PLACED, &first).await;
    assert_eq!(with_confirmed.body["status"], "accepted", "{:?}", with_confirmed.body);

    let body = shopware_confirmation_body(app.clock_now().timestamp());
    let confirmed = app.post(CONFIRM_PATH, &shopware_headers(&body, &second), body).await;
    assert_eq!(confirmed.body["status"], "confirmed", "{:?}", confirmed.body);
    app.clock.set(paid_at());
    let with_old = deliver(&app, TRANSACTION_PAID, &first).await;
    assert_refused(&with_old, 401, "bad_signature");
    let with_new = deliver(&app, TRANSACTION_PAID, &second).await;
    assert_eq!(with_new.body["status"], "accepted", "{:?}", with_new.body);
}

#[tokio::test]
async fn the_same_signed_registration_url_twice_is_refused_and_the_pending_secret_stays() {
    let app = app().await;
    let query = shopware_registration_query(app.clock_now().timestamp());
    let path = format!("/webhooks/shopware/registration?{query}");
    let first = app.get(&path, &shopware_app_signature(&query)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let secret = first.body["secret"].as_str().unwrap_or_default().to_owned();
    let after_first = app.dump();

    // Replayed a minute later, well inside the 5-minute window: refused, no new secret.
    app.clock.set(app.clock_now() + Duration::minutes(1));
    let replay = app.get(&path, &shopware_app_signature(&query)).await;
    assert_refused(&replay, 401, "stale_timestamp");
    assert!(replay.body.get("secret").is_none() && replay.body.get("proof").is_none(), "{:?}", replay.body);
    assert_eq!(app.dump(), after_first, "a refused registration writes nothing");
    let shop = ShopId::parse("shopware-shop").unwrap_or_else(|e| panic!("{e}"));
    let stored = app.app.store.registration(&shop).await.unwrap_or_else(|e| panic!("{e}"));
    let pending = stored.and_then(|r| r.pending_secret).map(|s| s.expose().to_owned());
    assert_eq!(pending.as_deref(), Some(secret.as_str()), "the pending secret is the first one's");

    // The shop that really registered confirms with the secret it was given.
    let body = shopware_confirmation_body(app.clock_now().timestamp());
    let confirmed = app.post(CONFIRM_PATH, &shopware_headers(&body, &secret), body).await;
    assert_eq!(confirmed.body["status"], "confirmed", "{:?}", confirmed.body);
}

#[tokio::test]
async fn a_webhook_before_registration_is_refused_as_not_registered() {
    let app = app().await;
    let before = app.dump();
    // Signed with the app secret: the only secret an unregistered shop could know.
    let answer = deliver(&app, ORDER_PLACED, SHOPWARE_APP_SECRET).await;
    assert_refused(&answer, 401, "not_registered");
    assert_eq!(app.dump(), before);
}

#[tokio::test]
async fn a_timestamp_older_than_six_hours_is_refused_as_stale() {
    let app = app().await;
    let secret = app.shopware_register_and_confirm().await;
    let before = app.dump();
    app.clock.set(placed_at() + Duration::hours(7));
    let answer = deliver(&app, ORDER_PLACED, &secret).await;
    assert_refused(&answer, 401, "stale_timestamp");
    assert_eq!(app.dump(), before);

    // Just inside the window it is accepted.
    app.clock.set(placed_at() + Duration::hours(6) - Duration::seconds(1));
    let answer = deliver(&app, ORDER_PLACED, &secret).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
}

#[tokio::test]
async fn a_timestamp_more_than_five_minutes_ahead_is_refused() {
    let app = app().await;
    let secret = app.shopware_register_and_confirm().await;
    let before = app.dump();
    app.clock.set(placed_at() - Duration::minutes(5) - Duration::seconds(1));
    let answer = deliver(&app, ORDER_PLACED, &secret).await;
    assert_refused(&answer, 401, "stale_timestamp");
    assert_eq!(app.dump(), before);

    // Clock skew of up to five minutes is tolerated.
    app.clock.set(placed_at() - Duration::minutes(5));
    let answer = deliver(&app, ORDER_PLACED, &secret).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
}
