//! Sweeps on demand: `POST /dev/sweeps/ledger` does locally what the hourly schedule does on AWS,
//! for every shop, until nothing is due (bounded, like everything else).

use serde_json::json;

use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::error::cause_chain;
use stammkunde_http::Reply;
use stammkunde_services::LedgerSweep;
use std::sync::Arc;

/// Pages per shop per request: the local sweep runs until done, but never unboundedly.
const PAGES_MAX: u32 = 1_000;

pub struct Sweeps {
    pub shops: Arc<ShopDirectory>,
    pub ledger: LedgerSweep,
}

impl Sweeps {
    pub async fn run(&self, sweep: &str) -> Reply {
        if sweep != "ledger" {
            return Reply::error(http::StatusCode::NOT_FOUND, "not_found", "the sweeps are: ledger");
        }
        let mut shops = Vec::new();
        for shop in self.shops.shops() {
            match self.ledger.sweep_shop(shop, PAGES_MAX).await {
                Ok(report) => shops.push(json!({
                    "shop": shop.id,
                    "customers": report.customers,
                    "entries": report.entries,
                    "failed": report.failed,
                    "more": report.more,
                })),
                Err(error) => {
                    tracing::error!(shop = %shop.id, error = %cause_chain(&error), "ledger sweep failed");
                    return error.into();
                }
            }
        }
        Reply::json(json!({ "sweep": "ledger", "shops": shops }))
    }
}
