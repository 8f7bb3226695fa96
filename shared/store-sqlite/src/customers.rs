//! Customer rows: the guarded writes ingest and the ledger make, the reads, and the index pages.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};

use stammkunde_domain::customer::{Birthday, Customer, CustomerProfile, Email};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::ingest::PrivacyRequest;
use stammkunde_domain::ledger::Balance;
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::{CustomerEdits, CustomerStore, Page, PageRequest, PAGE_LIMIT_MAX};
use stammkunde_domain::refund::Refund;

use crate::codec::{self, corrupt};
use crate::error::{constraint_failed, from_sqlite, SqlResultExt};
use crate::{orders, refunds, shops, SqliteStore};

/// Creates the customer, or replaces the fields a newer profile carries (never of a deleted
/// customer: what the platform deleted, we do not fill in again). `None` fields keep what
/// is stored; a birthday is replaced whole. A profile without `source_updated_at` (a snapshot)
/// only ever creates. All of it is the one statement's guard, not a read before the write.
pub fn upsert_profile(conn: &Connection, profile: &CustomerProfile) -> Result<bool, StoreError> {
    let birthday = profile.birthday.as_ref();
    let source_updated_at = codec::optional_timestamp(profile.source_updated_at.as_ref())?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO customers (shop, customer_id, email, first_name, last_name, locale, country,
                 birthday_month, birthday_day, birthday_year, accepts_email_marketing, source_updated_at,
                 birthday_since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, CASE WHEN ?8 IS NULL THEN NULL ELSE ?12 END)
             ON CONFLICT (shop, customer_id) DO UPDATE SET
                 email = coalesce(excluded.email, email),
                 first_name = coalesce(excluded.first_name, first_name),
                 last_name = coalesce(excluded.last_name, last_name),
                 locale = coalesce(excluded.locale, locale),
                 country = coalesce(excluded.country, country),
                 -- SET reads the row as it was: this compares the stored birthday with the new one.
                 birthday_since = CASE WHEN excluded.birthday_month IS NOT NULL
                                        AND (birthday_month IS NOT excluded.birthday_month
                                             OR birthday_day IS NOT excluded.birthday_day)
                                       THEN excluded.source_updated_at ELSE birthday_since END,
                 birthday_year = CASE WHEN excluded.birthday_month IS NULL THEN birthday_year
                                      ELSE excluded.birthday_year END,
                 birthday_month = coalesce(excluded.birthday_month, birthday_month),
                 birthday_day = coalesce(excluded.birthday_day, birthday_day),
                 accepts_email_marketing = coalesce(excluded.accepts_email_marketing, accepts_email_marketing),
                 source_updated_at = excluded.source_updated_at
             WHERE excluded.source_updated_at IS NOT NULL
               AND customers.deleted_at IS NULL
               AND (customers.source_updated_at IS NULL
                    OR customers.source_updated_at < excluded.source_updated_at)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                profile.shop.as_str(),
                profile.customer_id.as_str(),
                profile.email.as_ref().map(Email::as_str),
                profile.first_name,
                profile.last_name,
                profile.locale,
                profile.country,
                birthday.map(|b| b.month),
                birthday.map(|b| b.day),
                birthday.and_then(|b| b.year),
                profile.accepts_email_marketing,
                source_updated_at,
            ])
        })
        .or_store("upserting a customer")?;
    Ok(changed == 1)
}

/// Moves the last order time forward (never back), creating a minimal row for a customer we only
/// know from an order.
pub fn record_last_order(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    placed_at: &DateTime<Utc>,
) -> Result<bool, StoreError> {
    let placed_at = codec::timestamp(placed_at)?;
    let changed = conn
        .prepare_cached(
            "INSERT INTO customers (shop, customer_id, last_order_at, last_order_date) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (shop, customer_id) DO UPDATE SET
                 last_order_at = excluded.last_order_at, last_order_date = excluded.last_order_date
             WHERE customers.deleted_at IS NULL
               AND (customers.last_order_at IS NULL OR customers.last_order_at < excluded.last_order_at)",
        )
        .and_then(|mut statement| {
            statement.execute(params![shop.as_str(), customer.as_str(), placed_at, codec::date_of(&placed_at)])
        })
        .or_store("recording a customer's last order")?;
    Ok(changed == 1)
}

/// Marks a customer deleted, once (an unknown one too): the first deletion time stays.
pub fn mark_deleted(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    at: &DateTime<Utc>,
) -> Result<bool, StoreError> {
    let at = codec::timestamp(at)?;
    let changed = conn
        .prepare_cached(
            // An unknown customer gets a tombstone: the profile and orders the platform sent
            // before deleting them may still arrive (delivery is unordered) and must not revive them.
            "INSERT INTO customers (shop, customer_id, deleted_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (shop, customer_id) DO UPDATE SET deleted_at = excluded.deleted_at
             WHERE customers.deleted_at IS NULL",
        )
        .and_then(|mut statement| statement.execute(params![shop.as_str(), customer.as_str(), at]))
        .or_store("deleting a customer")?;
    Ok(changed == 1)
}

/// Moves the end of the customer's ledger: the length from `from_len` to `to_len` and the balances
/// by `delta`, only if the ledger still holds `from_len` entries. That guard is the append's
/// condition, so it is one UPDATE of the row the balances live on. A customer without a row has
/// an empty ledger: a first append creates the row (a bare customer); any other changes nothing.
/// Returns whether the ledger moved.
pub fn advance_ledger(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    from_len: u32,
    to_len: u32,
    delta: Balance,
) -> Result<bool, StoreError> {
    let moved = conn
        .prepare_cached(
            "UPDATE customers SET ledger_len = ?4, available = available + ?5, pending = pending + ?6
             WHERE shop = ?1 AND customer_id = ?2 AND ledger_len = ?3",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                shop.as_str(),
                customer.as_str(),
                from_len,
                to_len,
                delta.available,
                delta.pending
            ])
        })
        .map_err(|error| balance_error("moving a ledger's end", error))?;
    if moved == 1 || from_len != 0 {
        return Ok(moved == 1);
    }
    let created = conn
        .prepare_cached(
            "INSERT INTO customers (shop, customer_id, ledger_len, available, pending) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (shop, customer_id) DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![shop.as_str(), customer.as_str(), to_len, delta.available, delta.pending])
        })
        .or_store("creating a customer for their first entry")?;
    Ok(created == 1)
}

/// A balance that would leave 64 bits becomes a REAL in SQLite's arithmetic, which the STRICT
/// column refuses: that is the ledger invariant failing (bounded entries never get there), not a
/// backend fault.
fn balance_error(context: &str, error: rusqlite::Error) -> StoreError {
    if constraint_failed(&error) == Some(rusqlite::ffi::SQLITE_CONSTRAINT_DATATYPE) {
        return StoreError::Invariant(format!("{context}: the entries would overflow the balance"));
    }
    from_sqlite(context, error)
}

/// The columns as stored, before they are checked and turned into domain types.
struct CustomerRow {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    country: Option<String>,
    birthday: (Option<i64>, Option<i64>, Option<i64>),
    accepts_email_marketing: Option<bool>,
    source_updated_at: Option<String>,
    last_order_at: Option<String>,
    balance: Balance,
    deleted_at: Option<String>,
    birthday_since: Option<String>,
}

impl CustomerRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<CustomerRow> {
        Ok(CustomerRow {
            email: row.get(0)?,
            first_name: row.get(1)?,
            last_name: row.get(2)?,
            locale: row.get(3)?,
            country: row.get(4)?,
            birthday: (row.get(5)?, row.get(6)?, row.get(7)?),
            accepts_email_marketing: row.get(8)?,
            source_updated_at: row.get(9)?,
            last_order_at: row.get(10)?,
            balance: Balance { available: row.get(11)?, pending: row.get(12)? },
            deleted_at: row.get(13)?,
            birthday_since: row.get(14)?,
        })
    }

    fn into_customer(self, shop: &ShopId, customer_id: &CustomerId) -> Result<Customer, StoreError> {
        let key = format!("customer {shop}/{customer_id}");
        let email = self.email.map(|raw| Email::parse(&raw).map_err(|error| corrupt(&key, error.to_string())));
        let profile = CustomerProfile {
            shop: shop.clone(),
            customer_id: customer_id.clone(),
            email: email.transpose()?,
            first_name: self.first_name,
            last_name: self.last_name,
            locale: self.locale,
            country: self.country,
            birthday: birthday(&key, self.birthday)?,
            accepts_email_marketing: self.accepts_email_marketing,
            source_updated_at: codec::parse_optional_timestamp(&key, self.source_updated_at)?,
        };
        Ok(Customer {
            profile,
            last_order_at: codec::parse_optional_timestamp(&key, self.last_order_at)?,
            balance: self.balance,
            deleted_at: codec::parse_optional_timestamp(&key, self.deleted_at)?,
            birthday_since: codec::parse_optional_timestamp(&key, self.birthday_since)?,
        })
    }
}

fn birthday(
    key: &str,
    (month, day, year): (Option<i64>, Option<i64>, Option<i64>),
) -> Result<Option<Birthday>, StoreError> {
    let (Some(month), Some(day)) = (month, day) else { return Ok(None) };
    let bad = |what: &str| corrupt(key, format!("birthday {what} out of range"));
    let month = u8::try_from(month).map_err(|_| bad("month"))?;
    let day = u8::try_from(day).map_err(|_| bad("day"))?;
    let year = year.map(|year| u16::try_from(year).map_err(|_| bad("year"))).transpose()?;
    Birthday::new(month, day, year).map(Some).map_err(|error| corrupt(key, error.to_string()))
}

pub fn read_customer(
    conn: &Connection,
    shop: &ShopId,
    customer_id: &CustomerId,
) -> Result<Option<Customer>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT email, first_name, last_name, locale, country, birthday_month, birthday_day, birthday_year,
                    accepts_email_marketing, source_updated_at, last_order_at, available, pending, deleted_at,
                    birthday_since
             FROM customers WHERE shop = ?1 AND customer_id = ?2",
        )
        .and_then(|mut statement| {
            statement.query_row(params![shop.as_str(), customer_id.as_str()], CustomerRow::from_row).optional()
        })
        .or_store("reading a customer")?;
    row.map(|row| row.into_customer(shop, customer_id)).transpose()
}

/// One page of an index: `sql` selects `customer_id` with `?1` = shop, its own keys from `?2`, then
/// `?N` = the id to resume after and `?N+1` = how many rows to return, ordered by `customer_id`.
fn index_page(
    conn: &Connection,
    sql: &str,
    keys: &[&dyn ToSql],
    page: &PageRequest,
) -> Result<Page<CustomerId>, StoreError> {
    let limit = page.limit.clamp(1, PAGE_LIMIT_MAX);
    // Ids are never empty, so "" resumes before the first.
    let after = page.cursor.as_deref().map(codec::parse_cursor).transpose()?;
    let after = after.as_ref().map_or("", CustomerId::as_str);
    // One row more than the page shows whether another page follows.
    let fetch = i64::from(limit) + 1;
    let mut bound: Vec<&dyn ToSql> = keys.to_vec();
    bound.push(&after);
    bound.push(&fetch);
    let raw: Vec<String> = conn
        .prepare_cached(sql)
        .and_then(|mut statement| statement.query_map(bound.as_slice(), |row| row.get(0))?.collect())
        .or_store("reading an index page")?;
    let mut items =
        raw.iter().map(|id| codec::parse_id("customer index", id, CustomerId::parse)).collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(codec::cursor_after) } else { None };
    Ok(Page { items, next })
}

#[async_trait]
impl CustomerEdits for SqliteStore {
    async fn set_birthday(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        birthday: Option<Birthday>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (shop, customer) = (shop.clone(), customer.clone());
        let at = codec::timestamp(&at)?;
        self.writer.write(move |tx| set_birthday(tx, &shop, &customer, birthday.as_ref(), &at)).await
    }

    async fn erase_customer(&self, shop: &ShopId, customer: &CustomerId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (shop, customer) = (shop.clone(), customer.clone());
        let at = codec::timestamp(&at)?;
        self.writer.write(move |tx| crate::erasure::erase_customer(tx, &shop, &customer, &at)).await
    }
}

/// One guarded statement: only a live customer's row changes, and `birthday_since` moves only
/// with the month and day (SET reads the row as it was).
fn set_birthday(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    birthday: Option<&Birthday>,
    at: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE customers SET
                 birthday_since = CASE WHEN ?3 IS NULL THEN NULL
                                       WHEN birthday_month IS NOT ?3 OR birthday_day IS NOT ?4 THEN ?6
                                       ELSE birthday_since END,
                 birthday_month = ?3, birthday_day = ?4, birthday_year = ?5
             WHERE shop = ?1 AND customer_id = ?2 AND deleted_at IS NULL",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                shop.as_str(),
                customer.as_str(),
                birthday.map(|b| b.month),
                birthday.map(|b| b.day),
                birthday.and_then(|b| b.year),
                at,
            ])
        })
        .or_store("setting a birthday")?;
    Ok(changed == 1)
}

#[async_trait]
impl CustomerStore for SqliteStore {
    async fn customer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Customer>, StoreError> {
        self.readers.read(|conn| read_customer(conn, shop, customer))
    }

    async fn order(&self, shop: &ShopId, order: &OrderId) -> Result<Option<Order>, StoreError> {
        self.readers.read(|conn| orders::order(conn, shop, order))
    }

    async fn privacy_requests(&self, shop: &ShopId) -> Result<Vec<PrivacyRequest>, StoreError> {
        self.readers.read(|conn| shops::privacy_requests(conn, shop))
    }

    async fn refunds(&self, shop: &ShopId, order: &OrderId) -> Result<Vec<Refund>, StoreError> {
        self.readers.read(|conn| refunds::refunds(conn, shop, order))
    }

    async fn customers(&self, shop: &ShopId, page: PageRequest) -> Result<Page<CustomerId>, StoreError> {
        // Through the primary key: every row, deleted customers and tombstones included.
        let sql = "SELECT customer_id FROM customers WHERE shop = ?1 AND customer_id > ?2
                   ORDER BY customer_id LIMIT ?3";
        self.readers.read(|conn| index_page(conn, sql, &[&shop.as_str()], &page))
    }

    async fn customers_by_email(
        &self,
        shop: &ShopId,
        email: &Email,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        let sql = "SELECT customer_id FROM customers
                   WHERE shop = ?1 AND email = ?2 AND deleted_at IS NULL AND customer_id > ?3
                   ORDER BY customer_id LIMIT ?4";
        self.readers.read(|conn| index_page(conn, sql, &[&shop.as_str(), &email.as_str()], &page))
    }

    async fn customers_by_birthday(
        &self,
        shop: &ShopId,
        month: u8,
        day: u8,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        let sql = "SELECT customer_id FROM customers
                   WHERE shop = ?1 AND birthday_month = ?2 AND birthday_day = ?3 AND deleted_at IS NULL
                     AND customer_id > ?4
                   ORDER BY customer_id LIMIT ?5";
        self.readers.read(|conn| index_page(conn, sql, &[&shop.as_str(), &month, &day], &page))
    }

    async fn customers_by_last_order_date(
        &self,
        shop: &ShopId,
        date: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        let date = codec::date_key(date);
        let sql = "SELECT customer_id FROM customers
                   WHERE shop = ?1 AND last_order_date = ?2 AND deleted_at IS NULL AND customer_id > ?3
                   ORDER BY customer_id LIMIT ?4";
        self.readers.read(|conn| index_page(conn, sql, &[&shop.as_str(), &date], &page))
    }
}
