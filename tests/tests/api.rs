//! The merchant API through the local runner's HTTP port: bearer keys per shop, one shop never
//! sees another's customers, and the ledger view carries every field a merchant integrates with.
//! A paid order's points are pending until its return window closes, so every figure here is
//! pending and nothing is available yet.

use chrono::{TimeZone, Utc};
use stammkunde_e2e::*;

const WOO_ORDER: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_processing.json");
const SHOPIFY_ORDER: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
const WOO_CUSTOMER: &str = "/api/shops/woo-shop/customers/42";

/// An app holding WooCommerce customer 42 with the 73 points of order 1187, pending.
async fn app_with_woo_customer() -> TestApp {
    let app = spawn_app(Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).single().unwrap_or_default()).await;
    let answer = app.post("/webhooks/woocommerce", &woo_headers("order.created", WOO_ORDER, "d-1"), WOO_ORDER).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);
    app
}

#[tokio::test]
async fn the_right_key_reads_the_customer() {
    let app = app_with_woo_customer().await;
    let answer = app.get(WOO_CUSTOMER, &bearer(WOO_API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["shop"], "woo-shop");
    assert_eq!(answer.body["customer_id"], "42");
    assert_eq!(balance(&answer.body), (0, 73));
}

#[tokio::test]
async fn a_wrong_key_is_401() {
    let app = app_with_woo_customer().await;
    for key in ["api-key-woo-012345678", "api-key-woo-01234567890", "API-KEY-WOO-0123456789", "x"] {
        let answer = app.get(WOO_CUSTOMER, &bearer(key)).await;
        assert_refused(&answer, 401, "unauthorized");
        assert!(answer.body.get("points").is_none() && answer.body.get("email").is_none(), "{:?}", answer.body);
    }
}

#[tokio::test]
async fn a_missing_or_malformed_authorization_is_401() {
    let app = app_with_woo_customer().await;
    let headers: [Vec<(&str, String)>; 5] = [
        vec![],
        vec![("authorization", String::new())],
        vec![("authorization", format!("Basic {WOO_API_KEY}"))],
        vec![("authorization", WOO_API_KEY.to_owned())],
        vec![("authorization", "Bearer ".to_owned())],
    ];
    for headers in headers {
        let answer = app.get(WOO_CUSTOMER, &headers).await;
        assert_refused(&answer, 401, "unauthorized");
        let ledger = app.get(&format!("{WOO_CUSTOMER}/ledger"), &headers).await;
        assert_refused(&ledger, 401, "unauthorized");
    }
}

#[tokio::test]
async fn the_key_of_one_shop_does_not_open_another() {
    let app = app_with_woo_customer().await;
    for key in [API_KEY, SHOPWARE_API_KEY] {
        let answer = app.get(WOO_CUSTOMER, &bearer(key)).await;
        assert_refused(&answer, 401, "unauthorized");
        let ledger = app.get(&format!("{WOO_CUSTOMER}/ledger"), &bearer(key)).await;
        assert_refused(&ledger, 401, "unauthorized");
    }
}

#[tokio::test]
async fn an_unknown_shop_is_401_whatever_the_key() {
    let app = app_with_woo_customer().await;
    for key in [WOO_API_KEY, API_KEY] {
        let answer = app.get("/api/shops/no-such-shop/customers/42", &bearer(key)).await;
        assert_refused(&answer, 401, "unauthorized");
    }
}

#[tokio::test]
async fn a_customer_of_another_shop_is_404_like_one_that_does_not_exist() {
    let app = app_with_woo_customer().await;
    let other_shop = app.get("/api/shops/shopify-shop/customers/42", &bearer(API_KEY)).await;
    assert_refused(&other_shop, 404, "not_found");
    let nobody = app.get("/api/shops/shopify-shop/customers/4711", &bearer(API_KEY)).await;
    assert_refused(&nobody, 404, "not_found");
    assert_eq!(other_shop.body, nobody.body, "the answer does not tell the two apart");
    let ledger = app.get("/api/shops/shopify-shop/customers/42/ledger", &bearer(API_KEY)).await;
    assert_refused(&ledger, 404, "not_found");
}

#[tokio::test]
async fn an_unknown_customer_is_404() {
    let app = app_with_woo_customer().await;
    for path in ["/api/shops/woo-shop/customers/43", "/api/shops/woo-shop/customers/43/ledger"] {
        let answer = app.get(path, &bearer(WOO_API_KEY)).await;
        assert_refused(&answer, 404, "not_found");
    }
}

#[tokio::test]
async fn a_percent_encoded_customer_id_is_decoded() {
    let app = app_with_woo_customer().await;
    // A customer id with a slash, as some platforms' global ids have.
    let body = edit_json(WOO_ORDER, |order| {
        order["id"] = 2001.into();
        order["customer_id"] = "gid://woo/Customer/42".into();
    });
    let answer = app.post("/webhooks/woocommerce", &woo_headers("order.created", &body, "d-2"), body).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);

    let encoded = app.get("/api/shops/woo-shop/customers/gid%3A%2F%2Fwoo%2FCustomer%2F42", &bearer(WOO_API_KEY)).await;
    assert_eq!(encoded.status, 200, "{:?}", encoded.body);
    assert_eq!(encoded.body["customer_id"], "gid://woo/Customer/42");
    assert_eq!(balance(&encoded.body), (0, 73));
    let ledger =
        app.get("/api/shops/woo-shop/customers/gid%3A%2F%2Fwoo%2FCustomer%2F42/ledger", &bearer(WOO_API_KEY)).await;
    assert_eq!(ledger.body["entries"][0]["key"], "earn:order:2001", "{:?}", ledger.body);

    // Plain digits, percent-encoded, are the same customer as unencoded.
    let digits = app.get("/api/shops/woo-shop/customers/%34%32", &bearer(WOO_API_KEY)).await;
    assert_eq!(digits.status, 200, "{:?}", digits.body);
    assert_eq!(digits.body["customer_id"], "42");
}

#[tokio::test]
async fn an_undecodable_or_hostile_customer_id_is_400() {
    let app = app_with_woo_customer().await;
    for id in ["%FF%FE", "42%22%3B%20DROP", "%00", "%F0%9F%9B%92"] {
        let answer = app.get(&format!("/api/shops/woo-shop/customers/{id}"), &bearer(WOO_API_KEY)).await;
        assert_refused(&answer, 400, "bad_request");
    }
}

#[tokio::test]
async fn ledger_entries_carry_position_key_kind_both_deltas_reason_and_detail() {
    let app = app_with_woo_customer().await;
    let ledger = app.get(&format!("{WOO_CUSTOMER}/ledger"), &bearer(WOO_API_KEY)).await;
    assert_eq!(ledger.status, 200, "{:?}", ledger.body);
    assert_eq!(ledger.body["shop"], "woo-shop");
    assert_eq!(ledger.body["customer_id"], "42");
    assert_eq!(ledger.body["points"], serde_json::json!({"available": 0, "pending": 73}));
    assert_eq!(ledger.body["shortfall"], 0);
    let entries = entries(&ledger.body);
    assert_eq!(entries.len(), 1, "{:?}", ledger.body);
    let entry = &entries[0];
    let mut fields: Vec<&str> = entry.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    fields.sort_unstable();
    let mut expected = [
        "position",
        "key",
        "kind",
        "points",
        "available",
        "pending",
        "reason",
        "customer_text",
        "order_id",
        "created_at",
        "detail",
    ];
    expected.sort_unstable();
    assert_eq!(fields, expected, "exactly the documented fields, no `bucket` or `basis` any more");
    assert_eq!(entry["position"], 1);
    assert_eq!(entry["key"], "earn:order:1187");
    assert_eq!(entry["kind"], "earn");
    assert_eq!(entry["points"], 73);
    assert_eq!(entry["available"], 0);
    assert_eq!(entry["pending"], 73);
    assert_eq!(entry["reason"], "order 1187 paid");
    assert_eq!(entry["customer_text"], serde_json::Value::Null);
    assert_eq!(entry["order_id"], "1187");
    assert_eq!(entry["created_at"], "2026-11-22T09:00:00Z");
    let detail = &entry["detail"];
    assert_eq!(detail["type"], "earn");
    assert_eq!(detail["currency"], "EUR");
    assert_eq!(detail["points_per_unit"], "1");
    assert_eq!(detail["tax_included"], false);
    // `date_paid_gmt` of the fixture, and its `total` (goods, shipping and tax) in cents.
    assert_eq!(detail["paid_at"], "2026-11-20T10:02:20Z");
    assert_eq!(detail["order_total_minor"], 8914);
    assert!(detail.get("multiplier").is_none(), "no tier, no multiplier: {detail:?}");
    let lines: Vec<(String, i64, i64)> = detail["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    let id = l["line_id"].as_str().unwrap_or_default().to_owned();
                    (id, l["amount_minor"].as_i64().unwrap_or_default(), l["points"].as_i64().unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(lines, [("301".to_owned(), 3852, 38), ("302".to_owned(), 2639, 26), ("303".to_owned(), 976, 9)]);
    assert_ledger_consistent(&ledger.body);
}

#[tokio::test]
async fn a_write_method_on_an_api_route_is_405() {
    let app = app_with_woo_customer().await;
    let before = app.dump();
    for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
        for path in [WOO_CUSTOMER.to_owned(), format!("{WOO_CUSTOMER}/ledger")] {
            let body = r#"{"points": {"available": 1000000}}"#;
            let answer = app.request(method.clone(), &path, &bearer(WOO_API_KEY), body).await;
            assert_refused(&answer, 405, "method_not_allowed");
        }
    }
    assert_eq!(app.dump(), before);
    let answer = app.get(WOO_CUSTOMER, &bearer(WOO_API_KEY)).await;
    assert_eq!(balance(&answer.body), (0, 73));
}

#[tokio::test]
async fn an_unknown_api_route_is_404() {
    let app = app_with_woo_customer().await;
    for path in [
        "/api/shops/woo-shop/customers",
        "/api/shops/woo-shop/customers/42/orders",
        "/api/shops/woo-shop",
        "/api/customers/42",
    ] {
        let answer = app.get(path, &bearer(WOO_API_KEY)).await;
        assert_refused(&answer, 404, "not_found");
    }
}

#[tokio::test]
async fn each_shop_reads_only_its_own_customer_under_the_same_id() {
    let app = app_with_woo_customer().await;
    // A Shopify customer whose platform id is also 42.
    let body = edit_json(SHOPIFY_ORDER, |order| order["customer"]["id"] = 42.into());
    let answer = app.post("/webhooks/shopify", &shopify_headers("orders/paid", &body, "s-1"), body).await;
    assert_eq!(answer.body["status"], "accepted", "{:?}", answer.body);

    let woo = app.get(WOO_CUSTOMER, &bearer(WOO_API_KEY)).await;
    let shopify = app.get("/api/shops/shopify-shop/customers/42", &bearer(API_KEY)).await;
    assert_eq!((woo.body["shop"].as_str(), balance(&woo.body)), (Some("woo-shop"), (0, 73)));
    assert_eq!((shopify.body["shop"].as_str(), balance(&shopify.body)), (Some("shopify-shop"), (0, 251)));
    assert_ne!(woo.body["email"], shopify.body["email"]);
}
