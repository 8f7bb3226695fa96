//! Helpers the platform parser tests share: a configured shop of a platform, and fixed times.

use chrono::{DateTime, Utc};
use stammkunde_domain::config::{AppConfig, ShopConfig};

/// A shop of `platform` identified by `domain` in its webhooks, with the default earn rule.
pub fn shop(id: &str, platform: &str, domain: &str) -> ShopConfig {
    let toml = format!(
        r#"
        [[shops]]
        id = "{id}"
        platform = "{platform}"
        domain = "{domain}"
        webhook_secret = "0123456789abcdef"
        api_key = "fedcba9876543210"
        currency = "EUR"
        time_zone = "Europe/Berlin"
        locale = "de"
    "#
    );
    let config = AppConfig::from_toml(&toml).unwrap_or_else(|e| panic!("{e}"));
    config.shops.into_iter().next().unwrap_or_else(|| panic!("one shop"))
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// When the tests' deliveries arrive.
pub fn received_at() -> DateTime<Utc> {
    at("2026-11-23T08:00:00Z")
}
