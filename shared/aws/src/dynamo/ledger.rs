//! `LedgerStore`: appends conditional on the ledger's length, in as few write units as DynamoDB
//! allows.
//!
//! An entry's sort key is its position (`L#{position:010}`), so "the ledger still holds exactly
//! `n` entries" is "no item at position `n + 1`": `attribute_not_exists` on the entries' own keys.
//! - One entry (the usual credit) is ONE conditional PutItem, no transaction: an entry under 1 KB
//!   costs 1 write request unit. A failed condition means another writer took the position:
//!   `Moved`.
//! - Several entries are one TransactWriteItems of conditional Puts (2 units per entry): a
//!   condition that fails cancels them all, `Moved`.
//!
//! What the store does not check, and why it holds anyway:
//! - Positions `1..=n` are not checked to exist. The ledger is append-only and the caller read
//!   its `n` entries before appending at `n + 1`; checking would cost a transaction per append.
//! - The business key's uniqueness is not checked either (it is an attribute, not a key). It rests
//!   on the callers: each reads the whole ledger, decides on exactly what it read (a fact already
//!   on the ledger is not appended again) and appends at its end. A writer that decided on a
//!   shorter ledger gets `Moved`, reads again and sees the other writer's entry.
//!
//! Every entry is checked (`LedgerEntry::check`, the shop and customer of the call, contiguous
//! positions) before anything is sent; a failure is `StoreError::Invariant` and writes nothing.
//!
//! The balance is not stored: it is replayed from the entries when a customer is read (see
//! `schema`), so there is nothing to keep in step with an append.

use async_trait::async_trait;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{AppendOutcome, LedgerEntry};
use stammkunde_domain::ports::LedgerStore;

use super::codec::ledger::{decode_entry, encode_entry};
use super::codec::Item;
use super::errors::{contention, corrupt, Reason};
use super::schema::{customer_pk, ledger_key, SK_LEDGER_PREFIX};
use super::transact::{any_condition_failed, Transacted, TRANSACTION_ACTIONS_MAX};
use super::{conflict_backoff, DynamoStore, SkRange};

/// Attempts of one append that keeps meeting another transaction on the same positions (neither
/// written nor refused: DynamoDB rejects rather than waits). Each attempt sends the same request,
/// so retrying is safe: it either lands or finds the position taken.
const CONFLICT_ATTEMPTS_MAX: u32 = 4;

#[async_trait]
impl LedgerStore for DynamoStore {
    async fn append_entries(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        entries: &[LedgerEntry],
    ) -> Result<AppendOutcome, StoreError> {
        check_append(shop, customer, entries)?;
        let items = entries.iter().map(encode_entry).collect::<Result<Vec<_>, _>>()?;
        for attempt in 0..CONFLICT_ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(conflict_backoff(attempt)).await;
            }
            let outcome = match items.as_slice() {
                [item] => self.append_one(item.clone()).await?,
                _ => self.append_many(&items).await?,
            };
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
        }
        let first = entries.first().map(|e| e.position).unwrap_or_default();
        Err(contention(&ledger_key(shop, customer, first).label()))
    }

    async fn entries(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        let items = self.query_partition(&customer_pk(shop, customer), SkRange::Prefix(SK_LEDGER_PREFIX)).await?;
        decode_ledger(shop, customer, &items)
    }
}

impl DynamoStore {
    /// One conditional PutItem. `None`: it met a transaction in progress, try again.
    async fn append_one(&self, item: Item) -> Result<Option<AppendOutcome>, StoreError> {
        match self.put_new(item).await {
            Ok(true) => Ok(Some(AppendOutcome::Appended)),
            Ok(false) => Ok(Some(AppendOutcome::Moved)),
            Err(StoreError::Contention { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One TransactWriteItems of conditional Puts. `None`: cancelled only by conflicts with
    /// another transaction, try again.
    async fn append_many(&self, items: &[Item]) -> Result<Option<AppendOutcome>, StoreError> {
        let actions = items.iter().map(|item| self.put_new_action(item.clone())).collect::<Result<Vec<_>, _>>()?;
        match self.transact(actions).await? {
            Transacted::Committed => Ok(Some(AppendOutcome::Appended)),
            Transacted::Cancelled(reasons) if any_condition_failed(&reasons) => Ok(Some(AppendOutcome::Moved)),
            Transacted::Cancelled(reasons) if reasons.contains(&Reason::Conflict) => Ok(None),
            Transacted::Cancelled(reasons) => Err(StoreError::Backend {
                message: format!("TransactWriteItems cancelled without a reason: {reasons:?}"),
                source: None,
            }),
        }
    }
}

/// Refuses an append that would break the ledger, before anything is written: an entry failing
/// its own check, of another shop or customer, or positions that do not follow one another.
fn check_append(shop: &ShopId, customer: &CustomerId, entries: &[LedgerEntry]) -> Result<(), StoreError> {
    let Some(first) = entries.first() else {
        return Err(StoreError::Invariant("an append needs at least one entry".into()));
    };
    if entries.len() > TRANSACTION_ACTIONS_MAX {
        return Err(StoreError::Invariant(format!(
            "an append takes at most {TRANSACTION_ACTIONS_MAX} entries (one transaction), not {}",
            entries.len()
        )));
    }
    for (offset, entry) in (0_u32..).zip(entries) {
        entry.check().map_err(StoreError::Invariant)?;
        if &entry.shop != shop || &entry.customer_id != customer {
            return Err(StoreError::Invariant(format!(
                "entry {} belongs to {}/{}, not to {shop}/{customer}",
                entry.key, entry.shop, entry.customer_id
            )));
        }
        if first.position.checked_add(offset) != Some(entry.position) {
            return Err(StoreError::Invariant(format!(
                "entry {} is at position {}, but the append's positions start at {} and leave no gaps",
                entry.key, entry.position, first.position
            )));
        }
    }
    Ok(())
}

/// A ledger as read: entries in sort key (position) order, checked to be positions `1, 2, …`
/// with no gap. A gap cannot be written by a caller that read the ledger first; if one is ever
/// there, the ledger is reported corrupt rather than replayed into a wrong balance.
pub(super) fn decode_ledger<'a>(
    shop: &ShopId,
    customer: &CustomerId,
    items: impl IntoIterator<Item = &'a Item>,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let entries = items.into_iter().map(|item| decode_entry(shop, customer, item)).collect::<Result<Vec<_>, _>>()?;
    for (expected, entry) in (1_u32..).zip(&entries) {
        if entry.position != expected {
            let key = ledger_key(shop, customer, entry.position).label();
            return Err(corrupt(&key, format!("the ledger has no entry at position {expected}")));
        }
    }
    Ok(entries)
}
