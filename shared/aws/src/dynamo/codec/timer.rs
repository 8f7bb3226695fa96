//! Timer items (`sk = T` in the customer's partition): `tl` the ledger length the timer was
//! computed from (the guard), and while a timer is set `due` (epoch seconds, a number like every
//! timestamp here) with `g4` (`{shop}#T`), the keys of the sparse `by_due` index. A cleared timer
//! has neither, so it leaves the index.

use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ports::Timer;

use super::{key_item, n, s, time, Item, Reader};
use crate::dynamo::schema::{timer_index_value, timer_key, DUE, TIMER_INDEX_ATTRIBUTE};

pub(crate) const LEDGER_LEN: &str = "tl";

pub(crate) fn encode_timer(shop: &ShopId, customer: &CustomerId, due: Option<DateTime<Utc>>, ledger_len: u32) -> Item {
    let mut item = key_item(&timer_key(shop, customer));
    item.insert(LEDGER_LEN.into(), n(i64::from(ledger_len)));
    if let Some(due) = due {
        item.insert(DUE.into(), time(due));
        item.insert(TIMER_INDEX_ATTRIBUTE.into(), s(timer_index_value(shop)));
    }
    item
}

pub(crate) fn decode_timer(item: &Item) -> Result<Timer, StoreError> {
    let r = Reader::new(item);
    let ledger_len = u32::try_from(r.i64(LEDGER_LEN)?).map_err(|_| r.corrupt("`tl` is not a ledger length"))?;
    Ok(Timer { due: r.opt_time(DUE)?, ledger_len })
}
