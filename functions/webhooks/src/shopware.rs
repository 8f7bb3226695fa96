//! `POST /webhooks/shopware`: Shopware app webhooks. The shop is named inside the body
//! (`source.shopId`), so the envelope is read before the signature can be checked; the signature is
//! lowercase hex HMAC with the per-shop secret issued at registration.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::Request;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ids::DeliveryId;
use stammkunde_domain::order::Platform;
use stammkunde_domain::platforms::shopware;
use stammkunde_domain::signature::{verify, DigestEncoding};

use crate::ingest::body_digest_id;
use crate::WebhookService;
use stammkunde_http::header;
use stammkunde_http::Reply;

/// Oldest `timestamp` we accept. Shopware 6.5/6.6 retries within seconds, newer versions for up to
/// about 4.5 hours; delivery ids are remembered for days, so inside this window a replay is caught
/// as a duplicate and outside it as stale.
pub(crate) const TIMESTAMP_AGE_MAX: Duration = Duration::hours(6);
/// How far ahead of our clock a timestamp may be (clock skew).
pub(crate) const TIMESTAMP_SKEW_MAX: Duration = Duration::minutes(5);

pub(crate) fn check_timestamp(timestamp: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Reply> {
    if timestamp < now - TIMESTAMP_AGE_MAX {
        return Err(Reply::unauthorized("stale_timestamp", "timestamp is older than 6 hours"));
    }
    if timestamp > now + TIMESTAMP_SKEW_MAX {
        return Err(Reply::unauthorized("stale_timestamp", "timestamp is in the future"));
    }
    Ok(())
}

impl WebhookService {
    pub(crate) async fn shopware(&self, request: &Request<Bytes>) -> Reply {
        let body = request.body();
        let envelope = match shopware::parse_envelope(body) {
            Ok(envelope) => envelope,
            Err(e) => return e.into(),
        };
        let Some(shop) = self.shops.by_domain(Platform::Shopware, &envelope.shopware_shop_id) else {
            return Reply::unauthorized("unknown_shop", "no shop is configured for this Shopware shop id");
        };
        if let Err(reply) = self.verify_shopware(request, shop).await {
            return reply;
        }
        let now = self.clock.now();
        if let Err(reply) = check_timestamp(envelope.timestamp, now) {
            return reply;
        }
        let ids: Vec<DeliveryId> = match &envelope.event_id {
            Some(id) => vec![id.clone()],
            None => body_digest_id(&envelope.event, body).into_iter().collect(),
        };
        match shopware::parse(&envelope, shop, now) {
            Ok(parsed) => self.ingest(&shop.id, &envelope.event, ids, parsed).await,
            Err(e) => e.into(),
        }
    }

    async fn verify_shopware(&self, request: &Request<Bytes>, shop: &ShopConfig) -> Result<(), Reply> {
        let registration = self.store.registration(&shop.id).await?;
        let Some(secret) = registration.and_then(|r| r.shop_secret) else {
            return Err(Reply::unauthorized("not_registered", "this shop has not completed app registration"));
        };
        let signature = header(request, "shopware-shop-signature");
        verify(request.body(), "shopware-shop-signature", signature, &[&secret], DigestEncoding::Hex)?;
        Ok(())
    }
}
