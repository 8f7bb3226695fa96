//! Codes: the merchant imports codes made in their shop into a reward's pool, and exports every
//! code as CSV (generated codes must be imported into the shop from it before they work).

use bytes::Bytes;
use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::coupon::{Coupon, CouponCode};
use stammkunde_domain::ids::RewardId;
use stammkunde_domain::ports::PageRequest;
use stammkunde_http::Reply;

use crate::{body, ApiService};

/// Most codes one import takes: each is one conditional write (DynamoDB cannot batch those), and
/// an import must finish well inside the API's 29 seconds.
pub const IMPORT_CODES_MAX: usize = 2_000;
/// Rows per store page while exporting.
const EXPORT_PAGE: u32 = 500;
/// Most codes one export lists; a shop with more exports per reward.
const EXPORT_ROWS_MAX: usize = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    codes: Vec<String>,
}

impl ApiService {
    pub(crate) async fn import_codes(&self, shop: &ShopConfig, reward: &RewardId, raw: &Bytes) -> Result<Reply, Reply> {
        let reward = shop
            .reward(reward)
            .ok_or_else(|| Reply::error(StatusCode::NOT_FOUND, "unknown_reward", "no such reward in this shop"))?;
        let request: ImportBody = body::json(raw)?;
        if request.codes.len() > IMPORT_CODES_MAX {
            return Err(Reply::bad_request(format!("at most {IMPORT_CODES_MAX} codes per import")));
        }
        let mut codes = Vec::with_capacity(request.codes.len());
        for (n, raw) in request.codes.iter().enumerate() {
            codes.push(CouponCode::parse(raw).map_err(|e| Reply::bad_request(format!("codes[{n}]: {e}")))?);
        }
        codes.sort();
        codes.dedup();
        let imported = self.store.import_codes(&shop.id, &reward.id, &codes, false).await?;
        let skipped = request.codes.len() - imported as usize;
        Ok(Reply::json(json!({ "reward": reward.id, "imported": imported, "skipped": skipped })))
    }

    pub(crate) async fn codes_csv(&self, shop: &ShopConfig, query: Option<&str>) -> Result<Response<String>, Reply> {
        let reward = match query_param(query, "reward") {
            Some(raw) => Some(RewardId::parse(&raw).map_err(Reply::from)?),
            None => None,
        };
        let mut csv = String::from("code,reward,generated,status,customer_id,issued_at,expires_at\n");
        let mut page = PageRequest::first(EXPORT_PAGE);
        let mut rows = 0;
        loop {
            let got = self.store.codes(&shop.id, reward.as_ref(), page.clone()).await?;
            for coupon in &got.items {
                csv.push_str(&row(coupon));
                rows += 1;
            }
            match got.next {
                Some(cursor) if rows < EXPORT_ROWS_MAX => {
                    page = PageRequest { cursor: Some(cursor), limit: EXPORT_PAGE }
                }
                _ => break,
            }
        }
        let mut response = Response::new(csv);
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/csv; charset=utf-8"));
        Ok(response)
    }
}

/// One CSV line. Codes, ids and times hold no commas or quotes (their alphabets forbid them).
fn row(c: &Coupon) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let issue = c.issue.as_ref();
    format!(
        "{},{},{},{},{},{},{}\n",
        c.code,
        c.reward,
        c.generated,
        if issue.is_some() { "issued" } else { "pooled" },
        issue.map(|i| i.customer_id.to_string()).unwrap_or_default(),
        time(issue.map(|i| i.issued_at)),
        time(issue.map(|i| i.expires_at)),
    )
}

pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned())
    })
}
