//! The DynamoDB store: one table (see `schema`), every retried write conditional.

mod changes;
mod codec;
mod codes;
mod consent;
mod counters;
mod customer_writes;
mod customers;
mod erasure;
mod errors;
mod expr;
mod ingest;
pub mod items;
mod ledger;
mod mail;
mod paging;
mod refunds;
pub mod schema;
mod shop_erasure;
mod shops;
mod timers;
mod transact;
mod wru;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use stammkunde_domain::error::StoreError;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use codec::key_item;
use errors::store_error;
use expr::Expr;
use schema::{Key, PK, SK};

pub use codec::Item;
pub use codes::IMPORT_CODES_MAX;
pub use schema::create_table;
pub use wru::{item_size_bytes, wru_for_item};

/// Most pages one read follows before giving up: 1 MB each, far above any customer's ledger or
/// any shop's privacy requests. A bound so a runaway partition cannot loop a Lambda forever (and
/// the most requests one filtered index page makes).
const QUERY_PAGES_MAX: usize = 64;

/// Backoff base between attempts of a write that lost a race (see `conflict_backoff`).
const CONFLICT_BACKOFF_BASE_MS: u64 = 10;

/// The `Store` on DynamoDB. Cheap to clone: the SDK client is reference-counted.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A strongly consistent read of one item.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        Ok(out.item)
    }

    /// Every item of a partition whose sort key is in `range`, in sort key order.
    async fn query_partition(&self, pk: &str, range: SkRange<'_>) -> Result<Vec<Item>, StoreError> {
        let mut expr = Expr::default();
        let mut condition = format!("{} = {}", expr.name(PK), expr.value(AttributeValue::S(pk.to_owned())));
        let text = |value: &str| AttributeValue::S(value.to_owned());
        match range {
            SkRange::All => {}
            SkRange::Prefix(prefix) => {
                let (sk, value) = (expr.name(SK), expr.value(text(prefix)));
                condition.push_str(&format!(" AND begins_with({sk}, {value})"));
            }
            SkRange::Between(low, high) => {
                let (sk, low, high) = (expr.name(SK), expr.value(text(low)), expr.value(text(high)));
                condition.push_str(&format!(" AND {sk} BETWEEN {low} AND {high}"));
            }
        }
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..QUERY_PAGES_MAX {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(&condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
        Err(StoreError::Backend {
            message: format!("partition {pk} has more than {QUERY_PAGES_MAX} pages"),
            source: None,
        })
    }
}

/// Which sort keys of a partition a Query reads.
#[derive(Clone, Copy, Debug)]
enum SkRange<'a> {
    All,
    Prefix(&'a str),
    /// Inclusive at both ends, as DynamoDB's `BETWEEN`.
    Between(&'a str, &'a str),
}

/// Exponential backoff with full jitter, so racing writers spread out instead of colliding again.
fn conflict_backoff(attempt: u32) -> Duration {
    let ceiling_ms = CONFLICT_BACKOFF_BASE_MS.saturating_mul(1 << attempt.min(10));
    // Any varying bits will do for jitter; each RandomState gets fresh keys.
    let random = RandomState::new().build_hasher().finish();
    Duration::from_millis(random % ceiling_ms.max(1))
}

/// For a failed conditional PutItem: `Ok(old item)` if the condition failed (the old item is
/// there when the request asked for ALL_OLD and one existed), else the mapped error.
fn put_condition_failed(err: SdkError<PutItemError, HttpResponse>) -> Result<Option<Item>, StoreError> {
    match err.as_service_error() {
        Some(PutItemError::ConditionalCheckFailedException(failed)) => Ok(failed.item.clone()),
        _ => Err(store_error("PutItem", err)),
    }
}

/// As `put_condition_failed`, for UpdateItem.
fn update_condition_failed(err: SdkError<UpdateItemError, HttpResponse>) -> Result<Option<Item>, StoreError> {
    match err.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(failed)) => Ok(failed.item.clone()),
        _ => Err(store_error("UpdateItem", err)),
    }
}
