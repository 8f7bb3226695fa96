//! Reads: a customer with their points, tier and next expiry, and their ledger.

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::ledger::{Balance, LedgerEntry, LedgerState};
use stammkunde_http::Reply;

use crate::{replies, views, ApiService};

impl ApiService {
    pub(crate) async fn customer(&self, shop: &ShopConfig, id: &CustomerId) -> Result<Reply, Reply> {
        let found = self.known_customer(shop, id).await?;
        let (state, _) = self.state(shop, id, found.balance).await?;
        let contact = self.mail.contact(&shop.id, id).await?.unwrap_or_default();
        Ok(Reply::json(views::customer(shop, &found, &contact, &state, self.clock.now())))
    }

    pub(crate) async fn ledger(&self, shop: &ShopConfig, id: &CustomerId) -> Result<Reply, Reply> {
        let found = self.known_customer(shop, id).await?;
        let (state, entries) = self.state(shop, id, found.balance).await?;
        Ok(Reply::json(views::ledger(&shop.id, id, &state, &entries)))
    }

    /// The ledger replayed, checked against the balance the store reports.
    async fn state(
        &self,
        shop: &ShopConfig,
        id: &CustomerId,
        stored: Balance,
    ) -> Result<(LedgerState, Vec<LedgerEntry>), Reply> {
        let entries = self.store.entries(&shop.id, id).await?;
        let state = LedgerState::replay(&shop.id, id, &entries)
            .map_err(|v| replies::ledger_error(stammkunde_services::LedgerError::Violation(v)))?;
        if state.balance() != stored {
            // The stored balance must equal the replayed entries; say so loudly if it ever does not.
            tracing::error!(shop = %shop.id, customer = %id, "stored balance differs from the ledger's entries");
        }
        Ok((state, entries))
    }
}
