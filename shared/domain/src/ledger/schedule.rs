//! When a customer's ledger next needs the sweep: an order's or a review's hold ending, a code
//! running out, points about to expire or expiring, a tier falling due for review.
//!
//! The answer is a function of the ledger (and, for tiers, of the time), so every write can store
//! it beside the ledger and the sweep selects only the customers due. Anything this reports at or
//! before `now` is something `tick` acts on; anything it cannot act on lies after `now`. That is
//! what keeps a customer from being selected again and again for nothing.

use chrono::{DateTime, Duration, Months, Utc};

use super::lots::Lot;
use super::state::{LedgerState, OrderAccount, ReviewAccount};
use super::tiers;
use crate::config::ShopConfig;
use crate::programme::{ExpiryBasis, ExpiryRule, HoldRule, ReviewRule};

/// An order placed with a code shortly before it ran out can reach us after: an unused code's
/// points come back only this long after its expiry.
pub const CODE_EXPIRY_GRACE: Duration = Duration::days(1);

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

/// When the order's return window starts: its fulfilment if we know it, else payment plus the
/// shipping allowance.
pub fn window_start(account: &OrderAccount, hold: &HoldRule) -> DateTime<Utc> {
    account
        .fulfilled_at
        .unwrap_or_else(|| account.basis.paid_at.unwrap_or(account.earned_at) + days(hold.shipping_allowance_days))
}

pub fn release_due(account: &OrderAccount, hold: &HoldRule) -> DateTime<Utc> {
    window_start(account, hold) + days(hold.return_window_days)
}

pub fn review_release_due(review: &ReviewAccount, rule: &ReviewRule) -> DateTime<Utc> {
    review.credited_at + days(rule.hold_days)
}

/// When a lot expires under the rule, or `None` if points never expire.
pub fn lot_expiry(lot: &Lot, state: &LedgerState, rule: &ExpiryRule) -> Option<DateTime<Utc>> {
    if rule.months == 0 {
        return None;
    }
    let months = Months::new(rule.months);
    let earned = lot.credited_at.checked_add_months(months);
    match rule.basis {
        ExpiryBasis::Earned => earned,
        // All lots together, `months` after the last activity: a lot released after it (the
        // points of that very order) goes with the rest. Only a lot credited after that date
        // (a hold longer than the expiry) keeps its own date, so nothing expires as it arrives.
        ExpiryBasis::LastActivity => match state.last_activity_at.and_then(|at| at.checked_add_months(months)) {
            Some(together) if together > lot.credited_at => Some(together),
            _ => earned,
        },
    }
}

/// The first moment open points expire, and how many expire on that (UTC) day; `None` if none
/// ever do. What the merchant API and the preference page show as "expiring next".
pub fn next_expiry(state: &LedgerState, rule: &ExpiryRule) -> Option<(DateTime<Utc>, i64)> {
    let dated: Vec<(DateTime<Utc>, i64)> =
        state.lots.open().iter().filter_map(|lot| Some((lot_expiry(lot, state, rule)?, lot.remaining))).collect();
    let first = dated.iter().map(|(at, _)| *at).min()?;
    let points = dated.iter().filter(|(at, _)| at.date_naive() == first.date_naive()).map(|(_, p)| p).sum();
    Some((first, points))
}

/// When the customer should hear that a lot expiring at `expires_at` is about to.
pub fn notice_due(expires_at: DateTime<Utc>, rule: &ExpiryRule) -> DateTime<Utc> {
    expires_at - days(rule.notice_days)
}

/// The earliest moment this ledger needs the sweep, if ever.
pub fn next_due(state: &LedgerState, shop: &ShopConfig, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let releases =
        state.orders.values().filter(|a| a.released_at.is_none() && a.pending > 0).map(|a| release_due(a, &shop.hold));
    let reviews = state
        .reviews
        .values()
        .filter(|r| r.released_at.is_none() && r.pending > 0)
        .map(|r| review_release_due(r, &shop.reviews));
    let codes = state.codes.values().filter(|c| !c.used && !c.expired).map(|c| c.expires_at + CODE_EXPIRY_GRACE);
    let expiries = state.lots.open().iter().filter_map(|lot| {
        let expires_at = lot_expiry(lot, state, &shop.expiry)?;
        let notice = notice_due(expires_at, &shop.expiry);
        let noticed = state.has_key(&super::entry::BusinessKey::expiry_notice(expires_at.date_naive()));
        Some(if shop.expiry.notice_days > 0 && !noticed && notice < expires_at { notice } else { expires_at })
    });
    // A customer without a tier cannot lose one: no review needed.
    let tier =
        state.tier.as_ref().and_then(|_| tiers::next_review(state, &shop.tiers, shop.currency, now, shop.time_zone));
    releases.chain(reviews).chain(codes).chain(expiries).chain(tier).min()
}
