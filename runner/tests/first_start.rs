//! The first start writes a demo configuration a person can use at once: one shop per platform,
//! secrets long and random enough to pass validation, different on every machine.

use stammkunde::load_or_create_config;
use stammkunde_domain::order::Platform;

#[test]
fn a_missing_config_is_written_with_one_demo_shop_per_platform_and_fresh_secrets() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("nested").join("stammkunde.toml");
    let (config, created) = load_or_create_config(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(created && path.exists());
    let platforms: Vec<Platform> = config.shops.iter().map(|s| s.platform).collect();
    assert_eq!(platforms, [Platform::Shopify, Platform::Woocommerce, Platform::Shopware]);

    let (again, created_again) = load_or_create_config(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!created_again, "an existing config is read, never overwritten");
    assert_eq!(again.shops[0].webhook_secret, config.shops[0].webhook_secret);

    let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (elsewhere, _) = load_or_create_config(&other.path().join("c.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(elsewhere.shops[0].webhook_secret, config.shops[0].webhook_secret);
}

#[test]
fn an_invalid_config_is_refused_with_its_path_in_the_message() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[shops]]\nid = 3\n").unwrap_or_else(|e| panic!("{e}"));
    let error = load_or_create_config(&path).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("bad.toml"), "{error}");
}
