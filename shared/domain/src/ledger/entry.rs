//! Ledger entries: append-only, each at its position in the customer's ledger, each under the
//! business key of the fact it records, each saying why it exists.
//!
//! An entry moves two balances by signed deltas: `pending` (shown, not spendable) and `available`.
//! A purchase credit goes to pending; its release moves it to available; everything else moves
//! one of the two. Entries with no points at all (a tier change, an expiry notice, a code used,
//! an order's fulfilment) are facts the sweeps and the customer's history need, kept in the same
//! sequence so one read of the ledger is the customer's whole account.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::coupon::CouponCode;
use crate::ids::{CustomerId, LineId, OrderId, ProductId, RefundId, ReviewId, RewardId, ShopId, TierId};
use crate::money::Currency;

/// Longest business key: the longest constructor's prefix plus two ids and a date.
pub const BUSINESS_KEY_LENGTH_MAX: usize = 320;

/// The idempotency key of a ledger entry, unique per customer ledger. Its text names the fact, so
/// the same fact always lands on the same key (`earn:order:{order}`,
/// `reversal:refund:{order}:{refund}`, `redeem:{idempotency key}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessKey(String);

impl BusinessKey {
    fn of(parts: &[&str]) -> Self {
        BusinessKey(parts.join(":"))
    }

    /// A stored key read back. Keys are built by the constructors below; this only bounds what a
    /// store hands us.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > BUSINESS_KEY_LENGTH_MAX || raw.chars().any(|c| c.is_control() || c == '#') {
            return Err(format!("`{}` is not a business key", raw.chars().take(40).collect::<String>()));
        }
        Ok(BusinessKey(raw.to_owned()))
    }

    pub fn earn_for_order(order: &OrderId) -> Self {
        Self::of(&["earn", "order", order.as_str()])
    }
    pub fn window_for_order(order: &OrderId) -> Self {
        Self::of(&["window", "order", order.as_str()])
    }
    pub fn release_for_order(order: &OrderId) -> Self {
        Self::of(&["release", "order", order.as_str()])
    }
    pub fn keep_bonus_for_order(order: &OrderId) -> Self {
        Self::of(&["keep", "order", order.as_str()])
    }
    pub fn reversal_for_refund(order: &OrderId, refund: &RefundId) -> Self {
        Self::of(&["reversal", "refund", order.as_str(), refund.as_str()])
    }
    pub fn reversal_for_cancellation(order: &OrderId) -> Self {
        Self::of(&["reversal", "cancel", order.as_str()])
    }
    pub fn reversal_for_full_refund(order: &OrderId) -> Self {
        Self::of(&["reversal", "refunded", order.as_str()])
    }
    pub fn review(product: &ProductId) -> Self {
        Self::of(&["review", product.as_str()])
    }
    pub fn review_release(product: &ProductId) -> Self {
        Self::of(&["release", "review", product.as_str()])
    }
    pub fn review_reversal(product: &ProductId) -> Self {
        Self::of(&["reversal", "review", product.as_str()])
    }
    pub fn adjustment(key: &crate::ids::IdempotencyKey) -> Self {
        Self::of(&["adjust", key.as_str()])
    }
    pub fn redemption(key: &crate::ids::IdempotencyKey) -> Self {
        Self::of(&["redeem", key.as_str()])
    }
    pub fn code_used(code: &CouponCode) -> Self {
        Self::of(&["used", "code", code.as_str()])
    }
    pub fn code_expired(code: &CouponCode) -> Self {
        Self::of(&["expired", "code", code.as_str()])
    }
    pub fn expiry(lot: &BusinessKey) -> Self {
        Self::of(&["expire", lot.as_str()])
    }
    pub fn expiry_notice(expires_on: chrono::NaiveDate) -> Self {
        BusinessKey(format!("notice:expiry:{}", expires_on.format("%Y-%m-%d")))
    }
    /// Tier changes are keyed by the position they take: each evaluation that changes the tier is
    /// its own fact, and two racing evaluations contend for the same position anyway.
    pub fn tier_change(position: u32) -> Self {
        BusinessKey(format!("tier:{position}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BusinessKey {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        BusinessKey::parse(&raw)
    }
}

impl From<BusinessKey> for String {
    fn from(key: BusinessKey) -> String {
        key.0
    }
}

impl fmt::Display for BusinessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Points for a paid order: pending until its return window closes (available at once for a
    /// shop without a window).
    Earn,
    /// The platform told us when the goods were fulfilled: the return window runs from here.
    Window,
    /// An order's or a review's pending points become available.
    Release,
    /// The bonus for an order whose return window closed with nothing returned.
    KeepBonus,
    /// Points taken back for a refund or cancellation of an order.
    Reversal,
    /// Points for a published review, pending like a purchase.
    Review,
    /// A review unpublished before its points were released.
    ReviewReversal,
    /// A merchant's manual correction, either sign.
    Adjustment,
    /// Points spent on a reward; the entry carries the code issued for it.
    Redemption,
    /// An order used a code we issued.
    CodeUsed,
    /// A code ran out unused; its points come back if the shop says so.
    CodeExpired,
    /// What was left of a lot when it expired.
    Expiry,
    /// Points are about to expire (the customer is told).
    ExpiryNotice,
    /// The customer's tier changed.
    TierChange,
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Window => "window",
            EntryKind::Release => "release",
            EntryKind::KeepBonus => "keep_bonus",
            EntryKind::Reversal => "reversal",
            EntryKind::Review => "review",
            EntryKind::ReviewReversal => "review_reversal",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Redemption => "redemption",
            EntryKind::CodeUsed => "code_used",
            EntryKind::CodeExpired => "code_expired",
            EntryKind::Expiry => "expiry",
            EntryKind::ExpiryNotice => "expiry_notice",
            EntryKind::TierChange => "tier_change",
        }
    }
}

/// Which balance an entry takes points from. Pending points are shown but cannot be spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Available,
    Pending,
}

/// What one order line earned, kept so a later refund of that line reverses exactly this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCredit {
    pub line_id: LineId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    pub quantity: u32,
    /// The amount the points were computed from (net or gross, as the rule said).
    pub amount_minor: i64,
    pub points: i64,
}

fn one() -> Decimal {
    Decimal::ONE
}

fn is_one(d: &Decimal) -> bool {
    *d == Decimal::ONE
}

/// The facts an order credit was computed from. Stored with the entry so that a later rule change
/// never changes what a past order earned or what its refund takes back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnBasis {
    pub currency: Currency,
    /// Points per whole currency unit, as configured when the entry was written.
    pub points_per_unit: Decimal,
    pub tax_included: bool,
    /// The tier's earn multiplier at the time (1 without tiers).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub multiplier: Decimal,
    /// The customer's tier when the order was credited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierId>,
    /// The order's whole total (goods, shipping, tax): the denominator of a refund that carries
    /// only an amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_total_minor: Option<i64>,
    /// When the order was paid, by the platform or else by our clock: with the shipping allowance,
    /// when the return window starts if no fulfilment is ever reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    pub lines: Vec<LineCredit>,
}

impl EarnBasis {
    pub fn points(&self) -> i64 {
        self.lines.iter().map(|l| l.points).sum()
    }
}

/// Why an order's points are being taken back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum ReversalCause {
    /// A refund with its lines (Shopify), or with only an amount (WooCommerce).
    Refund {
        refund_id: RefundId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount_minor: Option<i64>,
    },
    /// The order was cancelled (or deleted): everything not yet reversed.
    Cancellation,
    /// The platform reports the order refunded in full without refund lines (Shopware, WooCommerce
    /// `refunded`): everything not yet reversed.
    FullRefund,
}

/// What a reversal took back from one line. Quantities are those refunded by this reversal (0 for
/// an amount-only refund); points and amount are this reversal's share, so the sum over a line's
/// reversals is what it has given back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineReversal {
    pub line_id: LineId,
    pub quantity: u32,
    pub amount_minor: i64,
    pub points: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalDetail {
    #[serde(flatten)]
    pub cause: ReversalCause,
    /// Pending while the order's points were still held, else available.
    pub from: Bucket,
    pub lines: Vec<LineReversal>,
    /// Under the `clamp` policy: points the lines gave back that the balance no longer held
    /// (spent already). The balance moved by the lines' points minus this.
    #[serde(default)]
    pub shortfall: i64,
}

impl ReversalDetail {
    pub fn points(&self) -> i64 {
        self.lines.iter().map(|l| l.points).sum()
    }
}

/// What an entry records beyond its points, by kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryDetail {
    None,
    Earn(EarnBasis),
    Window {
        fulfilled_at: DateTime<Utc>,
    },
    /// The entry whose pending points this released (an earn or a review).
    Release {
        of: BusinessKey,
    },
    Reversal(ReversalDetail),
    Review {
        product_id: ProductId,
        review_id: ReviewId,
    },
    Redemption {
        reward: RewardId,
        code: CouponCode,
        expires_at: DateTime<Utc>,
    },
    Code {
        code: CouponCode,
    },
    Expiry {
        /// The lot (the key of the entry that credited it) whose remainder expired.
        lot: BusinessKey,
    },
    ExpiryNotice {
        points: i64,
        expires_at: DateTime<Utc>,
    },
    Tier {
        from: Option<TierId>,
        to: Option<TierId>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    /// 1 for the customer's first entry, then one more for each; no gaps. Appends are conditional
    /// on it, which serialises every write to one customer's ledger.
    pub position: u32,
    pub key: BusinessKey,
    pub kind: EntryKind,
    /// Signed change of the available balance.
    pub available: i64,
    /// Signed change of the pending balance.
    pub pending: i64,
    /// Why the entry exists, for the merchant (e.g. `order #1001 paid`).
    pub reason: String,
    /// What the customer is told, where a person wrote it (manual adjustments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    pub detail: EntryDetail,
    pub created_at: DateTime<Utc>,
}

/// Longest reason or customer text we keep, in characters (a person counts characters, and the
/// API's limit and this check must agree).
pub const ENTRY_TEXT_LENGTH_MAX: usize = 500;

/// A text cut to `ENTRY_TEXT_LENGTH_MAX` characters: reasons made from platform data (an order
/// number) must never make an entry fail its check.
pub fn bounded_text(text: String) -> String {
    if text.chars().count() <= ENTRY_TEXT_LENGTH_MAX {
        return text;
    }
    text.chars().take(ENTRY_TEXT_LENGTH_MAX - 1).chain(std::iter::once('…')).collect()
}

impl LedgerEntry {
    /// The entry's net effect on the customer's points.
    pub fn points(&self) -> i64 {
        self.available + self.pending
    }

    /// Checked before every write: the entry is consistent in itself (its points agree with its
    /// detail, its sign with its kind). What depends on the rest of the ledger is checked by
    /// `LedgerState::apply`.
    pub fn check(&self) -> Result<(), String> {
        let fail = |what: &str| Err(format!("{} entry {}: {what}", self.kind.as_str(), self.key));
        if self.position == 0 {
            return fail("positions start at 1");
        }
        let too_long = |t: &str| t.chars().count() > ENTRY_TEXT_LENGTH_MAX;
        if too_long(&self.reason) || self.customer_text.as_deref().is_some_and(too_long) {
            return fail("text is too long");
        }
        let (a, p) = (self.available, self.pending);
        let shape_ok = match (&self.kind, &self.detail) {
            (EntryKind::Earn, EntryDetail::Earn(basis)) => {
                let points = basis.points();
                basis.lines.iter().all(|l| l.points >= 0 && l.amount_minor >= 0)
                    && points > 0
                    && ((a == 0 && p == points) || (p == 0 && a == points))
            }
            (EntryKind::Window, EntryDetail::Window { .. })
            | (EntryKind::CodeUsed, EntryDetail::Code { .. })
            | (EntryKind::ExpiryNotice, EntryDetail::ExpiryNotice { .. })
            | (EntryKind::TierChange, EntryDetail::Tier { .. }) => a == 0 && p == 0,
            (EntryKind::Release, EntryDetail::Release { .. }) => p < 0 && a == -p,
            (EntryKind::KeepBonus, EntryDetail::None) => a > 0 && p == 0,
            (EntryKind::Reversal, EntryDetail::Reversal(r)) => {
                let taken = r.points() - r.shortfall;
                let moved = match r.from {
                    Bucket::Pending => a == 0 && p == -taken && r.shortfall == 0,
                    Bucket::Available => p == 0 && a == -taken,
                };
                // A reversal may take back no points (a partial refund too small to cost a whole
                // point) but must record something: quantities or money refunded, which the next
                // refund of the same lines counts from.
                let records_something = r.points() > 0
                    || r.lines.iter().any(|l| l.quantity > 0 || l.amount_minor > 0)
                    || matches!(r.cause, ReversalCause::Refund { amount_minor: Some(m), .. } if m > 0);
                r.lines.iter().all(|l| l.points >= 0 && l.amount_minor >= 0)
                    && r.shortfall >= 0
                    && records_something
                    && taken >= 0
                    && moved
            }
            (EntryKind::Review, EntryDetail::Review { .. }) => (p > 0 && a == 0) || (a > 0 && p == 0),
            (EntryKind::ReviewReversal, EntryDetail::Review { .. }) => p < 0 && a == 0,
            (EntryKind::Adjustment, EntryDetail::None) => a != 0 && p == 0,
            (EntryKind::Redemption, EntryDetail::Redemption { .. }) => a < 0 && p == 0,
            (EntryKind::CodeExpired, EntryDetail::Code { .. }) => a >= 0 && p == 0,
            (EntryKind::Expiry, EntryDetail::Expiry { .. }) => a < 0 && p == 0,
            _ => return fail("its detail does not belong to its kind"),
        };
        if !shape_ok {
            return fail(&format!("available {a} / pending {p} do not fit its kind and detail"));
        }
        Ok(())
    }
}

/// A customer's balances. Invariant: available + pending = the sum of the customer's entries,
/// each in its bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub available: i64,
    pub pending: i64,
}

impl Balance {
    /// Replays entries into balances: the definition the stored balances must always agree with.
    pub fn replay<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Balance {
        entries.into_iter().fold(Balance::default(), |b, e| b.moved_by(e).unwrap_or(b))
    }

    /// The balance after `entry`, or `None` on overflow (which bounded entries never reach).
    pub fn moved_by(self, entry: &LedgerEntry) -> Option<Balance> {
        Some(Balance {
            available: self.available.checked_add(entry.available)?,
            pending: self.pending.checked_add(entry.pending)?,
        })
    }
}

/// The result of a conditional append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended,
    /// The ledger is no longer as long as the caller read it: another write came first. Nothing
    /// was written; read again and decide again.
    Moved,
}
