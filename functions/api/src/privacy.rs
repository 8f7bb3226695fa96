//! The customer's data rights through the merchant API: the export (what the shop hands a
//! customer who asks, GDPR Art. 15 and 20) and erasure (Art. 17), both by `Privacy`, as the
//! preference centre and Shopify's privacy webhooks do them.

use http::StatusCode;
use serde_json::json;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ids::CustomerId;
use stammkunde_http::Reply;

use crate::{replies, ApiService};

impl ApiService {
    pub(crate) async fn export(&self, shop: &ShopConfig, customer: &CustomerId) -> Result<Reply, Reply> {
        match self.privacy.export(&shop.id, customer).await? {
            Some(export) => Ok(Reply::json(export)),
            None => Err(replies::no_customer()),
        }
    }

    /// Answers 200 for a customer erased before too (a retry), 404 for one never known.
    pub(crate) async fn erase(&self, shop: &ShopConfig, customer: &CustomerId) -> Result<Reply, Reply> {
        self.known_customer(shop, customer).await?;
        match self.privacy.erase(&shop.id, customer).await {
            Ok(erased) => Ok(Reply::json(json!({
                "status": "erased",
                "suppressed": erased.suppressed,
                "mails_deleted": erased.mails,
            }))),
            Err(error) => {
                tracing::error!(shop = %shop.id, %customer, error = %stammkunde_domain::error::cause_chain(&error), "erasure failed");
                let status = if error.is_retryable() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                Err(Reply::error(status, "erasure_failed", "the erasure did not finish; send it again"))
            }
        }
    }
}
