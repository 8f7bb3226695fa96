//! The mail sweep function. An hourly schedule invokes it with `{"sweep": "mail"}` for every
//! configured shop; an EventBridge `MailSweepRequested` event (which the function publishes
//! itself when a shop had more candidates than one invocation may look at) continues one shop;
//! a `LedgerEntryAppended` event of a reversal, an expiry notice or a fulfilment schedules the
//! refund notice, the points-expiring mail or the post-purchase thank-you, which a later sweep
//! sends; a `SubscriptionRequested` event (the merchant API's double opt-in) sends the
//! confirmation mail at once, and a `LinkRequested` event (the preference centre's "send me a
//! new link" form) the new-link mail.
//!
//! Hourly, because a customer's send hour comes round at a different UTC hour in every zone.

use serde::Deserialize;
use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::config::{ShopConfig, ShopDirectory};
use stammkunde_domain::error::BusError;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ports::EventBus;
use stammkunde_services::mail::{MailSweep, MailSweepError, MailSweepReport};
use stammkunde_services::sweep_each_shop;

/// Index pages (of `MAIL_PAGE_SIZE` candidates) one invocation looks at per shop. Sending is
/// paced to the account's rate (default 10 per second), so 5 pages of which every candidate is
/// due take under a minute of the function's 300 s.
pub const PAGES_PER_INVOCATION: u32 = 5;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SweepInput {
    /// `MailSweepRequested` through EventBridge: one shop, continued.
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
    #[error("the sweep's input is neither the schedule's nor a MailSweepRequested, LedgerEntryAppended, SubscriptionRequested or LinkRequested event")]
    UnknownInput,
    #[error("shop {0} is not in this instance's configuration")]
    UnknownShop(ShopId),
    #[error("the mail sweep failed")]
    Sweep(#[from] MailSweepError),
    #[error("re-queueing the rest of a sweep failed")]
    Bus(#[from] BusError),
}

pub struct SweepFunction {
    pub shops: Arc<ShopDirectory>,
    pub sweep: MailSweep,
    pub bus: Arc<dyn EventBus>,
    pub pages_per_invocation: u32,
}

impl SweepFunction {
    pub async fn handle(&self, input: &SweepInput) -> Result<Vec<(ShopId, MailSweepReport)>, SweepError> {
        let shops: Vec<&ShopConfig> = match input {
            SweepInput::Scheduled { sweep } if sweep == "mail" => self.shops.shops().iter().collect(),
            SweepInput::Continue { detail, .. } => match detail.as_ref() {
                DomainEvent::MailSweepRequested { shop } => {
                    vec![self.shops.by_id(shop).ok_or_else(|| SweepError::UnknownShop(shop.clone()))?]
                }
                DomainEvent::LedgerEntryAppended { entry } => {
                    let shop =
                        self.shops.by_id(&entry.shop).ok_or_else(|| SweepError::UnknownShop(entry.shop.clone()))?;
                    let scheduled = self.sweep.schedule_for_entry(shop, entry).await?;
                    tracing::info!(shop = %shop.id, customer = %entry.customer_id, entry = %entry.key, scheduled, "ledger entry");
                    return Ok(Vec::new());
                }
                DomainEvent::SubscriptionRequested { shop, customer_id, date } => {
                    let shop = self.shops.by_id(shop).ok_or_else(|| SweepError::UnknownShop(shop.clone()))?;
                    self.sweep.send_confirmation(shop, customer_id, *date).await?;
                    return Ok(Vec::new());
                }
                DomainEvent::LinkRequested { shop, customer_id, date } => {
                    let shop = self.shops.by_id(shop).ok_or_else(|| SweepError::UnknownShop(shop.clone()))?;
                    self.sweep.send_new_link(shop, customer_id, *date).await?;
                    return Ok(Vec::new());
                }
                _ => return Err(SweepError::UnknownInput),
            },
            SweepInput::Scheduled { .. } => return Err(SweepError::UnknownInput),
        };
        sweep_each_shop("mail", shops, |shop| self.sweep_shop(shop)).await
    }

    async fn sweep_shop(&self, shop: &ShopConfig) -> Result<MailSweepReport, SweepError> {
        let report = self.sweep.sweep_shop(shop, self.pages_per_invocation).await?;
        tracing::info!(
            shop = %shop.id, candidates = report.candidates, sent = report.sent, deferred = report.deferred,
            dropped = report.dropped, refused = report.refused, review = report.review, retry = report.retry,
            failed = report.failed, more = report.more, "mail sweep"
        );
        if report.more {
            self.bus.publish(&[DomainEvent::MailSweepRequested { shop: shop.id.clone() }]).await?;
        }
        Ok(report)
    }
}
