//! TransactWriteItems: the multi-entry ledger append and the code claims. A transaction costs two
//! write units per item (per started KB) instead of one, so it is used only where several items
//! must change together; single-item writes stay plain conditional writes.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use stammkunde_domain::error::StoreError;

use super::codec::{key_item, Item};
use super::errors::{cancellation_reasons, store_error, Reason};
use super::expr::Expr;
use super::schema::{Key, PK};
use super::DynamoStore;

/// DynamoDB's limit of actions in one TransactWriteItems.
pub(crate) const TRANSACTION_ACTIONS_MAX: usize = 100;

/// What a transaction did.
#[derive(Debug, PartialEq)]
pub(crate) enum Transacted {
    Committed,
    /// Nothing was written; one reason per action, in the order sent.
    Cancelled(Vec<Reason>),
}

/// Whether any action's condition failed (as opposed to a conflict with another transaction).
pub(crate) fn any_condition_failed(reasons: &[Reason]) -> bool {
    reasons.iter().any(|r| matches!(r, Reason::ConditionFailed(_)))
}

fn request_error(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::backend("TransactWriteItems request", e)
}

impl DynamoStore {
    pub(crate) async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Transacted, StoreError> {
        let result = self.client.transact_write_items().set_transact_items(Some(actions)).send().await;
        let err = match result {
            Ok(_) => return Ok(Transacted::Committed),
            Err(err) => err,
        };
        let reasons = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                cancelled.cancellation_reasons().to_vec()
            }
            _ => return Err(store_error("TransactWriteItems", err)),
        };
        cancellation_reasons(&reasons, err).map(Transacted::Cancelled)
    }

    /// A Put of a new item: conditional on no item with its key. Without ALL_OLD: callers only
    /// need to know which condition failed, not what is stored.
    pub(crate) fn put_new_action(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expr::default();
        let condition = format!("attribute_not_exists({})", expr.name(PK));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(crate) fn update_action(
        &self,
        key: &Key,
        update: String,
        condition: String,
        expr: Expr,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(crate) fn delete_action(
        &self,
        key: &Key,
        condition: String,
        expr: Expr,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
