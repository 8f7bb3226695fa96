//! The ledger sweep: for one shop, every customer whose timer is due (holds ending, codes and
//! points expiring, tier reviews, unpublished events), then, after a change of the tier rule, a
//! bounded page more of the recalculation of every customer's tier.
//!
//! Work follows the customers due, never the customer count: due customers come from the timer
//! index, a page at a time, and a run stops after `pages_max` pages, saying whether more is left
//! so the caller can ask for another run. Running it twice, or twice at once, appends nothing
//! twice: every tick is a conditional append on a freshly read ledger.

use std::sync::Arc;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::error::{cause_chain, StoreError};
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::ports::{CustomerStore, PageRequest, ShopStore, TimerStore};

use crate::ledger::LedgerService;

/// Customers per page of the timer index or the customer list.
pub const SWEEP_PAGE_SIZE: u32 = 100;
/// The sweep mark that records which tier rule every customer's tier was last computed with.
pub const TIER_MARK: &str = "tiers";

pub struct LedgerSweep {
    pub ledger: Arc<LedgerService>,
    pub timers: Arc<dyn TimerStore>,
    pub customers: Arc<dyn CustomerStore>,
    pub shops: Arc<dyn ShopStore>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Customers whose ledger was looked at.
    pub customers: u32,
    /// Entries appended.
    pub entries: u32,
    /// Customers whose tick failed (logged; their timer stays due, so the next run retries).
    pub failed: u32,
    /// Whether work was left for another run.
    pub more: bool,
}

impl LedgerSweep {
    pub async fn sweep_shop(&self, shop: &ShopConfig, pages_max: u32) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        let now = self.clock.now();
        let mut page = PageRequest::first(SWEEP_PAGE_SIZE);
        for _ in 0..pages_max {
            let due = self.timers.due_timers(&shop.id, now, page.clone()).await?;
            for timer in &due.items {
                self.tick(shop, &timer.customer_id, &mut report).await;
            }
            match due.next {
                Some(cursor) => page = PageRequest { cursor: Some(cursor), limit: SWEEP_PAGE_SIZE },
                None => return self.recalculate_tiers(shop, pages_max, report).await,
            }
        }
        report.more = true;
        Ok(report)
    }

    async fn tick(&self, shop: &ShopConfig, customer: &CustomerId, report: &mut SweepReport) {
        report.customers += 1;
        match self.ledger.run(shop, customer, |decision| Ok(decision.tick()?)).await {
            Ok(outcome) => report.entries += u32::try_from(outcome.appended.len()).unwrap_or(u32::MAX),
            Err(error) => {
                report.failed += 1;
                tracing::error!(shop = %shop.id, %customer, error = %cause_chain(&error), "ledger tick failed");
            }
        }
    }

    /// After the tier rule changed: a bounded part of the walk over every customer, resumed from
    /// the mark. Reads show the new rule's tiers at once; this appends the tier changes (and so
    /// their events) customer by customer.
    async fn recalculate_tiers(
        &self,
        shop: &ShopConfig,
        pages_max: u32,
        mut report: SweepReport,
    ) -> Result<SweepReport, StoreError> {
        let fingerprint = shop.tiers.fingerprint();
        let mark = self.shops.sweep_mark(&shop.id, TIER_MARK).await?;
        let cursor = match mark.as_deref().map(|m| m.split_once('|')) {
            Some(None) if mark.as_deref() == Some(fingerprint.as_str()) => return Ok(report),
            Some(Some((fp, cursor))) if fp == fingerprint => Some(cursor.to_owned()),
            // A shop that never had tiers and has none has nothing to recalculate.
            None if shop.tiers.levels.is_empty() => {
                self.shops.set_sweep_mark(&shop.id, TIER_MARK, &fingerprint).await?;
                return Ok(report);
            }
            _ => None,
        };
        let mut page = PageRequest { cursor, limit: SWEEP_PAGE_SIZE };
        for _ in 0..pages_max {
            let customers = self.customers.customers(&shop.id, page.clone()).await?;
            for customer in &customers.items {
                report.customers += 1;
                match self.ledger.run(shop, customer, |_| Ok(())).await {
                    Ok(outcome) => report.entries += u32::try_from(outcome.appended.len()).unwrap_or(u32::MAX),
                    Err(error) => {
                        report.failed += 1;
                        tracing::error!(shop = %shop.id, %customer, error = %cause_chain(&error), "tier recalculation failed");
                    }
                }
            }
            match customers.next {
                Some(next) => {
                    self.shops.set_sweep_mark(&shop.id, TIER_MARK, &format!("{fingerprint}|{next}")).await?;
                    page = PageRequest { cursor: Some(next), limit: SWEEP_PAGE_SIZE };
                }
                None => {
                    self.shops.set_sweep_mark(&shop.id, TIER_MARK, &fingerprint).await?;
                    return Ok(report);
                }
            }
        }
        report.more = true;
        Ok(report)
    }
}
