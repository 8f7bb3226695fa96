//! The merchant API's ledger writes over the local runner's HTTP port: manual adjustments and
//! reviews. Each is idempotent on its key, each refusal has its exact status and code, and every
//! refused request leaves the store byte for byte as it was.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use stammkunde_e2e::*;

const ORDER_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
/// Customer 42 of the WooCommerce shop.
const WOO_ORDER: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_processing.json");
const CUSTOMER: &str = "7654321098765";
const ORDER: &str = "5912345678901";
/// 41 + 188 + 22, pending (see `ledger_lifecycle.rs`).
const ORDER_POINTS: i64 = 251;
/// The grinder, one of the paid order's lines.
const BOUGHT_PRODUCT: &str = "8801234567002";
const ADJUSTMENTS: &str = "/api/shops/shopify-shop/customers/7654321098765/adjustments";
const REVIEWS: &str = "/api/shops/shopify-shop/reviews";

fn paid_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default()
}

/// An app whose Shopify customer holds the paid order's 251 points, pending.
async fn app_with_customer() -> TestApp {
    let app = spawn_app(paid_at()).await;
    let headers = shopify_headers("orders/paid", ORDER_PAID, "paid");
    let answer = app.post("/webhooks/shopify", &headers, ORDER_PAID.to_vec()).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    app
}

async fn ledger(app: &TestApp) -> Value {
    app.ledger_of("shopify-shop", API_KEY, CUSTOMER).await
}

fn json_headers(key: &str) -> Vec<(&'static str, String)> {
    let mut headers = bearer(key);
    headers.push(("content-type", "application/json".into()));
    headers
}

async fn adjust(app: &TestApp, body: &Value) -> Answer {
    app.post(ADJUSTMENTS, &json_headers(API_KEY), json_body(body)).await
}

async fn review(app: &TestApp, product: &str, status: &str) -> Answer {
    let body = json!({"customer_id": CUSTOMER, "product_id": product, "review_id": "rev-77", "status": status});
    app.post(REVIEWS, &json_headers(API_KEY), json_body(&body)).await
}

/// Sends a request that must be refused with `status` and `code`, and asserts the store unchanged.
async fn assert_refused_unchanged(
    app: &TestApp,
    case: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    status: u16,
    code: &str,
) {
    let before = app.dump();
    let answer = app.post(path, headers, body).await;
    assert_eq!((answer.status, answer.body["error"].as_str()), (status, Some(code)), "{case}: {:?}", answer.body);
    assert!(answer.body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{case}: a reason: {:?}", answer.body);
    assert!(app.dump() == before, "{case}: the store changed");
}

#[tokio::test]
async fn an_adjustment_is_201_and_the_same_request_again_is_200_and_writes_nothing() {
    let app = app_with_customer().await;
    let request = json!({
        "idempotency_key": "adj-2026-11-20-1",
        "points": 120,
        "reason": "Kulanz: Lieferung kam zwei Wochen zu spät",
        "customer_text": "Entschuldigung für die Verspätung!",
    });
    let first = adjust(&app, &request).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["key"], "adjust:adj-2026-11-20-1");
    assert_eq!(first.body["points"], json!({"available": 120, "pending": ORDER_POINTS}));
    let entry = &first.body["entry"];
    assert_eq!(
        (entry["position"].as_i64(), entry["kind"].as_str(), entry["available"].as_i64(), entry["pending"].as_i64()),
        (Some(2), Some("adjustment"), Some(120), Some(0))
    );
    assert_eq!(entry["reason"], "Kulanz: Lieferung kam zwei Wochen zu spät");
    assert_eq!(entry["customer_text"], "Entschuldigung für die Verspätung!");
    assert_eq!((entry["order_id"].is_null(), entry["detail"].is_null()), (true, true), "{entry:?}");
    assert_eq!(entry["created_at"], "2026-11-20T10:00:00Z");

    let after_first = app.dump();
    app.clock.set(paid_at() + Duration::hours(1));
    let again = adjust(&app, &request).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["key"], "adjust:adj-2026-11-20-1");
    assert_eq!(again.body["points"], json!({"available": 120, "pending": ORDER_POINTS}));
    assert!(app.dump() == after_first, "a repeat writes nothing");

    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}"), "adjust:adj-2026-11-20-1".to_owned()]);
    assert_eq!(entries(&ledger)[1], *entry, "the ledger lists the entry the write answered with");
}

#[tokio::test]
async fn the_same_adjustment_key_for_other_points_is_422_and_writes_nothing() {
    let app = app_with_customer().await;
    let first = adjust(&app, &json!({"idempotency_key": "adj-1", "points": 120, "reason": "Kulanz"})).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    for (case, body) in [
        ("other points", json!({"idempotency_key": "adj-1", "points": 121, "reason": "Kulanz"})),
        ("the other sign", json!({"idempotency_key": "adj-1", "points": -120, "reason": "Kulanz"})),
    ] {
        assert_refused_unchanged(
            &app,
            case,
            ADJUSTMENTS,
            &json_headers(API_KEY),
            json_body(&body),
            422,
            "idempotency_key_reused",
        )
        .await;
    }
    assert_eq!(balance(&ledger(&app).await), (120, ORDER_POINTS));
}

#[tokio::test]
async fn a_debit_beyond_the_available_balance_is_409_and_pending_points_do_not_count() {
    let app = app_with_customer().await;
    let headers = json_headers(API_KEY);
    // 251 points are pending, none available: not even one can be taken.
    let one = json!({"idempotency_key": "debit-1", "points": -1, "reason": "Korrektur"});
    assert_refused_unchanged(
        &app,
        "a debit of pending points",
        ADJUSTMENTS,
        &headers,
        json_body(&one),
        409,
        "insufficient_points",
    )
    .await;

    let credit = adjust(&app, &json!({"idempotency_key": "credit-1", "points": 100, "reason": "Kulanz"})).await;
    assert_eq!(credit.status, 201, "{:?}", credit.body);
    let too_much = json!({"idempotency_key": "debit-2", "points": -101, "reason": "Korrektur"});
    assert_refused_unchanged(
        &app,
        "one point too many",
        ADJUSTMENTS,
        &headers,
        json_body(&too_much),
        409,
        "insufficient_points",
    )
    .await;
    let all = adjust(&app, &json!({"idempotency_key": "debit-3", "points": -100, "reason": "Korrektur"})).await;
    assert_eq!(all.status, 201, "exactly the available balance can be taken: {:?}", all.body);
    assert_eq!(all.body["points"], json!({"available": 0, "pending": ORDER_POINTS}));
}

#[tokio::test]
async fn an_adjustment_for_an_unknown_customer_is_404_and_writes_nothing() {
    let app = app_with_customer().await;
    let body = json_body(&json!({"idempotency_key": "adj-1", "points": 10, "reason": "Kulanz"}));
    let headers = json_headers(API_KEY);
    let woo =
        app.post("/webhooks/woocommerce", &woo_headers("order.created", WOO_ORDER, "d-1"), WOO_ORDER.to_vec()).await;
    assert_eq!(woo.body["status"], "accepted", "{:?}", woo.body);
    for (case, path) in [
        ("no such customer", "/api/shops/shopify-shop/customers/4711/adjustments"),
        ("a customer of another shop", "/api/shops/shopify-shop/customers/42/adjustments"),
    ] {
        assert_refused_unchanged(&app, case, path, &headers, body.clone(), 404, "not_found").await;
    }
}

#[tokio::test]
async fn an_adjustment_without_the_shops_key_is_401_and_writes_nothing() {
    let app = app_with_customer().await;
    let body = json_body(&json!({"idempotency_key": "adj-1", "points": 1000000, "reason": "Kulanz"}));
    let json_only = vec![("content-type", "application/json".to_owned())];
    for (case, headers) in [
        ("no authorization", json_only),
        ("a wrong key", json_headers("api-key-shopify-012345678")),
        ("another shop's key", json_headers(WOO_API_KEY)),
    ] {
        assert_refused_unchanged(&app, case, ADJUSTMENTS, &headers, body.clone(), 401, "unauthorized").await;
    }
}

#[tokio::test]
async fn a_malformed_or_oversized_adjustment_is_400_and_writes_nothing() {
    let app = app_with_customer().await;
    let headers = json_headers(API_KEY);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"points=10".to_vec()),
        ("an empty body", Vec::new()),
        ("JSON cut short", br#"{"idempotency_key": "adj-1", "points": 1"#.to_vec()),
        ("an array", b"[]".to_vec()),
        ("no idempotency key", json_body(&json!({"points": 10, "reason": "Kulanz"}))),
        ("no reason", json_body(&json!({"idempotency_key": "adj-1", "points": 10}))),
        ("points as text", json_body(&json!({"idempotency_key": "adj-1", "points": "10", "reason": "Kulanz"}))),
        ("fractional points", json_body(&json!({"idempotency_key": "adj-1", "points": 1.5, "reason": "Kulanz"}))),
        (
            "an unknown field",
            json_body(&json!({"idempotency_key": "adj-1", "points": 10, "reason": "x", "bucket": "pending"})),
        ),
        (
            "a reason of 600 characters",
            json_body(&json!({"idempotency_key": "adj-1", "points": 10, "reason": "a".repeat(600)})),
        ),
        ("a reason of only spaces", json_body(&json!({"idempotency_key": "adj-1", "points": 10, "reason": "   "}))),
        (
            "a customer text of 600 characters",
            json_body(
                &json!({"idempotency_key": "adj-1", "points": 10, "reason": "Kulanz", "customer_text": "b".repeat(600)}),
            ),
        ),
        ("zero points", json_body(&json!({"idempotency_key": "adj-1", "points": 0, "reason": "Kulanz"}))),
        (
            "over 100000000 points",
            json_body(&json!({"idempotency_key": "adj-1", "points": 100_000_001, "reason": "Kulanz"})),
        ),
        (
            "an idempotency key with a space",
            json_body(&json!({"idempotency_key": "adj 1", "points": 10, "reason": "Kulanz"})),
        ),
        ("an empty idempotency key", json_body(&json!({"idempotency_key": "", "points": 10, "reason": "Kulanz"}))),
        (
            "an idempotency key of 129 characters",
            json_body(&json!({"idempotency_key": "k".repeat(129), "points": 10, "reason": "Kulanz"})),
        ),
    ];
    for (case, body) in cases {
        assert_refused_unchanged(&app, case, ADJUSTMENTS, &headers, body, 400, "bad_request").await;
    }
    // The positive control: the same request, well formed, is taken.
    let valid = adjust(&app, &json!({"idempotency_key": "adj-1", "points": 10, "reason": "a".repeat(500)})).await;
    assert_eq!(valid.status, 201, "{:?}", valid.body);
}

#[tokio::test]
async fn a_reason_with_umlauts_within_500_characters_is_taken_like_one_without() {
    let app = app_with_customer().await;
    // 251 and 500 characters, as the API counts its limit, but 502 and 1000 bytes of UTF-8.
    for (n, chars) in [251, 500].into_iter().enumerate() {
        let reason = "ä".repeat(chars);
        let key = format!("adj-umlaut-{n}");
        let answer = adjust(&app, &json!({"idempotency_key": key, "points": 10, "reason": reason})).await;
        assert_eq!(answer.status, 201, "{chars} characters: {:?}", answer.body);
        assert_eq!(answer.body["entry"]["reason"], reason);
    }
}

#[tokio::test]
async fn a_published_review_of_a_bought_product_is_credited_pending_once_and_reversed_if_unpublished_in_its_hold() {
    let app = app_with_customer().await;
    let credited = review(&app, BOUGHT_PRODUCT, "published").await;
    assert_eq!((credited.status, credited.body["status"].as_str()), (200, Some("credited")), "{:?}", credited.body);
    assert_eq!(credited.body["points"], json!({"available": 0, "pending": ORDER_POINTS + REVIEW_POINTS}));
    let review_key = format!("review:{BOUGHT_PRODUCT}");
    let after_credit = ledger(&app).await;
    let entry_now = entry(&after_credit, &review_key);
    assert_eq!(
        (entry_now["kind"].as_str(), entry_now["available"].as_i64(), entry_now["pending"].as_i64()),
        (Some("review"), Some(0), Some(REVIEW_POINTS))
    );
    assert_eq!(entry_now["detail"], json!({"type": "review", "product_id": BOUGHT_PRODUCT, "review_id": "rev-77"}));

    let before = app.dump();
    let again = review(&app, BOUGHT_PRODUCT, "published").await;
    assert_eq!((again.status, again.body["status"].as_str()), (200, Some("unchanged")), "{:?}", again.body);
    assert!(app.dump() == before, "the same review again writes nothing");

    // A day before the hold ends the shop unpublishes it.
    app.clock.set(paid_at() + Duration::days(REVIEW_HOLD_DAYS - 1));
    let reversed = review(&app, BOUGHT_PRODUCT, "unpublished").await;
    assert_eq!((reversed.status, reversed.body["status"].as_str()), (200, Some("reversed")), "{:?}", reversed.body);
    assert_eq!(reversed.body["points"], json!({"available": 0, "pending": ORDER_POINTS}));
    let ledger_now = ledger(&app).await;
    assert_eq!(
        keys(&ledger_now),
        [format!("earn:order:{ORDER}"), review_key.clone(), format!("reversal:review:{BOUGHT_PRODUCT}")]
    );
    let reversal = entry(&ledger_now, &format!("reversal:review:{BOUGHT_PRODUCT}"));
    assert_eq!(
        (reversal["kind"].as_str(), reversal["pending"].as_i64()),
        (Some("review_reversal"), Some(-REVIEW_POINTS))
    );

    // Published again: the product's review was credited once already.
    let republished = review(&app, BOUGHT_PRODUCT, "published").await;
    assert_eq!(republished.body["status"], "unchanged", "{:?}", republished.body);
    assert_eq!(ledger(&app).await, ledger_now);
    // And the sweep at the end of the hold has nothing of the review left to release.
    assert_eq!(app.sweep_at(paid_at() + Duration::days(REVIEW_HOLD_DAYS)).await, 0);
}

#[tokio::test]
async fn a_review_kept_through_its_hold_is_released_by_the_sweep_and_then_stays() {
    let app = app_with_customer().await;
    assert_eq!(review(&app, BOUGHT_PRODUCT, "published").await.body["status"], "credited");
    let hold_ends = paid_at() + Duration::days(REVIEW_HOLD_DAYS);
    assert_eq!(app.sweep_at(hold_ends - Duration::seconds(1)).await, 0);
    assert_eq!(app.sweep_at(hold_ends).await, 1, "the review's release; the order's window is still open");
    let released = ledger(&app).await;
    let release = entry(&released, &format!("release:review:{BOUGHT_PRODUCT}"));
    assert_eq!(
        (release["available"].as_i64(), release["pending"].as_i64()),
        (Some(REVIEW_POINTS), Some(-REVIEW_POINTS))
    );
    assert_eq!(release["detail"], json!({"type": "release", "of": format!("review:{BOUGHT_PRODUCT}")}));
    assert_eq!(balance(&released), (REVIEW_POINTS, ORDER_POINTS));

    let late = review(&app, BOUGHT_PRODUCT, "unpublished").await;
    assert_eq!(late.body["status"], "unchanged", "released points stay: {:?}", late.body);
    assert_eq!(ledger(&app).await, released);
    assert_eq!(app.sweep().await, 0);
}

#[tokio::test]
async fn a_review_of_a_product_not_bought_is_409_and_bad_review_requests_write_nothing() {
    let app = app_with_customer().await;
    let headers = json_headers(API_KEY);
    let not_bought =
        json!({"customer_id": CUSTOMER, "product_id": "8801234567999", "review_id": "rev-1", "status": "published"});
    assert_refused_unchanged(
        &app,
        "a product not bought",
        REVIEWS,
        &headers,
        json_body(&not_bought),
        409,
        "not_bought",
    )
    .await;
    let nobody =
        json!({"customer_id": "4711", "product_id": BOUGHT_PRODUCT, "review_id": "rev-1", "status": "published"});
    assert_refused_unchanged(&app, "an unknown customer", REVIEWS, &headers, json_body(&nobody), 404, "not_found")
        .await;
    let bad_status =
        json!({"customer_id": CUSTOMER, "product_id": BOUGHT_PRODUCT, "review_id": "rev-1", "status": "great"});
    assert_refused_unchanged(&app, "an unknown status", REVIEWS, &headers, json_body(&bad_status), 400, "bad_request")
        .await;
    let published = json_body(
        &json!({"customer_id": CUSTOMER, "product_id": BOUGHT_PRODUCT, "review_id": "rev-1", "status": "published"}),
    );
    assert_refused_unchanged(
        &app,
        "no key",
        REVIEWS,
        &[("content-type", "application/json".into())],
        published,
        401,
        "unauthorized",
    )
    .await;
    // A pending review (awaiting moderation) is not published: nothing to credit, nothing refused.
    let pending = review(&app, BOUGHT_PRODUCT, "pending").await;
    assert_eq!((pending.status, pending.body["status"].as_str()), (200, Some("unchanged")), "{:?}", pending.body);
    assert_eq!(keys(&ledger(&app).await), [format!("earn:order:{ORDER}")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_adjustments_under_one_key_append_one_entry() {
    let app = app_with_customer().await;
    let request = json!({"idempotency_key": "adj-race", "points": 75, "reason": "Kulanz"});
    let answers = futures::future::join_all((0..10).map(|_| adjust(&app, &request))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 201], "{answers:?}");
    let ledger = ledger(&app).await;
    assert_eq!(keys(&ledger), [format!("earn:order:{ORDER}"), "adjust:adj-race".to_owned()]);
    assert_eq!(balance(&ledger), (75, ORDER_POINTS));
}
