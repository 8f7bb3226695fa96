//! The ledger sweep function. An hourly schedule invokes it with `{"sweep": "ledger"}` for every
//! configured shop; an EventBridge `LedgerSweepRequested` event (which the function publishes
//! itself when a shop had more due than one invocation may do) continues one shop.
//!
//! Each shop gets at most `PAGES_PER_INVOCATION` pages of due customers per invocation, so an
//! invocation is bounded in time whatever the backlog; the rest is re-queued, never dropped.
//!
//! It also does the long part of Shopify's `shop/redact`: a `ShopErasureRequested` event (from
//! the webhooks function, which wrote the shop's tombstone, or from this function going on)
//! erases `ERASURE_BATCHES_PER_INVOCATION` batches of what the shop left and asks again while
//! anything is left. The same kind of bounded, re-queued work per shop, so the same function.

use serde::Deserialize;
use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::config::{ShopConfig, ShopDirectory};
use stammkunde_domain::error::{BusError, StoreError};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ports::EventBus;
use stammkunde_services::privacy::{Privacy, PrivacyError};
use stammkunde_services::sweep_each_shop;
use stammkunde_services::{LedgerSweep, SweepReport};

/// Pages of due customers one invocation works through per shop (of `SWEEP_PAGE_SIZE` each):
/// 1,000 customers fit well inside the function's 300 s.
pub const PAGES_PER_INVOCATION: u32 = 10;

/// Batches of a shop-wide erasure per invocation (of `SHOP_ERASURE_BATCH_LIMIT` customers,
/// orders or codes each): a few seconds each at most, well inside the function's 300 s.
pub const ERASURE_BATCHES_PER_INVOCATION: u32 = 40;

/// What the function is invoked with.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SweepInput {
    /// `LedgerSweepRequested` through EventBridge: one shop, continued.
    Continue {
        #[serde(rename = "detail-type")]
        detail_type: String,
        detail: Box<DomainEvent>,
    },
    /// The schedule's input: every shop.
    Scheduled { sweep: String },
}

#[derive(Debug, Error)]
pub enum SweepError {
    #[error("the sweep's input is neither the schedule's nor a LedgerSweepRequested or ShopErasureRequested event")]
    UnknownInput,
    #[error("shop {0} is not in this instance's configuration")]
    UnknownShop(ShopId),
    #[error("reading due customers failed")]
    Store(#[from] StoreError),
    #[error("re-queueing the rest of a sweep failed")]
    Bus(#[from] BusError),
    #[error("erasing a shop failed")]
    Erasure(#[from] PrivacyError),
}

pub struct SweepFunction {
    pub shops: Arc<ShopDirectory>,
    pub sweep: LedgerSweep,
    pub bus: Arc<dyn EventBus>,
    /// `PAGES_PER_INVOCATION` on AWS.
    pub pages_per_invocation: u32,
    /// Shop-wide erasures.
    pub privacy: Arc<Privacy>,
    /// `ERASURE_BATCHES_PER_INVOCATION` on AWS.
    pub erasure_batches_per_invocation: u32,
}

impl SweepFunction {
    pub async fn handle(&self, input: &SweepInput) -> Result<Vec<(ShopId, SweepReport)>, SweepError> {
        let shops: Vec<&ShopConfig> = match input {
            SweepInput::Scheduled { sweep } if sweep == "ledger" => self.shops.shops().iter().collect(),
            SweepInput::Continue { detail, .. } => match detail.as_ref() {
                DomainEvent::LedgerSweepRequested { shop } => {
                    vec![self.shops.by_id(shop).ok_or_else(|| SweepError::UnknownShop(shop.clone()))?]
                }
                // Not looked up in the configuration: a shop that left may be gone from it.
                DomainEvent::ShopErasureRequested { shop } => {
                    self.erase_shop(shop).await?;
                    return Ok(Vec::new());
                }
                _ => return Err(SweepError::UnknownInput),
            },
            SweepInput::Scheduled { .. } => return Err(SweepError::UnknownInput),
        };
        sweep_each_shop("ledger", shops, |shop| self.sweep_shop(shop)).await
    }

    async fn erase_shop(&self, shop: &ShopId) -> Result<(), SweepError> {
        let erased = self.privacy.erase_shop(shop, self.erasure_batches_per_invocation).await?;
        if !erased.done {
            self.bus.publish(&[DomainEvent::ShopErasureRequested { shop: shop.clone() }]).await?;
        }
        Ok(())
    }

    async fn sweep_shop(&self, shop: &ShopConfig) -> Result<SweepReport, SweepError> {
        let report = self.sweep.sweep_shop(shop, self.pages_per_invocation).await?;
        tracing::info!(shop = %shop.id, customers = report.customers, entries = report.entries, failed = report.failed, more = report.more, "ledger sweep");
        if report.more {
            self.bus.publish(&[DomainEvent::LedgerSweepRequested { shop: shop.id.clone() }]).await?;
        }
        Ok(report)
    }
}
