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
