//! `POST /webhooks/woocommerce`: shop from `X-WC-Webhook-Source`, topic from `X-WC-Webhook-Topic`,
//! base64 HMAC in `X-WC-Webhook-Signature`. WooCommerce activates a webhook only after an unsigned
//! ping (`webhook_id=N`, form-encoded) is answered with exactly 200.

use bytes::Bytes;
use http::Request;

use stammkunde_domain::ids::DeliveryId;
use stammkunde_domain::order::Platform;
use stammkunde_domain::platforms::woocommerce;
use stammkunde_domain::signature::{verify, DigestEncoding};

use crate::ingest::body_digest_id;
use crate::WebhookService;
use stammkunde_http::header;
use stammkunde_http::Reply;

impl WebhookService {
    pub(crate) async fn woocommerce(&self, request: &Request<Bytes>) -> Reply {
        let body = request.body();
        let signature = header(request, "x-wc-webhook-signature");
        if signature.is_none() && woocommerce::is_ping(body) {
            return Reply::ok("ping");
        }
        let Some(source) = header(request, "x-wc-webhook-source") else {
            return Reply::unauthorized("unknown_shop", "missing X-WC-Webhook-Source header");
        };
        let Some(shop) = self.shops.by_domain(Platform::Woocommerce, source) else {
            return Reply::unauthorized("unknown_shop", "no shop is configured for this webhook source");
        };
        let now = self.clock.now();
        if let Err(e) =
            verify(body, "X-WC-Webhook-Signature", signature, &shop.webhook_secrets(now), DigestEncoding::Base64)
        {
            return e.into();
        }
        let Some(topic) = header(request, "x-wc-webhook-topic") else {
            return Reply::bad_request("missing X-WC-Webhook-Topic header");
        };
        // The delivery id differs for every send, even of the same state; the body digest catches
        // the same state sent twice. Order state is guarded by its modification date besides.
        let ids: Vec<DeliveryId> = [
            header(request, "x-wc-webhook-delivery-id").and_then(|v| DeliveryId::parse(&format!("delivery:{v}")).ok()),
            body_digest_id(topic, body),
        ]
        .into_iter()
        .flatten()
        .collect();
        match woocommerce::parse(topic, body, shop, now) {
            Ok(parsed) => self.ingest(&shop.id, topic, ids, parsed).await,
            Err(e) => e.into(),
        }
    }
}
