//! The links every mail carries to the preference centre: `/p/{token}` (settings) and
//! `/u/{token}` (unsubscribe, also the one-click `List-Unsubscribe` URL), and in a double opt-in's
//! confirmation mail `/c/{token}` (confirm). A token is 128 random
//! bits, fresh in every mail; only its SHA-256 digest is stored (`mail::link`), so the store never
//! holds a working link.

use rand::RngCore;

use stammkunde_domain::mail::link::digest;

pub struct MailLinks {
    pub token_digest: String,
    pub preferences_url: String,
    pub unsubscribe_url: String,
    /// Works only where the token was stored as confirming a subscription request.
    pub confirm_url: String,
}

pub fn mint_links(public_url: &str) -> MailLinks {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let base = public_url.trim_end_matches('/');
    MailLinks {
        token_digest: digest(&token),
        preferences_url: format!("{base}/p/{token}"),
        unsubscribe_url: format!("{base}/u/{token}"),
        confirm_url: format!("{base}/c/{token}"),
    }
}
