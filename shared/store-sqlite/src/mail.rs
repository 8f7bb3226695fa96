//! Mail records: send records under their business key (the claim that makes a mail go out once),
//! the due index (deferred mail, claims until their lease runs out), customers' mail settings, the suppression list and the soft bounces of each
//! address (one row per bounced message).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::link::LinkToken;
use stammkunde_domain::mail::{Campaign, DueSend, MailContact, MailSend, SendStateKind, Suppression};
use stammkunde_domain::ports::{CreateOutcome, MailStore, Page, PageRequest, PAGE_LIMIT_MAX};

use crate::codec::{self, corrupt};
use crate::error::SqlResultExt;
use crate::SqliteStore;

/// The columns a send record is kept under and selected by, beside its JSON body.
struct SendColumns {
    campaign: &'static str,
    date: String,
    state: &'static str,
    claimed_at: Option<String>,
    /// `SendState::sweep_due`: what the due index holds.
    sweep_due: Option<String>,
    body: String,
}

fn columns(send: &MailSend) -> Result<SendColumns, StoreError> {
    Ok(SendColumns {
        campaign: send.campaign.as_str(),
        date: codec::date_key(send.date),
        state: send.state.kind().as_str(),
        claimed_at: codec::optional_timestamp(send.state.claimed_at().as_ref())?,
        sweep_due: codec::optional_timestamp(send.state.sweep_due().as_ref())?,
        body: codec::to_json("a send record", send)?,
    })
}

fn decode_send(shop: &ShopId, customer: &str, body: &str) -> Result<MailSend, StoreError> {
    let key = format!("mail send {shop}/{customer}");
    let send: MailSend = codec::from_json(&key, body)?;
    if &send.shop != shop || send.customer_id.as_str() != customer {
        return Err(corrupt(&key, "the body belongs to another customer"));
    }
    Ok(send)
}

fn create_send(conn: &Connection, send: &MailSend) -> Result<CreateOutcome<MailSend>, StoreError> {
    let c = columns(send)?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO mail_sends (shop, customer_id, campaign, date, state, claimed_at, sweep_due, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                send.shop.as_str(),
                send.customer_id.as_str(),
                c.campaign,
                c.date,
                c.state,
                c.claimed_at,
                c.sweep_due,
                c.body
            ])
        })
        .or_store("creating a send record")?;
    if inserted == 1 {
        return Ok(CreateOutcome::Created);
    }
    match read_send(conn, &send.shop, &send.customer_id, send.campaign, send.date)? {
        Some(stored) => Ok(CreateOutcome::Exists(stored)),
        None => Err(StoreError::Invariant(format!("send record {} neither inserted nor found", send.label()))),
    }
}

fn replace_send(conn: &Connection, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
    let c = columns(send)?;
    let changed = conn
        .prepare_cached(
            "UPDATE mail_sends SET state = ?5, claimed_at = ?6, sweep_due = ?7, body = ?8
             WHERE shop = ?1 AND customer_id = ?2 AND campaign = ?3 AND date = ?4 AND state = ?9",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                send.shop.as_str(),
                send.customer_id.as_str(),
                c.campaign,
                c.date,
                c.state,
                c.claimed_at,
                c.sweep_due,
                c.body,
                expected.as_str()
            ])
        })
        .or_store("replacing a send record")?;
    Ok(changed == 1)
}

fn delete_send(conn: &Connection, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM mail_sends WHERE shop = ?1 AND customer_id = ?2 AND campaign = ?3 AND date = ?4 AND state = ?5",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                send.shop.as_str(),
                send.customer_id.as_str(),
                send.campaign.as_str(),
                codec::date_key(send.date),
                expected.as_str()
            ])
        })
        .or_store("deleting a send record")?;
    Ok(deleted == 1)
}

fn read_send(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    campaign: Campaign,
    date: NaiveDate,
) -> Result<Option<MailSend>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached(
            "SELECT body FROM mail_sends WHERE shop = ?1 AND customer_id = ?2 AND campaign = ?3 AND date = ?4",
        )
        .and_then(|mut statement| {
            statement
                .query_row(params![shop.as_str(), customer.as_str(), campaign.as_str(), codec::date_key(date)], |row| {
                    row.get(0)
                })
                .optional()
        })
        .or_store("reading a send record")?;
    body.map(|body| decode_send(shop, customer.as_str(), &body)).transpose()
}

fn sends_claimed_since(
    conn: &Connection,
    shop: &ShopId,
    customer: &CustomerId,
    since: &str,
) -> Result<Vec<MailSend>, StoreError> {
    let bodies: Vec<String> = conn
        .prepare_cached(
            "SELECT body FROM mail_sends
             WHERE shop = ?1 AND customer_id = ?2 AND claimed_at IS NOT NULL AND claimed_at >= ?3",
        )
        .and_then(|mut statement| {
            statement.query_map(params![shop.as_str(), customer.as_str(), since], |row| row.get(0))?.collect()
        })
        .or_store("reading a customer's sends")?;
    bodies.iter().map(|body| decode_send(shop, customer.as_str(), body)).collect()
}

/// A due-index cursor: the last row's (due, customer, campaign, date), apart by spaces (none of
/// them holds one).
fn due_cursor(due: &str, send: &DueSend) -> String {
    codec::cursor_from(&format!("{due} {} {} {}", send.customer_id, send.campaign, codec::date_key(send.date)))
}

fn parse_due_cursor(cursor: &str) -> Result<[String; 4], StoreError> {
    let text = codec::cursor_key(cursor)?;
    let parts: Vec<&str> = text.split(' ').collect();
    match parts.as_slice() {
        [due, customer, campaign, date] => {
            codec::parse_stored_timestamp("page cursor", due)?;
            Ok([(*due).to_owned(), (*customer).to_owned(), (*campaign).to_owned(), (*date).to_owned()])
        }
        _ => Err(corrupt("page cursor", "not a due-send cursor")),
    }
}

fn due_sends(conn: &Connection, shop: &ShopId, now: &str, page: &PageRequest) -> Result<Page<DueSend>, StoreError> {
    let limit = page.limit.clamp(1, PAGE_LIMIT_MAX);
    // "" sorts before every value: no cursor starts at the first.
    let after = page.cursor.as_deref().map(parse_due_cursor).transpose()?.unwrap_or_default();
    let fetch = i64::from(limit) + 1;
    let rows: Vec<(String, String, String)> = conn
        .prepare_cached(
            "SELECT sweep_due, customer_id, body FROM mail_sends
             WHERE shop = ?1 AND sweep_due IS NOT NULL AND sweep_due <= ?2
               AND (sweep_due, customer_id, campaign, date) > (?3, ?4, ?5, ?6)
             ORDER BY sweep_due, customer_id, campaign, date LIMIT ?7",
        )
        .and_then(|mut statement| {
            statement
                .query_map(params![shop.as_str(), now, after[0], after[1], after[2], after[3], fetch], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect()
        })
        .or_store("reading due sends")?;
    let mut sends = rows
        .into_iter()
        .map(|(due_text, customer, body)| {
            let send = decode_send(shop, &customer, &body)?;
            let due = codec::parse_stored_timestamp("a send's due time", &due_text)?;
            let due = DueSend { customer_id: send.customer_id, campaign: send.campaign, date: send.date, due };
            Ok((due_text, due))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let more = sends.len() > limit as usize;
    sends.truncate(limit as usize);
    let next = if more { sends.last().map(|(due, send)| due_cursor(due, send)) } else { None };
    Ok(Page { items: sends.into_iter().map(|(_, send)| send).collect(), next })
}

/// A flagged-send cursor: the last row's (customer, campaign, date), apart by spaces (none of
/// them holds one).
fn flagged_cursor(send: &MailSend) -> String {
    codec::cursor_from(&format!("{} {} {}", send.customer_id, send.campaign, codec::date_key(send.date)))
}

fn parse_flagged_cursor(cursor: &str) -> Result<[String; 3], StoreError> {
    let text = codec::cursor_key(cursor)?;
    match text.split(' ').collect::<Vec<_>>().as_slice() {
        [customer, campaign, date] => Ok([(*customer).to_owned(), (*campaign).to_owned(), (*date).to_owned()]),
        _ => Err(corrupt("page cursor", "not a flagged-send cursor")),
    }
}

fn flagged_sends(conn: &Connection, shop: &ShopId, page: &PageRequest) -> Result<Page<MailSend>, StoreError> {
    let limit = page.limit.clamp(1, PAGE_LIMIT_MAX);
    // "" sorts before every value: no cursor starts at the first.
    let after = page.cursor.as_deref().map(parse_flagged_cursor).transpose()?.unwrap_or_default();
    let fetch = i64::from(limit) + 1;
    // `state = 'review'` as a literal, so the partial index `mail_sends_flagged` applies.
    let rows: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT customer_id, body FROM mail_sends
             WHERE shop = ?1 AND state = 'review' AND (customer_id, campaign, date) > (?2, ?3, ?4)
             ORDER BY customer_id, campaign, date LIMIT ?5",
        )
        .and_then(|mut statement| {
            statement
                .query_map(params![shop.as_str(), after[0], after[1], after[2], fetch], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect()
        })
        .or_store("reading flagged sends")?;
    let mut sends =
        rows.iter().map(|(customer, body)| decode_send(shop, customer, body)).collect::<Result<Vec<_>, _>>()?;
    let more = sends.len() > limit as usize;
    sends.truncate(limit as usize);
    let next = if more { sends.last().map(flagged_cursor) } else { None };
    Ok(Page { items: sends, next })
}

fn read_contact(conn: &Connection, shop: &ShopId, customer: &CustomerId) -> Result<Option<MailContact>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM mail_contacts WHERE shop = ?1 AND customer_id = ?2")
        .and_then(|mut statement| {
            statement.query_row(params![shop.as_str(), customer.as_str()], |row| row.get(0)).optional()
        })
        .or_store("reading mail settings")?;
    body.map(|body| codec::from_json(&format!("mail contact {shop}/{customer}"), &body)).transpose()
}

fn read_suppression(
    conn: &Connection,
    shop: &ShopId,
    address: &AddressDigest,
) -> Result<Option<Suppression>, StoreError> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT reason, at FROM suppressions WHERE shop = ?1 AND address = ?2")
        .and_then(|mut statement| {
            statement
                .query_row(params![shop.as_str(), address.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .or_store("reading a suppression")?;
    let Some((reason, at)) = row else { return Ok(None) };
    let key = format!("suppression {shop}/{}", address.as_str());
    Ok(Some(Suppression {
        shop: shop.clone(),
        address: address.clone(),
        reason: codec::from_json(&key, &reason)?,
        at: codec::parse_timestamp(&key, &at)?,
    }))
}

#[async_trait]
impl MailStore for SqliteStore {
    async fn create_send(&self, send: &MailSend) -> Result<CreateOutcome<MailSend>, StoreError> {
        let send = send.clone();
        self.writer.write(move |tx| create_send(tx, &send)).await
    }

    async fn replace_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
        let send = send.clone();
        self.writer.write(move |tx| replace_send(tx, &send, expected)).await
    }

    async fn delete_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
        let send = send.clone();
        self.writer.write(move |tx| delete_send(tx, &send, expected)).await
    }

    async fn send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        campaign: Campaign,
        date: NaiveDate,
    ) -> Result<Option<MailSend>, StoreError> {
        self.readers.read(|conn| read_send(conn, shop, customer, campaign, date))
    }

    async fn sends_claimed_since(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Vec<MailSend>, StoreError> {
        let since = codec::timestamp(&since)?;
        self.readers.read(|conn| sends_claimed_since(conn, shop, customer, &since))
    }

    async fn due_sends(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueSend>, StoreError> {
        let now = codec::timestamp(&now)?;
        self.readers.read(|conn| due_sends(conn, shop, &now, &page))
    }

    async fn flagged_sends(&self, shop: &ShopId, page: PageRequest) -> Result<Page<MailSend>, StoreError> {
        self.readers.read(|conn| flagged_sends(conn, shop, &page))
    }

    async fn put_link(&self, digest: &str, link: &LinkToken) -> Result<(), StoreError> {
        let (digest, body) = (digest.to_owned(), codec::to_json("a link token", link)?);
        self.writer
            .write(move |tx| {
                tx.prepare_cached("INSERT OR REPLACE INTO link_tokens (digest, body) VALUES (?1, ?2)")
                    .and_then(|mut statement| statement.execute(params![digest, body]))
                    .or_store("storing a link token")
                    .map(|_| ())
            })
            .await
    }

    async fn link(&self, digest: &str) -> Result<Option<LinkToken>, StoreError> {
        self.readers.read(|conn| {
            let body: Option<String> = conn
                .prepare_cached("SELECT body FROM link_tokens WHERE digest = ?1")
                .and_then(|mut statement| statement.query_row(params![digest], |row| row.get(0)).optional())
                .or_store("reading a link token")?;
            body.map(|body| codec::from_json("a link token", &body)).transpose()
        })
    }

    async fn contact(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<MailContact>, StoreError> {
        self.readers.read(|conn| read_contact(conn, shop, customer))
    }

    async fn put_contact(&self, shop: &ShopId, customer: &CustomerId, contact: &MailContact) -> Result<(), StoreError> {
        let body = codec::to_json("mail settings", contact)?;
        let (shop, customer) = (shop.clone(), customer.clone());
        self.writer
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO mail_contacts (shop, customer_id, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (shop, customer_id) DO UPDATE SET body = excluded.body",
                )
                .and_then(|mut statement| statement.execute(params![shop.as_str(), customer.as_str(), body]))
                .or_store("storing mail settings")?;
                Ok(())
            })
            .await
    }

    async fn update_contact(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        contact: &MailContact,
    ) -> Result<bool, StoreError> {
        let next = MailContact { revision: contact.revision.saturating_add(1), ..contact.clone() };
        let body = codec::to_json("mail settings", &next)?;
        let (shop, customer, expected) = (shop.clone(), customer.clone(), contact.revision);
        self.writer
            .write(move |tx| {
                // Read and write in one job of the only writer: nothing can come between them.
                let stored = read_contact(tx, &shop, &customer)?.map_or(0, |stored| stored.revision);
                if stored != expected {
                    return Ok(false);
                }
                tx.prepare_cached(
                    "INSERT INTO mail_contacts (shop, customer_id, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (shop, customer_id) DO UPDATE SET body = excluded.body",
                )
                .and_then(|mut statement| statement.execute(params![shop.as_str(), customer.as_str(), body]))
                .or_store("storing mail settings")?;
                Ok(true)
            })
            .await
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        let reason = codec::to_json("a suppression reason", &suppression.reason)?;
        let at = codec::timestamp(&suppression.at)?;
        let (shop, address) = (suppression.shop.clone(), suppression.address.clone());
        self.writer
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO suppressions (shop, address, reason, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut statement| statement.execute(params![shop.as_str(), address.as_str(), reason, at]))
                .or_store("suppressing an address")?;
                Ok(())
            })
            .await
    }

    async fn suppression(&self, shop: &ShopId, address: &AddressDigest) -> Result<Option<Suppression>, StoreError> {
        self.readers.read(|conn| read_suppression(conn, shop, address))
    }

    async fn count_soft_bounce(
        &self,
        shop: &ShopId,
        address: &AddressDigest,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let at = codec::timestamp(&at)?;
        let (shop, address, message_id) = (shop.clone(), address.clone(), message_id.to_owned());
        // The insert and the count are one write job, one transaction on the one writer: no
        // concurrent bounce can come between them.
        self.writer.write(move |tx| count_soft_bounce(tx, &shop, &address, &message_id, &at)).await
    }

    async fn take_request(
        &self,
        shop: &ShopId,
        key: &str,
        window: DateTime<Utc>,
        limit: u32,
        _expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (shop, key, window) = (shop.clone(), key.to_owned(), codec::timestamp(&window)?);
        self.writer.write(move |tx| take_request(tx, &shop, &key, &window, limit)).await
    }
}

/// One guarded upsert: counted only below the limit (the WHERE of the DO UPDATE), so the count
/// never passes it; the key's earlier windows go in the same transaction.
fn take_request(conn: &Connection, shop: &ShopId, key: &str, window: &str, limit: u32) -> Result<bool, StoreError> {
    if limit == 0 {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM request_counters WHERE shop = ?1 AND key = ?2 AND window_start < ?3")
        .and_then(|mut statement| statement.execute(params![shop.as_str(), key, window]))
        .or_store("dropping old request counters")?;
    let taken = conn
        .prepare_cached(
            "INSERT INTO request_counters (shop, key, window_start, taken) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (shop, key, window_start) DO UPDATE SET taken = taken + 1 WHERE taken < ?4",
        )
        .and_then(|mut statement| statement.execute(params![shop.as_str(), key, window, limit]))
        .or_store("taking a request")?;
    Ok(taken == 1)
}

fn count_soft_bounce(
    conn: &Connection,
    shop: &ShopId,
    address: &AddressDigest,
    message_id: &str,
    at: &str,
) -> Result<u32, StoreError> {
    conn.prepare_cached(
        "INSERT INTO soft_bounces (shop, address, message_id, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut statement| statement.execute(params![shop.as_str(), address.as_str(), message_id, at]))
    .or_store("counting a soft bounce")?;
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM soft_bounces WHERE shop = ?1 AND address = ?2")
        .and_then(|mut statement| statement.query_row(params![shop.as_str(), address.as_str()], |row| row.get(0)))
        .or_store("reading an address's soft bounces")?;
    u32::try_from(count)
        .map_err(|_| corrupt(&format!("soft bounces {shop}/{}", address.as_str()), "count out of range"))
}
