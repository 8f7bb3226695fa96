//! Shopware 6 app registration: the handshake that gives each shop its own webhook secret.
//!
//! 1. The shop calls our registration URL (GET, query `shop-id`, `shop-url`, `timestamp`), signed
//!    with the app secret in `shopware-app-signature` (hex HMAC of the query string).
//! 2. We answer `{proof, secret, confirmation_url}`: `proof` is the hex HMAC of
//!    `shop-id + shop-url + app name` under the app secret; `secret` is a fresh per-shop secret.
//! 3. The shop POSTs its Admin API credentials to `confirmation_url`, signed with that new secret in
//!    `shopware-shop-signature`. From then on its webhooks are signed with it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ShopId;
use crate::secret::Secret;
use crate::signature::hmac_sha256;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopwareRegistration {
    pub shop: ShopId,
    pub shop_url: String,
    /// The secret issued at the latest registration, until the shop confirms it.
    pub pending_secret: Option<Secret>,
    /// The confirmed secret that signs webhooks.
    pub shop_secret: Option<Secret>,
    /// Admin API credentials from the confirmation (integration id and secret).
    pub api_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    /// When we accepted the latest registration (our clock).
    pub registered_at: DateTime<Utc>,
    /// The signed `timestamp` of the latest accepted registration (the shop's clock). A request
    /// not newer than this is a replay and is refused. `None` for a registration stored before
    /// the timestamp was kept.
    pub requested_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The proof we send back: it shows the shop we know the app secret.
pub fn registration_proof(app_secret: &Secret, shopware_shop_id: &str, shop_url: &str, app_name: &str) -> String {
    let message = format!("{shopware_shop_id}{shop_url}{app_name}");
    hex::encode(hmac_sha256(app_secret.expose().as_bytes(), message.as_bytes()))
}

/// A fresh per-shop secret from 32 random bytes (the caller supplies the randomness: the domain
/// has no source of it).
pub fn shop_secret_from(random: [u8; 32]) -> Secret {
    Secret::new(hex::encode(random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_is_the_hmac_of_id_url_and_name() {
        // Computed independently with:
        // printf 'abcdhttps://shop.exampleStammkunde' | openssl dgst -sha256 -hmac secret
        let proof = registration_proof(&Secret::new("secret"), "abcd", "https://shop.example", "Stammkunde");
        assert_eq!(proof, "20a4e5285b487d1edcc6384da79e4262c1a2ca6609efd612690d0778a4547874");
    }
}
