//! `CodeStore`: coupon codes (`{shop}#K#{code}` / `K`) and the claim items that bind a
//! redemption to its code (`{shop}#R#{redemption}` / `R`).
//!
//! Exactly once both ways, from two conditions in one transaction:
//! - no code to two redemptions: a claim updates the code only while it is in its pool
//!   (`g5 = :pool`) and removes it from the pool (`REMOVE g5`);
//! - no second code for one redemption: the claim item is created with `attribute_not_exists`.
//!
//! A claim reads the redemption's claim item first (a repeat returns its code), then takes a few
//! candidates from the reward's pool (`by_pool`, eventually consistent: a candidate may already
//! be taken) and tries them one at a time, in a random order so racing claims spread over the
//! pool. A cancellation says which condition failed: the claim item exists (another attempt of
//! the same redemption won: return its code) or the code was taken (try the next candidate).
//! Rounds are bounded; an empty pool is `None`.
//!
//! `import_codes` puts each code conditionally (`attribute_not_exists`): BatchWriteItem cannot be
//! conditional, and a code the shop already has (pooled or issued, in any reward) must be skipped,
//! never overwritten. At most `IMPORT_CODES_MAX` codes per call; callers import in chunks.
//!
//! `codes` lists through `by_shop_code` (every code of the shop, ordered by code). A listing of
//! one reward filters on the reward, which that index projects; the page is then read in full with
//! a strongly consistent BatchGetItem, so it shows each code's current issue.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem};
use futures::stream::{self, StreamExt, TryStreamExt};
use stammkunde_domain::coupon::{Coupon, CouponCode, Issue};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{IdempotencyKey, RewardId, ShopId};
use stammkunde_domain::ports::{CodeStore, Page, PageRequest};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::codec::code::{
    decode_claim, decode_code, encode_claim, encode_code, issue_attributes, CLAIMED_CODE, ISSUE_ATTRIBUTES, REDEMPTION,
};
use super::codec::{key_item, s, Item, Reader};
use super::errors::{contention, store_error, Reason};
use super::expr::Expr;
use super::paging::IndexPage;
use super::schema::{
    claim_key, code_from_pk, code_key, pool_index_value, shop_codes_index_value, BY_POOL, BY_SHOP_CODE, CODE_REWARD, PK,
};
use super::transact::Transacted;
use super::{conflict_backoff, DynamoStore};

/// Most codes one `import_codes` call takes (one conditional PutItem each).
pub const IMPORT_CODES_MAX: usize = 500;
/// Conditional puts of an import in flight at once.
const IMPORT_PARALLEL: usize = 8;
/// Pool codes one claim round reads and tries.
const CLAIM_CANDIDATES: i32 = 10;
/// Rounds (a read of the redemption's claim, a pool query, its candidates) before a claim that
/// keeps losing every candidate reports contention.
const CLAIM_ROUNDS_MAX: u32 = 5;
/// Attempts of a write that keeps meeting another transaction on the same items.
const CONFLICT_ATTEMPTS_MAX: u32 = 4;
/// DynamoDB's limit of keys per BatchGetItem, and how often unprocessed keys are asked again.
const BATCH_KEYS_MAX: usize = 100;
const UNPROCESSED_ATTEMPTS_MAX: u32 = 5;
const UNPROCESSED_BACKOFF: Duration = Duration::from_millis(50);

/// What one attempt to bind a pool code to a redemption found.
enum Claim {
    Won(Coupon),
    /// The redemption already has a code (another attempt of it won).
    RedemptionHasCode,
    /// The candidate was no longer in its pool, or another transaction was writing it.
    CodeTaken,
}

#[async_trait]
impl CodeStore for DynamoStore {
    async fn import_codes(
        &self,
        shop: &ShopId,
        reward: &RewardId,
        codes: &[CouponCode],
        generated: bool,
    ) -> Result<u32, StoreError> {
        if codes.len() > IMPORT_CODES_MAX {
            return Err(StoreError::Invariant(format!(
                "an import takes at most {IMPORT_CODES_MAX} codes, not {}",
                codes.len()
            )));
        }
        let unique: BTreeSet<&CouponCode> = codes.iter().collect();
        let items: Vec<Item> = unique
            .into_iter()
            .map(|code| {
                let pooled =
                    Coupon { shop: shop.clone(), code: code.clone(), reward: reward.clone(), generated, issue: None };
                encode_code(&pooled)
            })
            .collect();
        stream::iter(items)
            .map(|item| self.put_new(item))
            .buffer_unordered(IMPORT_PARALLEL)
            .try_fold(0_u32, |added, written| async move { Ok(added + u32::from(written)) })
            .await
    }

    async fn claim_code(&self, shop: &ShopId, reward: &RewardId, issue: &Issue) -> Result<Option<Coupon>, StoreError> {
        for round in 0..CLAIM_ROUNDS_MAX {
            if round > 0 {
                tokio::time::sleep(conflict_backoff(round)).await;
            }
            if let Some(bound) = self.code_for_redemption(shop, &issue.redemption).await? {
                return Ok(Some(bound));
            }
            let mut candidates = self.pool_candidates(shop, reward).await?;
            if candidates.is_empty() {
                return Ok(None);
            }
            let start = random_below(candidates.len());
            candidates.rotate_left(start);
            for code in &candidates {
                match self.try_claim(shop, reward, code, issue).await? {
                    Claim::Won(coupon) => return Ok(Some(coupon)),
                    // Read the winner's code at the top of the next round.
                    Claim::RedemptionHasCode => break,
                    Claim::CodeTaken => continue,
                }
            }
        }
        Err(contention(&claim_key(shop, &issue.redemption).label()))
    }

    async fn insert_issued(&self, coupon: &Coupon) -> Result<Option<Coupon>, StoreError> {
        let Some(issue) = &coupon.issue else {
            return Err(StoreError::Invariant(format!("code {} is inserted as issued but has no issue", coupon.code)));
        };
        let shop = &coupon.shop;
        for attempt in 0..CONFLICT_ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(conflict_backoff(attempt)).await;
            }
            let actions = vec![
                self.put_new_action(encode_claim(shop, &issue.redemption, &coupon.code))?,
                self.put_new_action(encode_code(coupon))?,
            ];
            let reasons = match self.transact(actions).await? {
                Transacted::Committed => return Ok(Some(coupon.clone())),
                Transacted::Cancelled(reasons) => reasons,
            };
            match reasons.as_slice() {
                // The redemption has a code already (an earlier attempt's): that one stands.
                [Reason::ConditionFailed(_), _] => {
                    if let Some(bound) = self.code_for_redemption(shop, &issue.redemption).await? {
                        return Ok(Some(bound));
                    }
                    // Returned in the meantime: the redemption is free again, insert anew.
                }
                [_, Reason::ConditionFailed(_)] => return Ok(None),
                _ => {}
            }
        }
        Err(contention(&claim_key(shop, &issue.redemption).label()))
    }

    async fn return_code(
        &self,
        shop: &ShopId,
        code: &CouponCode,
        redemption: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        for attempt in 0..CONFLICT_ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(conflict_backoff(attempt)).await;
            }
            let Some(stored) = self.code(shop, code).await? else {
                return Ok(());
            };
            // Only the redemption holding the code returns it; anything else (a repeat of a return
            // that went through, a stale caller) is a no-op.
            if stored.issue.as_ref().map(|i| &i.redemption) != Some(redemption) {
                return Ok(());
            }
            let actions =
                vec![self.release_claim_action(shop, code, redemption)?, self.return_action(&stored, redemption)?];
            match self.transact(actions).await? {
                Transacted::Committed => return Ok(()),
                // Someone changed the claim or the code since the read: read again.
                Transacted::Cancelled(_) => continue,
            }
        }
        Err(contention(&code_key(shop, code).label()))
    }

    async fn code(&self, shop: &ShopId, code: &CouponCode) -> Result<Option<Coupon>, StoreError> {
        self.get(&code_key(shop, code)).await?.map(|item| decode_code(shop, &item)).transpose()
    }

    async fn code_for_redemption(
        &self,
        shop: &ShopId,
        redemption: &IdempotencyKey,
    ) -> Result<Option<Coupon>, StoreError> {
        let Some(claim) = self.get(&claim_key(shop, redemption)).await? else {
            return Ok(None);
        };
        let code = decode_claim(&claim)?;
        // Claim and code change together (one transaction), but these are two reads: a return
        // between them leaves a code no longer bound to this redemption, which is no code.
        let coupon = self.code(shop, &code).await?;
        Ok(coupon.filter(|c| c.issue.as_ref().is_some_and(|i| &i.redemption == redemption)))
    }

    async fn codes(
        &self,
        shop: &ShopId,
        reward: Option<&RewardId>,
        page: PageRequest,
    ) -> Result<Page<Coupon>, StoreError> {
        let (items, next) = self
            .index_page(IndexPage {
                index: BY_SHOP_CODE.name,
                hash: (BY_SHOP_CODE.attribute, shop_codes_index_value(shop)),
                range: (PK, None),
                filter: reward.map(|r| (CODE_REWARD, s(r.as_str()))),
                limit: page.limit,
                cursor: page.cursor.as_deref(),
            })
            .await?;
        let keys: Vec<Item> = items
            .iter()
            .map(|item| Ok(key_item(&code_key(shop, &code_of(shop, item)?))))
            .collect::<Result<_, StoreError>>()?;
        let mut by_pk = HashMap::new();
        for item in self.batch_get(keys).await? {
            let coupon = decode_code(shop, &item)?;
            by_pk.insert(code_key(shop, &coupon.code).pk, coupon);
        }
        // In the index's order; a code deleted since the index was read (a returned generated
        // code) is left out.
        let mut coupons = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(coupon) = Reader::new(item).s(PK).ok().and_then(|pk| by_pk.remove(pk)) {
                coupons.push(coupon);
            }
        }
        Ok(Page { items: coupons, next })
    }
}

impl DynamoStore {
    /// A few codes waiting in the reward's pool (an eventually consistent index read).
    async fn pool_candidates(&self, shop: &ShopId, reward: &RewardId) -> Result<Vec<CouponCode>, StoreError> {
        let mut expr = Expr::default();
        let pool = s(pool_index_value(shop, reward));
        let condition = format!("{} = {}", expr.name(BY_POOL.attribute), expr.value(pool));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_POOL.name)
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .limit(CLAIM_CANDIDATES)
            .send()
            .await
            .map_err(|e| store_error("Query", e))?;
        out.items.unwrap_or_default().iter().map(|item| code_of(shop, item)).collect()
    }

    /// One transaction: create the redemption's claim item and bind the code, if it is still in
    /// the reward's pool.
    async fn try_claim(
        &self,
        shop: &ShopId,
        reward: &RewardId,
        code: &CouponCode,
        issue: &Issue,
    ) -> Result<Claim, StoreError> {
        let mut expr = Expr::default();
        let mut update = expr.set_clause(issue_attributes(issue)).unwrap_or_default();
        let pool = expr.name(BY_POOL.attribute);
        update.push_str(&format!(" REMOVE {pool}"));
        let condition = format!("{pool} = {}", expr.value(s(pool_index_value(shop, reward))));
        let actions = vec![
            self.put_new_action(encode_claim(shop, &issue.redemption, code))?,
            self.update_action(&code_key(shop, code), update, condition, expr)?,
        ];
        let reasons = match self.transact(actions).await? {
            Transacted::Committed => {
                // Read back for what the pool index does not carry (whether we generated it).
                let bound = self.code(shop, code).await?;
                return bound.map(Claim::Won).ok_or_else(|| contention(&code_key(shop, code).label()));
            }
            Transacted::Cancelled(reasons) => reasons,
        };
        Ok(match reasons.as_slice() {
            [Reason::ConditionFailed(_), _] => Claim::RedemptionHasCode,
            _ => Claim::CodeTaken,
        })
    }

    /// Deletes the redemption's claim item, if it still names this code.
    fn release_claim_action(
        &self,
        shop: &ShopId,
        code: &CouponCode,
        redemption: &IdempotencyKey,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expr::default();
        let condition = format!("{} = {}", expr.name(CLAIMED_CODE), expr.value(s(code.as_str())));
        self.delete_action(&claim_key(shop, redemption), condition, expr)
    }

    /// Puts a code back into its pool (its issue removed), or deletes a code we generated: it was
    /// made for this redemption and has no pool to go back to. Only while the code is bound to
    /// `redemption`.
    fn return_action(&self, stored: &Coupon, redemption: &IdempotencyKey) -> Result<TransactWriteItem, StoreError> {
        let key = code_key(&stored.shop, &stored.code);
        let mut expr = Expr::default();
        let condition = format!("{} = {}", expr.name(REDEMPTION), expr.value(s(redemption.as_str())));
        if stored.generated {
            return self.delete_action(&key, condition, expr);
        }
        let pool = s(pool_index_value(&stored.shop, &stored.reward));
        let mut update = expr.set_clause(vec![(BY_POOL.attribute, pool)]).unwrap_or_default();
        let issue: Vec<String> = ISSUE_ATTRIBUTES.iter().map(|name| expr.name(name)).collect();
        update.push_str(&format!(" REMOVE {}", issue.join(", ")));
        self.update_action(&key, update, condition, expr)
    }

    /// Strongly consistent reads of these keys, in any order (missing items are left out).
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_KEYS_MAX) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::backend("BatchGetItem request", e))?;
            let mut done = false;
            for attempt in 0..UNPROCESSED_ATTEMPTS_MAX {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                    .map_err(|e| store_error("BatchGetItem", e))?;
                found.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
                match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(rest) if !rest.keys().is_empty() => pending = rest,
                    _ => {
                        done = true;
                        break;
                    }
                }
                tokio::time::sleep(UNPROCESSED_BACKOFF * 2u32.pow(attempt)).await;
            }
            if !done {
                return Err(StoreError::Unavailable {
                    message: "BatchGetItem left keys unprocessed".into(),
                    source: None,
                });
            }
        }
        Ok(found)
    }
}

/// The code an index item stands for.
fn code_of(shop: &ShopId, item: &Item) -> Result<CouponCode, StoreError> {
    let r = Reader::new(item);
    code_from_pk(shop, r.s(PK)?).ok_or_else(|| r.corrupt("index entry is not a code of this shop"))
}

/// Any number below `bound` (0 for a bound of 0 or 1): varying bits for spreading claims, not
/// for security. Each RandomState gets fresh keys.
fn random_below(bound: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    usize::try_from(random % u64::try_from(bound.max(1)).unwrap_or(1)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_random_rotation_stays_in_bounds() {
        for bound in [0, 1, 2, 7] {
            for _ in 0..50 {
                assert!(random_below(bound) < bound.max(1));
            }
        }
    }
}
