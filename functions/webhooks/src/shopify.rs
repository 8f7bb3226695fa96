//! `POST /webhooks/shopify`: shop from `X-Shopify-Shop-Domain`, topic from `X-Shopify-Topic`
//! (never from the body), base64 HMAC of the raw body in `X-Shopify-Hmac-Sha256`.

use bytes::Bytes;
use http::Request;

use stammkunde_domain::ids::DeliveryId;
use stammkunde_domain::order::Platform;
use stammkunde_domain::platforms::shopify;
use stammkunde_domain::signature::{verify, DigestEncoding};

use crate::ingest::body_digest_id;
use crate::WebhookService;
use stammkunde_http::header;
use stammkunde_http::Reply;

impl WebhookService {
    pub(crate) async fn shopify(&self, request: &Request<Bytes>) -> Reply {
        let Some(domain) = header(request, "x-shopify-shop-domain") else {
            return Reply::unauthorized("unknown_shop", "missing X-Shopify-Shop-Domain header");
        };
        let Some(shop) = self.shops.by_domain(Platform::Shopify, domain) else {
            return Reply::unauthorized("unknown_shop", "no shop is configured for this shop domain");
        };
        let now = self.clock.now();
        let body = request.body();
        let signature = header(request, "x-shopify-hmac-sha256");
        if let Err(e) =
            verify(body, "X-Shopify-Hmac-Sha256", signature, &shop.webhook_secrets(now), DigestEncoding::Base64)
        {
            return e.into();
        }
        let Some(topic) = header(request, "x-shopify-topic") else {
            return Reply::bad_request("missing X-Shopify-Topic header");
        };
        let ids = delivery_ids(request, topic, body);
        let delivery_ref = ids.first().map(|id| id.as_str().to_owned()).unwrap_or_default();
        match shopify::parse(topic, body, shop, &delivery_ref, now) {
            Ok(parsed) => self.ingest(&shop.id, topic, ids, parsed).await,
            Err(e) => e.into(),
        }
    }
}

/// The delivery's identity: `X-Shopify-Event-Id`, else `X-Shopify-Webhook-Id`, else the body
/// digest. Shopify's docs disagree on which header marks a duplicate; the event id is the same on
/// every retry of an event and on every subscription that received it, so it catches every
/// duplicate the webhook id would and more. One id is one record per delivery (one write on
/// DynamoDB). Whatever slips past it still meets the business keys: an order's version guard
/// and its credit's entry key.
fn delivery_ids(request: &Request<Bytes>, topic: &str, body: &[u8]) -> Vec<DeliveryId> {
    let from_header =
        |name: &str, prefix: &str| header(request, name).and_then(|v| DeliveryId::parse(&format!("{prefix}:{v}")).ok());
    from_header("x-shopify-event-id", "event")
        .or_else(|| from_header("x-shopify-webhook-id", "webhook"))
        .or_else(|| body_digest_id(topic, body))
        .into_iter()
        .collect()
}
