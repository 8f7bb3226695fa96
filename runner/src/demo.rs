//! The demo configuration written on first start: one shop per platform, fresh random secrets.

use rand::RngCore;
use std::fmt::Write;

fn random_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The demo shops as TOML text, with their identities as shops will send them.
pub fn demo_config() -> String {
    let mut text = String::from(
        "# Stammkunde shop configuration (generated with demo shops; edit freely).\n\
         # Each [[shops]] entry: id, platform (shopify | woocommerce | shopware), domain (how the shop\n\
         # names itself in its webhooks), webhook_secret, api_key, currency, time_zone, locale, [shops.earn].\n",
    );
    let shops = [
        ("demo-shopify", "shopify", "demo-shop.myshopify.com", "EUR", "de"),
        ("demo-woocommerce", "woocommerce", "https://woo.demo.example/", "EUR", "de"),
        ("demo-shopware", "shopware", "demoShopwareShopId", "EUR", "de"),
    ];
    for (id, platform, domain, currency, locale) in shops {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "\n[[shops]]\nid = \"{id}\"\nplatform = \"{platform}\"\ndomain = \"{domain}\"\n\
             webhook_secret = \"{}\"\napi_key = \"{}\"\ncurrency = \"{currency}\"\n\
             time_zone = \"Europe/Berlin\"\nlocale = \"{locale}\"\n\n[shops.earn]\n\
             points_per_unit = \"1\"\ninclude_tax = false\ninclude_shipping = false\n",
            random_secret(),
            random_secret(),
        );
    }
    text
}
