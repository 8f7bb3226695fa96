//! The sample event in `events/` is a real API Gateway request for this function.

use stammkunde_domain::config::AppConfig;
use stammkunde_http::from_lambda;

#[test]
fn the_sample_customer_request_parses_and_carries_the_sample_key() {
    let raw = include_str!("../../../events/api-get-customer.json");
    let request = from_lambda(lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(request.uri().path(), "/api/shops/sample-shop/customers/7654321098765");
    let config =
        AppConfig::from_toml(include_str!("../../../events/sample-config.toml")).unwrap_or_else(|e| panic!("{e}"));
    let key = request.headers().get("authorization").and_then(|v| v.to_str().ok());
    assert_eq!(key, Some(format!("Bearer {}", config.shops[0].api_key.expose()).as_str()));
}

#[test]
fn the_sample_subscription_request_carries_the_sample_key_and_a_complete_request() {
    let raw = include_str!("../../../events/api-post-subscription.json");
    let request = from_lambda(lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!((request.method().as_str(), request.uri().path()), ("POST", "/api/shops/sample-shop/subscriptions"));
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap_or_else(|e| panic!("{e}"));
    for field in ["customer_id", "wording", "locale", "source", "ip", "user_agent"] {
        assert!(body[field].as_str().is_some_and(|v| !v.is_empty()), "{field}");
    }
    assert_eq!(stammkunde_http::client_ip(&request), "203.0.113.10".parse().ok());
}
