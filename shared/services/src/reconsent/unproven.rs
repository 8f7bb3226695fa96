//! The re-consent run: a page of the shop's customers at a time, each whose settings say
//! "confirmed" (a double opt-in from before the consent ledger) while the ledger holds no
//! confirmation gets a deadline and a re-permission mail.
//!
//! The merchant starts it and carries its cursor (`POST …/consents/reconsent`, again with `next`
//! until it is null): mailing a shop's whole old list is the shop's decision, never a side effect
//! of an upgrade. Each call reads one bounded page of `CustomerStore::customers` (on DynamoDB a
//! Query of `by_shop`, never a Scan). A customer scheduled once has a deadline and is passed over
//! by every later run, so a repeated page, or the whole run again, schedules nobody twice.

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::consent::confirmed_at;
use stammkunde_domain::customer::Customer;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::ports::PageRequest;

use super::{Reconsent, ReconsentError};

/// Customers one call looks at: a few reads each, well inside the API's 29 seconds.
pub const RUN_PAGE_SIZE: u32 = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnprovenReport {
    /// Customers looked at.
    pub customers: usize,
    /// Those whose re-permission this call scheduled.
    pub scheduled: usize,
    /// The cursor of the next page; `None` when the run is through.
    pub next: Option<String>,
}

impl Reconsent {
    pub async fn ask_unproven(
        &self,
        shop: &ShopConfig,
        cursor: Option<String>,
    ) -> Result<UnprovenReport, ReconsentError> {
        if !shop.mail.enabled {
            return Err(ReconsentError::MailDisabled);
        }
        let page = self.customers.customers(&shop.id, PageRequest { cursor, limit: RUN_PAGE_SIZE }).await?;
        let mut report = UnprovenReport { customers: page.items.len(), next: page.next, ..UnprovenReport::default() };
        let today = self.clock.now().date_naive();
        for id in &page.items {
            if let Some(customer) = self.unproven(shop, id).await? {
                self.schedule(shop, &customer, today, None).await?;
                report.scheduled += 1;
            }
        }
        tracing::info!(shop = %shop.id, customers = report.customers, scheduled = report.scheduled, "re-consent run page");
        Ok(report)
    }

    /// The customer, if reachable, with settings that stand on a double opt-in with no
    /// re-permission running, and a consent ledger without a confirmation of it.
    async fn unproven(&self, shop: &ShopConfig, id: &CustomerId) -> Result<Option<Customer>, ReconsentError> {
        let contact = self.mail.contact(&shop.id, id).await?.unwrap_or_default();
        if !contact.double_opt_in_standing() {
            return Ok(None);
        }
        let Some(customer) = self.customers.customer(&shop.id, id).await? else { return Ok(None) };
        if self.reachable(shop, &customer, &contact).await?.is_some() {
            return Ok(None);
        }
        let proven = confirmed_at(&self.consent.consents(&shop.id, id).await?).is_some();
        Ok((!proven).then_some(customer))
    }
}
