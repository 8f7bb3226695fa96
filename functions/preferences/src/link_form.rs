//! The new-link form's CSRF field. The form has no link token to bind a POST to (that is why the
//! person uses it), so its field is signed instead: the time the page was rendered and an
//! HMAC-SHA256 of the form's shops and that time, keyed with their webhook secrets (one shop's
//! for `/l/{shop}`, every mail shop's for `/l`), under a label of its own, so the MAC is good for
//! nothing else. Taken for `FIELD_VALID_MINUTES`, never from the future; beside the same-site
//! check every form of these pages has.

use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::signature::hmac_sha256;

/// How long a rendered form may be sent.
pub const FIELD_VALID_MINUTES: i64 = 120;
/// Clocks of two instances may differ a little.
const FUTURE_SLACK_SECONDS: i64 = 300;

/// The field for a form of these shops rendered at `now`: `{epoch seconds}.{hex MAC}`.
pub fn csrf_field(shops: &[&ShopConfig], now: DateTime<Utc>) -> String {
    let issued = now.timestamp();
    format!("{issued}.{}", mac(shops, issued))
}

/// Whether `field` is one the form of these shops gave out within its validity.
pub fn csrf_valid(shops: &[&ShopConfig], field: &str, now: DateTime<Utc>) -> bool {
    let Some((issued, given)) = field.split_once('.') else { return false };
    let Ok(issued) = issued.parse::<i64>() else { return false };
    let age = now.timestamp() - issued;
    if age < -FUTURE_SLACK_SECONDS || age > Duration::minutes(FIELD_VALID_MINUTES).num_seconds() {
        return false;
    }
    bool::from(mac(shops, issued).as_bytes().ct_eq(given.as_bytes()))
}

fn mac(shops: &[&ShopConfig], issued: i64) -> String {
    let mut key = Vec::new();
    let mut message = format!("stammkunde new-link form\0{issued}");
    for shop in shops {
        key.extend_from_slice(shop.webhook_secret.expose().as_bytes());
        key.push(0);
        message.push_str(&format!("\0{}", shop.id));
    }
    hex::encode(hmac_sha256(&key, message.as_bytes()))
}
