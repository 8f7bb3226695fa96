//! `IngestStore`: delivery deduplication and applying a delivery's changes.
//!
//! A delivery is applied in three steps: the changes with writes of their own (orders, refunds,
//! privacy requests, uninstalls) in delivery order; then, per customer the delivery touches (by a profile,
//! or as the customer of a stored order), at most one write of profile and last order together
//! (`customer_writes`), a `DeleteCustomer` keeping its own write in its place; then the delivery
//! record. A Shopify `orders/paid` (profile and order of one customer) is thus one UpdateItem on
//! the profile, one PutItem of the order and the delivery record(s).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::{ApplyOutcome, Change, DeliveryRecord};
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::IngestStore;
use std::time::Duration;

use super::codec::key_item;
use super::codec::shop::encode_delivery;
use super::customer_writes::Part;
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
        let mut applied = vec![false; changes.len()];
        let mut orders = Vec::new();
        let mut customers = Customers::default();
        for (index, change) in changes.iter().enumerate() {
            let changed = self.apply_change(index, change, &mut orders, &mut customers).await?;
            set_applied(&mut applied, index, changed);
        }
        for customer in &customers.0 {
            self.apply_customer(customer, &mut applied).await?;
        }
        // Last, so a delivery is only ever recorded once all its changes are stored.
        let duplicate = self.record_delivery(delivery).await?;
        Ok(ApplyOutcome { duplicate, applied, orders })
    }
}

/// What a delivery asks of one customer, in delivery order, with the index of the change asking.
struct CustomerChanges<'a> {
    shop: ShopId,
    customer: CustomerId,
    changes: Vec<(usize, CustomerChange<'a>)>,
}

#[derive(Clone, Copy)]
enum CustomerChange<'a> {
    /// Goes into the customer's one profile write (`customer_writes`).
    Part(Part<'a>),
    /// `DeleteCustomer`: a write of its own.
    Delete(DateTime<Utc>),
}

/// The customers a delivery touches, in the order it first touches them.
#[derive(Default)]
struct Customers<'a>(Vec<CustomerChanges<'a>>);

impl<'a> Customers<'a> {
    fn push(&mut self, shop: &ShopId, customer: &CustomerId, index: usize, change: CustomerChange<'a>) {
        match self.0.iter_mut().find(|c| &c.shop == shop && &c.customer == customer) {
            Some(known) => known.changes.push((index, change)),
            None => self.0.push(CustomerChanges {
                shop: shop.clone(),
                customer: customer.clone(),
                changes: vec![(index, change)],
            }),
        }
    }
}

impl DynamoStore {
    /// Applies a change that has a write of its own (orders, refunds, privacy requests, uninstalls) and
    /// collects what it asks of a customer. Returns whether its own write changed stored state.
    async fn apply_change<'a>(
        &self,
        index: usize,
        change: &'a Change,
        orders: &mut Vec<Order>,
        customers: &mut Customers<'a>,
    ) -> Result<bool, StoreError> {
        match change {
            Change::UpsertCustomer(profile) => {
                let part = CustomerChange::Part(Part::Profile(profile));
                customers.push(&profile.shop, &profile.customer_id, index, part);
                Ok(false)
            }
            Change::RecordOrder(order) => {
                let (applied, stored) = self.record_order(order).await?;
                // From the stored order, also after a stale put: if an earlier attempt stored the
                // order and then failed, this is the retry that moves the last order date.
                if let Some(customer) = &stored.customer_id {
                    let part = CustomerChange::Part(Part::LastOrder(stored.placed_at));
                    customers.push(&stored.shop, customer, index, part);
                }
                touch(orders, stored);
                Ok(applied)
            }
            Change::DeleteCustomer { shop, customer_id, at } => {
                customers.push(shop, customer_id, index, CustomerChange::Delete(*at));
                Ok(false)
            }
            Change::DeleteOrder { shop, order_id, .. } => {
                let (applied, stored) = self.delete_order(shop, order_id).await?;
                if let Some(stored) = stored {
                    touch(orders, stored);
                }
                Ok(applied)
            }
            Change::RecordPrivacyRequest(request) => self.record_privacy_request(request).await,
            Change::RecordUninstall { shop, at } => self.record_uninstall(shop, *at).await,
            Change::RecordRefund(refund) => self.record_refund(refund).await,
        }
    }

    /// One customer's share of the delivery: its profile parts as one write (`write_customer`),
    /// split only by a `DeleteCustomer`, which keeps its own write in its place in the order. A
    /// change counts as applied if its own write or its part did.
    async fn apply_customer(&self, customer: &CustomerChanges<'_>, applied: &mut [bool]) -> Result<(), StoreError> {
        let mut parts: Vec<(usize, Part<'_>)> = Vec::new();
        for &(index, change) in &customer.changes {
            match change {
                CustomerChange::Part(part) => parts.push((index, part)),
                CustomerChange::Delete(at) => {
                    self.write_parts(customer, &mut parts, applied).await?;
                    let deleted = self.delete_customer(&customer.shop, &customer.customer, at).await?;
                    set_applied(applied, index, deleted);
                }
            }
        }
        self.write_parts(customer, &mut parts, applied).await
    }

    /// Writes the parts collected so far (if any) and marks their changes.
    async fn write_parts(
        &self,
        customer: &CustomerChanges<'_>,
        parts: &mut Vec<(usize, Part<'_>)>,
        applied: &mut [bool],
    ) -> Result<(), StoreError> {
        if parts.is_empty() {
            return Ok(());
        }
        let only_parts: Vec<Part<'_>> = parts.iter().map(|&(_, part)| part).collect();
        let written = self.write_customer(&customer.shop, &customer.customer, &only_parts).await?;
        for ((index, _), changed) in parts.drain(..).zip(written) {
            set_applied(applied, index, changed);
        }
        Ok(())
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

/// Marks change `index` applied if `changed` (a change with a write and a part is applied if
/// either changed stored state).
fn set_applied(applied: &mut [bool], index: usize, changed: bool) {
    if let Some(slot) = applied.get_mut(index) {
        *slot |= changed;
    }
}

/// Keeps the latest stored state of each order once.
fn touch(orders: &mut Vec<Order>, stored: Order) {
    match orders.iter_mut().find(|o| o.shop == stored.shop && o.order_id == stored.order_id) {
        Some(existing) => *existing = stored,
        None => orders.push(stored),
    }
}
