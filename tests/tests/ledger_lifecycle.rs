//! An order's points through their whole life, over the local runner's HTTP port: pending while
//! the return window is open, reversed line by line for refunds and in full for a cancellation or
//! a full refund, released to available by the ledger sweep when the window closes. The clock is
//! the app's `FixedClock`, moved by the test; the sweep is `POST /dev/sweeps/ledger`, never a
//! timer, so every date below is exact.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use stammkunde_e2e::*;

const ORDER_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
/// Refund 1023456789012 of order 5912345678901 (`orders_paid.json`): its `order_id` and
/// `line_item_id`s are the paid order's already, so it is delivered as it is.
const REFUND: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/refunds_create.json");
const ORDER_FULFILLED_REFUNDED: &[u8] =
    include_bytes!("../../fixtures/webhooks/shopify/orders_updated_fulfilled_refunded.json");
const WOO_PARTIALLY_REFUNDED: &[u8] =
    include_bytes!("../../fixtures/webhooks/woocommerce/order_partially_refunded.json");
const SHOPWARE_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/state_order_transaction_paid.json");

const CUSTOMER: &str = "7654321098765";
const ORDER: &str = "5912345678901";
const REFUND_ID: &str = "1023456789012";

/// What `orders_paid.json` earns per line, net of tax and after the 10 % code, floored:
/// beans 2 × 24.90 − 4.98 − 2.93 tax = 41.89 → 41; grinder 249.00 − 24.90 − 35.78 = 188.32 → 188;
/// the gift card nothing; descaler 3 × 9.90 − 2.97 − 4.27 = 22.46 → 22.
const BEANS_POINTS: i64 = 41;
const GRINDER_POINTS: i64 = 188;
const DESCALER_POINTS: i64 = 22;
const ORDER_POINTS: i64 = BEANS_POINTS + GRINDER_POINTS + DESCALER_POINTS;
/// The refund takes back 1 of 2 bags of beans and 2 of 3 bottles of descaler, each line's share
/// floored: ⌊41 × 1/2⌋ = 20 and ⌊22 × 2/3⌋ = 14.
const REFUND_BEANS_POINTS: i64 = 20;
const REFUND_DESCALER_POINTS: i64 = 14;
const REFUND_POINTS: i64 = REFUND_BEANS_POINTS + REFUND_DESCALER_POINTS;

/// When the paid order reaches us (and, as Shopify's order has no payment time, when it was paid).
fn paid_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default()
}

/// No fulfilment reported: the window starts after the 5 days' shipping allowance and lasts 14.
fn window_closes() -> DateTime<Utc> {
    paid_at() + Duration::days(SHIPPING_ALLOWANCE_DAYS + RETURN_WINDOW_DAYS)
}

async fn app() -> TestApp {
    spawn_app(paid_at()).await
}

async fn deliver(app: &TestApp, topic: &str, body: &[u8], webhook_id: &str) -> Answer {
    let answer = app.post("/webhooks/shopify", &shopify_headers(topic, body, webhook_id), body.to_vec()).await;
    assert_eq!(answer.status, 200, "{topic}: {:?}", answer.body);
    answer
}

async fn ledger(app: &TestApp) -> Value {
    app.ledger_of("shopify-shop", API_KEY, CUSTOMER).await
}

/// `(line id, quantity, amount in cents, points)` of each line a reversal took back.
fn reversed_lines(entry: &Value) -> Vec<(String, i64, i64, i64)> {
    entry["detail"]["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("a reversal with lines: {entry:?}"))
        .iter()
        .map(|l| {
            let number = |field: &str| l[field].as_i64().unwrap_or_else(|| panic!("{field} in {l:?}"));
            (
                l["line_id"].as_str().unwrap_or_default().to_owned(),
                number("quantity"),
                number("amount_minor"),
                number("points"),
            )
        })
        .collect()
}

fn line(id: &str, quantity: i64, amount_minor: i64, points: i64) -> (String, i64, i64, i64) {
    (id.to_owned(), quantity, amount_minor, points)
}

/// `orders_paid.json` cancelled by the merchant a day after payment, before any refund.
fn cancelled_after_payment() -> Vec<u8> {
    edit_json(ORDER_PAID, |order| {
        order["cancelled_at"] = "2026-11-21T09:00:00+01:00".into();
        order["cancel_reason"] = "customer".into();
        order["updated_at"] = "2026-11-21T09:00:01+01:00".into();
    })
}

#[tokio::test]
async fn a_paid_order_is_pending_until_its_window_closes_and_one_sweep_releases_it_once() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    let held = ledger(&app).await;
    assert_eq!(keys(&held), [format!("earn:order:{ORDER}")]);
    assert_eq!(balance(&held), (0, ORDER_POINTS));
    let earn = entry(&held, &format!("earn:order:{ORDER}"));
    // Shopify's order has no payment time, so our clock stands in for it.
    assert_eq!(earn["detail"]["paid_at"], "2026-11-20T10:00:00Z");
    // `total_price` in cents: the denominator for refunds that carry only an amount.
    assert_eq!(earn["detail"]["order_total_minor"], 32555);

    assert_eq!(app.sweep().await, 0, "nothing is due at payment");
    assert_eq!(app.sweep_at(window_closes() - Duration::seconds(1)).await, 0, "a second early, nothing is released");
    assert_eq!(ledger(&app).await, held);

    assert_eq!(app.sweep_at(window_closes()).await, 1);
    let released = ledger(&app).await;
    assert_eq!(keys(&released), [format!("earn:order:{ORDER}"), format!("release:order:{ORDER}")]);
    assert_eq!(balance(&released), (ORDER_POINTS, 0));
    let release = entry(&released, &format!("release:order:{ORDER}"));
    assert_eq!(
        (
            release["kind"].as_str(),
            release["available"].as_i64(),
            release["pending"].as_i64(),
            release["points"].as_i64()
        ),
        (Some("release"), Some(ORDER_POINTS), Some(-ORDER_POINTS), Some(0))
    );
    assert_eq!(release["detail"], json!({"type": "release", "of": format!("earn:order:{ORDER}")}));
    assert_eq!(release["order_id"], ORDER);
    assert_eq!(release["created_at"], "2026-12-09T10:00:00Z");

    assert_eq!(app.sweep().await, 0, "a second sweep at the same time appends nothing");
    assert_eq!(app.sweep_at(window_closes() + Duration::days(1)).await, 0, "nor does a later one");
    assert_eq!(ledger(&app).await, released);
}

#[tokio::test]
async fn a_refund_reverses_exactly_what_its_lines_earned_and_the_sweep_releases_the_rest() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 22, 13, 6, 0).single().unwrap_or_default());
    let answer = deliver(&app, "refunds/create", REFUND, "refund").await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);

    let ledger_now = ledger(&app).await;
    let key = format!("reversal:refund:{ORDER}:{REFUND_ID}");
    assert_eq!(keys(&ledger_now), [format!("earn:order:{ORDER}"), key.clone()]);
    let reversal = entry(&ledger_now, &key);
    assert_eq!(
        (reversal["kind"].as_str(), reversal["available"].as_i64(), reversal["pending"].as_i64()),
        (Some("reversal"), Some(0), Some(-REFUND_POINTS)),
        "the order's points are still held, so the reversal takes them from pending"
    );
    let detail = &reversal["detail"];
    assert_eq!(
        (detail["type"].as_str(), detail["cause"].as_str(), detail["refund_id"].as_str(), detail["from"].as_str()),
        (Some("reversal"), Some("refund"), Some(REFUND_ID), Some("pending"))
    );
    assert_eq!(detail["shortfall"], 0);
    // Amounts are the same shares of what each line was credited: ⌊4189 × 1/2⌋ and ⌊2246 × 2/3⌋.
    assert_eq!(
        reversed_lines(&reversal),
        [line("14011223344551", 1, 2094, REFUND_BEANS_POINTS), line("14011223344554", 2, 1497, REFUND_DESCALER_POINTS)]
    );
    assert_eq!(balance(&ledger_now), (0, ORDER_POINTS - REFUND_POINTS));

    assert_eq!(app.sweep_at(window_closes() - Duration::seconds(1)).await, 0);
    assert_eq!(app.sweep_at(window_closes()).await, 1);
    let released = ledger(&app).await;
    let release = entry(&released, &format!("release:order:{ORDER}"));
    assert_eq!(release["available"], ORDER_POINTS - REFUND_POINTS, "the release frees what the refund left");
    assert_eq!(balance(&released), (ORDER_POINTS - REFUND_POINTS, 0));
    assert_eq!(app.sweep().await, 0);
}

#[tokio::test]
async fn the_same_refund_delivered_five_times_is_reversed_once() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    // Twice as the same delivery (a retry), three times under new webhook ids (Shopify resends).
    let mut statuses = Vec::new();
    for webhook_id in ["refund-a", "refund-a", "refund-b", "refund-c", "refund-d"] {
        let answer = deliver(&app, "refunds/create", REFUND, webhook_id).await;
        statuses.push(answer.body["status"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, ["accepted", "duplicate", "accepted", "accepted", "accepted"]);
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}"), format!("reversal:refund:{ORDER}:{REFUND_ID}")]);
    assert_eq!(balance(&ledger), (0, ORDER_POINTS - REFUND_POINTS));
}

#[tokio::test]
async fn a_refund_delivered_before_its_order_is_held_and_reversed_when_the_order_arrives() {
    let app = app().await;
    let early = deliver(&app, "refunds/create", REFUND, "refund").await;
    assert_eq!(early.body["status"], "accepted", "the refund is stored, not refused: {:?}", early.body);
    assert!(!app.dump().contains("reversal:refund:"), "no reversal without a credit to reverse");

    app.clock.set(paid_at() + Duration::minutes(5));
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}"), format!("reversal:refund:{ORDER}:{REFUND_ID}")]);
    let reversal = entry(&ledger, &format!("reversal:refund:{ORDER}:{REFUND_ID}"));
    assert_eq!(reversal["pending"], -REFUND_POINTS);
    assert_eq!(balance(&ledger), (0, ORDER_POINTS - REFUND_POINTS));
}

#[tokio::test]
async fn refunds_embedded_in_an_order_update_reverse_once_and_its_fulfilment_starts_the_window() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 22, 13, 20, 0).single().unwrap_or_default());
    deliver(&app, "orders/updated", ORDER_FULFILLED_REFUNDED, "updated").await;
    // The refund of goods is reversed; the shipping refund (no lines) takes back nothing.
    let after_update = ledger(&app).await;
    assert_eq!(
        keys(&after_update),
        [
            format!("earn:order:{ORDER}"),
            format!("window:order:{ORDER}"),
            format!("reversal:refund:{ORDER}:{REFUND_ID}")
        ]
    );
    let window = entry(&after_update, &format!("window:order:{ORDER}"));
    // The last successful fulfilment, the DHL parcel at 16:42:55 (+01:00).
    assert_eq!(window["detail"], json!({"type": "window", "fulfilled_at": "2026-11-21T15:42:55Z"}));
    assert_eq!((window["available"].as_i64(), window["pending"].as_i64()), (Some(0), Some(0)));
    assert_eq!(balance(&after_update), (0, ORDER_POINTS - REFUND_POINTS));

    // The same refund by its own topic, later: already reversed.
    deliver(&app, "refunds/create", REFUND, "refund").await;
    assert_eq!(ledger(&app).await, after_update);

    // 14 days from the fulfilment, not 19 from the payment.
    let closes = Utc.with_ymd_and_hms(2026, 12, 5, 15, 42, 55).single().unwrap_or_default();
    assert_eq!(app.sweep_at(closes - Duration::seconds(1)).await, 0);
    assert_eq!(app.sweep_at(closes).await, 1);
    assert_eq!(balance(&ledger(&app).await), (ORDER_POINTS - REFUND_POINTS, 0));
}

#[tokio::test]
async fn an_order_cancelled_after_payment_reverses_everything_and_leaves_nothing_to_release() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    app.clock.set(paid_at() + Duration::days(1));
    deliver(&app, "orders/cancelled", &cancelled_after_payment(), "cancelled").await;

    let ledger_now = ledger(&app).await;
    let key = format!("reversal:cancel:{ORDER}");
    assert_eq!(keys(&ledger_now), [format!("earn:order:{ORDER}"), key.clone()]);
    let reversal = entry(&ledger_now, &key);
    assert_eq!((reversal["available"].as_i64(), reversal["pending"].as_i64()), (Some(0), Some(-ORDER_POINTS)));
    assert_eq!(reversal["detail"]["cause"], "cancellation");
    assert_eq!(reversal["detail"]["from"], "pending");
    assert_eq!(
        reversed_lines(&reversal),
        [
            line("14011223344551", 2, 4189, BEANS_POINTS),
            line("14011223344552", 1, 18832, GRINDER_POINTS),
            line("14011223344554", 3, 2246, DESCALER_POINTS)
        ]
    );
    assert_eq!(balance(&ledger_now), (0, 0));

    // The cancellation delivered again, and a refund arriving afterwards, take nothing more.
    deliver(&app, "orders/cancelled", &cancelled_after_payment(), "cancelled-again").await;
    deliver(&app, "refunds/create", REFUND, "refund").await;
    assert_eq!(ledger(&app).await, ledger_now);
    assert_eq!(app.sweep_at(window_closes()).await, 0, "nothing is held, so nothing is released");
    assert_eq!(ledger(&app).await, ledger_now);
}

#[tokio::test]
async fn a_cancellation_after_a_refund_reverses_only_what_the_refund_left() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    deliver(&app, "refunds/create", REFUND, "refund").await;
    app.clock.set(paid_at() + Duration::days(1));
    deliver(&app, "orders/cancelled", &cancelled_after_payment(), "cancelled").await;

    let ledger = ledger(&app).await;
    assert_eq!(
        keys(&ledger),
        [
            format!("earn:order:{ORDER}"),
            format!("reversal:refund:{ORDER}:{REFUND_ID}"),
            format!("reversal:cancel:{ORDER}")
        ]
    );
    let cancel = entry(&ledger, &format!("reversal:cancel:{ORDER}"));
    assert_eq!(cancel["pending"], -(ORDER_POINTS - REFUND_POINTS));
    // Per line, what it earned less what the refund took: 41 − 20, 188, 22 − 14.
    assert_eq!(
        reversed_lines(&cancel),
        [
            line("14011223344551", 1, 4189 - 2094, BEANS_POINTS - REFUND_BEANS_POINTS),
            line("14011223344552", 1, 18832, GRINDER_POINTS),
            line("14011223344554", 1, 2246 - 1497, DESCALER_POINTS - REFUND_DESCALER_POINTS)
        ]
    );
    assert_eq!(balance(&ledger), (0, 0));
}

#[tokio::test]
async fn a_refund_after_the_release_is_reversed_from_the_available_balance() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    assert_eq!(app.sweep_at(window_closes()).await, 1);
    app.clock.set(window_closes() + Duration::days(2));
    deliver(&app, "refunds/create", REFUND, "refund").await;

    let ledger = ledger(&app).await;
    let reversal = entry(&ledger, &format!("reversal:refund:{ORDER}:{REFUND_ID}"));
    assert_eq!((reversal["available"].as_i64(), reversal["pending"].as_i64()), (Some(-REFUND_POINTS), Some(0)));
    assert_eq!(reversal["detail"]["from"], "available");
    assert_eq!(balance(&ledger), (ORDER_POINTS - REFUND_POINTS, 0));
}

#[tokio::test]
async fn an_order_first_seen_refunded_in_full_earns_nothing() {
    let app = app().await;
    let refunded = edit_json(ORDER_PAID, |order| {
        order["financial_status"] = "refunded".into();
        order["updated_at"] = "2026-11-21T09:00:00+01:00".into();
    });
    deliver(&app, "orders/updated", &refunded, "refunded").await;
    deliver(&app, "refunds/create", REFUND, "refund").await;
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), Vec::<String>::new(), "never credited, so nothing to reverse either");
    assert_eq!(balance(&ledger), (0, 0));
    assert_eq!(app.sweep_at(window_closes()).await, 0);
    assert!(!app.dump().contains("earn:order:"));
}

#[tokio::test]
async fn a_partially_refunded_woocommerce_order_reverses_the_refunded_share_of_each_line() {
    let app = spawn_app(Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).single().unwrap_or_default()).await;
    let headers = woo_headers("order.updated", WOO_PARTIALLY_REFUNDED, "r-1");
    let answer = app.post("/webhooks/woocommerce", &headers, WOO_PARTIALLY_REFUNDED.to_vec()).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);

    // Order 1175: cups 33.62 → 33 points, tin 10.84 → 10 points (line `total`s, no tax, floored).
    // Refund 1190 carries only money, 12.90 of the order's `total` 52.91 (goods 44.46 + tax 8.45),
    // so each line gives back that share of its points and amount, floored:
    //   cups  ⌊33 × 1290 / 5291⌋ = ⌊42570 / 5291⌋ = 8 points,  ⌊3362 × 1290 / 5291⌋ = ⌊4336980 / 5291⌋ = 819 cents
    //   tin   ⌊10 × 1290 / 5291⌋ = ⌊12900 / 5291⌋ = 2 points,  ⌊1084 × 1290 / 5291⌋ = ⌊1398360 / 5291⌋ = 264 cents
    // 10 points in all, from pending: 43 − 10 = 33 stay held.
    let ledger = app.ledger_of("woo-shop", WOO_API_KEY, "42").await;
    assert_eq!(keys(&ledger), ["earn:order:1175", "window:order:1175", "reversal:refund:1175:1190"]);
    let earn = entry(&ledger, "earn:order:1175");
    assert_eq!(earn["pending"], 43);
    assert_eq!(earn["detail"]["order_total_minor"], 5291);
    assert_eq!(earn["detail"]["paid_at"], "2026-11-10T08:12:50Z");
    // `completed` is WooCommerce's shipped: `date_completed_gmt` starts the window.
    assert_eq!(entry(&ledger, "window:order:1175")["detail"]["fulfilled_at"], "2026-11-11T13:00:00Z");
    let reversal = entry(&ledger, "reversal:refund:1175:1190");
    assert_eq!((reversal["available"].as_i64(), reversal["pending"].as_i64()), (Some(0), Some(-10)));
    assert_eq!(
        (reversal["detail"]["cause"].as_str(), reversal["detail"]["refund_id"].as_str()),
        (Some("refund"), Some("1190"))
    );
    assert_eq!(reversal["detail"]["amount_minor"], 1290);
    assert_eq!(reversed_lines(&reversal), [line("331", 0, 819, 8), line("332", 0, 264, 2)]);
    assert_eq!(balance(&ledger), (0, 33));

    // A second refund of the remaining 40.01 brings the refunds to the order's total: the
    // cumulative share is 1, so each line gives back the rest, 33 − 8 = 25 and 10 − 2 = 8.
    let second = edit_json(WOO_PARTIALLY_REFUNDED, |order| {
        order["status"] = "refunded".into();
        order["date_modified"] = "2026-11-22T10:00:00".into();
        order["date_modified_gmt"] = "2026-11-22T09:00:00".into();
        order["refunds"] = json!([
            {"id": 1191, "reason": "Tassen zurück", "total": "-40.01"},
            {"id": 1190, "reason": "Dose mit Delle angekommen", "total": "-12.90"}
        ]);
    });
    let answer = app.post("/webhooks/woocommerce", &woo_headers("order.updated", &second, "r-2"), second.clone()).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    let refunded = app.ledger_of("woo-shop", WOO_API_KEY, "42").await;
    assert_eq!(
        keys(&refunded),
        [
            "earn:order:1175",
            "window:order:1175",
            "reversal:refund:1175:1190",
            "reversal:refund:1175:1191",
            "reversal:refunded:1175"
        ]
    );
    let rest = entry(&refunded, "reversal:refund:1175:1191");
    assert_eq!(rest["pending"], -33);
    assert_eq!(reversed_lines(&rest), [line("331", 0, 3362 - 819, 25), line("332", 0, 1084 - 264, 8)]);
    // The `refunded` status then reverses the rest: no points or money are left, only the units,
    // which amount-only refunds never name. The entry records them and moves nothing.
    let full = entry(&refunded, "reversal:refunded:1175");
    assert_eq!((full["points"].as_i64(), full["detail"]["cause"].as_str()), (Some(0), Some("full_refund")));
    assert_eq!(reversed_lines(&full), [line("331", 2, 0, 0), line("332", 1, 0, 0)]);
    assert_eq!(balance(&refunded), (0, 0));
    let window_closes = Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).single().unwrap_or_default();
    assert_eq!(app.sweep_at(window_closes).await, 0, "nothing left to release");
}

#[tokio::test]
async fn a_partially_refunded_woocommerce_order_releases_what_is_left_when_its_window_closes() {
    let app = spawn_app(Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).single().unwrap_or_default()).await;
    let headers = woo_headers("order.updated", WOO_PARTIALLY_REFUNDED, "r-1");
    let answer = app.post("/webhooks/woocommerce", &headers, WOO_PARTIALLY_REFUNDED.to_vec()).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    // Completed 2026-11-11T13:00:00Z, so the window closes 14 days later.
    let closes = Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).single().unwrap_or_default();
    assert_eq!(app.sweep_at(closes - Duration::seconds(1)).await, 0);
    assert_eq!(app.sweep_at(closes).await, 1);
    let ledger = app.ledger_of("woo-shop", WOO_API_KEY, "42").await;
    assert_eq!(entry(&ledger, "release:order:1175")["available"], 33);
    assert_eq!(balance(&ledger), (33, 0));
}

const SHOPWARE_ORDER: &str = "a3f1c2d4e5b6478899aabbccddeeff01";
const SHOPWARE_CUSTOMER: &str = "7c1e9b2a4d3f4e5a8b6c0d1e2f3a4b5c";
/// The Shopware order's beans line: 2 units, 36 of its 64 points (36 + 22 + 6, as in `shopware.rs`).
const SHOPWARE_BEANS_LINE: &str = "11aa22bb33cc44dd55ee66ff77889901";
const SHOPWARE_POINTS: i64 = 64;

/// A stand-in for the shop's Admin API (Shopware itself cannot run here; see
/// `shopware_admin_api.rs`): a token for the registration's credentials, and the refund search
/// `POST /api/search/order-transaction-capture-refund`, answering with what Shopware's refund
/// handling recorded (`refunds`, set by the test) and keeping the criteria it was asked with.
#[derive(Default)]
struct AdminApi {
    refunds: std::sync::Mutex<Vec<Value>>,
    searches: std::sync::Mutex<Vec<Value>>,
}

impl AdminApi {
    fn set_refunds(&self, refunds: Vec<Value>) {
        *self.refunds.lock().unwrap_or_else(|e| panic!("{e}")) = refunds;
    }

    fn searches(&self) -> Vec<Value> {
        self.searches.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn admin_token(axum::Json(body): axum::Json<Value>) -> (axum::http::StatusCode, axum::Json<Value>) {
    if body["client_id"] != SHOPWARE_ADMIN_API_KEY || body["client_secret"] != SHOPWARE_ADMIN_SECRET_KEY {
        return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"errors": [{"code": "9"}]})));
    }
    let token = json!({"token_type": "Bearer", "expires_in": 600, "access_token": "e2e-token"});
    (axum::http::StatusCode::OK, axum::Json(token))
}

async fn refund_search(
    axum::extract::State(api): axum::extract::State<std::sync::Arc<AdminApi>>,
    headers: axum::http::HeaderMap,
    axum::Json(criteria): axum::Json<Value>,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if bearer != "Bearer e2e-token" {
        return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"errors": [{"code": "9"}]})));
    }
    let data = api.refunds.lock().map(|r| r.clone()).unwrap_or_default();
    if let Ok(mut searches) = api.searches.lock() {
        searches.push(criteria);
    }
    (axum::http::StatusCode::OK, axum::Json(json!({"total": data.len(), "data": data, "aggregations": []})))
}

/// The app, registered as a Shopware shop whose Admin API is the stand-in, with the paid order's
/// 64 points pending. Returns the app, the shop secret and the stand-in.
async fn shopware_app_with_paid_order() -> (TestApp, String, std::sync::Arc<AdminApi>) {
    let api = std::sync::Arc::new(AdminApi::default());
    let router = axum::Router::new()
        .route("/api/oauth/token", axum::routing::post(admin_token))
        .route("/api/search/order-transaction-capture-refund", axum::routing::post(refund_search))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    // One second after the paid event was sent (its envelope `timestamp`).
    let app = spawn_app(Utc.with_ymd_and_hms(2026, 11, 21, 7, 58, 42).single().unwrap_or_default()).await;
    let secret = app.shopware_register_and_confirm_at(&url).await;
    let paid = app.post("/webhooks/shopware", &shopware_headers(SHOPWARE_PAID, &secret), SHOPWARE_PAID.to_vec()).await;
    assert_eq!(paid.body["status"], "accepted", "{:?}", paid.body);
    let held = app.ledger_of("shopware-shop", SHOPWARE_API_KEY, SHOPWARE_CUSTOMER).await;
    assert_eq!((keys(&held), balance(&held)), (vec![format!("earn:order:{SHOPWARE_ORDER}")], (0, SHOPWARE_POINTS)));
    (app, secret, api)
}

/// The paid Shopware fixture moved on to transaction state `state` (`refunded`,
/// `refunded_partially`): a new event id, the transaction updated at `updated_at`, sent a second
/// later at the app clock's time.
fn shopware_transaction_event(app: &TestApp, state: &str, event_id: &str, updated_at: &str) -> Vec<u8> {
    let sent_at = app.clock_now().timestamp();
    edit_json(SHOPWARE_PAID, |envelope| {
        envelope["data"]["event"] = format!("state_enter.order_transaction.state.{state}").into();
        envelope["source"]["eventId"] = event_id.into();
        envelope["timestamp"] = sent_at.into();
        let transaction = &mut envelope["data"]["payload"]["order"]["transactions"][0];
        transaction["updatedAt"] = updated_at.into();
        transaction["stateMachineState"]["technicalName"] = state.into();
    })
}

/// A completed refund as the Admin API lists it: one bag of beans back (one position).
fn completed_refund_of_one_bag() -> Value {
    json!({
        "id": "9a8b7c6d5e4f40312233445566778801",
        "captureId": "8b7c6d5e4f4031223344556677889901",
        "stateId": "7c6d5e4f403122334455667788990a01",
        "stateMachineState": {"technicalName": "completed", "name": "Abgeschlossen", "apiAlias": "state_machine_state"},
        "reason": "Verpackung beschädigt",
        "externalReference": null,
        "amount": {"unitPrice": 21.9, "quantity": 1, "totalPrice": 21.9, "calculatedTaxes": [{"tax": 1.43, "taxRate": 7, "price": 21.9}], "taxRules": [{"taxRate": 7, "percentage": 100}]},
        "createdAt": "2026-11-22T09:12:31.114+00:00",
        "updatedAt": "2026-11-22T09:12:33.870+00:00",
        "transactionCapture": {
            "id": "8b7c6d5e4f4031223344556677889901",
            "transactionId": "33cc44dd55ee66ff778899aabbccdd01",
            "transaction": {"id": "33cc44dd55ee66ff778899aabbccdd01", "orderId": SHOPWARE_ORDER, "apiAlias": "order_transaction"},
            "apiAlias": "order_transaction_capture"
        },
        "positions": [{
            "id": "6d5e4f40312233445566778899aabb01",
            "refundId": "9a8b7c6d5e4f40312233445566778801",
            "orderLineItemId": SHOPWARE_BEANS_LINE,
            "quantity": 1,
            "reason": null,
            "amount": {"unitPrice": 21.9, "quantity": 1, "totalPrice": 21.9, "calculatedTaxes": [{"tax": 1.43, "taxRate": 7, "price": 21.9}], "taxRules": [{"taxRate": 7, "percentage": 100}]},
            "apiAlias": "order_transaction_capture_refund_position"
        }],
        "apiAlias": "order_transaction_capture_refund"
    })
}

#[tokio::test]
async fn a_shopware_full_refund_set_by_hand_reverses_everything_not_yet_reversed() {
    let (app, secret, api) = shopware_app_with_paid_order().await;
    // Refunded in the administration by a status change: Shopware's refund handling recorded nothing.
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 8, 15, 3).single().unwrap_or_default());
    for event_id in ["5f0c1d2e3a4b45c6978899aabbccdd31", "5f0c1d2e3a4b45c6978899aabbccdd32"] {
        let body = shopware_transaction_event(&app, "refunded", event_id, "2026-11-23T08:15:02.331+00:00");
        let answer = app.post("/webhooks/shopware", &shopware_headers(&body, &secret), body.clone()).await;
        assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    }
    let searches = api.searches();
    assert!(!searches.is_empty(), "the shop's refunds were asked for");
    assert!(searches.iter().all(|c| c["filter"][0]["value"] == SHOPWARE_ORDER), "by the order's id: {searches:?}");
    let ledger = app.ledger_of("shopware-shop", SHOPWARE_API_KEY, SHOPWARE_CUSTOMER).await;
    let key = format!("reversal:refunded:{SHOPWARE_ORDER}");
    assert_eq!(keys(&ledger), [format!("earn:order:{SHOPWARE_ORDER}"), key.clone()], "reversed once for two events");
    let reversal = entry(&ledger, &key);
    assert_eq!((reversal["available"].as_i64(), reversal["pending"].as_i64()), (Some(0), Some(-SHOPWARE_POINTS)));
    assert_eq!(
        (reversal["detail"]["cause"].as_str(), reversal["detail"]["from"].as_str()),
        (Some("full_refund"), Some("pending"))
    );
    let line_points: Vec<i64> = reversed_lines(&reversal).iter().map(|l| l.3).collect();
    assert_eq!(line_points, [36, 22, 6]);
    assert_eq!(balance(&ledger), (0, 0));

    // Paid 2026-11-21T07:58:40.913Z (the transaction's `updatedAt`), never shipped: 19 days on.
    let closes = Utc.with_ymd_and_hms(2026, 12, 10, 7, 58, 41).single().unwrap_or_default();
    assert_eq!(app.sweep_at(closes).await, 0, "nothing is held, so nothing is released");
}

#[tokio::test]
async fn a_shopware_refund_with_positions_reverses_those_units_and_the_full_refund_the_rest() {
    let (app, secret, api) = shopware_app_with_paid_order().await;
    let earn = entry(
        &app.ledger_of("shopware-shop", SHOPWARE_API_KEY, SHOPWARE_CUSTOMER).await,
        &format!("earn:order:{SHOPWARE_ORDER}"),
    );
    let beans_amount = earn["detail"]["lines"][0]["amount_minor"].as_i64().unwrap_or_else(|| panic!("{earn:?}"));
    assert_eq!(earn["detail"]["lines"][0]["line_id"], SHOPWARE_BEANS_LINE);

    api.set_refunds(vec![completed_refund_of_one_bag()]);
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 22, 9, 12, 35).single().unwrap_or_default());
    let partial = shopware_transaction_event(
        &app,
        "refunded_partially",
        "5f0c1d2e3a4b45c6978899aabbccdd41",
        "2026-11-22T09:12:34.002+00:00",
    );
    let answer = app.post("/webhooks/shopware", &shopware_headers(&partial, &secret), partial.clone()).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    let after_partial = app.ledger_of("shopware-shop", SHOPWARE_API_KEY, SHOPWARE_CUSTOMER).await;
    let key = format!("reversal:refund:{SHOPWARE_ORDER}:9a8b7c6d5e4f40312233445566778801");
    assert_eq!(keys(&after_partial), [format!("earn:order:{SHOPWARE_ORDER}"), key.clone()]);
    // One of two bags: ⌊36 × 1/2⌋ = 18 points and half the line's amount, floored.
    let reversal = entry(&after_partial, &key);
    assert_eq!(reversed_lines(&reversal), [line(SHOPWARE_BEANS_LINE, 1, beans_amount / 2, 18)]);
    assert_eq!(reversal["pending"], -18);
    assert_eq!(balance(&after_partial), (0, SHOPWARE_POINTS - 18));

    // Later the rest is refunded by hand: the search lists the same completed refund again.
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 1).single().unwrap_or_default());
    let full = shopware_transaction_event(
        &app,
        "refunded",
        "5f0c1d2e3a4b45c6978899aabbccdd42",
        "2026-11-24T16:00:00.120+00:00",
    );
    let answer = app.post("/webhooks/shopware", &shopware_headers(&full, &secret), full.clone()).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    let refunded = app.ledger_of("shopware-shop", SHOPWARE_API_KEY, SHOPWARE_CUSTOMER).await;
    assert_eq!(
        keys(&refunded),
        [format!("earn:order:{SHOPWARE_ORDER}"), key, format!("reversal:refunded:{SHOPWARE_ORDER}")]
    );
    let rest = entry(&refunded, &format!("reversal:refunded:{SHOPWARE_ORDER}"));
    let rest_points: Vec<(String, i64, i64)> =
        reversed_lines(&rest).into_iter().map(|(id, q, _, p)| (id, q, p)).collect();
    assert_eq!(rest_points[0], (SHOPWARE_BEANS_LINE.to_owned(), 1, 36 - 18));
    assert_eq!(rest["pending"], -(SHOPWARE_POINTS - 18));
    assert_eq!(balance(&refunded), (0, 0));
}

#[tokio::test]
async fn an_order_number_of_200_characters_outside_ascii_still_earns_its_points() {
    let app = app().await;
    // Order numbers are display text, kept up to 200 characters; `€` is three bytes of UTF-8.
    let number = format!("#{}", "€".repeat(199));
    let body = edit_json(ORDER_PAID, |order| order["name"] = number.clone().into());
    let answer = deliver(&app, "orders/paid", &body, "paid").await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}")]);
    assert_eq!(balance(&ledger), (0, ORDER_POINTS));
}

/// The case: a Shopify refund of one line of the order's three goods lines (the grinder,
/// its only unit). Exactly that line's credit comes back; the beans and the descaler keep theirs,
/// and the release frees what is left.
#[tokio::test]
async fn a_shopify_refund_of_one_line_of_three_reverses_that_line_alone() {
    let app = app().await;
    deliver(&app, "orders/paid", ORDER_PAID, "paid").await;
    let grinder_only = edit_json(REFUND, |refund| {
        let items = refund["refund_line_items"].as_array().cloned().unwrap_or_default();
        let mut grinder = items.first().cloned().unwrap_or_else(|| panic!("the fixture has refund lines"));
        grinder["line_item_id"] = serde_json::json!(14011223344552_u64);
        grinder["quantity"] = serde_json::json!(1);
        grinder["line_item"]["id"] = serde_json::json!(14011223344552_u64);
        refund["refund_line_items"] = serde_json::json!([grinder]);
    });
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 22, 13, 6, 0).single().unwrap_or_default());
    let answer = deliver(&app, "refunds/create", &grinder_only, "refund-grinder").await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);

    let ledger_now = ledger(&app).await;
    let reversal = entry(&ledger_now, &format!("reversal:refund:{ORDER}:{REFUND_ID}"));
    let lines = reversed_lines(&reversal);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!((lines[0].0.as_str(), lines[0].1, lines[0].3), ("14011223344552", 1, GRINDER_POINTS));
    assert_eq!(balance(&ledger_now), (0, BEANS_POINTS + DESCALER_POINTS));
    assert_eq!(app.sweep_at(window_closes()).await, 1);
    assert_eq!(balance(&ledger(&app).await), (BEANS_POINTS + DESCALER_POINTS, 0));
}
