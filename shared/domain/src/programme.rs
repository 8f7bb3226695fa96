//! A shop's bonus programme beyond the earn rule: how long points are held, what a reversal may do
//! to a balance that was spent, reviews, expiry, tiers and rewards. Each section is optional in the
//! configuration and has the defaults documented in the README.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{RewardId, TierId};
use crate::money::Currency;

/// Points are held (pending) until the goods are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HoldRule {
    /// Days the customer may return the goods, from fulfilment (14: the German withdrawal period).
    /// 0 credits points as available at once.
    pub return_window_days: u32,
    /// Where the platform never reports fulfilment: days after payment the window starts.
    pub shipping_allowance_days: u32,
    /// A bonus, in percent of what the order earned, when the window closes with nothing returned.
    pub keep_bonus_percent: u32,
    /// A fixed bonus instead (or on top), in points.
    pub keep_bonus_points: i64,
}

impl Default for HoldRule {
    fn default() -> Self {
        HoldRule { return_window_days: 14, shipping_allowance_days: 5, keep_bonus_percent: 0, keep_bonus_points: 0 }
    }
}

impl HoldRule {
    /// The keep bonus for an order that earned `earned` points (floored).
    pub fn keep_bonus(&self, earned: i64) -> i64 {
        earned.saturating_mul(i64::from(self.keep_bonus_percent)) / 100 + self.keep_bonus_points
    }
}

/// What a reversal does when the customer has already spent the points it takes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReversalPolicy {
    /// The balance floors at zero; the part not taken is recorded as the reversal's shortfall.
    #[default]
    Clamp,
    /// The balance goes negative and later earnings pay the debt first.
    Debt,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReversalRule {
    pub policy: ReversalPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewRule {
    /// Points for a published review of a product the customer bought (0: reviews earn nothing).
    pub points: i64,
    /// Days the review's points stay pending; unpublishing within them takes the points back.
    pub hold_days: u32,
}

impl Default for ReviewRule {
    fn default() -> Self {
        ReviewRule { points: 50, hold_days: 14 }
    }
}

/// From when a lot's expiry is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryBasis {
    /// Each lot expires `months` after it was credited.
    #[default]
    Earned,
    /// Every lot expires `months` after the customer's last activity (an order credited, points
    /// spent, a review, an adjustment).
    LastActivity,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpiryRule {
    /// Months until points expire; 0: they never do.
    pub months: u32,
    pub basis: ExpiryBasis,
    /// Days before an expiry the customer is told (an `expiry_notice` entry and its event).
    pub notice_days: u32,
}

impl Default for ExpiryRule {
    fn default() -> Self {
        ExpiryRule { months: 24, basis: ExpiryBasis::Earned, notice_days: 30 }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    /// Purchase points earned (net of reversals), not the balance: spending never costs a tier.
    #[default]
    PointsEarned,
    /// What the customer paid for goods (net of refunds), in the shop's currency.
    NetSpend,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierPeriod {
    /// The 12 months before now.
    #[default]
    #[serde(rename = "rolling_12_months")]
    Rolling12Months,
    /// The current calendar year in the shop's time zone.
    CalendarYear,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLevel {
    pub id: TierId,
    /// The name customers see.
    pub name: String,
    /// Points earned, or for `net_spend` an amount in currency units (`"500.00"`).
    #[serde(with = "rust_decimal::serde::str")]
    pub threshold: Decimal,
    /// Earn multiplier while in this tier (`"1.25"`).
    #[serde(with = "rust_decimal::serde::str", default = "one")]
    pub multiplier: Decimal,
}

fn one() -> Decimal {
    Decimal::ONE
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierRule {
    pub basis: TierBasis,
    pub period: TierPeriod,
    /// Ascending thresholds; below the first, a customer has no tier. Empty: no tiers.
    pub levels: Vec<TierLevel>,
}

/// Highest tier multiplier accepted, so no earn computation can overflow.
pub const TIER_MULTIPLIER_MAX: i64 = 10;

impl TierRule {
    pub fn validate(&self) -> Result<(), String> {
        for pair in self.levels.windows(2) {
            if pair[0].threshold >= pair[1].threshold {
                return Err("tiers.levels must have strictly ascending thresholds".into());
            }
        }
        for level in &self.levels {
            if level.threshold <= Decimal::ZERO {
                return Err(format!("tier {}: threshold must be positive", level.id));
            }
            if level.multiplier < Decimal::ZERO || level.multiplier > Decimal::from(TIER_MULTIPLIER_MAX) {
                return Err(format!("tier {}: multiplier must be between 0 and {TIER_MULTIPLIER_MAX}", level.id));
            }
        }
        Ok(())
    }

    /// The level's threshold in the unit the basis counts: points, or minor units of `currency`.
    pub fn threshold_units(&self, level: &TierLevel, currency: Currency) -> i64 {
        let scaled = match self.basis {
            TierBasis::PointsEarned => Some(level.threshold),
            TierBasis::NetSpend => level.threshold.checked_mul(Decimal::from(10_i64.pow(currency.exponent()))),
        };
        scaled.and_then(|d| d.ceil().to_i64()).unwrap_or(i64::MAX)
    }

    pub fn level(&self, id: &TierId) -> Option<&TierLevel> {
        self.levels.iter().find(|l| &l.id == id)
    }

    /// A fingerprint of the rule: when it changes, every customer's tier is recalculated.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = serde_json::to_string(self).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    }
}

/// How a reward's codes are made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    /// Codes the merchant created in the shop and imported (`POST …/rewards/{reward}/codes`).
    #[default]
    Pool,
    /// Unguessable codes we generate on redemption; the merchant imports them into the shop from
    /// the CSV export.
    Generate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reward {
    pub id: RewardId,
    /// What the customer sees (`5 € Gutschein`).
    pub name: String,
    /// Points it costs.
    pub points: i64,
    /// Days a code is valid from its issue.
    #[serde(default = "reward_valid_days")]
    pub valid_days: u32,
    #[serde(default)]
    pub codes: CodeSource,
    /// Generated codes start with this (letters and digits), so the shop can tell them apart.
    #[serde(default = "code_prefix")]
    pub code_prefix: String,
    /// Whether an unused code's points come back when it expires.
    #[serde(default = "yes")]
    pub return_points_on_expiry: bool,
}

fn reward_valid_days() -> u32 {
    90
}

fn code_prefix() -> String {
    "SK".into()
}

fn yes() -> bool {
    true
}

/// Most points a reward may cost or an adjustment move at once: far above any real programme,
/// and far below overflow.
pub const POINTS_PER_WRITE_MAX: i64 = 100_000_000;

impl Reward {
    pub fn validate(&self) -> Result<(), String> {
        // 0: a gift that campaigns give (a birthday code) and customers cannot buy with points.
        if self.points < 0 || self.points > POINTS_PER_WRITE_MAX {
            return Err(format!("reward {}: points must be between 0 and {POINTS_PER_WRITE_MAX}", self.id));
        }
        if self.valid_days == 0 {
            return Err(format!("reward {}: valid_days must be at least 1", self.id));
        }
        if self.code_prefix.len() > 8 || !self.code_prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("reward {}: code_prefix must be at most 8 letters or digits", self.id));
        }
        Ok(())
    }
}

/// Checks the programme sections of a shop's configuration once, at load.
pub fn validate(
    hold: &HoldRule,
    reviews: &ReviewRule,
    expiry: &ExpiryRule,
    tiers: &TierRule,
    rewards: &[Reward],
) -> Result<(), String> {
    if hold.keep_bonus_points < 0 || hold.keep_bonus_points > POINTS_PER_WRITE_MAX {
        return Err(format!("hold.keep_bonus_points must be between 0 and {POINTS_PER_WRITE_MAX}"));
    }
    if reviews.points < 0 || reviews.points > POINTS_PER_WRITE_MAX {
        return Err(format!("reviews.points must be between 0 and {POINTS_PER_WRITE_MAX}"));
    }
    if hold.keep_bonus_percent > 1_000 {
        return Err("hold.keep_bonus_percent is at most 1000".into());
    }
    if hold.return_window_days > 365 || hold.shipping_allowance_days > 365 || reviews.hold_days > 365 {
        return Err("hold and review periods are at most 365 days".into());
    }
    if expiry.months > 120 || expiry.notice_days > 365 {
        return Err("expiry.months is at most 120 and expiry.notice_days at most 365".into());
    }
    tiers.validate()?;
    let mut ids = std::collections::HashSet::new();
    for reward in rewards {
        reward.validate()?;
        if !ids.insert(&reward.id) {
            return Err(format!("reward {} appears twice", reward.id));
        }
    }
    Ok(())
}
