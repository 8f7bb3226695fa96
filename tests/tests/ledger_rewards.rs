//! Rewards over the local runner's HTTP port: codes imported into a pool, redeemed for points
//! exactly once per idempotency key, exported as CSV, marked used by the order that uses them,
//! and given back as points when they run out unused. The clock and the ledger sweep are driven
//! by the test.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use stammkunde_e2e::*;

const ORDER_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
const CUSTOMER: &str = "7654321098765";
const ORDER: &str = "5912345678901";
/// 41 + 188 + 22, pending until the window closes (see `ledger_lifecycle.rs`).
const ORDER_POINTS: i64 = 251;
const REDEMPTIONS: &str = "/api/shops/shopify-shop/customers/7654321098765/redemptions";
const CSV_HEADER: &str = "code,reward,generated,status,customer_id,issued_at,expires_at";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default()
}

fn json_headers() -> Vec<(&'static str, String)> {
    let mut headers = bearer(API_KEY);
    headers.push(("content-type", "application/json".into()));
    headers
}

/// An app whose Shopify customer holds the paid order's 251 points, pending, and nothing else.
async fn app_with_customer() -> TestApp {
    let app = spawn_app(t0()).await;
    deliver_order(&app, ORDER_PAID, "paid").await;
    app
}

async fn deliver_order(app: &TestApp, body: &[u8], webhook_id: &str) {
    let answer = app.post("/webhooks/shopify", &shopify_headers("orders/paid", body, webhook_id), body.to_vec()).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);
}

/// Gives the customer `points` to spend, by a manual adjustment.
async fn credit(app: &TestApp, customer: &str, points: i64) {
    let path = format!("/api/shops/shopify-shop/customers/{customer}/adjustments");
    let body = json!({"idempotency_key": format!("credit-{points}"), "points": points, "reason": "Startguthaben"});
    let answer = app.post(&path, &json_headers(), json_body(&body)).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
}

async fn import(app: &TestApp, reward: &str, codes: &[&str]) -> Answer {
    let path = format!("/api/shops/shopify-shop/rewards/{reward}/codes");
    app.post(&path, &json_headers(), json_body(&json!({ "codes": codes }))).await
}

async fn redeem(app: &TestApp, key: &str, reward: &str) -> Answer {
    redeem_for(app, CUSTOMER, key, reward).await
}

async fn redeem_for(app: &TestApp, customer: &str, key: &str, reward: &str) -> Answer {
    let path = format!("/api/shops/shopify-shop/customers/{customer}/redemptions");
    app.post(&path, &json_headers(), json_body(&json!({"idempotency_key": key, "reward": reward}))).await
}

/// `GET codes.csv`: asserts 200 and the CSV content type; returns the lines.
async fn csv(app: &TestApp) -> Vec<String> {
    let response = app
        .client
        .get(format!("{}/api/shops/shopify-shop/codes.csv", app.base))
        .header("authorization", format!("Bearer {API_KEY}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("codes.csv: {e}"));
    assert_eq!(response.status().as_u16(), 200);
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let text = response.text().await.unwrap_or_else(|e| panic!("codes.csv: {e}"));
    text.lines().map(str::to_owned).collect()
}

/// A request that must be refused: (case, path, headers, body, status, error code).
type RefusedCase<'a> = (&'a str, &'a str, Vec<(&'static str, String)>, Vec<u8>, u16, &'a str);

/// Sends each request; each must be refused with its status and code and leave the store as it was.
async fn assert_all_refused_unchanged(app: &TestApp, cases: Vec<RefusedCase<'_>>) {
    for (case, path, headers, body, status, code) in cases {
        let before = app.dump();
        let answer = app.post(path, &headers, body).await;
        assert_eq!((answer.status, answer.body["error"].as_str()), (status, Some(code)), "{case}: {:?}", answer.body);
        assert!(answer.body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{case}: a reason: {:?}", answer.body);
        assert!(app.dump() == before, "{case}: the store changed");
    }
}

async fn ledger(app: &TestApp, customer: &str) -> Value {
    app.ledger_of("shopify-shop", API_KEY, customer).await
}

#[tokio::test]
async fn codes_imported_into_a_pool_are_counted_once_upper_cased_and_exported_as_pooled() {
    let app = app_with_customer().await;
    let first = import(&app, POOL_REWARD, &["kaffee-0002", "KAFFEE-0001", "Kaffee-0002"]).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body, json!({"reward": POOL_REWARD, "imported": 2, "skipped": 1}));
    let again = import(&app, POOL_REWARD, &["KAFFEE-0001", "KAFFEE-0002", "KAFFEE-0003"]).await;
    assert_eq!(again.body, json!({"reward": POOL_REWARD, "imported": 1, "skipped": 2}));
    assert_eq!(
        csv(&app).await,
        [
            CSV_HEADER,
            "KAFFEE-0001,gutschein-5,false,pooled,,,",
            "KAFFEE-0002,gutschein-5,false,pooled,,,",
            "KAFFEE-0003,gutschein-5,false,pooled,,,"
        ]
    );
}

#[tokio::test]
async fn a_bad_code_import_is_refused_and_writes_nothing() {
    let app = app_with_customer().await;
    let path = format!("/api/shops/shopify-shop/rewards/{POOL_REWARD}/codes");
    let cases: Vec<RefusedCase<'_>> = vec![
        (
            "a code of 3 characters",
            path.as_str(),
            json_headers(),
            json_body(&json!({"codes": ["OK-1", "ABC"]})),
            400,
            "bad_request",
        ),
        (
            "a code with a space",
            path.as_str(),
            json_headers(),
            json_body(&json!({"codes": ["KAFFEE 1"]})),
            400,
            "bad_request",
        ),
        (
            "a code of 65 characters",
            path.as_str(),
            json_headers(),
            json_body(&json!({"codes": ["K".repeat(65)]})),
            400,
            "bad_request",
        ),
        ("not JSON", path.as_str(), json_headers(), b"KAFFEE-0001".to_vec(), 400, "bad_request"),
        (
            "an unknown field",
            path.as_str(),
            json_headers(),
            json_body(&json!({"codes": [], "reward": "x"})),
            400,
            "bad_request",
        ),
        ("no key", path.as_str(), vec![], json_body(&json!({"codes": ["KAFFEE-0001"]})), 401, "unauthorized"),
        (
            "an unknown reward",
            "/api/shops/shopify-shop/rewards/gutschein-500/codes",
            json_headers(),
            json_body(&json!({"codes": ["KAFFEE-0001"]})),
            404,
            "unknown_reward",
        ),
    ];
    assert_all_refused_unchanged(&app, cases).await;
    assert_eq!(csv(&app).await, [CSV_HEADER]);
}

#[tokio::test]
async fn a_redemption_takes_a_pooled_code_and_the_same_key_again_returns_that_code() {
    let app = app_with_customer().await;
    assert_eq!(import(&app, POOL_REWARD, &["KAFFEE-0001", "KAFFEE-0002"]).await.body["imported"], 2);
    credit(&app, CUSTOMER, 300).await;

    let first = redeem(&app, "order-form-1", POOL_REWARD).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(
        first.body,
        json!({
            "code": "KAFFEE-0001",
            "reward": POOL_REWARD,
            "points": POOL_REWARD_POINTS,
            "expires_at": "2026-12-20T10:00:00Z",
            "balance": {"available": 300 - POOL_REWARD_POINTS, "pending": ORDER_POINTS},
        })
    );
    let after_first = app.dump();
    app.clock.set(t0() + Duration::minutes(3));
    let again = redeem(&app, "order-form-1", POOL_REWARD).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body, first.body, "the repeat answers with the same code, validity and balance");
    assert!(app.dump() == after_first, "a repeat writes nothing");

    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(
        keys(&ledger),
        [format!("earn:order:{ORDER}"), "adjust:credit-300".into(), "redeem:order-form-1".into()]
    );
    let redemption = entry(&ledger, "redeem:order-form-1");
    assert_eq!(
        (redemption["kind"].as_str(), redemption["available"].as_i64(), redemption["pending"].as_i64()),
        (Some("redemption"), Some(-POOL_REWARD_POINTS), Some(0))
    );
    assert_eq!(
        redemption["detail"],
        json!({"type": "redemption", "reward": POOL_REWARD, "code": "KAFFEE-0001", "expires_at": "2026-12-20T10:00:00Z"})
    );
    assert_eq!(balance(&ledger), (300 - POOL_REWARD_POINTS, ORDER_POINTS));
    assert_eq!(
        csv(&app).await,
        [
            CSV_HEADER,
            "KAFFEE-0001,gutschein-5,false,issued,7654321098765,2026-11-20T10:00:00+00:00,2026-12-20T10:00:00+00:00",
            "KAFFEE-0002,gutschein-5,false,pooled,,,"
        ]
    );

    // The same key for another reward is the client's bug, not a second redemption.
    let before = app.dump();
    let other = redeem(&app, "order-form-1", GENERATED_REWARD).await;
    assert_refused(&other, 422, "idempotency_key_reused");
    assert!(app.dump() == before);
}

#[tokio::test]
async fn pending_points_cannot_be_spent_and_the_code_stays_in_the_pool() {
    let app = app_with_customer().await;
    import(&app, POOL_REWARD, &["KAFFEE-0001"]).await;
    let before = app.dump();
    // 251 points, all pending: more than the reward costs, none of them spendable.
    let answer = redeem(&app, "r-1", POOL_REWARD).await;
    assert_refused(&answer, 409, "insufficient_points");
    assert!(app.dump() == before, "nothing is debited and no code is taken");
    assert_eq!(csv(&app).await, [CSV_HEADER, "KAFFEE-0001,gutschein-5,false,pooled,,,"]);
}

#[tokio::test]
async fn an_empty_pool_is_409_no_codes_left_and_debits_nothing() {
    let app = app_with_customer().await;
    credit(&app, CUSTOMER, 300).await;
    let before = app.dump();
    let answer = redeem(&app, "r-1", POOL_REWARD).await;
    assert_refused(&answer, 409, "no_codes_left");
    assert!(app.dump() == before);
    assert_eq!(balance(&ledger(&app, CUSTOMER).await), (300, ORDER_POINTS));

    // Once a code is imported the same redemption goes through.
    import(&app, POOL_REWARD, &["KAFFEE-0001"]).await;
    let retried = redeem(&app, "r-1", POOL_REWARD).await;
    assert_eq!((retried.status, retried.body["code"].as_str()), (201, Some("KAFFEE-0001")), "{:?}", retried.body);
}

#[tokio::test]
async fn a_redemption_for_an_unknown_reward_or_customer_or_without_the_key_writes_nothing() {
    let app = app_with_customer().await;
    import(&app, POOL_REWARD, &["KAFFEE-0001"]).await;
    credit(&app, CUSTOMER, 300).await;
    let body = json_body(&json!({"idempotency_key": "r-1", "reward": POOL_REWARD}));
    let cases: Vec<RefusedCase<'_>> = vec![
        (
            "an unknown reward",
            REDEMPTIONS,
            json_headers(),
            json_body(&json!({"idempotency_key": "r-1", "reward": "gold"})),
            404,
            "unknown_reward",
        ),
        (
            "an unknown customer",
            "/api/shops/shopify-shop/customers/4711/redemptions",
            json_headers(),
            body.clone(),
            404,
            "not_found",
        ),
        ("no key", REDEMPTIONS, vec![], body.clone(), 401, "unauthorized"),
        ("another shop's key", REDEMPTIONS, bearer(WOO_API_KEY), body.clone(), 401, "unauthorized"),
        (
            "no idempotency key",
            REDEMPTIONS,
            json_headers(),
            json_body(&json!({"reward": POOL_REWARD})),
            400,
            "bad_request",
        ),
    ];
    assert_all_refused_unchanged(&app, cases).await;
}

#[tokio::test]
async fn a_code_used_in_a_paid_order_is_marked_on_its_holders_ledger_and_only_an_unused_code_returns_its_points() {
    const FRIEND: &str = "7654321098001";
    const FRIENDS_ORDER: &str = "5912345678902";
    let app = app_with_customer().await;
    import(&app, POOL_REWARD, &["KAFFEE-0001", "KAFFEE-0002"]).await;
    credit(&app, CUSTOMER, 200).await;
    assert_eq!(redeem(&app, "r-1", POOL_REWARD).await.body["code"], "KAFFEE-0001");
    assert_eq!(redeem(&app, "r-2", POOL_REWARD).await.body["code"], "KAFFEE-0002");
    let view = app.get(&format!("/api/shops/shopify-shop/customers/{CUSTOMER}"), &bearer(API_KEY)).await;
    assert_eq!(view.body["codes"][0]["status"], "active", "{:?}", view.body);
    assert_eq!(view.body["codes"][1]["points"], POOL_REWARD_POINTS);

    // A day later a friend orders with the first code, typed in lower case; Shopify sends the order
    // twice under two webhook ids.
    app.clock.set(t0() + Duration::days(1));
    let friends_order = edit_json(ORDER_PAID, |order| {
        order["id"] = FRIENDS_ORDER.parse::<u64>().unwrap_or_default().into();
        order["name"] = "#1043".into();
        order["customer"]["id"] = FRIEND.parse::<u64>().unwrap_or_default().into();
        order["customer"]["email"] = "freundin@example.de".into();
        order["discount_codes"][0]["code"] = "kaffee-0001".into();
    });
    deliver_order(&app, &friends_order, "friend-1").await;
    deliver_order(&app, &friends_order, "friend-2").await;

    let holder = ledger(&app, CUSTOMER).await;
    let used = entry(&holder, "used:code:KAFFEE-0001");
    assert_eq!((used["kind"].as_str(), used["points"].as_i64()), (Some("code_used"), Some(0)));
    assert_eq!(used["order_id"], FRIENDS_ORDER);
    assert_eq!(used["detail"], json!({"type": "code", "code": "KAFFEE-0001"}));
    assert_eq!(keys(&holder).iter().filter(|k| k.starts_with("used:")).count(), 1, "marked once: {:?}", keys(&holder));
    let friend = ledger(&app, FRIEND).await;
    assert_eq!(keys(&friend), [format!("earn:order:{FRIENDS_ORDER}")], "the code is the holder's, not the buyer's");

    // Both codes run out 30 days after issue; an unused one gives its points back a day later.
    let expired = t0() + Duration::days(REWARD_VALID_DAYS) + Duration::days(1);
    // Until then only the two orders' windows close (day 19 and day 20).
    assert_eq!(app.sweep_at(expired - Duration::seconds(1)).await, 2);
    let before_expiry = ledger(&app, CUSTOMER).await;
    assert_eq!(balance(&before_expiry), (ORDER_POINTS, 0));
    assert_eq!(app.sweep_at(expired).await, 1);
    let after = ledger(&app, CUSTOMER).await;
    assert!(!keys(&after).contains(&"expired:code:KAFFEE-0001".to_owned()), "a used code gives nothing back");
    let back = entry(&after, "expired:code:KAFFEE-0002");
    assert_eq!(
        (back["kind"].as_str(), back["available"].as_i64(), back["pending"].as_i64()),
        (Some("code_expired"), Some(POOL_REWARD_POINTS), Some(0))
    );
    assert_eq!(back["detail"], json!({"type": "code", "code": "KAFFEE-0002"}));
    assert_eq!(balance(&after), (ORDER_POINTS + POOL_REWARD_POINTS, 0));
    assert_eq!(app.sweep().await, 0, "each code expires once");

    // The merchant's view of the customer lists both codes with what became of them.
    let view = app.get(&format!("/api/shops/shopify-shop/customers/{CUSTOMER}"), &bearer(API_KEY)).await;
    let statuses: Vec<(String, String)> = view.body["codes"]
        .as_array()
        .unwrap_or_else(|| panic!("codes in {:?}", view.body))
        .iter()
        .map(|c| {
            (c["code"].as_str().unwrap_or_default().to_owned(), c["status"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert_eq!(
        statuses,
        [("KAFFEE-0001".to_owned(), "used".to_owned()), ("KAFFEE-0002".to_owned(), "expired".to_owned())]
    );
}

/// `^SK-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`, checked by hand (the test crate has no regex).
fn is_generated_code(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == 4
        && groups[0] == "SK"
        && groups[1..].iter().all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
}

#[tokio::test]
async fn a_generated_code_has_the_documented_shape_and_is_exported_as_generated() {
    assert!(
        is_generated_code("SK-0A9Z-ZZZZ-1234")
            && !is_generated_code("SK-0A9Z-ZZZZ-123")
            && !is_generated_code("XK-0A9Z-ZZZZ-1234")
    );
    assert!(!is_generated_code("SK-0a9z-ZZZZ-1234") && !is_generated_code("SK-0A9Z-ZZZZ-1234-5678"));
    let app = app_with_customer().await;
    credit(&app, CUSTOMER, 100).await;
    let first = redeem(&app, "g-1", GENERATED_REWARD).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let code = first.body["code"].as_str().unwrap_or_default().to_owned();
    assert!(is_generated_code(&code), "{code:?}");
    assert_eq!(first.body["balance"], json!({"available": 100 - GENERATED_REWARD_POINTS, "pending": ORDER_POINTS}));
    let again = redeem(&app, "g-1", GENERATED_REWARD).await;
    assert_eq!((again.status, again.body["code"].as_str()), (200, Some(code.as_str())), "{:?}", again.body);
    let other = redeem(&app, "g-2", GENERATED_REWARD).await;
    let other_code = other.body["code"].as_str().unwrap_or_default().to_owned();
    assert!(other.status == 201 && is_generated_code(&other_code) && other_code != code, "{:?}", other.body);

    let mut expected = vec![
        format!("{code},versandfrei,true,issued,7654321098765,2026-11-20T10:00:00+00:00,2026-12-20T10:00:00+00:00"),
        format!(
            "{other_code},versandfrei,true,issued,7654321098765,2026-11-20T10:00:00+00:00,2026-12-20T10:00:00+00:00"
        ),
    ];
    expected.sort();
    expected.insert(0, CSV_HEADER.to_owned());
    assert_eq!(csv(&app).await, expected);
    assert_eq!(balance(&ledger(&app, CUSTOMER).await), (0, ORDER_POINTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_redemptions_against_a_pool_of_five_issue_five_distinct_codes_and_debit_five_times() {
    let app = app_with_customer().await;
    let pool = ["KAFFEE-0001", "KAFFEE-0002", "KAFFEE-0003", "KAFFEE-0004", "KAFFEE-0005"];
    assert_eq!(import(&app, POOL_REWARD, &pool).await.body["imported"], 5);
    credit(&app, CUSTOMER, 20 * POOL_REWARD_POINTS).await;

    let keys_sent: Vec<String> = (0..20).map(|i| format!("race-{i:02}")).collect();
    let answers = futures::future::join_all(keys_sent.iter().map(|key| redeem(&app, key, POOL_REWARD))).await;
    let issued: Vec<String> = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| a.body["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    let refused = answers.iter().filter(|a| a.status == 409 && a.body["error"] == "no_codes_left").count();
    assert_eq!((issued.len(), refused), (5, 15), "{answers:?}");
    let mut distinct = issued.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct, pool, "each pooled code exactly once");

    let ledger = ledger(&app, CUSTOMER).await;
    let redemptions = entries(&ledger).iter().filter(|e| e["kind"] == "redemption").count();
    assert_eq!(redemptions, 5);
    assert_eq!(balance(&ledger), (15 * POOL_REWARD_POINTS, ORDER_POINTS));
    let rows = csv(&app).await;
    assert_eq!(rows.iter().filter(|r| r.contains(",issued,7654321098765,")).count(), 5, "{rows:?}");
}

#[tokio::test]
async fn the_same_redemption_key_from_two_customers_does_not_give_both_one_code() {
    const OTHER: &str = "7654321098001";
    let app = app_with_customer().await;
    let other_order = edit_json(ORDER_PAID, |order| {
        order["id"] = 5_912_345_678_902_u64.into();
        order["customer"]["id"] = OTHER.parse::<u64>().unwrap_or_default().into();
        order["customer"]["email"] = "anna@example.de".into();
    });
    deliver_order(&app, &other_order, "other").await;
    import(&app, POOL_REWARD, &["KAFFEE-0001", "KAFFEE-0002"]).await;
    credit(&app, CUSTOMER, 100).await;
    credit(&app, OTHER, 100).await;

    // Keys are the client's, per request; two customers' shop sessions can well produce the same.
    let first = redeem_for(&app, CUSTOMER, "checkout-1", POOL_REWARD).await;
    assert_eq!((first.status, first.body["code"].as_str()), (201, Some("KAFFEE-0001")), "{:?}", first.body);
    let second = redeem_for(&app, OTHER, "checkout-1", POOL_REWARD).await;
    // Either its own code or a refusal; never the first customer's single-use code.
    assert!(
        (second.status == 201 && second.body["code"] == "KAFFEE-0002") || (400..500).contains(&second.status),
        "{:?}",
        second.body
    );
    let holders: Vec<String> = csv(&app).await.into_iter().filter(|row| row.starts_with("KAFFEE-0001,")).collect();
    assert_eq!(holders.len(), 1);
    let other_ledger = ledger(&app, OTHER).await;
    let other_codes: Vec<Value> =
        entries(&other_ledger).iter().map(|e| e["detail"]["code"].clone()).filter(|c| !c.is_null()).collect();
    assert!(!other_codes.contains(&json!("KAFFEE-0001")), "one single-use code on two ledgers: {other_codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_redemptions_under_one_key_debit_once_and_all_answer_with_the_same_code() {
    let app = app_with_customer().await;
    import(&app, POOL_REWARD, &["KAFFEE-0001", "KAFFEE-0002", "KAFFEE-0003"]).await;
    credit(&app, CUSTOMER, 1000).await;
    let answers = futures::future::join_all((0..10).map(|_| redeem(&app, "double-click", POOL_REWARD))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 201], "{answers:?}");
    assert!(answers.iter().all(|a| a.body["code"] == "KAFFEE-0001"), "{answers:?}");
    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(
        keys(&ledger),
        [format!("earn:order:{ORDER}"), "adjust:credit-1000".into(), "redeem:double-click".into()]
    );
    assert_eq!(balance(&ledger), (1000 - POOL_REWARD_POINTS, ORDER_POINTS));
    assert_eq!(
        csv(&app).await,
        [
            CSV_HEADER,
            "KAFFEE-0001,gutschein-5,false,issued,7654321098765,2026-11-20T10:00:00+00:00,2026-12-20T10:00:00+00:00",
            "KAFFEE-0002,gutschein-5,false,pooled,,,",
            "KAFFEE-0003,gutschein-5,false,pooled,,,"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_beyond_the_balance_debit_only_what_it_holds_and_put_the_other_codes_back() {
    let app = app_with_customer().await;
    let pool = ["KAFFEE-0001", "KAFFEE-0002", "KAFFEE-0003", "KAFFEE-0004", "KAFFEE-0005"];
    import(&app, POOL_REWARD, &pool).await;
    // Enough for two of the five.
    credit(&app, CUSTOMER, 2 * POOL_REWARD_POINTS).await;
    let keys_sent: Vec<String> = (0..5).map(|i| format!("race-{i}")).collect();
    let answers = futures::future::join_all(keys_sent.iter().map(|key| redeem(&app, key, POOL_REWARD))).await;
    let issued: Vec<&str> =
        answers.iter().filter(|a| a.status == 201).filter_map(|a| a.body["code"].as_str()).collect();
    let refused = answers.iter().filter(|a| a.status == 409 && a.body["error"] == "insufficient_points").count();
    assert_eq!((issued.len(), refused), (2, 3), "{answers:?}");
    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(entries(&ledger).iter().filter(|e| e["kind"] == "redemption").count(), 2);
    assert_eq!(balance(&ledger), (0, ORDER_POINTS));
    let rows = csv(&app).await;
    assert_eq!(rows.iter().filter(|r| r.contains(",issued,")).count(), 2, "{rows:?}");
    assert_eq!(
        rows.iter().filter(|r| r.ends_with(",pooled,,,")).count(),
        3,
        "the refused claims' codes are back: {rows:?}"
    );
    for code in issued {
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("{code},gutschein-5,false,issued,{CUSTOMER},"))),
            "{code}: {rows:?}"
        );
    }
}

/// The issue's case: 50 redemptions at once against a balance that covers 10, with codes enough
/// for all 50 in the pool. Exactly 10 are debited and get a code, no code twice, and the 40
/// refused ones put their claimed codes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_redemptions_against_a_balance_for_ten_issue_exactly_ten_distinct_codes() {
    let app = app_with_customer().await;
    let pool: Vec<String> = (1..=50).map(|n| format!("KAFFEE-{n:04}")).collect();
    let pool_refs: Vec<&str> = pool.iter().map(String::as_str).collect();
    assert_eq!(import(&app, POOL_REWARD, &pool_refs).await.status, 200);
    credit(&app, CUSTOMER, 10 * POOL_REWARD_POINTS).await;

    let keys_sent: Vec<String> = (0..50).map(|i| format!("rush-{i:02}")).collect();
    let answers = futures::future::join_all(keys_sent.iter().map(|key| redeem(&app, key, POOL_REWARD))).await;

    let issued: Vec<&str> =
        answers.iter().filter(|a| a.status == 201).filter_map(|a| a.body["code"].as_str()).collect();
    let refused = answers.iter().filter(|a| a.status == 409 && a.body["error"] == "insufficient_points").count();
    assert_eq!((issued.len(), refused), (10, 40), "{answers:?}");
    let distinct: std::collections::BTreeSet<&str> = issued.iter().copied().collect();
    assert_eq!(distinct.len(), 10, "no code twice: {issued:?}");
    let ledger = ledger(&app, CUSTOMER).await;
    assert_eq!(entries(&ledger).iter().filter(|e| e["kind"] == "redemption").count(), 10);
    assert_eq!(balance(&ledger), (0, ORDER_POINTS));
    let rows = csv(&app).await;
    assert_eq!(rows.iter().filter(|r| r.contains(",issued,")).count(), 10, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r.ends_with(",pooled,,,")).count(), 40, "every refused claim's code is back");
}
