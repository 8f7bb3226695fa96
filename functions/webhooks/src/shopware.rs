//! `POST /webhooks/shopware`: Shopware app webhooks. The shop is named inside the body
//! (`source.shopId`), so the envelope is read before the signature can be checked; the signature is
//! lowercase hex HMAC with the per-shop secret issued at registration. Customer entity events, and
//! the refunds behind a transaction's refund events, are read from the shop's Admin API with the
//! credentials the registration gave us.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::{Request, StatusCode};

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::error::{cause_chain, InputError, ShopApiError};
use stammkunde_domain::ids::{CustomerId, DeliveryId};
use stammkunde_domain::ingest::Change;
use stammkunde_domain::order::Platform;
use stammkunde_domain::platforms::shopware::{self, Parsed, RefundLookup};
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
            Ok(Parsed::FetchRefunds { changes, lookup }) => {
                self.with_fetched_refunds(shop, &registration, &envelope.event, ids, changes, &lookup).await
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
            let answer = match self.admin_search(shop, registration, event, "customer", &criteria).await {
                Ok(answer) => answer,
                Err(reply) => return reply,
            };
            match shopware::fetched_customers(&answer, shop, chunk) {
                Ok(fetched) => changes.extend(fetched),
                Err(e) => return unreadable_answer(shop, event, "a customer", &e),
            }
        }
        self.ingest(&shop.id, event, ids, ParseOutcome::Changes(changes)).await
    }

    /// A transaction's `refunded` or `refunded_partially` event: the order change, plus one
    /// `RecordRefund` per completed refund that Shopware's refund handling recorded for the order
    /// (none for a status set by hand, and then the order change stands alone).
    ///
    /// A repeated delivery is answered before any request to the shop; it still goes through
    /// `ingest` with the order change, which writes nothing and republishes the stored order, so
    /// its reconciliation (with the refunds stored the first time) runs again. A failed request
    /// writes nothing and answers 502, so Shopware retries.
    async fn with_fetched_refunds(
        &self,
        shop: &ShopConfig,
        registration: &ShopwareRegistration,
        event: &str,
        ids: Vec<DeliveryId>,
        mut changes: Vec<Change>,
        lookup: &RefundLookup,
    ) -> Reply {
        match self.store.delivery_seen(&shop.id, &ids).await {
            Ok(true) => return self.ingest(&shop.id, event, ids, ParseOutcome::Changes(changes)).await,
            Ok(false) => {}
            Err(e) => return e.into(),
        }
        let criteria = shopware::refund_search(&lookup.order_id);
        let answer = match self.shopware_admin.search(registration, shopware::REFUND_ENTITY, &criteria).await {
            Ok(answer) => answer,
            // An app installed with an older manifest (no refund read permission) or a Shopware
            // before 6.4.12 (no refund entity) answers 403 or 404 to every refund search: failing
            // would only get the webhook deactivated. The order change is stored as it is, and a
            // partial refund reverses nothing until the order is refunded in full.
            Err(ShopApiError::Status { status: 403 | 404, .. }) => {
                tracing::warn!(shop = %shop.id, event, "the shop does not let us read its refunds: update the app's permissions");
                return self.ingest(&shop.id, event, ids, ParseOutcome::Changes(changes)).await;
            }
            Err(e) => {
                tracing::warn!(shop = %shop.id, event, error = %cause_chain(&e), "shopware admin api failed");
                return Reply::error(StatusCode::BAD_GATEWAY, "shop_api_failed", e.to_string());
            }
        };
        match shopware::fetched_refunds(&answer, lookup) {
            Ok(refunds) => changes.extend(refunds),
            Err(e) => return unreadable_answer(shop, event, "a refund", &e),
        }
        self.ingest(&shop.id, event, ids, ParseOutcome::Changes(changes)).await
    }

    /// One Admin API search; a failure is the 502 the delivery is answered with.
    async fn admin_search(
        &self,
        shop: &ShopConfig,
        registration: &ShopwareRegistration,
        event: &str,
        entity: &str,
        criteria: &serde_json::Value,
    ) -> Result<Vec<u8>, Reply> {
        self.shopware_admin.search(registration, entity, criteria).await.map_err(|e| {
            tracing::warn!(shop = %shop.id, event, entity, error = %cause_chain(&e), "shopware admin api failed");
            Reply::error(StatusCode::BAD_GATEWAY, "shop_api_failed", e.to_string())
        })
    }
}

/// The 502 for an Admin API answer we cannot read (`what`: "a customer", "a refund").
fn unreadable_answer(shop: &ShopConfig, event: &str, what: &str, error: &InputError) -> Reply {
    tracing::warn!(shop = %shop.id, event, error = %error, "shopware admin api answer unreadable");
    let reason = format!("the shop's Admin API answered with {what} we cannot read: {error}");
    Reply::error(StatusCode::BAD_GATEWAY, "shop_api_failed", reason)
}
