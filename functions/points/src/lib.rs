//! The points function: turns `OrderRecorded` events into ledger credits.
//!
//! Exactly once whatever arrives: the credit's business key is the order (`earn:order:{id}`) and
//! the store appends under it conditionally, so duplicates, retries and re-published states all land
//! on the same entry. Every event carries the order's stored state; the first state that shows the
//! order paid is credited, and that credit stands (an order edited after payment does not change
//! it: adjustments belong to the ledger's reversals).

use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ledger::{AppendOutcome, Bucket, BusinessKey, EntryKind, LedgerEntry};
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::LedgerStore;

pub struct PointsService {
    pub shops: Arc<ShopDirectory>,
    pub ledger: Arc<dyn LedgerStore>,
    pub clock: Arc<dyn Clock>,
}

/// What handling one event did.
#[derive(Debug, PartialEq, Eq)]
pub enum CreditOutcome {
    Credited {
        points: i64,
    },
    /// The order's credit was already on the ledger.
    AlreadyCredited,
    /// Nothing to credit, and why.
    Skipped(&'static str),
}

#[derive(Debug, Error)]
pub enum PointsError {
    #[error("ledger write failed")]
    Store(#[from] StoreError),
    /// The event names a shop this instance's configuration does not know: a shop just added to
    /// the configuration and not yet seen by a warm instance. Retried, so the credit is not lost.
    #[error("shop {0} is not in this instance's configuration")]
    UnknownShop(ShopId),
}

impl PointsError {
    /// Whether Lambda should retry the event (and, after its retries, send it to the DLQ).
    pub fn is_retryable(&self) -> bool {
        match self {
            PointsError::Store(e) => e.is_retryable(),
            PointsError::UnknownShop(_) => true,
        }
    }
}

impl PointsService {
    pub async fn handle_event(&self, event: &DomainEvent) -> Result<CreditOutcome, PointsError> {
        match event {
            DomainEvent::OrderRecorded { order } => self.credit_order(order).await,
            _ => Ok(CreditOutcome::Skipped("not an order event")),
        }
    }

    async fn credit_order(&self, order: &Order) -> Result<CreditOutcome, PointsError> {
        if self.shops.by_id(&order.shop).is_none() {
            return Err(PointsError::UnknownShop(order.shop.clone()));
        }
        let Some(entry) = self.earn_entry(order) else {
            return Ok(CreditOutcome::Skipped(self.skip_reason(order)));
        };
        let points = entry.points;
        match self.ledger.append_entry(&entry).await? {
            AppendOutcome::Appended => {
                tracing::info!(shop = %order.shop, order = %order.order_id, points, "order credited");
                Ok(CreditOutcome::Credited { points })
            }
            AppendOutcome::AlreadyExists(existing) => {
                if existing.points != points {
                    // The order changed after it was credited (an edit, or a rule change between
                    // retries). The first credit stands; adjustments are the ledger's job.
                    tracing::info!(shop = %order.shop, order = %order.order_id, credited = existing.points, now = points, "order already credited with other points");
                }
                Ok(CreditOutcome::AlreadyCredited)
            }
        }
    }

    /// The credit a paid order earns under its shop's rule, or `None` if it earns nothing.
    fn earn_entry(&self, order: &Order) -> Option<LedgerEntry> {
        let shop = self.shops.by_id(&order.shop)?;
        let customer_id = order.customer_id.clone()?;
        if !order.payment.is_paid() {
            return None;
        }
        let basis = shop.earn.earn(order)?;
        let points = basis.lines.iter().map(|l| l.points).sum();
        let number = order.order_number.as_deref().unwrap_or(order.order_id.as_str());
        Some(LedgerEntry {
            shop: order.shop.clone(),
            customer_id,
            key: BusinessKey::earn_for_order(&order.order_id),
            kind: EntryKind::Earn,
            bucket: Bucket::Available,
            points,
            reason: format!("order {number} paid"),
            order_id: Some(order.order_id.clone()),
            basis: Some(basis),
            created_at: self.clock.now(),
        })
    }

    fn skip_reason(&self, order: &Order) -> &'static str {
        if order.customer_id.is_none() {
            "guest order"
        } else if !order.payment.is_paid() {
            "order not paid"
        } else {
            "order earns no points"
        }
    }
}
