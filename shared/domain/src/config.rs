//! Shop configuration: which shops we serve, how each proves its webhooks, and its rules.
//! Read from TOML (a file locally, a Secrets Manager secret on AWS) and checked once at start-up.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;

use crate::earn::EarnRule;
use crate::ids::ShopId;
use crate::mail::MailRule;
use crate::money::Currency;
use crate::order::Platform;
use crate::programme::{ExpiryRule, HoldRule, ReversalRule, ReviewRule, Reward, TierRule};
use crate::secret::Secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    De,
    En,
}

impl Locale {
    /// The language tag pages and mails carry.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::De => "de",
            Locale::En => "en",
        }
    }

    /// How dates are written for people in this language (a chrono format): `14.07.2026`,
    /// `14 July 2026`.
    pub fn date_pattern(self) -> &'static str {
        match self {
            Locale::De => "%d.%m.%Y",
            Locale::En => "%-d %B %Y",
        }
    }

    /// The locale a language tag names (`de`, `de-DE`, `EN_us`), if it is one we write.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        match tag.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("de") => Some(Locale::De),
            Some("en") => Some(Locale::En),
            _ => None,
        }
    }

    /// The customer's language if we write it, else the shop's.
    pub fn for_customer(customer_tag: Option<&str>, shop: Locale) -> Locale {
        customer_tag.and_then(Locale::from_tag).unwrap_or(shop)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShopConfig {
    pub id: ShopId,
    pub platform: Platform,
    /// What identifies the shop in its webhooks: the Shopify shop domain (`x.myshopify.com`), the
    /// WooCommerce source URL (`https://shop.example/`), or the Shopware shop id.
    pub domain: String,
    /// Shopify: the app's client secret (or the admin's webhook signing key). WooCommerce: the
    /// webhook's secret. Shopware: the app secret, which signs registration; the per-shop secret
    /// that signs webhooks is issued at registration and kept in the store.
    pub webhook_secret: Secret,
    /// The secret before the latest rotation, accepted until `previous_webhook_secret_until`
    /// (Shopify takes up to an hour to switch after a rotation).
    #[serde(default)]
    pub previous_webhook_secret: Option<Secret>,
    #[serde(default)]
    pub previous_webhook_secret_until: Option<DateTime<Utc>>,
    /// Bearer key for the merchant API.
    pub api_key: Secret,
    pub currency: Currency,
    pub time_zone: Tz,
    pub locale: Locale,
    /// Shopware only: the app's name from its manifest, part of the registration proof.
    #[serde(default)]
    pub app_name: Option<String>,
    #[serde(default)]
    pub earn: EarnRule,
    #[serde(default)]
    pub hold: HoldRule,
    #[serde(default)]
    pub reversals: ReversalRule,
    #[serde(default)]
    pub reviews: ReviewRule,
    #[serde(default)]
    pub expiry: ExpiryRule,
    #[serde(default)]
    pub tiers: TierRule,
    #[serde(default)]
    pub rewards: Vec<Reward>,
    #[serde(default)]
    pub mail: MailRule,
}

impl ShopConfig {
    pub fn reward(&self, id: &crate::ids::RewardId) -> Option<&Reward> {
        self.rewards.iter().find(|r| &r.id == id)
    }

    /// The secrets a webhook may be signed with at `now`: the current one, and the previous one
    /// while its rotation window lasts.
    pub fn webhook_secrets(&self, now: DateTime<Utc>) -> Vec<&Secret> {
        let mut secrets = vec![&self.webhook_secret];
        if let (Some(previous), Some(until)) = (&self.previous_webhook_secret, self.previous_webhook_secret_until) {
            if now < until {
                secrets.push(previous);
            }
        }
        secrets
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    #[serde(default)]
    pub shops: Vec<ShopConfig>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("configuration is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("configuration is invalid: {0}")]
    Invalid(String),
}

/// Secrets shorter than this are refused: a guessable webhook secret makes signatures worthless.
pub const SECRET_LENGTH_MIN: usize = 16;

impl AppConfig {
    pub fn from_toml(text: &str) -> Result<AppConfig, ConfigError> {
        let config: AppConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let mut ids = std::collections::HashSet::new();
        let mut domains = std::collections::HashSet::new();
        for shop in &self.shops {
            if !ids.insert(shop.id.clone()) {
                return invalid(format!("shop id `{}` appears twice", shop.id));
            }
            if !domains.insert((shop.platform, normalise_domain(shop.platform, &shop.domain))) {
                return invalid(format!(
                    "shop `{}`: domain `{}` is used by another {} shop",
                    shop.id,
                    shop.domain,
                    shop.platform.as_str()
                ));
            }
            for (name, secret) in [("webhook_secret", &shop.webhook_secret), ("api_key", &shop.api_key)] {
                if secret.expose().len() < SECRET_LENGTH_MIN {
                    return invalid(format!(
                        "shop `{}`: {name} must be at least {SECRET_LENGTH_MIN} characters",
                        shop.id
                    ));
                }
            }
            if shop.previous_webhook_secret.is_some() != shop.previous_webhook_secret_until.is_some() {
                return invalid(format!(
                    "shop `{}`: previous_webhook_secret and previous_webhook_secret_until go together",
                    shop.id
                ));
            }
            shop.earn.validate().map_err(|e| ConfigError::Invalid(format!("shop `{}`: {e}", shop.id)))?;
            crate::programme::validate(&shop.hold, &shop.reviews, &shop.expiry, &shop.tiers, &shop.rewards)
                .map_err(|e| ConfigError::Invalid(format!("shop `{}`: {e}", shop.id)))?;
            shop.mail.validate(&shop.rewards).map_err(|e| ConfigError::Invalid(format!("shop `{}`: {e}", shop.id)))?;
        }
        Ok(())
    }
}

/// Canonical form of a shop's webhook identity: hosts are case-insensitive and WooCommerce sends
/// its source URL with a trailing slash that merchants often leave off in configuration.
pub fn normalise_domain(platform: Platform, domain: &str) -> String {
    let trimmed = domain.trim();
    match platform {
        Platform::Shopify => trimmed.to_ascii_lowercase(),
        Platform::Woocommerce => trimmed.trim_end_matches('/').to_ascii_lowercase(),
        Platform::Shopware => trimmed.to_owned(),
    }
}

/// Looks shops up by id and by the identity their webhooks carry.
#[derive(Clone, Debug)]
pub struct ShopDirectory {
    shops: Vec<ShopConfig>,
    by_id: HashMap<ShopId, usize>,
    by_domain: HashMap<(Platform, String), usize>,
}

impl ShopDirectory {
    pub fn new(config: AppConfig) -> Self {
        let by_id = config.shops.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let by_domain = config
            .shops
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.platform, normalise_domain(s.platform, &s.domain)), i))
            .collect();
        ShopDirectory { shops: config.shops, by_id, by_domain }
    }

    pub fn by_id(&self, id: &ShopId) -> Option<&ShopConfig> {
        self.by_id.get(id).map(|&i| &self.shops[i])
    }

    pub fn by_domain(&self, platform: Platform, domain: &str) -> Option<&ShopConfig> {
        self.by_domain.get(&(platform, normalise_domain(platform, domain))).map(|&i| &self.shops[i])
    }

    pub fn shops(&self) -> &[ShopConfig] {
        &self.shops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customers_language_tag_picks_the_locale_we_write_else_the_shops() {
        assert_eq!(Locale::from_tag("de-DE"), Some(Locale::De));
        assert_eq!(Locale::from_tag("EN_us"), Some(Locale::En));
        assert_eq!(Locale::from_tag("fr"), None);
        assert_eq!(Locale::from_tag("d"), None);
        assert_eq!(Locale::for_customer(Some("en-GB"), Locale::De), Locale::En);
        assert_eq!(Locale::for_customer(Some("nl"), Locale::De), Locale::De);
        assert_eq!(Locale::for_customer(None, Locale::En), Locale::En);
        assert_eq!((Locale::De.tag(), Locale::En.tag()), ("de", "en"));
    }

    const SHOP: &str = r#"
        [[shops]]
        id = "demo"
        platform = "woocommerce"
        domain = "https://Shop.Example/"
        webhook_secret = "0123456789abcdef"
        api_key = "fedcba9876543210"
        currency = "EUR"
        time_zone = "Europe/Berlin"
        locale = "de"
    "#;

    #[test]
    fn a_minimal_shop_gets_the_default_earn_rule_and_is_found_by_its_source() {
        let config = AppConfig::from_toml(SHOP).unwrap_or_else(|e| panic!("{e}"));
        let dir = ShopDirectory::new(config);
        let shop = dir.by_domain(Platform::Woocommerce, "https://shop.example").unwrap_or_else(|| panic!("found"));
        assert_eq!(shop.earn, EarnRule::default());
        assert!(dir.by_domain(Platform::Shopify, "https://shop.example").is_none());
    }

    #[test]
    fn short_secrets_duplicate_ids_and_unknown_keys_are_refused() {
        assert!(AppConfig::from_toml(&SHOP.replace("0123456789abcdef", "short")).is_err());
        assert!(AppConfig::from_toml(&format!("{SHOP}\n{}", SHOP.replace("Shop.Example", "other.example"))).is_err());
        assert!(AppConfig::from_toml(&SHOP.replace("locale = \"de\"", "locale = \"de\"\ncolour = \"red\"")).is_err());
    }

    #[test]
    fn a_consent_without_proof_has_30_days_by_default_and_at_most_a_year() {
        let config = AppConfig::from_toml(SHOP).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.shops[0].mail.reconsent.confirm_within_days, 30);
        let with = |days: u32| {
            AppConfig::from_toml(&format!("{SHOP}\n[shops.mail.reconsent]\nconfirm_within_days = {days}\n"))
        };
        assert_eq!(with(14).map(|c| c.shops[0].mail.reconsent.confirm_within_days).ok(), Some(14));
        assert!(with(0).is_err() && with(366).is_err());
    }

    #[test]
    fn the_previous_secret_is_offered_only_inside_its_window() {
        let text = SHOP.replace(
            "api_key",
            "previous_webhook_secret = \"oldoldoldoldoldold\"\nprevious_webhook_secret_until = \"2026-11-23T10:00:00Z\"\napi_key",
        );
        let config = AppConfig::from_toml(&text).unwrap_or_else(|e| panic!("{e}"));
        let shop = &config.shops[0];
        let before = "2026-11-23T09:59:59Z".parse().unwrap_or_else(|e| panic!("{e}"));
        let after = "2026-11-23T10:00:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shop.webhook_secrets(before).len(), 2);
        assert_eq!(shop.webhook_secrets(after).len(), 1);
    }
}
