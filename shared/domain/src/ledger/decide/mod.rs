//! Decisions: what entries a fact calls for, given the ledger as it stands. Pure functions of the
//! state, the shop's rules and the time; the service that calls them reads the ledger, decides,
//! and appends the result conditionally on the ledger not having moved, so every decision is made
//! on exactly the state it is written over.
//!
//! A `Decision` works on a copy of the state: each new entry is applied to it at once (checking
//! every invariant), so later steps of the same decision see the earlier ones, and `finish`
//! appends the tier change the new state calls for.

mod orders;
mod requests;
mod tick;

use chrono::{DateTime, Utc};
use thiserror::Error;

use super::entry::{Bucket, BusinessKey, EntryDetail, EntryKind, LedgerEntry};
use super::state::{LedgerState, LedgerViolation};
use super::tiers;
use crate::config::ShopConfig;
use crate::ids::OrderId;
use crate::programme::ReversalPolicy;

pub use requests::{AdjustmentRequest, RedemptionRequest, ReviewFact};

/// Why a request (not a platform fact) was turned down. Nothing is written.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    #[error("the customer has {available} points available, {needed} are needed")]
    InsufficientPoints { available: i64, needed: i64 },
    #[error("the customer has not bought this product")]
    NotBought,
    #[error("the idempotency key was used before for a different request")]
    KeyReused,
    #[error("no such reward in this shop")]
    UnknownReward,
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecisionError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Violation(#[from] LedgerViolation),
}

/// An entry before it has a position.
pub(crate) struct Draft {
    pub kind: EntryKind,
    pub key: BusinessKey,
    pub available: i64,
    pub pending: i64,
    pub reason: String,
    pub customer_text: Option<String>,
    pub order_id: Option<OrderId>,
    pub detail: EntryDetail,
}

impl Draft {
    pub fn new(kind: EntryKind, key: BusinessKey, reason: String, detail: EntryDetail) -> Self {
        let reason = super::entry::bounded_text(reason);
        Draft { kind, key, available: 0, pending: 0, reason, customer_text: None, order_id: None, detail }
    }

    pub fn points(mut self, bucket: Bucket, points: i64) -> Self {
        match bucket {
            Bucket::Available => self.available = points,
            Bucket::Pending => self.pending = points,
        }
        self
    }

    pub fn order(mut self, order_id: &OrderId) -> Self {
        self.order_id = Some(order_id.clone());
        self
    }
}

/// The result: the entries to append (positions `read.len() + 1 …`), and the state after them.
#[derive(Debug)]
pub struct Decided {
    pub entries: Vec<LedgerEntry>,
    pub state: LedgerState,
}

pub struct Decision<'a> {
    shop: &'a ShopConfig,
    now: DateTime<Utc>,
    state: LedgerState,
    new: Vec<LedgerEntry>,
}

impl<'a> Decision<'a> {
    pub fn new(shop: &'a ShopConfig, state: LedgerState, now: DateTime<Utc>) -> Self {
        Decision { shop, now, state, new: Vec::new() }
    }

    pub fn state(&self) -> &LedgerState {
        &self.state
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn push(&mut self, draft: Draft) -> Result<(), LedgerViolation> {
        let entry = LedgerEntry {
            shop: self.state.shop.clone(),
            customer_id: self.state.customer_id.clone(),
            position: self.state.len() + 1,
            key: draft.key,
            kind: draft.kind,
            available: draft.available,
            pending: draft.pending,
            reason: draft.reason,
            customer_text: draft.customer_text,
            order_id: draft.order_id,
            detail: draft.detail,
            created_at: self.now,
        };
        let before = self.state.balance().available;
        self.state.apply(&entry)?;
        // Under `clamp` no decision may take the available balance below zero (one already below
        // from an earlier `debt` policy may only rise).
        let after = self.state.balance().available;
        if self.shop.reversals.policy == ReversalPolicy::Clamp && after < 0 && after < before {
            return Err(LedgerViolation(format!("entry {} would take the balance below zero under clamp", entry.key)));
        }
        self.new.push(entry);
        Ok(())
    }

    /// The tier the customer qualifies for now, and its earn multiplier.
    fn tier_now(&self) -> Option<&'a crate::programme::TierLevel> {
        tiers::current_level(&self.state, &self.shop.tiers, self.shop.currency, self.now, self.shop.time_zone)
    }

    /// Ends the decision: appends a tier change if the tier moved, and returns what to write.
    pub fn finish(mut self) -> Result<Decided, LedgerViolation> {
        let now_tier = self.tier_now().map(|level| level.id.clone());
        if now_tier != self.state.tier {
            let from = self.state.tier.clone();
            let name = |t: &Option<crate::ids::TierId>| t.as_ref().map_or("none".to_owned(), |t| t.to_string());
            let reason = format!("tier {} → {}", name(&from), name(&now_tier));
            let key = BusinessKey::tier_change(self.state.len() + 1);
            self.push(Draft::new(EntryKind::TierChange, key, reason, EntryDetail::Tier { from, to: now_tier }))?;
        }
        Ok(Decided { entries: self.new, state: self.state })
    }
}
