//! The preference-centre links every mail carries (`/p/{token}`, `/u/{token}`): a token of 128
//! random bits, fresh in every mail, bound to one customer of one shop until it expires. The store
//! keeps only the token's SHA-256, so a copy of the database holds no working link.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{CustomerId, ShopId};

/// How long a mail's links work. An unsubscribe link must keep working for as long as people
/// open old mail; after this they ask for a new link instead.
pub const LINK_VALID_DAYS: i64 = 180;
/// A token as it appears in a link: 32 lowercase hex digits (128 bits).
pub const TOKEN_HEX_LEN: usize = 32;

/// Whom a token stands for, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkToken {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The key of the subscription request this link confirms (`/c/{token}`), in a double
    /// opt-in's confirmation mail only: no other mail's link can confirm a subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirms: Option<String>,
}

impl LinkToken {
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// The digest the store keeps for a token from a link, or `None` if the text cannot be one of
/// our tokens (so nothing is looked up for it).
pub fn token_digest(token: &str) -> Option<String> {
    let well_formed = token.len() == TOKEN_HEX_LEN && token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    well_formed.then(|| digest(token))
}

/// SHA-256 of a token we made, in hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_token_of_our_form_has_a_digest() {
        let token = "0123456789abcdef0123456789abcdef";
        let digest = token_digest(token).unwrap_or_default();
        assert_eq!(digest.len(), 64);
        assert_eq!(token_digest(token), Some(digest), "the same token, the same digest");
        for wrong in [
            "",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef",
            "../../etc/passwd",
            "0123456789abcdef0123456789abcdeg",
        ] {
            assert_eq!(token_digest(wrong), None, "{wrong:?}");
        }
    }
}
