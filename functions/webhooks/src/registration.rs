//! The Shopware app registration handshake (see `stammkunde_domain::registration`).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::Request;
use serde::Deserialize;
use serde_json::json;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::order::Platform;
use stammkunde_domain::registration::{registration_proof, shop_secret_from};
use stammkunde_domain::secret::Secret;
use stammkunde_domain::signature::{verify, DigestEncoding};

use crate::WebhookService;
use stammkunde_http::header;
use stammkunde_http::Reply;

/// The app name in the proof when the shop's configuration names none.
const DEFAULT_APP_NAME: &str = "Stammkunde";
const CONFIRM_PATH: &str = "/webhooks/shopware/registration/confirm";
/// How far a registration's timestamp may be from our clock, either way.
const REGISTRATION_AGE_MAX: chrono::Duration = chrono::Duration::minutes(5);
/// Longest shop URL we keep.
const SHOP_URL_BYTES_MAX: usize = 2048;

/// What a verified registration request asks for.
#[derive(Clone, Copy)]
struct Registration<'a> {
    shop_id: &'a str,
    shop_url: &'a str,
    /// The request's signed `timestamp`.
    requested_at: DateTime<Utc>,
}

/// The confirmation body Shopware posts after a successful registration.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Confirmation {
    api_key: String,
    secret_key: String,
    shop_id: String,
}

impl WebhookService {
    /// Step 1: the shop asks to register; we prove we hold the app secret and issue a shop secret.
    pub(crate) async fn shopware_register(&self, request: &Request<Bytes>) -> Reply {
        let query = request.uri().query().unwrap_or("");
        let mut shop_id = None;
        let mut shop_url = None;
        let mut timestamp = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "shop-id" => shop_id = Some(value.into_owned()),
                "shop-url" => shop_url = Some(value.into_owned()),
                "timestamp" => timestamp = Some(value.into_owned()),
                _ => {}
            }
        }
        let (Some(shop_id), Some(shop_url), Some(timestamp)) = (shop_id, shop_url, timestamp) else {
            return Reply::bad_request("registration needs the query parameters shop-id, shop-url and timestamp");
        };
        let Some(shop) = self.shops.by_domain(Platform::Shopware, &shop_id) else {
            return Reply::unauthorized("unknown_shop", "no shop is configured for this Shopware shop id");
        };
        let now = self.clock.now();
        // The app signature covers the query string exactly as sent.
        let signature = header(request, "shopware-app-signature");
        if let Err(e) = verify(
            query.as_bytes(),
            "shopware-app-signature",
            signature,
            &shop.webhook_secrets(now),
            DigestEncoding::Hex,
        ) {
            return e.into();
        }
        let requested_at = match unix_seconds(&timestamp) {
            // Shopware registers synchronously, so a signed registration URL is only minutes old;
            // a short window keeps one found in a log from being replayed later, and the store
            // refuses a replay inside the window (see `issue_shop_secret`).
            Some(at) if at < now - REGISTRATION_AGE_MAX || at > now + REGISTRATION_AGE_MAX => {
                return Reply::unauthorized("stale_timestamp", "registration timestamp is more than 5 minutes off");
            }
            Some(at) => at,
            None => return Reply::bad_request("timestamp is not unix seconds"),
        };
        if shop_url.len() > SHOP_URL_BYTES_MAX {
            return Reply::bad_request("shop-url is too long");
        }
        let registration = Registration { shop_id: &shop_id, shop_url: &shop_url, requested_at };
        self.issue_shop_secret(request, shop, &registration, now).await
    }

    /// Issues a fresh secret, stored as pending only if the request is newer than the last one
    /// accepted for the shop: a replay of a signed registration URL would otherwise get a secret
    /// of its own, sign the confirmation with it (storing its own Admin API credentials) and then
    /// sign webhooks.
    async fn issue_shop_secret(
        &self,
        request: &Request<Bytes>,
        shop: &ShopConfig,
        registration: &Registration<'_>,
        now: DateTime<Utc>,
    ) -> Reply {
        let Registration { shop_id, shop_url, requested_at } = *registration;
        let secret = shop_secret_from(rand::random());
        match self.store.begin_registration(&shop.id, shop_url, &secret, requested_at, now).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(shop = %shop.id, "shopware registration refused: not newer than the last accepted");
                return Reply::unauthorized(
                    "stale_timestamp",
                    "a registration with this timestamp or a later one was already accepted; a replayed registration gets no new secret",
                );
            }
            Err(e) => return e.into(),
        }
        let app_name = shop.app_name.as_deref().unwrap_or(DEFAULT_APP_NAME);
        tracing::info!(shop = %shop.id, "shopware registration started");
        Reply::json(json!({
            "proof": registration_proof(&shop.webhook_secret, shop_id, shop_url, app_name),
            "secret": secret.expose(),
            "confirmation_url": format!("{}{CONFIRM_PATH}", self.base_url(request)),
        }))
    }

    /// Step 3: the shop confirms with its Admin API credentials, signed with the issued secret.
    pub(crate) async fn shopware_confirm(&self, request: &Request<Bytes>) -> Reply {
        let confirmation: Confirmation = match serde_json::from_slice(request.body()) {
            Ok(c) => c,
            Err(_) => return Reply::bad_request("the confirmation must be JSON with apiKey, secretKey and shopId"),
        };
        let Some(shop) = self.shops.by_domain(Platform::Shopware, &confirmation.shop_id) else {
            return Reply::unauthorized("unknown_shop", "no shop is configured for this Shopware shop id");
        };
        let pending = match self.store.registration(&shop.id).await {
            Ok(registration) => registration.and_then(|r| r.pending_secret),
            Err(e) => return e.into(),
        };
        let Some(pending) = pending else {
            return Reply::unauthorized("not_registered", "no registration is waiting for confirmation");
        };
        let signature = header(request, "shopware-shop-signature");
        if let Err(e) = verify(request.body(), "shopware-shop-signature", signature, &[&pending], DigestEncoding::Hex) {
            return e.into();
        }
        let (api_key, secret_key) = (Secret::new(confirmation.api_key), Secret::new(confirmation.secret_key));
        match self.store.confirm_registration(&shop.id, &pending, &api_key, &secret_key, self.clock.now()).await {
            Ok(true) => {
                tracing::info!(shop = %shop.id, "shopware registration confirmed");
                Reply::ok("confirmed")
            }
            Ok(false) => Reply::unauthorized("not_registered", "the registration was replaced; register again"),
            Err(e) => e.into(),
        }
    }

    fn base_url(&self, request: &Request<Bytes>) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let host = header(request, "host").unwrap_or("localhost");
        let scheme = header(request, "x-forwarded-proto").unwrap_or("https");
        format!("{scheme}://{host}")
    }
}

fn unix_seconds(text: &str) -> Option<DateTime<Utc>> {
    text.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0))
}
