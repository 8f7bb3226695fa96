//! Adapting API Gateway requests (via `lambda_http`) to the handlers' `Request<Bytes>`.

use bytes::Bytes;
use http::Request;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;

use crate::ClientIp;

/// The raw body bytes exactly as the platform sent them: `lambda_http` has already decoded
/// base64 bodies (`isBase64Encoded`) into `Body::Binary`, which signatures must be checked over.
pub fn from_lambda(request: lambda_http::Request) -> Request<Bytes> {
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
        _ => None,
    };
    let (mut parts, body) = request.into_parts();
    if let Some(ip) = source_ip {
        parts.extensions.insert(ClientIp(ip));
    }
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(binary) => Bytes::from(binary),
        // `Body` is non-exhaustive; anything new is treated as having no body.
        _ => Bytes::new(),
    };
    Request::from_parts(parts, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base64_encoded_api_gateway_body_reaches_the_handler_as_its_raw_bytes() {
        let event = r#"{"version":"2.0","routeKey":"POST /webhooks/shopify","rawPath":"/webhooks/shopify",
            "rawQueryString":"","headers":{"content-type":"application/json"},
            "requestContext":{"http":{"method":"POST","path":"/webhooks/shopify","protocol":"HTTP/1.1",
            "sourceIp":"203.0.113.1","userAgent":"Shopify"},"accountId":"123456789012","apiId":"api",
            "domainName":"api.example","domainPrefix":"api","requestId":"r","routeKey":"POST /webhooks/shopify",
            "stage":"$default","time":"23/Nov/2026:08:00:00 +0000","timeEpoch":1795420800000},
            "body":"eyJpZCI6MX0=","isBase64Encoded":true}"#;
        let request = lambda_http::request::from_str(event).unwrap_or_else(|e| panic!("{e}"));
        let request = from_lambda(request);
        assert_eq!(request.body().as_ref(), br#"{"id":1}"#);
        assert_eq!(request.uri().path(), "/webhooks/shopify");
        assert_eq!(crate::client_ip(&request), "203.0.113.1".parse().ok(), "the source address is kept");
    }
}
