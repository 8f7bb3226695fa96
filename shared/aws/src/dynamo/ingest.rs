//! `IngestStore`: delivery deduplication and applying a delivery's changes.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{DeliveryId, ShopId};
use stammkunde_domain::ingest::{ApplyOutcome, Change, DeliveryRecord};
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::IngestStore;
use std::time::Duration;

use super::codec::key_item;
use super::codec::shop::encode_delivery;
use super::errors::store_error;
use super::expr::Expr;
use super::schema::{delivery_key, PK};
use super::DynamoStore;

/// DynamoDB's limit of keys per BatchGetItem.
const BATCH_KEYS_MAX: usize = 100;
/// Attempts at keys a BatchGetItem left unprocessed (throttling) before reporting unavailable.
const UNPROCESSED_ATTEMPTS_MAX: u32 = 5;
const UNPROCESSED_BACKOFF: Duration = Duration::from_millis(50);

#[async_trait]
impl IngestStore for DynamoStore {
    async fn delivery_seen(&self, shop: &ShopId, ids: &[DeliveryId]) -> Result<bool, StoreError> {
        for chunk in unique(ids).chunks(BATCH_KEYS_MAX) {
            if self.any_delivery_exists(shop, chunk).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn apply_delivery(&self, delivery: &DeliveryRecord, changes: &[Change]) -> Result<ApplyOutcome, StoreError> {
        let mut applied = Vec::with_capacity(changes.len());
        let mut orders = Vec::new();
        for change in changes {
            applied.push(self.apply_change(change, &mut orders).await?);
        }
        // Last, so a delivery is only ever recorded once all its changes are stored.
        let duplicate = self.record_delivery(delivery).await?;
        Ok(ApplyOutcome { duplicate, applied, orders })
    }
}

impl DynamoStore {
    async fn apply_change(&self, change: &Change, orders: &mut Vec<Order>) -> Result<bool, StoreError> {
        match change {
            Change::UpsertCustomer(profile) => self.upsert_customer(profile).await,
            Change::RecordOrder(order) => {
                let (applied, stored) = self.record_order(order).await?;
                touch(orders, stored);
                Ok(applied)
            }
            Change::DeleteCustomer { shop, customer_id, at } => self.delete_customer(shop, customer_id, *at).await,
            Change::DeleteOrder { shop, order_id, .. } => {
                let (applied, stored) = self.delete_order(shop, order_id).await?;
                if let Some(stored) = stored {
                    touch(orders, stored);
                }
                Ok(applied)
            }
            Change::RecordPrivacyRequest(request) => self.record_privacy_request(request).await,
            Change::RecordUninstall { shop, at } => self.record_uninstall(shop, *at).await,
        }
    }

    /// Records the delivery's ids, each with a conditional PutItem, in sorted order, stopping at
    /// the first id already recorded (then the delivery is a duplicate).
    ///
    /// Plain puts rather than one TransactWriteItems: a transaction costs twice the write units
    /// per item, and atomicity buys nothing here. The changes are all stored before this runs, so
    /// an id recorded by a delivery that then turns out to be a duplicate only marks content that
    /// is in the store anyway. Racing copies stay exclusive because every copy claims its ids in
    /// the same (sorted) order, like locks taken in a global order: the first shared id decides,
    /// and the loser stops there, so exactly one of any set of overlapping copies is not a
    /// duplicate.
    async fn record_delivery(&self, delivery: &DeliveryRecord) -> Result<bool, StoreError> {
        for id in unique(&delivery.ids) {
            let mut expr = Expr::default();
            let condition = format!("attribute_not_exists({})", expr.name(PK));
            if self.put_if(encode_delivery(delivery, &id), condition, expr).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn any_delivery_exists(&self, shop: &ShopId, ids: &[DeliveryId]) -> Result<bool, StoreError> {
        let keys = ids.iter().map(|id| key_item(&delivery_key(shop, id))).collect();
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PK)
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::backend("BatchGetItem request", e))?;
        for attempt in 0..UNPROCESSED_ATTEMPTS_MAX {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|e| store_error("BatchGetItem", e))?;
            if out.responses.as_ref().and_then(|r| r.get(&self.table)).is_some_and(|items| !items.is_empty()) {
                return Ok(true);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => pending = rest,
                _ => return Ok(false),
            }
            tokio::time::sleep(UNPROCESSED_BACKOFF * 2u32.pow(attempt)).await;
        }
        Err(StoreError::Unavailable { message: "BatchGetItem left keys unprocessed".into(), source: None })
    }
}

/// Sorted (the claim order) and deduplicated.
fn unique(ids: &[DeliveryId]) -> Vec<DeliveryId> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    ids
}

/// Keeps the latest stored state of each order once.
fn touch(orders: &mut Vec<Order>, stored: Order) {
    match orders.iter_mut().find(|o| o.shop == stored.shop && o.order_id == stored.order_id) {
        Some(existing) => *existing = stored,
        None => orders.push(stored),
    }
}
