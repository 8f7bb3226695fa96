//! A customer's account as the replay of their ledger: balances, what each order earned and gave
//! back, reviews, codes, lots and tier. Every decision is made on this state, and every entry is
//! applied to it before it is written, so an entry that would break an invariant never reaches a
//! store.
//!
//! Invariants, asserted on every `apply`:
//! - positions are 1, 2, 3, … and keys are unique;
//! - available + pending is the sum of the entries, each in its bucket;
//! - pending is never negative, and is exactly what the orders and reviews still hold;
//! - no line gives back more points, quantity or amount than it was credited;
//! - the lots, net of debt, are the available balance.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use thiserror::Error;

use super::entry::{Balance, BusinessKey, EarnBasis, EntryDetail, EntryKind, LedgerEntry, LineReversal, ReversalCause};
use super::lots::{Lots, Prefer};
use crate::coupon::CouponCode;
use crate::ids::{CustomerId, LineId, OrderId, ProductId, RefundId, RewardId, ShopId, TierId};

/// An entry that does not fit the ledger it is applied to. Nothing is written when one is found.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("ledger invariant violated: {0}")]
pub struct LedgerViolation(pub String);

fn violation<T>(entry: &LedgerEntry, what: impl std::fmt::Display) -> Result<T, LedgerViolation> {
    Err(LedgerViolation(format!("entry {} at position {}: {what}", entry.key, entry.position)))
}

/// What one order earned and what has happened to it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderAccount {
    pub earn_key: BusinessKey,
    pub earned_at: DateTime<Utc>,
    pub basis: EarnBasis,
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// Per line, the sum of its reversals so far.
    pub reversed: BTreeMap<LineId, LineReversal>,
    pub refunds: BTreeSet<RefundId>,
    /// Money refunded by amount-only refunds so far.
    pub refunded_amount_minor: i64,
    /// A cancellation or full refund reversed what was left.
    pub fully_reversed: bool,
    /// Points still held.
    pub pending: i64,
    pub released_at: Option<DateTime<Utc>>,
    pub keep_bonus: bool,
}

impl OrderAccount {
    pub fn earned(&self) -> i64 {
        self.basis.points()
    }

    pub fn reversed_points(&self) -> i64 {
        self.reversed.values().map(|l| l.points).sum()
    }

    /// What the goods cost net of what was given back, in the basis currency.
    pub fn net_spend_minor(&self) -> i64 {
        let credited: i64 = self.basis.lines.iter().map(|l| l.amount_minor).sum();
        credited - self.reversed.values().map(|l| l.amount_minor).sum::<i64>()
    }

    /// Whether anything of the order has been given back (a refund that took back goods).
    pub fn anything_returned(&self) -> bool {
        self.reversed.values().any(|l| l.points > 0 || l.quantity > 0 || l.amount_minor > 0)
    }

    pub fn reversed_line(&self, line: &LineId) -> LineReversal {
        self.reversed.get(line).cloned().unwrap_or(LineReversal {
            line_id: line.clone(),
            quantity: 0,
            amount_minor: 0,
            points: 0,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewAccount {
    pub key: BusinessKey,
    pub credited_at: DateTime<Utc>,
    pub pending: i64,
    pub released_at: Option<DateTime<Utc>>,
    pub reversed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeAccount {
    pub reward: RewardId,
    /// The redemption entry's key and what it cost.
    pub redemption_key: BusinessKey,
    pub points: i64,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    pub expired: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerState {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    len: u32,
    balance: Balance,
    /// Every key on the ledger, with its entry's net points.
    keys: HashMap<BusinessKey, i64>,
    pub orders: BTreeMap<OrderId, OrderAccount>,
    pub reviews: BTreeMap<ProductId, ReviewAccount>,
    pub codes: BTreeMap<CouponCode, CodeAccount>,
    pub lots: Lots,
    pub tier: Option<TierId>,
    /// The customer's last own activity: an order credited, a review, points spent.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Points reversals could not take back because they were spent (`clamp`).
    pub shortfall: i64,
}

impl LedgerState {
    pub fn empty(shop: &ShopId, customer_id: &CustomerId) -> Self {
        LedgerState {
            shop: shop.clone(),
            customer_id: customer_id.clone(),
            len: 0,
            balance: Balance::default(),
            keys: HashMap::new(),
            orders: BTreeMap::new(),
            reviews: BTreeMap::new(),
            codes: BTreeMap::new(),
            lots: Lots::default(),
            tier: None,
            last_activity_at: None,
            shortfall: 0,
        }
    }

    /// Replays stored entries (in position order). A violation here means the stored ledger is
    /// broken: a bug or a manual edit, never a customer's doing.
    pub fn replay<'a>(
        shop: &ShopId,
        customer_id: &CustomerId,
        entries: impl IntoIterator<Item = &'a LedgerEntry>,
    ) -> Result<Self, LedgerViolation> {
        let mut state = LedgerState::empty(shop, customer_id);
        for entry in entries {
            state.apply(entry)?;
        }
        Ok(state)
    }

    /// Entries so far; the next entry takes position `len() + 1`.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn balance(&self) -> Balance {
        self.balance
    }

    pub fn has_key(&self, key: &BusinessKey) -> bool {
        self.keys.contains_key(key)
    }

    /// The net points of the entry under `key`, if there is one.
    pub fn entry_points(&self, key: &BusinessKey) -> Option<i64> {
        self.keys.get(key).copied()
    }

    /// The code a redemption (by its entry's key) was given.
    pub fn code_of_redemption(&self, key: &BusinessKey) -> Option<(&CouponCode, &CodeAccount)> {
        self.codes.iter().find(|(_, account)| &account.redemption_key == key)
    }

    /// Applies one entry, checking every invariant; on error the state is unusable and must be
    /// dropped (callers apply to a copy).
    pub fn apply(&mut self, entry: &LedgerEntry) -> Result<(), LedgerViolation> {
        entry.check().map_err(LedgerViolation)?;
        if entry.shop != self.shop || entry.customer_id != self.customer_id {
            return violation(entry, "belongs to another customer's ledger");
        }
        if entry.position != self.len + 1 {
            return violation(entry, format!("expected position {}", self.len + 1));
        }
        if self.keys.insert(entry.key.clone(), entry.points()).is_some() {
            return violation(entry, "its key is already on the ledger");
        }
        self.apply_kind(entry)?;
        self.len = entry.position;
        self.balance = match self.balance.moved_by(entry) {
            Some(balance) => balance,
            None => return violation(entry, "the balance would overflow"),
        };
        self.check_totals(entry)
    }

    fn check_totals(&self, entry: &LedgerEntry) -> Result<(), LedgerViolation> {
        let held = self.orders.values().map(|o| o.pending).sum::<i64>()
            + self.reviews.values().map(|r| r.pending).sum::<i64>();
        if self.balance.pending < 0 || held != self.balance.pending {
            return violation(entry, format!("pending {} but orders and reviews hold {held}", self.balance.pending));
        }
        if self.lots.net() != self.balance.available {
            return violation(
                entry,
                format!("available {} but the lots net of debt hold {}", self.balance.available, self.lots.net()),
            );
        }
        Ok(())
    }

    fn order_mut(&mut self, entry: &LedgerEntry) -> Result<&mut OrderAccount, LedgerViolation> {
        let Some(order_id) = &entry.order_id else { return violation(entry, "names no order") };
        match self.orders.get_mut(order_id) {
            Some(account) => Ok(account),
            None => violation(entry, "its order has no credit on this ledger"),
        }
    }

    fn apply_kind(&mut self, entry: &LedgerEntry) -> Result<(), LedgerViolation> {
        let at = entry.created_at;
        match (&entry.kind, &entry.detail) {
            (EntryKind::Earn, EntryDetail::Earn(basis)) => self.apply_earn(entry, basis),
            (EntryKind::Window, EntryDetail::Window { fulfilled_at }) => {
                self.order_mut(entry)?.fulfilled_at = Some(*fulfilled_at);
                Ok(())
            }
            (EntryKind::Release, EntryDetail::Release { of }) => self.apply_release(entry, of),
            (EntryKind::KeepBonus, _) => {
                let account = self.order_mut(entry)?;
                if account.released_at.is_none() || account.keep_bonus {
                    return violation(entry, "a keep bonus needs a released order and is given once");
                }
                account.keep_bonus = true;
                self.lots.credit(&entry.key, at, None, entry.available);
                Ok(())
            }
            (EntryKind::Reversal, EntryDetail::Reversal(reversal)) => self.apply_reversal(entry, reversal),
            (EntryKind::Review, EntryDetail::Review { product_id, .. }) => {
                if self.reviews.contains_key(product_id) {
                    return violation(entry, "the product's review was credited already");
                }
                let released_at = (entry.available > 0).then_some(at);
                if entry.available > 0 {
                    self.lots.credit(&entry.key, at, None, entry.available);
                }
                let account = ReviewAccount {
                    key: entry.key.clone(),
                    credited_at: at,
                    pending: entry.pending,
                    released_at,
                    reversed: false,
                };
                self.reviews.insert(product_id.clone(), account);
                self.last_activity_at = Some(at);
                Ok(())
            }
            (EntryKind::ReviewReversal, EntryDetail::Review { product_id, .. }) => {
                match self.reviews.get_mut(product_id) {
                    Some(review) if review.released_at.is_none() && review.pending == -entry.pending => {
                        review.pending = 0;
                        review.reversed = true;
                        Ok(())
                    }
                    _ => violation(entry, "only a held review's whole credit can be reversed"),
                }
            }
            (EntryKind::Adjustment, _) => {
                if entry.available > 0 {
                    self.lots.credit(&entry.key, at, None, entry.available);
                } else {
                    self.lots.debit(-entry.available, Prefer::Oldest);
                }
                Ok(())
            }
            (EntryKind::Redemption, EntryDetail::Redemption { reward, code, expires_at }) => {
                if self.codes.contains_key(code) {
                    return violation(entry, "the code was issued before");
                }
                self.lots.debit(-entry.available, Prefer::Oldest);
                let account = CodeAccount {
                    reward: reward.clone(),
                    redemption_key: entry.key.clone(),
                    points: -entry.available,
                    expires_at: *expires_at,
                    used: false,
                    expired: false,
                };
                self.codes.insert(code.clone(), account);
                self.last_activity_at = Some(at);
                Ok(())
            }
            (EntryKind::CodeUsed, EntryDetail::Code { code }) => match self.codes.get_mut(code) {
                Some(account) => {
                    account.used = true;
                    Ok(())
                }
                None => violation(entry, "the code was not issued on this ledger"),
            },
            (EntryKind::CodeExpired, EntryDetail::Code { code }) => {
                match self.codes.get_mut(code) {
                    Some(account) if !account.expired && entry.available <= account.points => account.expired = true,
                    _ => return violation(entry, "only an issued code expires, once, returning at most its cost"),
                }
                self.lots.credit(&entry.key, at, None, entry.available);
                Ok(())
            }
            (EntryKind::Expiry, EntryDetail::Expiry { lot }) => match self.lots.lot(lot) {
                Some(open) if open.remaining == -entry.available => {
                    self.lots.debit(-entry.available, Prefer::Lot(lot));
                    Ok(())
                }
                _ => violation(entry, "an expiry takes exactly what remains of an open lot"),
            },
            (EntryKind::ExpiryNotice, _) => Ok(()),
            (EntryKind::TierChange, EntryDetail::Tier { from, to }) => {
                if from != &self.tier {
                    return violation(entry, "its previous tier is not the current one");
                }
                self.tier = to.clone();
                Ok(())
            }
            _ => violation(entry, "its detail does not belong to its kind"),
        }
    }

    fn apply_earn(&mut self, entry: &LedgerEntry, basis: &EarnBasis) -> Result<(), LedgerViolation> {
        let Some(order_id) = &entry.order_id else { return violation(entry, "names no order") };
        if self.orders.contains_key(order_id) {
            return violation(entry, "the order was credited already");
        }
        let released_at = (entry.available > 0).then_some(entry.created_at);
        if entry.available > 0 {
            self.lots.credit(&entry.key, entry.created_at, Some(order_id), entry.available);
        }
        let account = OrderAccount {
            earn_key: entry.key.clone(),
            earned_at: entry.created_at,
            basis: basis.clone(),
            fulfilled_at: None,
            reversed: BTreeMap::new(),
            refunds: BTreeSet::new(),
            refunded_amount_minor: 0,
            fully_reversed: false,
            pending: entry.pending,
            released_at,
            keep_bonus: false,
        };
        self.orders.insert(order_id.clone(), account);
        self.last_activity_at = Some(entry.created_at);
        Ok(())
    }

    fn apply_release(&mut self, entry: &LedgerEntry, of: &BusinessKey) -> Result<(), LedgerViolation> {
        let at = entry.created_at;
        if let Some(order_id) = &entry.order_id {
            let account = self.order_mut(entry)?;
            if &account.earn_key != of || account.released_at.is_some() || account.pending != entry.available {
                return violation(entry, "a release frees exactly what its held order still holds, once");
            }
            account.pending = 0;
            account.released_at = Some(at);
            self.lots.credit(&entry.key, at, Some(order_id), entry.available);
            return Ok(());
        }
        let Some(review) = self.reviews.values_mut().find(|r| &r.key == of) else {
            return violation(entry, "releases neither an order nor a review");
        };
        if review.released_at.is_some() || review.pending != entry.available {
            return violation(entry, "a release frees exactly what its held review still holds, once");
        }
        review.pending = 0;
        review.released_at = Some(at);
        self.lots.credit(&entry.key, at, None, entry.available);
        Ok(())
    }

    fn apply_reversal(
        &mut self,
        entry: &LedgerEntry,
        reversal: &super::entry::ReversalDetail,
    ) -> Result<(), LedgerViolation> {
        let account = self.order_mut(entry)?;
        match &reversal.cause {
            ReversalCause::Refund { refund_id, amount_minor } => {
                if !account.refunds.insert(refund_id.clone()) {
                    return violation(entry, "the refund was reversed already");
                }
                account.refunded_amount_minor += amount_minor.unwrap_or(0);
            }
            ReversalCause::Cancellation | ReversalCause::FullRefund => {
                if account.fully_reversed {
                    return violation(entry, "the order was reversed in full already");
                }
                account.fully_reversed = true;
            }
        }
        for line in &reversal.lines {
            let Some(credit) = account.basis.lines.iter().find(|c| c.line_id == line.line_id) else {
                return violation(entry, format!("line {} earned nothing to reverse", line.line_id));
            };
            let (credit_points, credit_quantity, credit_amount) = (credit.points, credit.quantity, credit.amount_minor);
            let sum = account.reversed.entry(line.line_id.clone()).or_insert(LineReversal {
                line_id: line.line_id.clone(),
                quantity: 0,
                amount_minor: 0,
                points: 0,
            });
            sum.points += line.points;
            sum.quantity = sum.quantity.saturating_add(line.quantity);
            sum.amount_minor += line.amount_minor;
            if sum.points > credit_points || sum.quantity > credit_quantity || sum.amount_minor > credit_amount {
                return violation(entry, format!("line {} would give back more than it was credited", line.line_id));
            }
        }
        let taken = reversal.points() - reversal.shortfall;
        match reversal.from {
            super::entry::Bucket::Pending => {
                if account.released_at.is_some() || account.pending < taken {
                    return violation(entry, "takes more pending points than its order holds");
                }
                account.pending -= taken;
            }
            super::entry::Bucket::Available => {
                if account.released_at.is_none() && account.pending > 0 {
                    return violation(entry, "a held order's points are reversed from pending first");
                }
                let order_id = entry.order_id.clone();
                if let Some(order_id) = &order_id {
                    self.lots.debit(taken, Prefer::Order(order_id));
                }
                self.shortfall += reversal.shortfall;
            }
        }
        Ok(())
    }
}
