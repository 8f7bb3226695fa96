//! Tiers from what a customer earned (or spent) in the qualifying period.
//!
//! The tier is a function of the entries, the rule and the time, so a customer's tier as shown is
//! always the current rule's answer, even right after the rule changed. `tier_change` entries
//! record each change, so it can be announced once; the decisions append one whenever the
//! computed tier differs from the last recorded one.

use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use chrono_tz::Tz;

use super::state::{LedgerState, OrderAccount};
use crate::money::Currency;
use crate::programme::{TierBasis, TierLevel, TierPeriod, TierRule};

fn in_period(rule: &TierRule, earned_at: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> bool {
    match rule.period {
        TierPeriod::Rolling12Months => {
            earned_at <= now && earned_at.checked_add_months(Months::new(12)).is_some_and(|until| until > now)
        }
        TierPeriod::CalendarYear => {
            earned_at <= now && earned_at.with_timezone(&tz).year() == now.with_timezone(&tz).year()
        }
    }
}

fn contribution(rule: &TierRule, account: &OrderAccount, currency: Currency) -> i64 {
    match rule.basis {
        TierBasis::PointsEarned => account.earned() - account.reversed_points(),
        // Spend counts in the shop's currency only: amounts in others are not comparable.
        TierBasis::NetSpend if account.basis.currency == currency => account.net_spend_minor(),
        TierBasis::NetSpend => 0,
    }
}

/// Points earned, or net spend in minor units, within the period ending `now`.
pub fn qualifying(state: &LedgerState, rule: &TierRule, currency: Currency, now: DateTime<Utc>, tz: Tz) -> i64 {
    state
        .orders
        .values()
        .filter(|account| in_period(rule, account.earned_at, now, tz))
        .map(|account| contribution(rule, account, currency).max(0))
        .sum()
}

/// The highest level whose threshold the amount reaches.
pub fn level_for(rule: &TierRule, currency: Currency, amount: i64) -> Option<&TierLevel> {
    rule.levels.iter().rev().find(|level| amount >= rule.threshold_units(level, currency))
}

pub fn current_level<'r>(
    state: &LedgerState,
    rule: &'r TierRule,
    currency: Currency,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<&'r TierLevel> {
    level_for(rule, currency, qualifying(state, rule, currency, now, tz))
}

/// The next instant after `now` at which the qualifying amount drops by itself (an order leaves
/// the period), if the customer has anything in it.
pub fn next_review(
    state: &LedgerState,
    rule: &TierRule,
    currency: Currency,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    if rule.levels.is_empty() {
        return None;
    }
    let counting = state
        .orders
        .values()
        .filter(|account| in_period(rule, account.earned_at, now, tz) && contribution(rule, account, currency) > 0);
    match rule.period {
        TierPeriod::Rolling12Months => counting
            .filter_map(|account| account.earned_at.checked_add_months(Months::new(12)))
            .filter(|at| *at > now)
            .min(),
        TierPeriod::CalendarYear => {
            let any = counting.count() > 0;
            let next_year = now.with_timezone(&tz).year() + 1;
            let start = tz.with_ymd_and_hms(next_year, 1, 1, 0, 0, 0).earliest()?.with_timezone(&Utc);
            any.then_some(start)
        }
    }
}
