//! `GET /api/shops/{shop}/mail/flagged`: the mail sends flagged for review. A claim whose sender
//! died between claiming and confirming (the mail may or may not have gone out) is never sent
//! again automatically; this is where a person finds them, to check the mail provider's log and
//! the customer's code by hand.
//!
//! `?limit=` (1 to 500, default 100) and `?cursor=` (the `next` of the page before) page through
//! them; `next` is `null` on the last page.

use serde_json::json;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::mail::{MailSend, SendState};
use stammkunde_domain::ports::{PageRequest, PAGE_LIMIT_MAX};
use stammkunde_http::Reply;

use crate::codes::query_param;
use crate::ApiService;

const PAGE_DEFAULT: u32 = 100;
/// Longer than any cursor a store hands out: a longer one is not ours.
const CURSOR_CHARS_MAX: usize = 2048;

impl ApiService {
    pub(crate) async fn flagged_sends(&self, shop: &ShopConfig, query: Option<&str>) -> Result<Reply, Reply> {
        let page = page_request(query)?;
        let had_cursor = page.cursor.is_some();
        let got = match self.mail.flagged_sends(&shop.id, page).await {
            Ok(got) => got,
            // A cursor the store cannot read is the caller's mistake, not a store failure.
            Err(error) if had_cursor && !error.is_retryable() => {
                tracing::info!(shop = %shop.id, error = %stammkunde_domain::error::cause_chain(&error), "flagged sends: bad cursor");
                return Err(Reply::bad_request("`cursor` is not the `next` of an earlier page"));
            }
            Err(error) => return Err(error.into()),
        };
        let sends: Vec<serde_json::Value> = got.items.iter().map(view).collect();
        Ok(Reply::json(json!({ "sends": sends, "next": got.next })))
    }
}

fn page_request(query: Option<&str>) -> Result<PageRequest, Reply> {
    let limit = match query_param(query, "limit") {
        None => PAGE_DEFAULT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(limit) if (1..=PAGE_LIMIT_MAX).contains(&limit) => limit,
            _ => return Err(Reply::bad_request(format!("`limit` must be a whole number from 1 to {PAGE_LIMIT_MAX}"))),
        },
    };
    let cursor = query_param(query, "cursor");
    let readable = |c: &str| {
        c.len() <= CURSOR_CHARS_MAX
            && !c.is_empty()
            && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    };
    if cursor.as_deref().is_some_and(|c| !readable(c)) {
        return Err(Reply::bad_request("`cursor` is not the `next` of an earlier page"));
    }
    Ok(PageRequest { cursor, limit })
}

fn view(send: &MailSend) -> serde_json::Value {
    let (flagged_at, claimed_at, code) = match &send.state {
        SendState::Review { at, claimed_at, code } => (Some(at), Some(claimed_at), code.as_ref()),
        _ => (None, None, None),
    };
    json!({
        "customer_id": send.customer_id,
        "campaign": send.campaign.as_str(),
        "date": send.date,
        "claimed_at": claimed_at,
        "flagged_at": flagged_at,
        "code": code.map(|c| c.as_str()),
    })
}
