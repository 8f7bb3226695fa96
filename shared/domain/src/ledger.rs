//! The points ledger: append-only entries, each saying why it exists and keyed by its business
//! key, so that any retry of the same fact lands on the same key and changes nothing.
//!
//! This issue writes `earn` entries; reversals, keep bonuses, reviews, adjustments, redemptions and
//! expiries come with the ledger issue and fit the same shape: a kind, a bucket, signed points, a
//! reason, and (for order-based entries) the basis they were computed from.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ids::{CustomerId, LineId, OrderId, ShopId};
use crate::money::Currency;

/// The idempotency key of a ledger entry, unique per customer ledger. Its text form names the fact:
/// `earn:order:{order}` for a purchase credit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BusinessKey(String);

impl BusinessKey {
    pub fn earn_for_order(order: &OrderId) -> Self {
        BusinessKey(format!("earn:order:{order}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BusinessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Points for a paid order.
    Earn,
}

/// Which balance an entry moves. Pending points are shown but cannot be spent.
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
    pub quantity: u32,
    /// The amount the points were computed from (net or gross, as the rule said).
    pub amount_minor: i64,
    pub points: i64,
}

/// The facts an order credit was computed from. Stored with the entry so that a later rule change
/// never changes what a past order earned or what its refund takes back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnBasis {
    pub currency: Currency,
    /// Points per whole currency unit, as configured when the entry was written.
    pub points_per_unit: Decimal,
    pub tax_included: bool,
    pub lines: Vec<LineCredit>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    pub key: BusinessKey,
    pub kind: EntryKind,
    pub bucket: Bucket,
    /// Signed: credits positive, debits negative.
    pub points: i64,
    /// Why the entry exists, for the merchant (e.g. `order #1001 paid`).
    pub reason: String,
    pub order_id: Option<OrderId>,
    pub basis: Option<EarnBasis>,
    pub created_at: DateTime<Utc>,
}

impl LedgerEntry {
    /// Checked before every write: the points must equal the sum of the basis lines, so the entry
    /// can always be reversed line by line.
    pub fn check(&self) -> Result<(), String> {
        if let Some(basis) = &self.basis {
            let sum: i64 = basis.lines.iter().map(|l| l.points).sum();
            if sum != self.points {
                return Err(format!("entry {} has {} points but its lines sum to {sum}", self.key, self.points));
            }
            if basis.lines.iter().any(|l| l.points < 0) {
                return Err(format!("entry {} has a line with negative points", self.key));
            }
        }
        if self.kind == EntryKind::Earn && self.points <= 0 {
            return Err(format!("earn entry {} must credit a positive number of points", self.key));
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
        entries.into_iter().fold(Balance::default(), |mut b, e| {
            match e.bucket {
                Bucket::Available => b.available += e.points,
                Bucket::Pending => b.pending += e.points,
            }
            b
        })
    }
}

/// The result of appending under a business key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended,
    /// An entry with this key exists; it is returned unchanged and nothing was written.
    AlreadyExists(Box<LedgerEntry>),
}
