//! "Send me a new link": a person whose mail's link expired asks for a fresh one by address. The
//! page answers the same whether the address is known or not; what it may do is bounded by two
//! fixed-window counters (the store's `take_request`): per address, so no one can flood an inbox,
//! and per client IP, so no one can probe addresses or make us mail at volume.
//!
//! Counter keys are digests, never the address or the IP itself: the counters hold no personal
//! data, and they expire with their window.

use chrono::{DateTime, Duration, DurationRound, Utc};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

use crate::customer::Email;
use crate::ids::ShopId;
use crate::mail::contact::AddressDigest;

/// The length of one counting window.
pub const WINDOW_MINUTES: i64 = 60;
/// Link requests taken per address and window (each may send a mail; the mail sweep sends at
/// most one new-link mail per customer and day on top of this).
pub const REQUESTS_PER_ADDRESS_MAX: u32 = 3;
/// Form posts taken per client IP and window, whatever address they name.
pub const REQUESTS_PER_IP_MAX: u32 = 20;

/// The start of the window `now` is in.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(Duration::minutes(WINDOW_MINUTES)).unwrap_or(now)
}

/// When a window's counter may go: its end, and a window more for clocks that differ a little.
pub fn counter_expires_at(window: DateTime<Utc>) -> DateTime<Utc> {
    window + Duration::minutes(2 * WINDOW_MINUTES)
}

/// The counter of requests naming this address in this shop.
pub fn address_key(shop: &ShopId, email: &Email) -> String {
    format!("a{}", AddressDigest::of(shop, email).as_str())
}

/// The counter of requests from this IP to this shop's form.
pub fn ip_key(shop: &ShopId, ip: IpAddr) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"stammkunde link request ip\0");
    hasher.update(shop.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(ip.to_string().as_bytes());
    format!("i{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_starts_on_the_hour_and_its_counter_outlives_it() {
        let now: DateTime<Utc> = "2026-12-04T19:42:10Z".parse().unwrap_or_default();
        let start = window_start(now);
        assert_eq!(start.to_rfc3339(), "2026-12-04T19:00:00+00:00");
        assert_eq!(counter_expires_at(start).to_rfc3339(), "2026-12-04T21:00:00+00:00");
    }

    #[test]
    fn keys_are_digests_that_name_neither_address_nor_ip_and_differ_per_shop() {
        let (a, b) = (
            ShopId::parse("a").unwrap_or_else(|e| panic!("{e}")),
            ShopId::parse("b").unwrap_or_else(|e| panic!("{e}")),
        );
        let email = Email::parse("anna@example.de").unwrap_or_else(|e| panic!("{e}"));
        let ip: IpAddr = "203.0.113.7".parse().unwrap_or_else(|e| panic!("{e}"));
        let (key, ip_a) = (address_key(&a, &email), ip_key(&a, ip));
        assert!(!key.contains("anna") && !ip_a.contains("203"), "{key} {ip_a}");
        assert_ne!(key, address_key(&b, &email));
        assert_ne!(ip_a, ip_key(&b, ip));
        assert!(key.starts_with('a') && ip_a.starts_with('i') && key.len() == 65 && ip_a.len() == 65);
    }
}
