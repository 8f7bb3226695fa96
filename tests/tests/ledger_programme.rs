//! The programme around the ledger, over the local runner's HTTP port: tiers from points earned
//! (in the `tiers-shop`, so no other test's customer changes tier) and points that expire after
//! the configured months, announced `notice_days` before. The clock and the ledger sweep are
//! driven by the test.

use chrono::{DateTime, Duration, Months, TimeZone, Utc};
use serde_json::{json, Value};
use stammkunde_e2e::*;

const ORDER_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
const CUSTOMER_CREATED: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/customers_create.json");
const CUSTOMER: &str = "7654321098765";
const ORDER: &str = "5912345678901";
const NEXT_ORDER: &str = "5912345678902";
/// 41 + 188 + 22 at the base rate (see `ledger_lifecycle.rs`): above the silver threshold of 250.
const ORDER_POINTS: i64 = 251;
/// The same lines at 1.5 points per euro, each floored: 41.89 × 1.5 = 62.835 → 62,
/// 188.32 × 1.5 = 282.48 → 282, 22.46 × 1.5 = 33.69 → 33.
const SILVER_LINE_POINTS: [i64; 3] = [62, 282, 33];
const SILVER_ORDER_POINTS: i64 = 62 + 282 + 33;
/// The customer of `customers_create.json`, who has no orders.
const NEW_CUSTOMER: &str = "7654321099001";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default()
}

fn months_after(at: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    at.checked_add_months(Months::new(months)).unwrap_or_else(|| panic!("{at} + {months} months"))
}

async fn deliver_to_tiers_shop(app: &TestApp, topic: &str, body: &[u8], webhook_id: &str) {
    let headers = shopify_headers_for(TIERS_SHOPIFY_DOMAIN, topic, body, webhook_id);
    let answer = app.post("/webhooks/shopify", &headers, body.to_vec()).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);
}

async fn tiers_ledger(app: &TestApp) -> Value {
    app.ledger_of("tiers-shop", TIERS_API_KEY, CUSTOMER).await
}

/// The paid fixture as the customer's next order, a day later.
fn next_order() -> Vec<u8> {
    edit_json(ORDER_PAID, |order| {
        order["id"] = NEXT_ORDER.parse::<u64>().unwrap_or_default().into();
        order["name"] = "#1043".into();
        order["created_at"] = "2026-11-21T10:14:05+01:00".into();
        order["processed_at"] = "2026-11-21T10:14:05+01:00".into();
        order["updated_at"] = "2026-11-21T10:15:42+01:00".into();
    })
}

#[tokio::test]
async fn an_order_that_crosses_the_threshold_changes_the_tier_and_the_next_order_earns_with_its_multiplier() {
    let app = spawn_app(t0()).await;
    deliver_to_tiers_shop(&app, "orders/paid", ORDER_PAID, "paid").await;
    let after_first = tiers_ledger(&app).await;
    // The order earned at the base rate (no tier yet), then its points lifted the customer to silver.
    assert_eq!(keys(&after_first), [format!("earn:order:{ORDER}"), "tier:2".to_owned()]);
    let first_earn = entry(&after_first, &format!("earn:order:{ORDER}"));
    assert_eq!(first_earn["pending"], ORDER_POINTS);
    assert!(
        first_earn["detail"].get("multiplier").is_none() && first_earn["detail"].get("tier").is_none(),
        "{first_earn:?}"
    );
    let change = entry(&after_first, "tier:2");
    assert_eq!(
        (change["kind"].as_str(), change["available"].as_i64(), change["pending"].as_i64()),
        (Some("tier_change"), Some(0), Some(0))
    );
    assert_eq!(change["detail"], json!({"type": "tier", "from": null, "to": SILVER_TIER}));
    let customer = app.customer_of("tiers-shop", TIERS_API_KEY, CUSTOMER).await;
    assert_eq!(customer["tier"], json!({"id": SILVER_TIER, "name": "Silber"}));

    app.clock.set(t0() + Duration::days(1));
    deliver_to_tiers_shop(&app, "orders/paid", &next_order(), "next").await;
    let after_next = tiers_ledger(&app).await;
    assert_eq!(keys(&after_next), [format!("earn:order:{ORDER}"), "tier:2".into(), format!("earn:order:{NEXT_ORDER}")]);
    let next = entry(&after_next, &format!("earn:order:{NEXT_ORDER}"));
    assert_eq!(
        (next["detail"]["multiplier"].as_str(), next["detail"]["tier"].as_str()),
        (Some(SILVER_MULTIPLIER), Some(SILVER_TIER))
    );
    assert_eq!(next["detail"]["points_per_unit"], "1", "the base rate is kept; the multiplier is on top");
    let line_points: Vec<i64> = next["detail"]["lines"]
        .as_array()
        .map(|lines| lines.iter().filter_map(|l| l["points"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(line_points, SILVER_LINE_POINTS);
    assert_eq!(next["pending"], SILVER_ORDER_POINTS);
    assert_eq!(balance(&after_next), (0, ORDER_POINTS + SILVER_ORDER_POINTS));

    // The same order in the other shop, which has no tiers, earns at the base rate only.
    let headers = shopify_headers("orders/paid", ORDER_PAID, "plain");
    assert_eq!(app.post("/webhooks/shopify", &headers, ORDER_PAID.to_vec()).await.body["status"], "accepted");
    let plain = app.ledger_of("shopify-shop", API_KEY, CUSTOMER).await;
    assert_eq!((keys(&plain), balance(&plain)), (vec![format!("earn:order:{ORDER}")], (0, ORDER_POINTS)));
    assert_eq!(app.customer_of("shopify-shop", API_KEY, CUSTOMER).await["tier"], Value::Null);
}

#[tokio::test]
async fn a_cancelled_order_takes_back_the_tier_its_points_gave() {
    let app = spawn_app(t0()).await;
    deliver_to_tiers_shop(&app, "orders/paid", ORDER_PAID, "paid").await;
    app.clock.set(t0() + Duration::days(1));
    let cancelled = edit_json(ORDER_PAID, |order| {
        order["cancelled_at"] = "2026-11-21T09:00:00+01:00".into();
        order["cancel_reason"] = "customer".into();
        order["updated_at"] = "2026-11-21T09:00:01+01:00".into();
    });
    deliver_to_tiers_shop(&app, "orders/cancelled", &cancelled, "cancelled").await;
    let ledger = tiers_ledger(&app).await;
    assert_eq!(
        keys(&ledger),
        [format!("earn:order:{ORDER}"), "tier:2".into(), format!("reversal:cancel:{ORDER}"), "tier:4".into()]
    );
    assert_eq!(entry(&ledger, "tier:4")["detail"], json!({"type": "tier", "from": SILVER_TIER, "to": null}));
    assert_eq!(balance(&ledger), (0, 0));
    assert_eq!(app.customer_of("tiers-shop", TIERS_API_KEY, CUSTOMER).await["tier"], Value::Null);
}

#[tokio::test]
async fn a_tier_lapses_when_its_order_leaves_the_twelve_months_and_the_sweep_records_it() {
    let app = spawn_app(t0()).await;
    deliver_to_tiers_shop(&app, "orders/paid", ORDER_PAID, "paid").await;
    // The order's window closes first (day 19); the tier is untouched by it.
    assert_eq!(app.sweep_at(t0() + Duration::days(SHIPPING_ALLOWANCE_DAYS + RETURN_WINDOW_DAYS)).await, 1);
    let lapses = months_after(t0(), 12);
    assert_eq!(app.sweep_at(lapses - Duration::seconds(1)).await, 0);
    assert_eq!(app.customer_of("tiers-shop", TIERS_API_KEY, CUSTOMER).await["tier"]["id"], SILVER_TIER);
    assert_eq!(app.sweep_at(lapses).await, 1);
    let ledger = tiers_ledger(&app).await;
    assert_eq!(
        keys(&ledger),
        [format!("earn:order:{ORDER}"), "tier:2".into(), format!("release:order:{ORDER}"), "tier:4".into()]
    );
    let lapse = entry(&ledger, "tier:4");
    assert_eq!(lapse["detail"], json!({"type": "tier", "from": SILVER_TIER, "to": null}));
    assert_eq!(lapse["created_at"], "2027-11-20T10:00:00Z");
    assert_eq!(balance(&ledger), (ORDER_POINTS, 0), "a tier lapsing costs no points");
    assert_eq!(app.customer_of("tiers-shop", TIERS_API_KEY, CUSTOMER).await["tier"], Value::Null);
    assert_eq!(app.sweep().await, 0);
}

/// A Shopify customer with no orders, `customers/create`.
async fn app_with_new_customer() -> TestApp {
    let app = spawn_app(t0()).await;
    let headers = shopify_headers("customers/create", CUSTOMER_CREATED, "created");
    let answer = app.post("/webhooks/shopify", &headers, CUSTOMER_CREATED.to_vec()).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    app
}

async fn adjust(app: &TestApp, key: &str, points: i64) {
    let path = format!("/api/shops/shopify-shop/customers/{NEW_CUSTOMER}/adjustments");
    let body = json!({"idempotency_key": key, "points": points, "reason": "Treuepunkte nachgetragen"});
    let mut headers = bearer(API_KEY);
    headers.push(("content-type", "application/json".into()));
    let answer = app.post(&path, &headers, json_body(&body)).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
}

async fn expiry_ledger(app: &TestApp) -> Value {
    app.ledger_of("shopify-shop", API_KEY, NEW_CUSTOMER).await
}

#[tokio::test]
async fn points_expire_after_the_configured_months_with_a_notice_the_configured_days_before() {
    let app = app_with_new_customer().await;
    adjust(&app, "exp-1", 100).await;
    let expires = months_after(t0(), EXPIRY_MONTHS);
    let notice = expires - Duration::days(EXPIRY_NOTICE_DAYS);
    let customer = app.customer_of("shopify-shop", API_KEY, NEW_CUSTOMER).await;
    assert_eq!(customer["next_expiry"], json!({"points": 100, "at": "2027-11-20T10:00:00Z"}));

    assert_eq!(app.sweep_at(notice - Duration::seconds(1)).await, 0);
    assert_eq!(app.sweep_at(notice).await, 1);
    let noticed = expiry_ledger(&app).await;
    assert_eq!(keys(&noticed), ["adjust:exp-1", "notice:expiry:2027-11-20"]);
    let told = entry(&noticed, "notice:expiry:2027-11-20");
    assert_eq!(
        (told["kind"].as_str(), told["available"].as_i64(), told["pending"].as_i64()),
        (Some("expiry_notice"), Some(0), Some(0))
    );
    assert_eq!(told["detail"], json!({"type": "expiry_notice", "points": 100, "expires_at": "2027-11-20T10:00:00Z"}));
    assert_eq!(told["created_at"], "2027-10-21T10:00:00Z");
    assert_eq!(app.sweep().await, 0, "told once");
    assert_eq!(balance(&expiry_ledger(&app).await), (100, 0), "a notice takes nothing");

    assert_eq!(app.sweep_at(expires - Duration::seconds(1)).await, 0);
    assert_eq!(app.sweep_at(expires).await, 1);
    let expired = expiry_ledger(&app).await;
    assert_eq!(keys(&expired), ["adjust:exp-1", "notice:expiry:2027-11-20", "expire:adjust:exp-1"]);
    let gone = entry(&expired, "expire:adjust:exp-1");
    assert_eq!(
        (gone["kind"].as_str(), gone["available"].as_i64(), gone["pending"].as_i64()),
        (Some("expiry"), Some(-100), Some(0))
    );
    assert_eq!(gone["detail"], json!({"type": "expiry", "lot": "adjust:exp-1"}));
    assert_eq!(balance(&expired), (0, 0));
    assert_eq!(app.customer_of("shopify-shop", API_KEY, NEW_CUSTOMER).await["next_expiry"], Value::Null);
    assert_eq!(app.sweep_at(expires + Duration::days(400)).await, 0, "nothing is left to expire");
}

#[tokio::test]
async fn spending_takes_the_oldest_points_first_so_only_what_is_left_of_them_expires() {
    let app = app_with_new_customer().await;
    adjust(&app, "lot-a", 100).await;
    app.clock.set(months_after(t0(), 1));
    adjust(&app, "lot-b", 50).await;
    app.clock.set(months_after(t0(), 2));
    adjust(&app, "spend", -30).await;
    // Lot a (100, expiring 2027-11-20) gave the 30; lot b (50, expiring 2027-12-20) is whole.
    let customer = app.customer_of("shopify-shop", API_KEY, NEW_CUSTOMER).await;
    assert_eq!(customer["next_expiry"], json!({"points": 70, "at": "2027-11-20T10:00:00Z"}));

    let a_expires = months_after(t0(), EXPIRY_MONTHS);
    let b_expires = months_after(t0(), EXPIRY_MONTHS + 1);
    assert_eq!(app.sweep_at(a_expires - Duration::days(EXPIRY_NOTICE_DAYS)).await, 1);
    assert_eq!(entry(&expiry_ledger(&app).await, "notice:expiry:2027-11-20")["detail"]["points"], 70);
    // Lot a expires at the moment lot b's notice falls due (30 days before 2027-12-20).
    assert_eq!(app.sweep_at(a_expires).await, 2);
    let ledger = expiry_ledger(&app).await;
    assert_eq!(entry(&ledger, "expire:adjust:lot-a")["available"], -70);
    assert_eq!(
        entry(&ledger, "notice:expiry:2027-12-20")["detail"],
        json!({"type": "expiry_notice", "points": 50, "expires_at": "2027-12-20T10:00:00Z"})
    );
    assert_eq!(balance(&ledger), (50, 0));
    assert_eq!(app.sweep_at(b_expires).await, 1);
    let ledger = expiry_ledger(&app).await;
    assert_eq!(
        keys(&ledger),
        [
            "adjust:lot-a",
            "adjust:lot-b",
            "adjust:spend",
            "notice:expiry:2027-11-20",
            "expire:adjust:lot-a",
            "notice:expiry:2027-12-20",
            "expire:adjust:lot-b"
        ]
    );
    assert_eq!(balance(&ledger), (0, 0));
}
