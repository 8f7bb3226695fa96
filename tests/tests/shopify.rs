//! Shopify through the local runner's HTTP port: signed real-shaped orders in, customers, orders
//! and points out, exactly once. A paid order's points are pending (held for the return window),
//! so "credited once" is one earn entry and a pending balance of exactly its points.

use chrono::{TimeZone, Utc};
use stammkunde_domain::ids::{OrderId, ShopId};
use stammkunde_domain::ingest::PrivacyRequestKind;
use stammkunde_e2e::*;

const ORDER_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
const ORDER_PENDING: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_create_pending.json");
const ORDER_CANCELLED_GUEST: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_cancelled.json");
const CUSTOMER: &str = "7654321098765";
const ORDER: &str = "5912345678901";
/// 41 + 188 + 22: net of tax per line, floored; the gift card line earns nothing.
const ORDER_PAID_POINTS: i64 = 251;

async fn app() -> TestApp {
    spawn_app(Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default()).await
}

async fn deliver(app: &TestApp, topic: &str, body: &[u8], webhook_id: &str) -> Answer {
    app.post("/webhooks/shopify", &shopify_headers(topic, body, webhook_id), body.to_vec()).await
}

async fn points(app: &TestApp, customer: &str) -> serde_json::Value {
    let answer = app.get(&format!("/api/shops/shopify-shop/customers/{customer}/ledger"), &bearer(API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_ledger_consistent(&answer.body);
    answer.body
}

#[tokio::test]
async fn a_signed_paid_order_stores_the_customer_and_order_and_credits_its_points() {
    let app = app().await;
    let answer = deliver(&app, "orders/paid", ORDER_PAID, "wh-1").await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);

    let customer = app.get(&format!("/api/shops/shopify-shop/customers/{CUSTOMER}"), &bearer(API_KEY)).await;
    assert_eq!(customer.status, 200);
    assert_eq!(customer.body["customer_id"], CUSTOMER);
    assert_eq!(balance(&customer.body), (0, ORDER_PAID_POINTS));
    assert_eq!(customer.body["consent"]["email_marketing"], "subscribed");
    assert!(customer.body["email"].as_str().is_some_and(|e| e.contains('@')));

    let ledger = points(&app, CUSTOMER).await;
    let entries = ledger["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["key"], format!("earn:order:{ORDER}"));
    assert_eq!(entries[0]["kind"], "earn");
    assert_eq!(
        (entries[0]["points"].as_i64(), entries[0]["pending"].as_i64()),
        (Some(ORDER_PAID_POINTS), Some(ORDER_PAID_POINTS))
    );
    assert_eq!(entries[0]["available"], 0);
    // The gift card line earns nothing and is not part of the credit.
    assert_eq!(entries[0]["detail"]["lines"].as_array().map(Vec::len), Some(3));
    assert_eq!(balance(&ledger), (0, ORDER_PAID_POINTS));

    let shop = ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}"));
    let order = app.app.store.order(&shop, &OrderId::parse(ORDER).unwrap_or_else(|e| panic!("{e}"))).await;
    assert!(order.unwrap_or_else(|e| panic!("{e}")).is_some_and(|o| o.payment.is_paid()));
}

#[tokio::test]
async fn the_same_delivery_five_times_credits_once() {
    let app = app().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let answer = deliver(&app, "orders/paid", ORDER_PAID, "wh-same").await;
        assert_eq!(answer.status, 200);
        statuses.push(answer.body["status"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, ["accepted", "duplicate", "duplicate", "duplicate", "duplicate"]);
    let ledger = points(&app, CUSTOMER).await;
    assert_eq!(ledger["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(balance(&ledger), (0, ORDER_PAID_POINTS));
}

#[tokio::test]
async fn the_same_paid_order_under_other_topics_and_delivery_ids_credits_once() {
    let app = app().await;
    for (topic, id) in [("orders/create", "a"), ("orders/paid", "b"), ("orders/updated", "c"), ("orders/paid", "d")] {
        assert_eq!(deliver(&app, topic, ORDER_PAID, id).await.status, 200);
    }
    let ledger = points(&app, CUSTOMER).await;
    assert_eq!(ledger["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(balance(&ledger), (0, ORDER_PAID_POINTS));
}

#[tokio::test]
async fn a_retry_with_the_same_event_id_is_a_duplicate_whatever_its_webhook_id() {
    let app = app().await;
    let with_event = |webhook_id: &str, event_id: &str| {
        let mut headers = shopify_headers("orders/paid", ORDER_PAID, webhook_id);
        headers.push(("x-shopify-event-id", event_id.into()));
        headers
    };
    let mut statuses = Vec::new();
    for (webhook_id, event_id) in [("wh-1", "ev-1"), ("wh-2", "ev-1"), ("wh-1", "ev-1")] {
        let answer = app.post("/webhooks/shopify", &with_event(webhook_id, event_id), ORDER_PAID.to_vec()).await;
        statuses.push(answer.body["status"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, ["accepted", "duplicate", "duplicate"]);
    assert_eq!(balance(&points(&app, CUSTOMER).await), (0, ORDER_PAID_POINTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_deliveries_credit_once() {
    let app = app().await;
    let answers = futures::future::join_all((0..50).map(|_| deliver(&app, "orders/paid", ORDER_PAID, "wh-race"))).await;
    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    let accepted = answers.iter().filter(|a| a.body["status"] == "accepted").count();
    assert_eq!(accepted, 1, "exactly one delivery is the first");
    let ledger = points(&app, CUSTOMER).await;
    assert_eq!(ledger["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(balance(&ledger), (0, ORDER_PAID_POINTS));
}

#[tokio::test]
async fn a_stale_update_arriving_after_a_newer_one_changes_nothing() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "new").await;
    let shop = ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}"));
    let order_id = OrderId::parse(ORDER).unwrap_or_else(|e| panic!("{e}"));
    let before = (app.app.store.order(&shop, &order_id).await.ok(), points(&app, CUSTOMER).await);

    // The same order as it was an hour earlier, still pending: a late retry of orders/create.
    let mut stale: serde_json::Value = serde_json::from_slice(ORDER_PAID).unwrap_or_default();
    stale["financial_status"] = "pending".into();
    stale["updated_at"] = "2026-11-20T09:15:42+01:00".into();
    let stale = serde_json::to_vec(&stale).unwrap_or_default();
    let answer = deliver(&app, "orders/create", &stale, "old").await;
    assert_eq!(answer.status, 200);

    let after = (app.app.store.order(&shop, &order_id).await.ok(), points(&app, CUSTOMER).await);
    assert_eq!(before, after);
    assert!(after.0.flatten().is_some_and(|o| o.payment.is_paid()));
}

#[tokio::test]
async fn a_pending_order_earns_nothing_until_it_is_paid() {
    let app = app().await;
    deliver(&app, "orders/create", ORDER_PENDING, "p1").await;
    let ledger = points(&app, "7654321098777").await;
    assert_eq!(ledger["entries"].as_array().map(Vec::len), Some(0));
    assert_eq!(balance(&ledger), (0, 0));

    let mut paid: serde_json::Value = serde_json::from_slice(ORDER_PENDING).unwrap_or_default();
    paid["financial_status"] = "paid".into();
    paid["updated_at"] = "2026-11-22T08:00:00+01:00".into();
    deliver(&app, "orders/paid", &serde_json::to_vec(&paid).unwrap_or_default(), "p2").await;
    let ledger = points(&app, "7654321098777").await;
    assert_eq!(ledger["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(balance(&ledger), (0, 27 + 16));
}

#[tokio::test]
async fn a_guest_order_cancelled_before_payment_is_stored_and_credits_nothing() {
    let app = app().await;
    let answer = deliver(&app, "orders/cancelled", ORDER_CANCELLED_GUEST, "g1").await;
    assert_eq!(answer.body["status"], "accepted");
    let shop = ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}"));
    let order = app.app.store.order(&shop, &OrderId::parse("5912345680123").unwrap_or_else(|e| panic!("{e}"))).await;
    let order = order.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("order stored"));
    assert!(order.cancelled && !order.payment.is_paid() && order.customer_id.is_none());
    assert!(!app.dump().contains("earn:order:5912345680123"));
}

async fn deliver_privacy_topic(app: &TestApp, topic: &str, file: &[u8]) {
    let mut headers = shopify_headers(topic, file, &format!("{topic}-1"));
    let bad = headers.iter_mut().find(|(n, _)| *n == "x-shopify-hmac-sha256");
    if let Some((_, value)) = bad {
        *value = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    }
    let forged = app.post("/webhooks/shopify", &headers, file.to_vec()).await;
    assert_eq!(forged.status, 401, "{topic} with a bad HMAC");
    for attempt in 0..2 {
        let answer = deliver(app, topic, file, &format!("{topic}-{attempt}")).await;
        assert_eq!(answer.status, 200, "{topic}: {:?}", answer.body);
    }
}

#[tokio::test]
async fn the_privacy_topics_are_verified_and_recorded_once() {
    let app = app().await;
    for (topic, file) in [
        ("customers/data_request", &include_bytes!("../../fixtures/webhooks/shopify/customers_data_request.json")[..]),
        ("customers/redact", &include_bytes!("../../fixtures/webhooks/shopify/customers_redact.json")[..]),
    ] {
        deliver_privacy_topic(&app, topic, file).await;
    }
    let shop = ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}"));
    let requests = app.app.store.privacy_requests(&shop).await.unwrap_or_else(|e| panic!("{e}"));
    let mut kinds: Vec<PrivacyRequestKind> = requests.iter().map(|r| r.kind).collect();
    kinds.sort_by_key(|k| k.as_str());
    // Each request once, although the data request came twice under different delivery ids.
    assert!(kinds.contains(&PrivacyRequestKind::CustomerRedact));
    assert_eq!(kinds.iter().filter(|k| **k == PrivacyRequestKind::DataRequest).count(), 1);
    assert!(!app.dump().contains("@"), "no email or phone from a privacy payload is kept");

    // shop/redact: the shop is marked erased, and what it left goes, the requests too.
    deliver_privacy_topic(&app, "shop/redact", include_bytes!("../../fixtures/webhooks/shopify/shop_redact.json"))
        .await;
    let erased = app.app.store.shop_erased_at(&shop).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(erased.is_some(), "the shop's tombstone is written");
    let requests = app.app.store.privacy_requests(&shop).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(requests.is_empty(), "{requests:?}");
    assert!(!app.dump().contains("@"));
}

#[tokio::test]
async fn the_previous_secret_is_accepted_during_a_rotation() {
    use stammkunde_domain::secret::Secret;
    use stammkunde_domain::signature::{sign, DigestEncoding};
    let app = app().await;
    let mut headers = shopify_headers("orders/paid", ORDER_PAID, "rot");
    for (name, value) in headers.iter_mut() {
        if *name == "x-shopify-hmac-sha256" {
            *value = sign(ORDER_PAID, &Secret::new(SHOPIFY_OLD_SECRET), DigestEncoding::Base64);
        }
    }
    let answer = app.post("/webhooks/shopify", &headers, ORDER_PAID.to_vec()).await;
    assert_eq!(answer.body["status"], "accepted");
}
