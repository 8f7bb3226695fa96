//! WooCommerce through the local runner's HTTP port: the activation ping, signed orders in,
//! customers, orders and points out, exactly once. A paid order's points are pending (held for the
//! return window), so "credited once" is one earn entry and a pending balance of its points.

use chrono::{TimeZone, Utc};
use stammkunde_domain::ids::{OrderId, ShopId};
use stammkunde_domain::order::{Order, PaymentState};
use stammkunde_e2e::*;

const ORDER_PROCESSING: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_processing.json");
const ORDER_PENDING_GUEST: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_pending.json");
const ORDER_PARTIALLY_REFUNDED: &[u8] =
    include_bytes!("../../fixtures/webhooks/woocommerce/order_partially_refunded.json");
const ORDER_DELETED: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_deleted.json");
const CUSTOMER: &str = "42";
/// 38 + 26 + 9: each line's `total` (after coupon, without tax), floored to whole euros.
const ORDER_PROCESSING_POINTS: i64 = 73;
/// 33 + 10: each line's `total` (no coupon, without tax), floored to whole euros.
const ORDER_PARTIALLY_REFUNDED_POINTS: i64 = 43;
/// What refund 1190 (12.90 of the 52.91 total) takes back: ⌊33 × 1290 / 5291⌋ = 8 and
/// ⌊10 × 1290 / 5291⌋ = 2 (see `ledger_lifecycle.rs` for the whole computation).
const REFUND_1190_POINTS: i64 = 10;

async fn app() -> TestApp {
    spawn_app(Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).single().unwrap_or_default()).await
}

async fn deliver(app: &TestApp, topic: &str, body: &[u8], delivery_id: &str) -> Answer {
    app.post("/webhooks/woocommerce", &woo_headers(topic, body, delivery_id), body.to_vec()).await
}

async fn ledger(app: &TestApp, customer: &str) -> serde_json::Value {
    let answer = app.get(&format!("/api/shops/woo-shop/customers/{customer}/ledger"), &bearer(WOO_API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_ledger_consistent(&answer.body);
    answer.body
}

async fn stored_order(app: &TestApp, order: &str) -> Option<Order> {
    let shop = ShopId::parse("woo-shop").unwrap_or_else(|e| panic!("{e}"));
    let order = OrderId::parse(order).unwrap_or_else(|e| panic!("{e}"));
    app.app.store.order(&shop, &order).await.unwrap_or_else(|e| panic!("{e}"))
}

fn entries(ledger: &serde_json::Value) -> Vec<serde_json::Value> {
    ledger["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_unsigned_activation_ping_is_answered_200_and_writes_nothing() {
    let app = app().await;
    let before = app.dump();
    let headers = [("content-type", "application/x-www-form-urlencoded".to_owned())];
    let answer = app.post("/webhooks/woocommerce", &headers, "webhook_id=17").await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("ping")), "{:?}", answer.body);
    assert_eq!(app.dump(), before);
}

#[tokio::test]
async fn an_unsigned_body_that_only_looks_like_a_ping_is_refused() {
    let app = app().await;
    let before = app.dump();
    let headers = [("content-type", "application/x-www-form-urlencoded".to_owned())];
    for body in ["webhook_id=17&status=active", "webhook_id=", "{\"webhook_id\":17}"] {
        let answer = app.post("/webhooks/woocommerce", &headers, body).await;
        // Not a ping, so it needs the shop's headers and signature, which it does not have.
        assert_refused(&answer, 401, "unknown_shop");
    }
    assert_eq!(app.dump(), before);
}

#[tokio::test]
async fn a_signed_processing_order_credits_customer_42_with_73_points() {
    let app = app().await;
    let answer = deliver(&app, "order.created", ORDER_PROCESSING, "d-1").await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);

    let customer = app.get(&format!("/api/shops/woo-shop/customers/{CUSTOMER}"), &bearer(WOO_API_KEY)).await;
    assert_eq!(customer.status, 200, "{:?}", customer.body);
    assert_eq!(customer.body["customer_id"], CUSTOMER);
    assert_eq!(customer.body["email"], "tobias.wagner@example.de");
    assert_eq!(customer.body["first_name"], "Tobias");
    assert_eq!(balance(&customer.body), (0, ORDER_PROCESSING_POINTS));

    let ledger = ledger(&app, CUSTOMER).await;
    let entries = entries(&ledger);
    assert_eq!(entries.len(), 1, "{ledger:?}");
    assert_eq!(entries[0]["key"], "earn:order:1187");
    assert_eq!(entries[0]["kind"], "earn");
    assert_eq!(entries[0]["points"], ORDER_PROCESSING_POINTS);
    assert_eq!(
        (entries[0]["available"].as_i64(), entries[0]["pending"].as_i64()),
        (Some(0), Some(ORDER_PROCESSING_POINTS))
    );
    let line_points: Vec<i64> = entries[0]["detail"]["lines"]
        .as_array()
        .map(|lines| lines.iter().filter_map(|l| l["points"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(line_points, [38, 26, 9]);

    let order = stored_order(&app, "1187").await.unwrap_or_else(|| panic!("order 1187 stored"));
    assert_eq!(order.payment, PaymentState::Paid);
    assert_eq!(order.customer_id.as_ref().map(|c| c.as_str()), Some(CUSTOMER));
}

#[tokio::test]
async fn the_same_delivery_five_times_credits_once() {
    let app = app().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let answer = deliver(&app, "order.updated", ORDER_PROCESSING, "d-same").await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        statuses.push(answer.body["status"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, ["accepted", "duplicate", "duplicate", "duplicate", "duplicate"]);
    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(entries(&ledger).len(), 1);
    assert_eq!(balance(&ledger), (0, ORDER_PROCESSING_POINTS));
}

#[tokio::test]
async fn the_same_state_under_new_delivery_ids_credits_once() {
    let app = app().await;
    // WooCommerce gives every send a new delivery id; the body digest recognises the same state.
    let mut statuses = Vec::new();
    for (topic, id) in [("order.created", "d-a"), ("order.updated", "d-b"), ("order.updated", "d-c")] {
        let answer = deliver(&app, topic, ORDER_PROCESSING, id).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        statuses.push(answer.body["status"].as_str().unwrap_or_default().to_owned());
    }
    // The digest covers topic and body: the third send repeats the second exactly.
    assert_eq!(statuses, ["accepted", "accepted", "duplicate"]);
    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(entries(&ledger).len(), 1);
    assert_eq!(balance(&ledger), (0, ORDER_PROCESSING_POINTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_deliveries_credit_once() {
    let app = app().await;
    let answers =
        futures::future::join_all((0..50).map(|_| deliver(&app, "order.updated", ORDER_PROCESSING, "d-race"))).await;
    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    let accepted = answers.iter().filter(|a| a.body["status"] == "accepted").count();
    let duplicates = answers.iter().filter(|a| a.body["status"] == "duplicate").count();
    assert_eq!((accepted, duplicates), (1, 49), "exactly one delivery is the first");
    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(entries(&ledger).len(), 1);
    assert_eq!(balance(&ledger), (0, ORDER_PROCESSING_POINTS));
}

#[tokio::test]
async fn a_stale_update_arriving_after_a_newer_one_changes_nothing() {
    let app = app().await;
    assert_eq!(deliver(&app, "order.updated", ORDER_PROCESSING, "new").await.body["status"], "accepted");
    let customer_path = format!("/api/shops/woo-shop/customers/{CUSTOMER}");
    let before = (
        stored_order(&app, "1187").await,
        ledger(&app, CUSTOMER).await,
        app.get(&customer_path, &bearer(WOO_API_KEY)).await.body,
    );

    // The same order as it was before payment, three minutes earlier: a late order.created retry.
    let stale = edit_json(ORDER_PROCESSING, |order| {
        order["status"] = "pending".into();
        order["date_paid"] = serde_json::Value::Null;
        order["date_paid_gmt"] = serde_json::Value::Null;
        order["date_modified"] = "2026-11-20T11:02:14".into();
        order["date_modified_gmt"] = "2026-11-20T10:02:14".into();
        order["billing"]["first_name"] = "Stale".into();
    });
    let answer = deliver(&app, "order.created", &stale, "old").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let after = (
        stored_order(&app, "1187").await,
        ledger(&app, CUSTOMER).await,
        app.get(&customer_path, &bearer(WOO_API_KEY)).await.body,
    );
    assert_eq!(before, after);
    assert!(after.0.is_some_and(|o| o.payment == PaymentState::Paid));
}

#[tokio::test]
async fn a_guest_pending_order_is_stored_and_credits_nothing() {
    let app = app().await;
    let answer = deliver(&app, "order.created", ORDER_PENDING_GUEST, "g-1").await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);
    let order = stored_order(&app, "1188").await.unwrap_or_else(|| panic!("order 1188 stored"));
    assert_eq!(order.payment, PaymentState::Pending);
    assert!(order.customer_id.is_none() && !order.cancelled);
    let dump = app.dump();
    assert!(dump.contains("\"1188\""), "the order row is in the dump: {dump}");
    assert!(!dump.contains("earn:order:1188"), "no credit for a guest's unpaid order");
    // A guest (customer_id 0) is no customer.
    let zero = app.get("/api/shops/woo-shop/customers/0", &bearer(WOO_API_KEY)).await;
    assert_refused(&zero, 404, "not_found");
}

#[tokio::test]
async fn order_deleted_marks_a_stored_order_cancelled() {
    let app = app().await;
    deliver(&app, "order.created", ORDER_PENDING_GUEST, "g-1").await;
    let before = stored_order(&app, "1188").await.unwrap_or_else(|| panic!("order 1188 stored"));
    assert!(!before.cancelled);

    let answer = deliver(&app, "order.deleted", ORDER_DELETED, "del-1").await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);
    let after = stored_order(&app, "1188").await.unwrap_or_else(|| panic!("order 1188 still stored"));
    assert!(after.cancelled, "the deleted order is cancelled");
    assert_eq!(Order { cancelled: false, ..after.clone() }, before, "nothing else about the order changes");

    // The delete of an order we never stored leaves the store without it.
    let unknown = br#"{"id": 9999}"#;
    let answer = deliver(&app, "order.deleted", unknown, "del-2").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(stored_order(&app, "9999").await.is_none());
}

#[tokio::test]
async fn a_partially_refunded_paid_order_earns_its_points_once() {
    let app = app().await;
    let first = deliver(&app, "order.updated", ORDER_PARTIALLY_REFUNDED, "r-1").await;
    assert_eq!(first.body["status"], "accepted", "{:?}", first.body);
    // A later edit of the same order (a note added, say) under a newer modification date.
    let later = edit_json(ORDER_PARTIALLY_REFUNDED, |order| {
        order["date_modified"] = "2026-11-19T09:00:00".into();
        order["date_modified_gmt"] = "2026-11-19T08:00:00".into();
    });
    let second = deliver(&app, "order.updated", &later, "r-2").await;
    assert_eq!(second.body["status"], "accepted", "{:?}", second.body);

    let order = stored_order(&app, "1175").await.unwrap_or_else(|| panic!("order 1175 stored"));
    assert_eq!(order.payment, PaymentState::PartiallyRefunded);
    assert!(order.payment.is_paid());
    let ledger = ledger(&app, CUSTOMER).await;
    // One credit; the completed order's fulfilment starts its window; its one refund is reversed
    // once, although both bodies list it.
    assert_eq!(keys(&ledger), ["earn:order:1175", "window:order:1175", "reversal:refund:1175:1190"]);
    let entries = entries(&ledger);
    assert_eq!(entries[0]["points"], ORDER_PARTIALLY_REFUNDED_POINTS);
    assert_eq!(entries[2]["points"], -REFUND_1190_POINTS);
    assert_eq!(balance(&ledger), (0, ORDER_PARTIALLY_REFUNDED_POINTS - REFUND_1190_POINTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_sends_of_one_order_under_different_delivery_ids_credit_once() {
    let app = app().await;
    // Each send a distinct state (a later modification date), so none is a duplicate delivery.
    let bodies: Vec<Vec<u8>> = (0..50)
        .map(|i| {
            edit_json(ORDER_PROCESSING, |order| {
                order["date_modified_gmt"] = format!("2026-11-20T10:{:02}:00", 10 + i).into();
            })
        })
        .collect();
    let ids: Vec<String> = (0..50).map(|i| format!("d-{i}")).collect();
    let answers =
        futures::future::join_all(bodies.iter().zip(&ids).map(|(body, id)| deliver(&app, "order.updated", body, id)))
            .await;
    assert!(answers.iter().all(|a| a.status == 200 && a.body["status"] == "accepted"), "{answers:?}");
    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(entries(&ledger).len(), 1, "{ledger:?}");
    assert_eq!(balance(&ledger), (0, ORDER_PROCESSING_POINTS));
    let order = stored_order(&app, "1187").await.unwrap_or_else(|| panic!("order 1187 stored"));
    let newest = Utc.with_ymd_and_hms(2026, 11, 20, 10, 59, 0).single().unwrap_or_default();
    assert_eq!(order.version.updated_at, newest, "the newest state wins whatever the arrival order");
}
