//! The webhooks function: one route per platform, the same paths locally and behind API Gateway.
//!
//! | route | what |
//! |---|---|
//! | `POST /webhooks/shopify` | Shopify topics, base64 HMAC in `X-Shopify-Hmac-Sha256` |
//! | `POST /webhooks/woocommerce` | WooCommerce topics and the activation ping |
//! | `POST /webhooks/shopware` | Shopware app webhooks, hex HMAC with the per-shop secret |
//! | `GET /webhooks/shopware/registration` | Shopware app registration (step 1 of the handshake) |
//! | `POST /webhooks/shopware/registration/confirm` | Shopware registration confirmation |
//!
//! Every answer is JSON. Unknown shops get 401 (`unknown_shop`): without a known shop there is no
//! secret to check the signature with, so we treat it as failed authentication and do not reveal
//! which shops exist beyond that code. Unknown topics get 200 `ignored`, so platforms do not
//! disable the subscription.

mod ingest;
mod registration;
mod shopify;
mod shopware;
mod woocommerce;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use std::sync::Arc;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::ports::{EventBus, ShopwareAdminApi, Store};
use stammkunde_services::privacy::Privacy;

pub use stammkunde_http::Reply;

/// Largest body we accept. Real order payloads are 3–50 KB; a 1 MiB cap bounds memory and work.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;

pub struct WebhookService {
    pub shops: Arc<ShopDirectory>,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    /// Reads customers that Shopware's entity events only name.
    pub shopware_admin: Arc<dyn ShopwareAdminApi>,
    /// Our public base URL (`https://abc.execute-api…`), for the Shopware confirmation URL. When
    /// unset it is taken from the request's `Host` and `X-Forwarded-Proto`.
    pub public_url: Option<String>,
    /// Erases the customer of a Shopify `customers/redact`.
    pub privacy: Arc<Privacy>,
}

impl WebhookService {
    /// Handles one HTTP request. Never panics on any input; every failure is a JSON reply.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<String> {
        self.route(request).await.into_response()
    }

    async fn route(&self, request: Request<Bytes>) -> Reply {
        if request.body().len() > BODY_BYTES_MAX {
            return Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("body exceeds {BODY_BYTES_MAX} bytes"),
            );
        }
        let path = request.uri().path().trim_end_matches('/');
        match (request.method(), path) {
            (&Method::POST, "/webhooks/shopify") => self.shopify(&request).await,
            (&Method::POST, "/webhooks/woocommerce") => self.woocommerce(&request).await,
            (&Method::POST, "/webhooks/shopware") => self.shopware(&request).await,
            (&Method::GET, "/webhooks/shopware/registration") => self.shopware_register(&request).await,
            (&Method::POST, "/webhooks/shopware/registration/confirm") => self.shopware_confirm(&request).await,
            (_, "/webhooks/shopify" | "/webhooks/woocommerce" | "/webhooks/shopware") => {
                Reply::error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "webhooks are POSTed")
            }
            _ => Reply::error(StatusCode::NOT_FOUND, "not_found", "no such route"),
        }
    }
}
