//! Coupon codes: reward pools the merchant fills, and each code's binding to one redemption.
//!
//! Every claim runs in the single writer, one after another, so "the redemption's code, else the
//! first pooled one" is exactly-once without a retry loop; UNIQUE (shop, redemption) and the
//! `redemption IS NULL` guard on the binding stand behind it.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};

use stammkunde_domain::coupon::{Coupon, CouponCode, Issue};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, IdempotencyKey, RewardId, ShopId};
use stammkunde_domain::ports::{CodeStore, Page, PageRequest, PAGE_LIMIT_MAX};

use crate::codec::{self, corrupt};
use crate::error::SqlResultExt;
use crate::SqliteStore;

/// Most codes one write job imports. A large import becomes several jobs, so it never holds up
/// the webhooks batched with it for long; each job is idempotent (known codes are skipped), so a
/// failure part-way is repaired by importing again.
const IMPORT_CODES_PER_JOB: usize = 500;

/// The columns every read selects, in `CodeRow::from_row`'s order.
const CODE_COLUMNS: &str = "code, reward, generated, customer_id, redemption, issued_at, expires_at";

/// An issue as stored: the columns are all set or all NULL (the table checks it).
struct IssueColumns {
    customer_id: String,
    redemption: String,
    issued_at: String,
    expires_at: String,
}

impl IssueColumns {
    fn of(issue: &Issue) -> Result<IssueColumns, StoreError> {
        Ok(IssueColumns {
            customer_id: issue.customer_id.as_str().to_owned(),
            redemption: issue.redemption.as_str().to_owned(),
            issued_at: codec::timestamp(&issue.issued_at)?,
            expires_at: codec::timestamp(&issue.expires_at)?,
        })
    }
}

/// The columns as stored, before they are checked and turned into a `Coupon`.
struct CodeRow {
    code: String,
    reward: String,
    generated: bool,
    customer_id: Option<String>,
    redemption: Option<String>,
    issued_at: Option<String>,
    expires_at: Option<String>,
}

impl CodeRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<CodeRow> {
        Ok(CodeRow {
            code: row.get(0)?,
            reward: row.get(1)?,
            generated: row.get(2)?,
            customer_id: row.get(3)?,
            redemption: row.get(4)?,
            issued_at: row.get(5)?,
            expires_at: row.get(6)?,
        })
    }

    fn into_coupon(self, shop: &ShopId) -> Result<Coupon, StoreError> {
        let key = format!("code {shop}/{}", self.code);
        let issue = match (self.customer_id, self.redemption, self.issued_at, self.expires_at) {
            (None, None, None, None) => None,
            (Some(customer), Some(redemption), Some(issued_at), Some(expires_at)) => Some(Issue {
                customer_id: codec::parse_id(&key, &customer, CustomerId::parse)?,
                redemption: codec::parse_id(&key, &redemption, IdempotencyKey::parse)?,
                issued_at: codec::parse_timestamp(&key, &issued_at)?,
                expires_at: codec::parse_timestamp(&key, &expires_at)?,
            }),
            _ => return Err(corrupt(&key, "its issue is partly set")),
        };
        Ok(Coupon {
            shop: shop.clone(),
            code: codec::parse_id(&key, &self.code, CouponCode::parse)?,
            reward: codec::parse_id(&key, &self.reward, RewardId::parse)?,
            generated: self.generated,
            issue,
        })
    }
}

/// The one code a query selects (by a unique key), if any.
fn one_code(conn: &Connection, shop: &ShopId, sql: &str, key: &str) -> Result<Option<Coupon>, StoreError> {
    let row = conn
        .prepare_cached(sql)
        .and_then(|mut statement| statement.query_row(params![shop.as_str(), key], CodeRow::from_row).optional())
        .or_store("reading a code")?;
    row.map(|row| row.into_coupon(shop)).transpose()
}

fn code(conn: &Connection, shop: &ShopId, code: &CouponCode) -> Result<Option<Coupon>, StoreError> {
    let sql = format!("SELECT {CODE_COLUMNS} FROM codes WHERE shop = ?1 AND code = ?2");
    one_code(conn, shop, &sql, code.as_str())
}

fn code_for_redemption(conn: &Connection, shop: &ShopId, redemption: &str) -> Result<Option<Coupon>, StoreError> {
    let sql = format!("SELECT {CODE_COLUMNS} FROM codes WHERE shop = ?1 AND redemption = ?2");
    one_code(conn, shop, &sql, redemption)
}

/// Adds the codes to the reward's pool, skipping codes the shop has in any pool or issued.
fn import(
    conn: &Connection,
    shop: &ShopId,
    reward: &RewardId,
    codes: &[CouponCode],
    generated: bool,
) -> Result<u32, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO codes (shop, code, reward, generated) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (shop, code) DO NOTHING",
        )
        .or_store("importing codes")?;
    let mut added = 0_u32;
    for code in codes {
        let inserted = statement
            .execute(params![shop.as_str(), code.as_str(), reward.as_str(), generated])
            .or_store("importing codes")?;
        added = added.saturating_add(u32::from(inserted == 1));
    }
    Ok(added)
}

/// Binds the reward's first pooled code (by code) to the issue and returns it as now stored. The
/// `redemption IS NULL` guard keeps the binding conditional although the single writer already
/// serialises claims.
fn bind_pooled(
    conn: &Connection,
    shop: &ShopId,
    reward: &RewardId,
    issue: &IssueColumns,
) -> Result<Option<Coupon>, StoreError> {
    let sql = format!(
        "UPDATE codes SET customer_id = ?3, redemption = ?4, issued_at = ?5, expires_at = ?6
         WHERE shop = ?1 AND redemption IS NULL AND code =
             (SELECT code FROM codes WHERE shop = ?1 AND reward = ?2 AND redemption IS NULL ORDER BY code LIMIT 1)
         RETURNING {CODE_COLUMNS}"
    );
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut statement| {
            let bound = params![
                shop.as_str(),
                reward.as_str(),
                issue.customer_id,
                issue.redemption,
                issue.issued_at,
                issue.expires_at
            ];
            statement.query_row(bound, CodeRow::from_row).optional()
        })
        .or_store("claiming a code")?;
    row.map(|row| row.into_coupon(shop)).transpose()
}

/// Runs in the writer: the redemption's code if it has one (a repeat), else a pooled code bound
/// to it now, else `None` (the pool is empty).
fn claim(
    conn: &Connection,
    shop: &ShopId,
    reward: &RewardId,
    issue: &IssueColumns,
) -> Result<Option<Coupon>, StoreError> {
    match code_for_redemption(conn, shop, &issue.redemption)? {
        Some(bound) => Ok(Some(bound)),
        None => bind_pooled(conn, shop, reward, issue),
    }
}

/// Runs in the writer: the redemption's code if it has one (an earlier attempt's), else the new
/// code, unless the code string is taken (`None`: the caller draws another).
fn insert_issued(conn: &Connection, coupon: &Coupon, issue: &IssueColumns) -> Result<Option<Coupon>, StoreError> {
    if let Some(bound) = code_for_redemption(conn, &coupon.shop, &issue.redemption)? {
        return Ok(Some(bound));
    }
    let inserted = conn
        .prepare_cached(
            "INSERT INTO codes (shop, code, reward, generated, customer_id, redemption, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (shop, code) DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                coupon.shop.as_str(),
                coupon.code.as_str(),
                coupon.reward.as_str(),
                coupon.generated,
                issue.customer_id,
                issue.redemption,
                issue.issued_at,
                issue.expires_at
            ])
        })
        .or_store("storing an issued code")?;
    Ok((inserted == 1).then(|| coupon.clone()))
}

/// Runs in the writer: only the redemption holding the code can give it back. A generated code
/// was made for this redemption and leaves; a pooled one goes back to its pool.
fn return_code(
    conn: &Connection,
    shop: &ShopId,
    code: &CouponCode,
    redemption: &IdempotencyKey,
) -> Result<(), StoreError> {
    let keys = params![shop.as_str(), code.as_str(), redemption.as_str()];
    conn.prepare_cached("DELETE FROM codes WHERE shop = ?1 AND code = ?2 AND redemption = ?3 AND generated = 1")
        .and_then(|mut statement| statement.execute(keys))
        .or_store("removing a returned code")?;
    conn.prepare_cached(
        "UPDATE codes SET customer_id = NULL, redemption = NULL, issued_at = NULL, expires_at = NULL
         WHERE shop = ?1 AND code = ?2 AND redemption = ?3 AND generated = 0",
    )
    .and_then(|mut statement| statement.execute(keys))
    .or_store("returning a code to its pool")?;
    Ok(())
}

/// One page of the shop's codes (of one reward, or all), ordered by code: through the reward's
/// index or the primary key, so a page reads only its own rows.
fn codes_page(
    conn: &Connection,
    shop: &ShopId,
    reward: Option<&RewardId>,
    page: &PageRequest,
) -> Result<Page<Coupon>, StoreError> {
    let limit = page.limit.clamp(1, PAGE_LIMIT_MAX);
    let after = page.cursor.as_deref().map(parse_cursor).transpose()?;
    // Codes are never empty, so "" resumes before the first.
    let after = after.as_ref().map_or("", CouponCode::as_str);
    // One row more than the page shows whether another page follows.
    let fetch = i64::from(limit) + 1;
    let shop_key = shop.as_str();
    let reward_key = reward.map(RewardId::as_str);
    let (filter, bound): (&str, Vec<&dyn ToSql>) = match &reward_key {
        Some(reward) => {
            ("shop = ?1 AND reward = ?2 AND code > ?3 ORDER BY code LIMIT ?4", vec![&shop_key, reward, &after, &fetch])
        }
        None => ("shop = ?1 AND code > ?2 ORDER BY code LIMIT ?3", vec![&shop_key, &after, &fetch]),
    };
    let sql = format!("SELECT {CODE_COLUMNS} FROM codes WHERE {filter}");
    let rows: Vec<CodeRow> = conn
        .prepare_cached(&sql)
        .and_then(|mut statement| statement.query_map(bound.as_slice(), CodeRow::from_row)?.collect())
        .or_store("reading a page of codes")?;
    let mut items = rows.into_iter().map(|row| row.into_coupon(shop)).collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(|coupon| codec::cursor_from(coupon.code.as_str())) } else { None };
    Ok(Page { items, next })
}

/// The code a codes cursor resumes after. It must be a code as stored (upper case): parsing would
/// otherwise quietly turn a foreign cursor into another one.
fn parse_cursor(cursor: &str) -> Result<CouponCode, StoreError> {
    let text = codec::cursor_key(cursor)?;
    let code = CouponCode::parse(&text).map_err(|error| corrupt("page cursor", error.to_string()))?;
    if code.as_str() != text {
        return Err(corrupt("page cursor", "not a code as stored"));
    }
    Ok(code)
}

/// The issue a write binds, which a pooled or issued code must carry.
fn issue_of(coupon: &Coupon) -> Result<IssueColumns, StoreError> {
    let issue = coupon.issue.as_ref().ok_or_else(|| {
        StoreError::Invariant(format!("code {} is to be stored as issued but is bound to no redemption", coupon.code))
    })?;
    IssueColumns::of(issue)
}

#[async_trait]
impl CodeStore for SqliteStore {
    async fn import_codes(
        &self,
        shop: &ShopId,
        reward: &RewardId,
        codes: &[CouponCode],
        generated: bool,
    ) -> Result<u32, StoreError> {
        let mut added = 0_u32;
        for chunk in codes.chunks(IMPORT_CODES_PER_JOB) {
            let (shop, reward, chunk) = (shop.clone(), reward.clone(), chunk.to_vec());
            let chunk_added = self.writer.write(move |tx| import(tx, &shop, &reward, &chunk, generated)).await?;
            added = added.saturating_add(chunk_added);
        }
        Ok(added)
    }

    async fn claim_code(&self, shop: &ShopId, reward: &RewardId, issue: &Issue) -> Result<Option<Coupon>, StoreError> {
        // A repeat finds its code from a reader and never waits for a commit; a repeat racing
        // the first claim still meets the check in the writer.
        if let Some(bound) = self.readers.read(|conn| code_for_redemption(conn, shop, issue.redemption.as_str()))? {
            return Ok(Some(bound));
        }
        let (shop, reward, issue) = (shop.clone(), reward.clone(), IssueColumns::of(issue)?);
        self.writer.write(move |tx| claim(tx, &shop, &reward, &issue)).await
    }

    async fn insert_issued(&self, coupon: &Coupon) -> Result<Option<Coupon>, StoreError> {
        let (coupon, issue) = (coupon.clone(), issue_of(coupon)?);
        self.writer.write(move |tx| insert_issued(tx, &coupon, &issue)).await
    }

    async fn return_code(
        &self,
        shop: &ShopId,
        code: &CouponCode,
        redemption: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        let (shop, code, redemption) = (shop.clone(), code.clone(), redemption.clone());
        self.writer.write(move |tx| return_code(tx, &shop, &code, &redemption)).await
    }

    async fn code(&self, shop: &ShopId, code: &CouponCode) -> Result<Option<Coupon>, StoreError> {
        self.readers.read(|conn| self::code(conn, shop, code))
    }

    async fn code_for_redemption(
        &self,
        shop: &ShopId,
        redemption: &IdempotencyKey,
    ) -> Result<Option<Coupon>, StoreError> {
        self.readers.read(|conn| code_for_redemption(conn, shop, redemption.as_str()))
    }

    async fn codes(
        &self,
        shop: &ShopId,
        reward: Option<&RewardId>,
        page: PageRequest,
    ) -> Result<Page<Coupon>, StoreError> {
        self.readers.read(|conn| codes_page(conn, shop, reward, &page))
    }
}
