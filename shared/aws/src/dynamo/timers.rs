//! `TimerStore`: one timer item per customer (`sk = T` in the customer's partition), and the
//! sparse `by_due` index the sweep queries.
//!
//! `set_timer` is one conditional PutItem (`attribute_not_exists(tl) OR tl <= :len`): the whole
//! item is replaced, so a cleared timer drops `due` and `g4` and leaves the index without a REMOVE.
//! A failed condition is success: the stored timer was computed from a longer ledger and is the
//! newer answer. The same length may overwrite (the same ledger, recomputed later).
//!
//! `due_timers` queries `by_due` (`g4 = {shop}#T AND due <= :now`), which is eventually
//! consistent: a timer set a moment ago may be missed by this sweep and is found by the next, and
//! a timer just cleared may still be listed, so the sweep reads the ledger before acting on it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ports::{DueTimer, Page, PageRequest, Timer, TimerStore};

use super::codec::timer::{decode_timer, encode_timer, LEDGER_LEN};
use super::codec::{n, time, Item, Reader};
use super::expr::Expr;
use super::paging::IndexPage;
use super::schema::{customer_from_pk, timer_index_value, timer_key, BY_DUE, DUE, PK, TIMER_INDEX_ATTRIBUTE};
use super::DynamoStore;

#[async_trait]
impl TimerStore for DynamoStore {
    async fn set_timer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        due: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let (stored, len) = (expr.name(LEDGER_LEN), expr.value(n(i64::from(ledger_len))));
        let condition = format!("attribute_not_exists({stored}) OR {stored} <= {len}");
        // Written, or kept because the stored timer is newer: either way the store holds the
        // answer for the longest ledger seen.
        self.put_if(encode_timer(shop, customer, due, ledger_len), condition, expr).await.map(|_| ())
    }

    async fn timer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Timer>, StoreError> {
        self.get(&timer_key(shop, customer)).await?.map(|item| decode_timer(&item)).transpose()
    }

    async fn due_timers(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueTimer>, StoreError> {
        let (items, next) = self
            .index_page(IndexPage {
                index: BY_DUE,
                hash: (TIMER_INDEX_ATTRIBUTE, timer_index_value(shop)),
                range: (DUE, Some(time(now))),
                filter: None,
                limit: page.limit,
                cursor: page.cursor.as_deref(),
            })
            .await?;
        let items = items.iter().map(|item| due_timer(shop, item)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }
}

fn due_timer(shop: &ShopId, item: &Item) -> Result<DueTimer, StoreError> {
    let r = Reader::new(item);
    let customer_id = customer_from_pk(shop, r.s(PK)?)
        .ok_or_else(|| r.corrupt("timer index entry is not a customer of this shop"))?;
    Ok(DueTimer { customer_id, due: r.time(DUE)? })
}
