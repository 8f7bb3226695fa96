//! The points function: reconciles each customer's ledger with what the platforms report about
//! their orders. Fed by the bus: `OrderRecorded` (an order's stored state) and `RefundRecorded`
//! (a refund, possibly before its order).
//!
//! Exactly once whatever arrives: every entry has the business key of its fact, and the ledger
//! service decides on a freshly read ledger and appends conditionally on it, so duplicates,
//! retries, re-published states and races all end in the same entries. A refund whose order is
//! not known yet is stored by the webhook; the order's reconciliation reverses it when it comes.

use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::config::{ShopConfig, ShopDirectory};
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ledger::EntryKind;
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::{CodeStore, CustomerStore};
use stammkunde_services::{LedgerError, LedgerService};

pub struct PointsService {
    pub shops: Arc<ShopDirectory>,
    pub ledger: Arc<LedgerService>,
    pub customers: Arc<dyn CustomerStore>,
    pub codes: Arc<dyn CodeStore>,
}

/// What handling one event did.
#[derive(Debug, PartialEq, Eq)]
pub enum PointsOutcome {
    /// Entries appended to the order's customer's ledger, by kind.
    Reconciled { appended: Vec<EntryKind> },
    /// Nothing to do, and why.
    Skipped(&'static str),
}

#[derive(Debug, Error)]
pub enum PointsError {
    #[error("reading the order failed")]
    Store(#[from] StoreError),
    #[error("ledger write failed")]
    Ledger(#[from] LedgerError),
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
            PointsError::Ledger(e) => e.is_retryable(),
            PointsError::UnknownShop(_) => true,
        }
    }
}

impl PointsService {
    pub async fn handle_event(&self, event: &DomainEvent) -> Result<PointsOutcome, PointsError> {
        match event {
            DomainEvent::OrderRecorded { order } => self.reconcile(order).await,
            DomainEvent::RefundRecorded { refund } => {
                match self.customers.order(&refund.shop, &refund.order_id).await? {
                    Some(order) => self.reconcile(&order).await,
                    None => Ok(PointsOutcome::Skipped("refund held until its order arrives")),
                }
            }
            _ => Ok(PointsOutcome::Skipped("not an order event")),
        }
    }

    fn shop(&self, id: &ShopId) -> Result<&ShopConfig, PointsError> {
        self.shops.by_id(id).ok_or_else(|| PointsError::UnknownShop(id.clone()))
    }

    async fn reconcile(&self, order: &Order) -> Result<PointsOutcome, PointsError> {
        let shop = self.shop(&order.shop)?;
        let Some(customer) = &order.customer_id else {
            return Ok(PointsOutcome::Skipped("guest order"));
        };
        let refunds = self.customers.refunds(&order.shop, &order.order_id).await?;
        let outcome =
            self.ledger.run(shop, customer, |decision| Ok(decision.reconcile_order(order, &refunds)?)).await?;
        let appended: Vec<EntryKind> = outcome.appended.iter().map(|e| e.kind).collect();
        if !appended.is_empty() {
            tracing::info!(shop = %order.shop, order = %order.order_id, %customer, entries = ?appended, "order reconciled");
        }
        self.mark_codes_used(shop, order).await?;
        Ok(if appended.is_empty() {
            PointsOutcome::Skipped("ledger already up to date")
        } else {
            PointsOutcome::Reconciled { appended }
        })
    }

    /// Codes we issued that the order used: marked on their holder's ledger (usually the order's
    /// customer, but a code can be passed on).
    async fn mark_codes_used(&self, shop: &ShopConfig, order: &Order) -> Result<(), PointsError> {
        if !order.payment.is_paid() {
            return Ok(());
        }
        for raw in &order.discount_codes {
            let Ok(code) = CouponCode::parse(raw) else { continue };
            let Some(holder) = self.codes.code(&shop.id, &code).await?.and_then(|c| c.issue).map(|i| i.customer_id)
            else {
                continue;
            };
            self.ledger.run(shop, &holder, |decision| Ok(decision.code_used(&code, order)?)).await?;
        }
        Ok(())
    }
}
