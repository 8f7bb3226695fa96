//! The one shop every benchmark uses: a Shopify shop with known secrets and the default earn
//! rule (1 point per whole EUR on the goods, tax and shipping excluded), under which the
//! `orders_paid` fixture earns `POINTS_PER_ORDER`.

use stammkunde_domain::config::{AppConfig, ShopConfig};
use stammkunde_domain::secret::Secret;
use stammkunde_domain::signature::{sign, DigestEncoding};

use crate::BenchResult;

pub const SHOP_ID: &str = "bench-shopify";
pub const SHOP_DOMAIN: &str = "bench-shop.myshopify.com";
pub const WEBHOOK_SECRET: &str = "bench-webhook-secret-0123456789";
pub const API_KEY: &str = "bench-api-key-0123456789";
pub const TOPIC: &str = "orders/paid";

/// What the `orders_paid` fixture earns under this shop's rule (4 lines, one a gift card, after
/// discounts, tax excluded, rounded down per line).
pub const POINTS_PER_ORDER: i64 = 251;

/// The configuration as TOML: the runner's `STAMMKUNDE_CONFIG` file and the Lambda functions'
/// Secrets Manager secret.
pub fn config_toml() -> String {
    format!(
        r#"[[shops]]
id = "{SHOP_ID}"
platform = "shopify"
domain = "{SHOP_DOMAIN}"
webhook_secret = "{WEBHOOK_SECRET}"
api_key = "{API_KEY}"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[shops.earn]
points_per_unit = "1"
include_tax = false
include_shipping = false
"#
    )
}

/// The shop as the product parses it.
pub fn shop_config() -> BenchResult<ShopConfig> {
    let config = AppConfig::from_toml(&config_toml())?;
    config.shops.into_iter().next().ok_or_else(|| "the benchmark configuration has no shop".into())
}

/// `X-Shopify-Hmac-Sha256` for `body`, as Shopify computes it.
pub fn shopify_signature(body: &[u8]) -> String {
    sign(body, &Secret::new(WEBHOOK_SECRET), DigestEncoding::Base64)
}
