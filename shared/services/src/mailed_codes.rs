//! The personal codes the customer's mails carried (birthday, win-back), as the preference centre
//! and the export show them.
//!
//! A mailed code is not on the ledger (no points were spent on it): it is bound to its mail's send
//! record, and its validity is the code store's. Sends flagged for review count too: the mail may
//! have gone out, so the customer may hold the code.

use chrono::{DateTime, Duration, Utc};

use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::{Campaign, SendState};
use stammkunde_domain::ports::{CodeStore, MailStore};

/// How far back sends are read: longer than any code's validity a shop would configure.
pub const MAILED_CODES_LOOKBACK_DAYS: i64 = 400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailedCode {
    pub code: CouponCode,
    pub campaign: Campaign,
    pub expires_at: DateTime<Utc>,
}

/// The code a send bound to its mail, once the mail may have reached the customer.
pub fn code_of(state: &SendState) -> Option<&CouponCode> {
    match state {
        SendState::Sent { code, .. } | SendState::Review { code, .. } => code.as_ref(),
        _ => None,
    }
}

/// The customer's mailed codes still valid at `now`, soonest to expire first.
pub async fn valid_mailed_codes(
    mail: &dyn MailStore,
    codes: &dyn CodeStore,
    shop: &ShopId,
    customer: &CustomerId,
    now: DateTime<Utc>,
) -> Result<Vec<MailedCode>, StoreError> {
    let since = now - Duration::days(MAILED_CODES_LOOKBACK_DAYS);
    let mut valid = Vec::new();
    for send in mail.sends_claimed_since(shop, customer, since).await? {
        let Some(code) = code_of(&send.state) else { continue };
        let Some(issue) = codes.code(shop, code).await?.and_then(|coupon| coupon.issue) else { continue };
        // A code passed to the store under another customer is not this customer's to see.
        if issue.customer_id == *customer && issue.expires_at > now {
            valid.push(MailedCode { code: code.clone(), campaign: send.campaign, expires_at: issue.expires_at });
        }
    }
    valid.sort_by(|a, b| (a.expires_at, a.code.as_str()).cmp(&(b.expires_at, b.code.as_str())));
    Ok(valid)
}
