//! One conditional write per change (customer profiles and last orders excepted: those are
//! `customer_writes`, one per customer per delivery). Each returns whether it changed stored
//! state; a failed condition is "stale or already applied", never an error.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::ingest::PrivacyRequest;
use stammkunde_domain::order::Order;

use super::codec::customer::DELETED_AT;
use super::codec::order::{decode_order, encode_order, CANCELLED, CUSTOMER as ORDER_CUSTOMER, VERSION};
use super::codec::shop::{encode_privacy_request, UNINSTALLED_AT};
use super::codec::{key_item, s, time, Item};
use super::errors::contention;
use super::expr::Expr;
use super::schema::{
    order_key, profile_key, shop_customers_index_value, uninstall_key, Key, BY_SHOP, CUSTOMER_INDEXES, PK,
};
use super::{put_condition_failed, update_condition_failed, DynamoStore};

/// Puts of one order before giving up as contended: the first, and one with the stored customer
/// kept; more only if writers keep racing on the same order.
const ORDER_PUT_ATTEMPTS: usize = 4;

impl DynamoStore {
    /// Stores the order if its version is newer. Returns whether the put changed anything and the
    /// order as stored afterwards, taken from the failed condition's ALL_OLD (no second read). The
    /// customer's last order moves later, with the delivery's one write per customer (`ingest`),
    /// from the stored order: also after a stale put, because this may be the retry that finishes
    /// what a failed attempt began.
    pub(super) async fn record_order(&self, order: &Order) -> Result<(bool, Order), StoreError> {
        let key = order_key(&order.shop, &order.order_id);
        // First as given; if a newer version lost only because the stored order has another
        // customer, again with that customer kept (`Order::keeping_customer`), pinned to it.
        let mut order = order.clone();
        for _ in 0..ORDER_PUT_ATTEMPTS {
            let mut expr = Expr::default();
            let (customer, version) = (expr.name(ORDER_CUSTOMER), expr.value(s(order.version.sort_key())));
            let same_customer = match &order.customer_id {
                Some(id) => {
                    format!("(attribute_not_exists({customer}) OR {customer} = {})", expr.value(s(id.as_str())))
                }
                None => format!("attribute_not_exists({customer})"),
            };
            let condition = format!(
                "attribute_not_exists({}) OR ({} < {version} AND {same_customer})",
                expr.name(PK),
                expr.name(VERSION)
            );
            let Some(old) = self.put_if(encode_order(&order)?, condition, expr).await? else {
                return Ok((true, order));
            };
            let stored = self.stored_order(&order.shop, &order.order_id, &key, old).await?;
            if stored.version >= order.version {
                return Ok((false, stored));
            }
            order = order.keeping_customer(stored.customer_id.as_ref());
        }
        Err(contention(&key.label()))
    }

    /// The old item from a failed condition, or (if DynamoDB sent none) a consistent read.
    async fn stored_order(&self, shop: &ShopId, id: &OrderId, key: &Key, old: Item) -> Result<Order, StoreError> {
        if !old.is_empty() {
            return decode_order(shop, id, &old);
        }
        match self.get(key).await? {
            Some(item) => decode_order(shop, id, &item),
            // The condition failed on an item that is gone now: someone else is writing it.
            None => Err(contention(&key.label())),
        }
    }

    /// Marks a customer deleted (an unknown one too) and drops them from every index. The ledger stays.
    pub(super) async fn delete_customer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        // Deleted customers stay in the shop's listing (`by_shop`); a tombstone joins it.
        let set = vec![(DELETED_AT, time(at)), (BY_SHOP.attribute, s(shop_customers_index_value(shop)))];
        let mut update = expr.set_clause(set).unwrap_or_default();
        let indexes: Vec<String> = CUSTOMER_INDEXES.iter().map(|i| expr.name(i.attribute)).collect();
        update.push_str(&format!(" REMOVE {}", indexes.join(", ")));
        // No `attribute_exists`: an unknown customer gets a tombstone (the item with only `da`), so
        // a profile or order sent before the deletion and delivered after it does not revive them.
        let condition = format!("attribute_not_exists({})", expr.name(DELETED_AT));
        self.update_if(&profile_key(shop, customer), update, condition, expr).await
    }

    /// Marks a stored order cancelled, version unchanged. Returns whether it changed and the
    /// stored order after (None for an unknown order, which is left alone).
    pub(super) async fn delete_order(&self, shop: &ShopId, id: &OrderId) -> Result<(bool, Option<Order>), StoreError> {
        let key = order_key(shop, id);
        let mut expr = Expr::default();
        let update = expr.set_clause(vec![(CANCELLED, AttributeValue::Bool(true))]).unwrap_or_default();
        let not_cancelled = expr.value(AttributeValue::Bool(false));
        let condition = format!("attribute_exists({}) AND {} = {not_cancelled}", expr.name(PK), expr.name(CANCELLED));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&key)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok((true, Some(decode_order(shop, id, &out.attributes.unwrap_or_default())?))),
            Err(err) => match update_condition_failed(err)? {
                Some(old) if !old.is_empty() => Ok((false, Some(decode_order(shop, id, &old)?))),
                _ => Ok((false, None)),
            },
        }
    }

    pub(super) async fn record_privacy_request(&self, request: &PrivacyRequest) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        let condition = format!("attribute_not_exists({})", expr.name(PK));
        self.put_if(encode_privacy_request(request), condition, expr).await.map(|old| old.is_none())
    }

    /// Keeps the latest uninstall time.
    pub(super) async fn record_uninstall(&self, shop: &ShopId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        let update = expr.set_clause(vec![(UNINSTALLED_AT, time(at))]).unwrap_or_default();
        let (name, at) = (expr.name(UNINSTALLED_AT), expr.value(time(at)));
        let condition = format!("attribute_not_exists({name}) OR {name} < {at}");
        self.update_if(&uninstall_key(shop), update, condition, expr).await
    }

    /// A conditional put. `Ok(None)` if written; `Ok(Some(old))` if the condition failed, with
    /// the stored item (empty if there was none or DynamoDB sent none).
    pub(super) async fn put_if(&self, item: Item, condition: String, expr: Expr) -> Result<Option<Item>, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(err) => put_condition_failed(err).map(|old| Some(old.unwrap_or_default())),
        }
    }

    /// A put of a new item (`attribute_not_exists`): true if written, false if the key was taken.
    /// Without ALL_OLD: callers of this need only the answer.
    pub(super) async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        let condition = format!("attribute_not_exists({})", expr.name(PK));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => put_condition_failed(err).map(|_| false),
        }
    }

    /// A conditional update: true if applied, false if the condition failed.
    pub(super) async fn update_if(
        &self,
        key: &Key,
        update: String,
        condition: String,
        expr: Expr,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => update_condition_failed(err).map(|_| false),
        }
    }
}
