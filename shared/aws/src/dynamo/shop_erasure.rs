//! Erasing a whole shop (`ShopStore::erase_shop_batch`, Shopify's `shop/redact`), by Query only,
//! never a Scan: `by_shop` lists the shop's customers (`{shop}#A`), orders and refunds
//! (`{shop}#O`) and link tokens (`{shop}#L`); `by_shop_code` its codes; the shop's own small
//! partitions (privacy requests, wordings, soft bounces, request counters, registration and
//! marks) are read
//! directly. A batch takes one page of the first listing that still has items and deletes what
//! it names (a customer's whole partition, an order's, a code with its claim) by
//! BatchWriteItem, 25 keys per request. What is deleted is the progress, so no cursor is kept:
//! a listing page read while the index still shows items deleted a moment ago (indexes are
//! eventually consistent) only deletes them again, which changes nothing.
//!
//! The tombstone (`{shop}#S` / `E`) and the suppression list (`{shop}#X`, bare digests) stay.
//! Delivery records are in no listing: they hold ids and topics only and expire by TTL.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{IdempotencyKey, ShopId};

use super::codec::code::REDEMPTION;
use super::codec::{key_item, time, Item, Reader};
use super::errors::store_error;
use super::expr::Expr;
use super::paging::IndexPage;
use super::schema::{
    address_pk, claim_key, counters_pk, privacy_pk, shop_codes_index_value, shop_customers_index_value,
    shop_erased_key, shop_links_index_value, shop_orders_index_value, shop_pk, wording_pk, Key, BY_SHOP, BY_SHOP_CODE,
    PK, SK, SK_SHOP_ERASED, SK_SOFT_BOUNCES_PREFIX,
};
use super::{conflict_backoff, DynamoStore, SkRange};

/// The tombstone's time.
const ERASED_AT: &str = "at";
/// DynamoDB's limit of requests in one BatchWriteItem.
const BATCH_WRITE_MAX: usize = 25;
/// Attempts at the unprocessed rest of a BatchWriteItem (throttling) before giving up for now.
const UNPROCESSED_ATTEMPTS_MAX: u32 = 6;

/// What one entry of a listing names, and so what goes with it.
#[derive(Clone, Copy)]
enum Listed {
    /// A partition to delete whole: a customer's, an order's.
    Partition,
    /// One item: a link token.
    Item,
    /// A code item and the claim item its redemption names.
    Code,
}

impl DynamoStore {
    pub(super) async fn mark_erased(&self, shop: &ShopId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let (name, value) = (expr.name(ERASED_AT), expr.value(time(at)));
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&shop_erased_key(shop))))
            .update_expression(format!("SET {name} = if_not_exists({name}, {value})"))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }

    pub(super) async fn erased_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.get(&shop_erased_key(shop)).await? {
            Some(item) => Reader::new(&item).opt_time(ERASED_AT),
            None => Ok(None),
        }
    }

    pub(super) async fn erase_batch(&self, shop: &ShopId, limit: u32) -> Result<bool, StoreError> {
        let listings = [
            (BY_SHOP.name, BY_SHOP.attribute, shop_customers_index_value(shop), Listed::Partition),
            (BY_SHOP.name, BY_SHOP.attribute, shop_orders_index_value(shop), Listed::Partition),
            (BY_SHOP.name, BY_SHOP.attribute, shop_links_index_value(shop), Listed::Item),
            (BY_SHOP_CODE.name, BY_SHOP_CODE.attribute, shop_codes_index_value(shop), Listed::Code),
        ];
        for (index, attribute, value, listed) in listings {
            let page =
                IndexPage { index, hash: (attribute, value), range: (PK, None), filter: None, limit, cursor: None };
            let (items, _) = self.index_page(page).await?;
            if items.is_empty() {
                continue;
            }
            self.erase_listed(shop, &items, listed).await?;
            return Ok(true);
        }
        self.erase_shop_partitions(shop).await?;
        Ok(false)
    }

    async fn erase_listed(&self, shop: &ShopId, items: &[Item], listed: Listed) -> Result<(), StoreError> {
        let mut keys = Vec::new();
        match listed {
            Listed::Item => {
                for item in items {
                    let r = Reader::new(item);
                    keys.push(Key { pk: r.s(PK)?.to_owned(), sk: r.s(SK)?.to_owned() });
                }
            }
            Listed::Partition => {
                // An order and its refunds are all listed: each partition once.
                let partitions: BTreeSet<&str> =
                    items.iter().map(|i| Reader::new(i).s(PK)).collect::<Result<_, _>>()?;
                for pk in partitions {
                    keys.extend(self.partition_keys(pk, SkRange::All).await?);
                }
            }
            Listed::Code => {
                for item in items {
                    let key = Key { pk: Reader::new(item).s(PK)?.to_owned(), sk: Reader::new(item).s(SK)?.to_owned() };
                    // The listing projects no redemption: the code item itself names its claim.
                    if let Some(code) = self.get(&key).await? {
                        let r = Reader::new(&code);
                        if let Some(redemption) = r.opt_s(REDEMPTION)? {
                            keys.push(claim_key(shop, &r.parse(REDEMPTION, redemption, IdempotencyKey::parse)?));
                        }
                    }
                    keys.push(key);
                }
            }
        }
        self.delete_keys(keys).await
    }

    /// The shop's own partitions, small and read directly: privacy requests, wordings, soft
    /// bounces (not the suppressions beside them), the registration, uninstall and marks (not the
    /// tombstone).
    async fn erase_shop_partitions(&self, shop: &ShopId) -> Result<(), StoreError> {
        let mut keys = self.partition_keys(&privacy_pk(shop), SkRange::All).await?;
        keys.extend(self.partition_keys(&wording_pk(shop), SkRange::All).await?);
        keys.extend(self.partition_keys(&address_pk(shop), SkRange::Prefix(SK_SOFT_BOUNCES_PREFIX)).await?);
        keys.extend(self.partition_keys(&counters_pk(shop), SkRange::All).await?);
        let own = self.partition_keys(&shop_pk(shop), SkRange::All).await?;
        keys.extend(own.into_iter().filter(|key| key.sk != SK_SHOP_ERASED));
        self.delete_keys(keys).await
    }

    async fn partition_keys(&self, pk: &str, range: SkRange<'_>) -> Result<Vec<Key>, StoreError> {
        let items = self.query_partition(pk, range).await?;
        items.iter().map(|item| Ok(Key { pk: pk.to_owned(), sk: Reader::new(item).s(SK)?.to_owned() })).collect()
    }

    /// Deletes the keys, 25 per BatchWriteItem, retrying what DynamoDB leaves unprocessed a few
    /// times with backoff. Deleting a key that is gone is no error: this is idempotent.
    async fn delete_keys(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_WRITE_MAX) {
            let mut requests = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key_item(key)))
                        .build()
                        .map_err(|e| StoreError::backend("BatchWriteItem request", e))?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for attempt in 0..UNPROCESSED_ATTEMPTS_MAX {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(HashMap::from([(self.table.clone(), requests)])))
                    .send()
                    .await
                    .map_err(|e| store_error("BatchWriteItem", e))?;
                requests = out.unprocessed_items.and_then(|mut rest| rest.remove(&self.table)).unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                tokio::time::sleep(conflict_backoff(attempt + 3)).await;
            }
            if !requests.is_empty() {
                return Err(StoreError::Unavailable {
                    message: format!("DynamoDB left {} deletes unprocessed", requests.len()),
                    source: None,
                });
            }
        }
        Ok(())
    }
}
