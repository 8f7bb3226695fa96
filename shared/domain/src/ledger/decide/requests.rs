//! Requests through the merchant API: reviews, manual adjustments, redemptions. Unlike platform
//! facts these can be refused (not bought, not enough points, a reused key), and a refusal writes
//! nothing. Each is idempotent on its key: the same request again appends nothing and succeeds.

use chrono::{DateTime, Utc};

use super::{Decision, DecisionError, Draft, Refusal};
use crate::coupon::CouponCode;
use crate::ids::{IdempotencyKey, ProductId, ReviewId, RewardId};
use crate::ledger::entry::{Bucket, BusinessKey, EntryDetail, EntryKind};
use crate::programme::ReversalPolicy;

/// A review's state as the review platform (or the shop) reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewFact {
    pub product_id: ProductId,
    pub review_id: ReviewId,
    pub published: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdjustmentRequest {
    pub key: IdempotencyKey,
    pub points: i64,
    /// For the merchant's records.
    pub reason: String,
    /// What the customer is shown.
    pub customer_text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedemptionRequest {
    pub key: IdempotencyKey,
    pub reward: RewardId,
    pub code: CouponCode,
    pub expires_at: DateTime<Utc>,
}

impl Decision<'_> {
    /// A review published credits once per customer and product, if they bought the product; one
    /// unpublished while its points are still held takes them back.
    pub fn review(&mut self, fact: &ReviewFact) -> Result<(), DecisionError> {
        let existing = self.state.reviews.get(&fact.product_id);
        if !fact.published {
            let Some(review) = existing.filter(|r| r.released_at.is_none() && r.pending > 0) else { return Ok(()) };
            let pending = review.pending;
            let reason = format!("review of product {} unpublished", fact.product_id);
            let detail = EntryDetail::Review { product_id: fact.product_id.clone(), review_id: fact.review_id.clone() };
            let key = BusinessKey::review_reversal(&fact.product_id);
            return Ok(self
                .push(Draft::new(EntryKind::ReviewReversal, key, reason, detail).points(Bucket::Pending, -pending))?);
        }
        if existing.is_some() || self.shop.reviews.points == 0 {
            return Ok(());
        }
        if !self.bought(&fact.product_id) {
            return Err(Refusal::NotBought.into());
        }
        let bucket = if self.shop.reviews.hold_days > 0 { Bucket::Pending } else { Bucket::Available };
        let reason = format!("review of product {} published", fact.product_id);
        let detail = EntryDetail::Review { product_id: fact.product_id.clone(), review_id: fact.review_id.clone() };
        let draft = Draft::new(EntryKind::Review, BusinessKey::review(&fact.product_id), reason, detail);
        Ok(self.push(draft.points(bucket, self.shop.reviews.points))?)
    }

    /// Whether a credited order has a line of the product that was not given back in full.
    fn bought(&self, product: &ProductId) -> bool {
        self.state.orders.values().any(|account| {
            account.basis.lines.iter().any(|line| {
                line.product_id.as_deref() == Some(product.as_str())
                    && account.reversed_line(&line.line_id).quantity < line.quantity
                    && !account.fully_reversed
            })
        })
    }

    pub fn adjust(&mut self, request: &AdjustmentRequest) -> Result<(), DecisionError> {
        let key = BusinessKey::adjustment(&request.key);
        if self.state.has_key(&key) {
            return self.same_request(&key, request.points);
        }
        if request.points == 0 || request.points.abs() > crate::programme::POINTS_PER_WRITE_MAX {
            return Err(Refusal::Invalid("points must be non-zero and at most 100000000 either way".into()).into());
        }
        let available = self.state.balance().available;
        if request.points < 0 && self.shop.reversals.policy == ReversalPolicy::Clamp && available + request.points < 0 {
            return Err(Refusal::InsufficientPoints { available, needed: -request.points }.into());
        }
        let mut draft = Draft::new(EntryKind::Adjustment, key, request.reason.clone(), EntryDetail::None)
            .points(Bucket::Available, request.points);
        draft.customer_text = request.customer_text.clone();
        Ok(self.push(draft)?)
    }

    pub fn redeem(&mut self, request: &RedemptionRequest) -> Result<(), DecisionError> {
        let key = BusinessKey::redemption(&request.key);
        // A gift reward (0 points) is given by campaigns only: it is not for sale.
        let reward = self.shop.reward(&request.reward).filter(|r| r.points > 0).ok_or(Refusal::UnknownReward)?;
        if self.state.has_key(&key) {
            return self.same_request(&key, -reward.points);
        }
        let available = self.state.balance().available;
        if available < reward.points {
            return Err(Refusal::InsufficientPoints { available, needed: reward.points }.into());
        }
        let reason = format!("redeemed for {}", reward.name);
        let detail = EntryDetail::Redemption {
            reward: request.reward.clone(),
            code: request.code.clone(),
            expires_at: request.expires_at,
        };
        Ok(self
            .push(Draft::new(EntryKind::Redemption, key, reason, detail).points(Bucket::Available, -reward.points))?)
    }

    /// A repeated request is fine if it asks for what the first one did; the same key for
    /// something else is the client's bug.
    fn same_request(&self, key: &BusinessKey, points: i64) -> Result<(), DecisionError> {
        match self.state.entry_points(key) {
            Some(stored) if stored == points => Ok(()),
            _ => Err(Refusal::KeyReused.into()),
        }
    }
}
