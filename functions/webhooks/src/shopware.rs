//! `POST /webhooks/shopware`: Shopware app webhooks. The shop is named inside the body
//! (`source.shopId`), so the envelope is read before the signature can be checked; the signature is
//! lowercase hex HMAC with the per-shop secret issued at registration. Customer entity events are
//! completed from the shop's Admin API with the credentials the registration gave us.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::{Request, StatusCode};

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::error::cause_chain;
use stammkunde_domain::ids::{CustomerId, DeliveryId};
use stammkunde_domain::order::Platform;
use stammkunde_domain::platforms::shopware::{self, Parsed};
use stammkunde_domain::platforms::ParseOutcome;
use stammkunde_domain::registration::ShopwareRegistration;
use stammkunde_domain::secret::Secret;
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
        let registration = match self.verify_shopware(request, shop).await {
            Ok(registration) => registration,
            Err(reply) => return reply,
        };
        let now = self.clock.now();
        if let Err(reply) = check_timestamp(envelope.timestamp, now) {
            return reply;
        }
        let ids: Vec<DeliveryId> = match &envelope.event_id {
            Some(id) => vec![id.clone()],
            None => body_digest_id(&envelope.event, body).into_iter().collect(),
        };
        match shopware::parse(&envelope, shop, now) {
            Ok(Parsed::FetchCustomers(customers)) => {
                self.fetched_customers(shop, &registration, &envelope.event, ids, &customers).await
            }
            Ok(Parsed::Ready(parsed)) => self.ingest(&shop.id, &envelope.event, ids, parsed).await,
            Err(e) => e.into(),
        }
    }

    /// The shop's registration, if the body is signed with its confirmed secret.
    async fn verify_shopware(
        &self,
        request: &Request<Bytes>,
        shop: &ShopConfig,
    ) -> Result<ShopwareRegistration, Reply> {
        let registration = self.store.registration(&shop.id).await?;
        let Some(registration) = registration.filter(|r| r.shop_secret.is_some()) else {
            return Err(Reply::unauthorized("not_registered", "this shop has not completed app registration"));
        };
        let secrets: Vec<&Secret> = registration.shop_secret.iter().collect();
        let signature = header(request, "shopware-shop-signature");
        verify(request.body(), "shopware-shop-signature", signature, &secrets, DigestEncoding::Hex)?;
        Ok(registration)
    }

    /// `customer.written` names customers without their data: read them from the shop's Admin
    /// API, then store them like any other delivery. A repeated delivery is answered before any
    /// request to the shop; a failed request writes nothing and answers 502, so Shopware retries.
    async fn fetched_customers(
        &self,
        shop: &ShopConfig,
        registration: &ShopwareRegistration,
        event: &str,
        ids: Vec<DeliveryId>,
        customers: &[CustomerId],
    ) -> Reply {
        match self.store.delivery_seen(&shop.id, &ids).await {
            Ok(true) => return Reply::ok("duplicate"),
            Ok(false) => {}
            Err(e) => return e.into(),
        }
        let mut changes = Vec::with_capacity(customers.len());
        for chunk in customers.chunks(shopware::CUSTOMER_SEARCH_LIMIT) {
            let criteria = shopware::customer_search(chunk);
            let answer = match self.shopware_admin.search(registration, "customer", &criteria).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(shop = %shop.id, event, error = %cause_chain(&e), "shopware admin api failed");
                    return Reply::error(StatusCode::BAD_GATEWAY, "shop_api_failed", e.to_string());
                }
            };
            match shopware::fetched_customers(&answer, shop, chunk) {
                Ok(fetched) => changes.extend(fetched),
                Err(e) => {
                    tracing::warn!(shop = %shop.id, event, error = %e, "shopware admin api answer unreadable");
                    let reason = format!("the shop's Admin API answered with a customer we cannot read: {e}");
                    return Reply::error(StatusCode::BAD_GATEWAY, "shop_api_failed", reason);
                }
            }
        }
        self.ingest(&shop.id, event, ids, ParseOutcome::Changes(changes)).await
    }
}
