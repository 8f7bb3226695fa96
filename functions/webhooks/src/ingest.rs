//! The pipeline every verified, parsed delivery goes through, whatever its platform:
//! deduplicate by delivery id, apply the changes under their guards, publish events built from the
//! stored state.
//!
//! A duplicate delivery writes nothing but still re-publishes the current state of its orders:
//! if the first attempt stored the delivery and then failed to publish, the platform's retry is
//! what gets the event out. Subscribers are idempotent, so publishing twice is harmless.

use chrono::Duration;

use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{DeliveryId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord, PrivacyRequestKind, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::order::Order;
use stammkunde_domain::platforms::ParseOutcome;

use crate::WebhookService;
use stammkunde_http::Reply;

impl WebhookService {
    pub(crate) async fn ingest(&self, shop: &ShopId, topic: &str, ids: Vec<DeliveryId>, parsed: ParseOutcome) -> Reply {
        let changes = match parsed {
            ParseOutcome::Ignored { reason } => {
                tracing::info!(%shop, topic, %reason, "delivery ignored");
                return Reply::ok_with("ignored", reason);
            }
            ParseOutcome::Changes(changes) => changes,
        };
        match self.shop_erased(shop, &changes).await {
            Ok(false) => {}
            Ok(true) => {
                tracing::info!(%shop, topic, "delivery for an erased shop ignored");
                return Reply::ok_with("ignored", "the shop was erased");
            }
            Err(reply) => return reply,
        }
        match self.store_and_publish(shop, topic, ids, &changes).await {
            Ok(duplicate) => Reply::ok(if duplicate { "duplicate" } else { "accepted" }),
            Err(reply) => reply,
        }
    }

    async fn store_and_publish(
        &self,
        shop: &ShopId,
        topic: &str,
        ids: Vec<DeliveryId>,
        changes: &[Change],
    ) -> Result<bool, Reply> {
        let (duplicate, orders) = if self.store.delivery_seen(shop, &ids).await? {
            (true, self.stored_orders(shop, changes).await?)
        } else {
            let now = self.clock.now();
            let record = DeliveryRecord {
                shop: shop.clone(),
                ids,
                topic: topic.to_owned(),
                received_at: now,
                expires_at: now + Duration::days(DELIVERY_RETENTION_DAYS),
            };
            let outcome = self.store.apply_delivery(&record, changes).await?;
            (outcome.duplicate, outcome.orders)
        };
        let events = events_for(changes, &orders);
        self.bus.publish(&events).await?;
        self.erase_redacted(shop, changes).await?;
        tracing::info!(%shop, topic, duplicate, events = events.len(), "delivery processed");
        Ok(duplicate)
    }

    /// Whether the shop was erased as a whole, so the delivery must store nothing (the tombstone
    /// keeps a late retry from reviving it). A `shop/redact` again is let through: it restarts
    /// the erasure, which changes nothing where nothing is left.
    async fn shop_erased(&self, shop: &ShopId, changes: &[Change]) -> Result<bool, Reply> {
        if changes.iter().any(redacts_shop) {
            return Ok(false);
        }
        Ok(self.store.shop_erased_at(shop).await?.is_some())
    }

    /// Shopify's `customers/redact`: the customer is erased before the delivery is answered, for
    /// a duplicate too (a retry after a failed erasure finishes it; erasing again changes nothing).
    /// `shop/redact`: the shop's tombstone is written before it is answered, and the erasure of
    /// everything it left is asked for on the bus (it takes longer than a webhook may).
    async fn erase_redacted(&self, shop: &ShopId, changes: &[Change]) -> Result<(), Reply> {
        for change in changes {
            let Change::RecordPrivacyRequest(request) = change else { continue };
            if request.kind == PrivacyRequestKind::ShopRedact {
                self.begin_shop_erasure(shop).await?;
                continue;
            }
            let (PrivacyRequestKind::CustomerRedact, Some(customer)) = (request.kind, &request.customer_id) else {
                continue;
            };
            if let Err(error) = self.privacy.erase(shop, customer).await {
                tracing::error!(%shop, %customer, error = %stammkunde_domain::error::cause_chain(&error), "erasure failed");
                let reason = "recorded, but the erasure did not finish; send it again";
                return Err(Reply::error(http::StatusCode::SERVICE_UNAVAILABLE, "erasure_failed", reason));
            }
        }
        Ok(())
    }

    async fn begin_shop_erasure(&self, shop: &ShopId) -> Result<(), Reply> {
        if let Err(error) = self.privacy.mark_shop_erased(shop).await {
            tracing::error!(%shop, error = %stammkunde_domain::error::cause_chain(&error), "marking the shop erased failed");
            let reason = "recorded, but the erasure did not start; send it again";
            return Err(Reply::error(http::StatusCode::SERVICE_UNAVAILABLE, "erasure_failed", reason));
        }
        self.bus.publish(&[DomainEvent::ShopErasureRequested { shop: shop.clone() }]).await?;
        Ok(())
    }

    async fn stored_orders(&self, shop: &ShopId, changes: &[Change]) -> Result<Vec<Order>, Reply> {
        let mut orders = Vec::new();
        for id in changes.iter().filter_map(Change::order_id) {
            if let Some(order) = self.store.order(shop, id).await? {
                orders.push(order);
            }
        }
        Ok(orders)
    }
}

fn redacts_shop(change: &Change) -> bool {
    matches!(change, Change::RecordPrivacyRequest(request) if request.kind == PrivacyRequestKind::ShopRedact)
}

/// The events a delivery announces. Order events carry the stored state, never the payload's.
fn events_for(changes: &[Change], stored: &[Order]) -> Vec<DomainEvent> {
    let current = |order: &Order| stored.iter().find(|o| o.order_id == order.order_id).cloned();
    changes
        .iter()
        .flat_map(|change| match change {
            Change::RecordOrder(order) => {
                current(order).map(|order| DomainEvent::OrderRecorded { order }).into_iter().collect()
            }
            Change::DeleteOrder { shop, order_id, at } => {
                let mut events =
                    vec![DomainEvent::OrderDeleted { shop: shop.clone(), order_id: order_id.clone(), at: *at }];
                if let Some(order) = stored.iter().find(|o| &o.order_id == order_id) {
                    events.push(DomainEvent::OrderRecorded { order: order.clone() });
                }
                events
            }
            Change::UpsertCustomer(profile) => {
                vec![DomainEvent::CustomerUpdated {
                    shop: profile.shop.clone(),
                    customer_id: profile.customer_id.clone(),
                }]
            }
            Change::DeleteCustomer { shop, customer_id, at } => {
                vec![DomainEvent::CustomerDeleted { shop: shop.clone(), customer_id: customer_id.clone(), at: *at }]
            }
            Change::RecordPrivacyRequest(request) => vec![DomainEvent::PrivacyRequested { request: request.clone() }],
            Change::RecordUninstall { shop, at } => vec![DomainEvent::AppUninstalled { shop: shop.clone(), at: *at }],
            // From the payload (the apply reports no stored refunds): a repeat names the same refund
            // id, which the ledger keys its reversals by, so announcing it again takes nothing twice.
            Change::RecordRefund(refund) => vec![DomainEvent::RefundRecorded { refund: refund.clone() }],
        })
        .collect()
}

/// An id for a delivery the platform gave none for: a digest of topic and body, so the very same
/// bytes sent twice are recognised.
pub(crate) fn body_digest_id(topic: &str, body: &[u8]) -> Option<DeliveryId> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(topic.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    DeliveryId::parse(&format!("sha256:{}", hex::encode(hasher.finalize()))).ok()
}
