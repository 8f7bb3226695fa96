//! `LedgerStore`: append under the business key, with one conditional PutItem.
//!
//! The entry's key is the business key, so `attribute_not_exists` on it is the whole
//! exactly-once guarantee, and the balance is not stored but replayed from the entries when a
//! customer is read (see `schema`). No transaction, nothing to keep in step: an entry under 1 KB
//! costs 1 write request unit per append.

use async_trait::async_trait;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{AppendOutcome, LedgerEntry};
use stammkunde_domain::ports::LedgerStore;

use super::codec::ledger::{decode_entry, encode_entry};
use super::errors::contention;
use super::expr::Expr;
use super::schema::{customer_pk, ledger_key, PK, SK_LEDGER_PREFIX};
use super::DynamoStore;

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn append_entry(&self, entry: &LedgerEntry) -> Result<AppendOutcome, StoreError> {
        entry.check().map_err(StoreError::Invariant)?;
        let mut expr = Expr::default();
        let condition = format!("attribute_not_exists({})", expr.name(PK));
        // A failed condition means the key exists; its entry comes back as ALL_OLD.
        let Some(existing) = self.put_if(encode_entry(entry)?, condition, expr).await? else {
            return Ok(AppendOutcome::Appended);
        };
        let existing = match existing {
            item if !item.is_empty() => item,
            _ => {
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
