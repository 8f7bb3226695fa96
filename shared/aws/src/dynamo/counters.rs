//! Fixed-window request counters (`MailStore::take_request`): one item per key and window,
//! `{shop}#Z` / `{key}#{window start, epoch seconds}`, with `n` the requests taken and the TTL
//! attribute at the window's expiry. A take is one UpdateItem that ADDs one under the condition
//! that fewer than the limit were taken, so concurrent takes never pass the limit; an old window
//! is never read again (its start is in the key) and TTL deletes it.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::ShopId;

use super::codec::{key_item, time};
use super::expr::Expr;
use super::schema::{request_counter_key, TTL_ATTRIBUTE};
use super::{update_condition_failed, DynamoStore};

/// Requests taken in the window.
const TAKEN: &str = "n";

impl DynamoStore {
    pub(super) async fn take(
        &self,
        shop: &ShopId,
        key: &str,
        window: DateTime<Utc>,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let mut expr = Expr::default();
        let (taken, ttl) = (expr.name(TAKEN), expr.name(TTL_ATTRIBUTE));
        let one = expr.value(AttributeValue::N("1".into()));
        let (limit, expires) = (expr.value(AttributeValue::N(limit.to_string())), expr.value(time(expires_at)));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&request_counter_key(shop, key, window))))
            .update_expression(format!("SET {ttl} = {expires} ADD {taken} {one}"))
            .condition_expression(format!("attribute_not_exists({taken}) OR {taken} < {limit}"))
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
