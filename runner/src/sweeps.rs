//! Sweeps on demand: `POST /dev/sweeps/ledger` and `POST /dev/sweeps/mail` do locally what the
//! hourly schedules do on AWS, for every shop, until nothing is due (bounded, like everything
//! else).

use serde_json::json;
use std::sync::Arc;

use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::error::cause_chain;
use stammkunde_http::Reply;
use stammkunde_services::mail::MailSweep;
use stammkunde_services::LedgerSweep;

/// Pages per shop per request: the local sweep runs until done, but never unboundedly.
const PAGES_MAX: u32 = 1_000;

pub struct Sweeps {
    pub shops: Arc<ShopDirectory>,
    pub ledger: LedgerSweep,
    pub mail: Arc<MailSweep>,
}

impl Sweeps {
    pub async fn run(&self, sweep: &str) -> Reply {
        match sweep {
            "ledger" => self.ledger().await,
            "mail" => self.mail().await,
            _ => Reply::error(http::StatusCode::NOT_FOUND, "not_found", "the sweeps are: ledger, mail"),
        }
    }

    async fn ledger(&self) -> Reply {
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

    async fn mail(&self) -> Reply {
        let mut shops = Vec::new();
        for shop in self.shops.shops() {
            match self.mail.sweep_shop(shop, PAGES_MAX).await {
                Ok(report) => shops.push(json!({
                    "shop": shop.id,
                    "candidates": report.candidates,
                    "sent": report.sent,
                    "deferred": report.deferred,
                    "dropped": report.dropped,
                    "refused": report.refused,
                    "review": report.review,
                    "retry": report.retry,
                    "failed": report.failed,
                    "more": report.more,
                })),
                Err(error) => {
                    tracing::error!(shop = %shop.id, error = %cause_chain(&error), "mail sweep failed");
                    return Reply::error(
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "sweep_failed",
                        "the mail sweep failed; see the log",
                    );
                }
            }
        }
        Reply::json(json!({ "sweep": "mail", "shops": shops }))
    }
}
