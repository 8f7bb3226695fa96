//! `LedgerStore`: append under the business key and move the balance, in one transaction.
//!
//! Cost: a TransactWriteItems of two items under 1 KB each (the entry, and the small balance
//! item), 2 × 2 = 4 write request units per append.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{AppendOutcome, LedgerEntry};
use stammkunde_domain::ports::LedgerStore;

use super::codec::customer::bucket_attribute;
use super::codec::ledger::{decode_entry, encode_entry};
use super::codec::{key_item, n};
use super::errors::contention;
use super::schema::{balance_key, customer_pk, ledger_key, PK, SK_LEDGER_PREFIX};
use super::DynamoStore;

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn append_entry(&self, entry: &LedgerEntry) -> Result<AppendOutcome, StoreError> {
        entry.check().map_err(StoreError::Invariant)?;
        let items = vec![self.entry_put(entry)?, self.balance_add(entry)?];
        let Some(reasons) = self.transact("ledger append", items).await? else {
            return Ok(AppendOutcome::Appended);
        };
        // Only the entry's put has a condition, so a failed condition means the key exists.
        let existing = reasons.into_iter().next().and_then(|r| r.item).filter(|item| !item.is_empty());
        let existing = match existing {
            Some(item) => item,
            None => {
                let key = ledger_key(&entry.shop, &entry.customer_id, &entry.key);
                self.get(&key).await?.ok_or_else(|| contention(&key.label()))?
            }
        };
        let existing = decode_entry(&entry.shop, &entry.customer_id, &existing)?;
        Ok(AppendOutcome::AlreadyExists(Box::new(existing)))
    }

    async fn entries(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        let items = self.query_partition(&customer_pk(shop, customer), Some(SK_LEDGER_PREFIX)).await?;
        let mut entries = items.iter().map(|item| decode_entry(shop, customer, item)).collect::<Result<Vec<_>, _>>()?;
        // Keys are business keys, not times: order by creation here, ties by key for stability.
        entries.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.key.cmp(&b.key)));
        Ok(entries)
    }
}

impl DynamoStore {
    fn entry_put(&self, entry: &LedgerEntry) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(encode_entry(entry)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::backend("TransactWriteItems request", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// ADD creates the balance item on the first entry.
    fn balance_add(&self, entry: &LedgerEntry) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&balance_key(&entry.shop, &entry.customer_id))))
            .update_expression("ADD #b :p")
            .expression_attribute_names("#b", bucket_attribute(entry.bucket))
            .expression_attribute_values(":p", n(entry.points))
            .build()
            .map_err(|e| StoreError::backend("TransactWriteItems request", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
