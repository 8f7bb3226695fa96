//! The sample event in `events/` is a real API Gateway request for this function: it parses, its
//! base64 body decodes to the fixture's exact bytes, and its signature verifies with the sample
//! shop's secret, so `cargo lambda invoke` with it gets a 200.

use stammkunde_domain::config::AppConfig;
use stammkunde_domain::signature::{verify, DigestEncoding};
use stammkunde_http::from_lambda;

#[test]
fn the_sample_shopify_delivery_parses_and_its_signature_verifies() {
    let raw = include_str!("../../../events/webhooks-shopify-orders-paid.json");
    let request = from_lambda(lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(request.uri().path(), "/webhooks/shopify");
    assert_eq!(request.body().as_ref(), include_bytes!("../../../fixtures/webhooks/shopify/orders_paid.json"));
    let config =
        AppConfig::from_toml(include_str!("../../../events/sample-config.toml")).unwrap_or_else(|e| panic!("{e}"));
    let signature = request.headers().get("x-shopify-hmac-sha256").and_then(|v| v.to_str().ok());
    let secrets = [&config.shops[0].webhook_secret];
    assert_eq!(verify(request.body(), "h", signature, &secrets, DigestEncoding::Base64), Ok(()));
}
