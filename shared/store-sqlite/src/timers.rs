//! Timers: when each customer's ledger next needs the sweep, guarded by the length of the ledger
//! they were computed from, and the sweep's page of customers due.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ports::{DueTimer, Page, PageRequest, Timer, TimerStore, PAGE_LIMIT_MAX};

use crate::codec::{self, corrupt};
use crate::error::SqlResultExt;
use crate::SqliteStore;

/// Stores the timer unless the stored one was computed from a longer ledger. An equal length is
/// the same ledger, so its answer may be recomputed (a later `due`, say) and overwrites.
fn set_timer(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    due_at: Option<&str>,
    ledger_len: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO timers (shop, customer_id, due_at, ledger_len) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (shop, customer_id) DO UPDATE SET due_at = excluded.due_at, ledger_len = excluded.ledger_len
         WHERE timers.ledger_len <= excluded.ledger_len",
    )
    .and_then(|mut statement| statement.execute(params![shop.as_str(), customer.as_str(), due_at, ledger_len]))
    .or_store("setting a timer")?;
    Ok(())
}

fn timer(conn: &Connection, shop: &ShopId, customer: &CustomerId) -> Result<Option<Timer>, StoreError> {
    let row: Option<(Option<String>, i64)> = conn
        .prepare_cached("SELECT due_at, ledger_len FROM timers WHERE shop = ?1 AND customer_id = ?2")
        .and_then(|mut statement| {
            statement
                .query_row(params![shop.as_str(), customer.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .or_store("reading a timer")?;
    let Some((due_at, ledger_len)) = row else { return Ok(None) };
    let key = format!("timer {shop}/{customer}");
    let ledger_len = u32::try_from(ledger_len).map_err(|_| corrupt(&key, format!("ledger length {ledger_len}")))?;
    Ok(Some(Timer { due: codec::parse_optional_timestamp(&key, due_at)?, ledger_len }))
}

/// A due-timer cursor names the page's last timer by its sort key: the stored due time and the
/// customer, apart by a space (neither holds one).
fn cursor_after(due_at: &str, customer: &CustomerId) -> String {
    codec::cursor_from(&format!("{due_at} {customer}"))
}

/// The (due time, customer) a cursor resumes after, as stored text.
fn parse_cursor(cursor: &str) -> Result<(String, CustomerId), StoreError> {
    let text = codec::cursor_key(cursor)?;
    let (due_at, customer) = text.split_once(' ').ok_or_else(|| corrupt("page cursor", "not a due-timer cursor"))?;
    codec::parse_stored_timestamp("page cursor", due_at)?;
    let customer = CustomerId::parse(customer).map_err(|error| corrupt("page cursor", error.to_string()))?;
    Ok((due_at.to_owned(), customer))
}

fn decode_due(shop: &ShopId, (customer, due_at): (String, String)) -> Result<(DueTimer, String), StoreError> {
    let key = format!("timer {shop}/{customer}");
    let customer_id = codec::parse_id(&key, &customer, CustomerId::parse)?;
    let due = codec::parse_timestamp(&key, &due_at)?;
    Ok((DueTimer { customer_id, due }, due_at))
}

/// One page of the timers due at or before `now`, ordered by (due time, customer) so that ties
/// page exactly too.
fn due_page(conn: &Connection, shop: &ShopId, now: &str, page: &PageRequest) -> Result<Page<DueTimer>, StoreError> {
    let limit = page.limit.clamp(1, PAGE_LIMIT_MAX);
    // "" sorts before every timestamp and every id: no cursor starts at the first.
    let after = page.cursor.as_deref().map(parse_cursor).transpose()?;
    let (after_due, after_customer) = after.as_ref().map_or(("", ""), |(due, id)| (due.as_str(), id.as_str()));
    // One row more than the page shows whether another page follows.
    let fetch = i64::from(limit) + 1;
    let rows: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT customer_id, due_at FROM timers
             WHERE shop = ?1 AND due_at IS NOT NULL AND due_at <= ?2 AND (due_at, customer_id) > (?3, ?4)
             ORDER BY due_at, customer_id LIMIT ?5",
        )
        .and_then(|mut statement| {
            statement
                .query_map(params![shop.as_str(), now, after_due, after_customer, fetch], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect()
        })
        .or_store("reading due timers")?;
    let mut due = rows.into_iter().map(|row| decode_due(shop, row)).collect::<Result<Vec<_>, _>>()?;
    let more = due.len() > limit as usize;
    due.truncate(limit as usize);
    let next = if more { due.last().map(|(timer, due_at)| cursor_after(due_at, &timer.customer_id)) } else { None };
    Ok(Page { items: due.into_iter().map(|(timer, _)| timer).collect(), next })
}

#[async_trait]
impl TimerStore for SqliteStore {
    async fn set_timer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        due: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<(), StoreError> {
        let due_at = codec::optional_timestamp(due.as_ref())?;
        let (shop, customer) = (shop.clone(), customer.clone());
        self.writer.write(move |tx| set_timer(tx, &shop, &customer, due_at.as_deref(), ledger_len)).await
    }

    async fn timer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Timer>, StoreError> {
        self.readers.read(|conn| timer(conn, shop, customer))
    }

    async fn due_timers(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueTimer>, StoreError> {
        let now = codec::timestamp(&now)?;
        self.readers.read(|conn| due_page(conn, shop, &now, &page))
    }
}
