//! Loading the shop configuration from Secrets Manager (moto): a valid TOML loads, and every
//! failure names the secret and the position but never echoes the secret's contents.

mod common;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::Client;
use stammkunde_aws::{load_app_config, ConfigLoadError};

use common::{chain, sdk_config, unique_name};

const WEBHOOK_SECRET: &str = "whsec-4f9c2a7e1b3d5f60";

fn config_toml(webhook_secret_line: &str) -> String {
    format!(
        r#"
[[shops]]
id = "demo"
platform = "woocommerce"
domain = "https://shop.example/"
{webhook_secret_line}
api_key = "ak-8d1e6b2c9f0a3e57"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"
"#
    )
}

async fn secret_with(text: &str) -> (Client, String) {
    let client = Client::new(&sdk_config().await);
    let name = unique_name("stammkunde-config");
    let created = client.create_secret().name(&name).secret_string(text).send().await;
    created.unwrap_or_else(|e| panic!("{}", chain(&e)));
    (client, name)
}

/// The error's message and every cause, as a log line would show them.
fn shown(error: &ConfigLoadError) -> String {
    format!("{} / {error:?}", chain(error))
}

#[tokio::test]
async fn a_valid_configuration_loads() {
    let (client, name) = secret_with(&config_toml(&format!("webhook_secret = \"{WEBHOOK_SECRET}\""))).await;

    let config = load_app_config(&client, &name).await.unwrap_or_else(|e| panic!("{}", shown(&e)));

    assert_eq!(config.shops.len(), 1);
    assert_eq!(config.shops[0].id.as_str(), "demo");
    assert_eq!(config.shops[0].webhook_secret.expose(), WEBHOOK_SECRET);
}

#[tokio::test]
async fn broken_toml_is_reported_by_position_without_echoing_the_secret() {
    // An unterminated string: TOML's own message would quote this whole line.
    let (client, name) = secret_with(&config_toml(&format!("webhook_secret = \"{WEBHOOK_SECRET}"))).await;

    let error = load_app_config(&client, &name).await.err().unwrap_or_else(|| panic!("broken TOML must fail"));

    assert!(matches!(error, ConfigLoadError::Toml { line: 6, .. }), "{}", shown(&error));
    assert!(!shown(&error).contains(WEBHOOK_SECRET), "the error echoes the secret: {}", shown(&error));
    assert!(shown(&error).contains(&name), "the error names the secret: {}", shown(&error));
}

#[tokio::test]
async fn a_mistyped_value_is_reported_without_echoing_it() {
    // A number where a string belongs: serde's message would quote the number.
    let (client, name) = secret_with(&config_toml("webhook_secret = 90210334455667788")).await;

    let error = load_app_config(&client, &name).await.err().unwrap_or_else(|| panic!("a mistyped value must fail"));

    assert!(matches!(error, ConfigLoadError::Toml { .. }), "{}", shown(&error));
    assert!(!shown(&error).contains("90210334455667788"), "the error echoes the value: {}", shown(&error));
}

#[tokio::test]
async fn an_invalid_configuration_says_why_without_echoing_the_secret() {
    let (client, name) = secret_with(&config_toml("webhook_secret = \"short-secret\"")).await;

    let error = load_app_config(&client, &name).await.err().unwrap_or_else(|| panic!("a short secret must fail"));

    assert!(matches!(error, ConfigLoadError::Invalid { .. }), "{}", shown(&error));
    assert!(shown(&error).contains("webhook_secret"), "{}", shown(&error));
    assert!(!shown(&error).contains("short-secret"), "the error echoes the secret: {}", shown(&error));
}

#[tokio::test]
async fn a_missing_secret_is_a_fetch_error_that_keeps_its_cause() {
    let client = Client::new(&sdk_config().await);
    let name = unique_name("no-such-secret");

    let error = load_app_config(&client, &name).await.err().unwrap_or_else(|| panic!("a missing secret must fail"));

    assert!(matches!(error, ConfigLoadError::Fetch { retryable: false, .. }), "{}", shown(&error));
    assert!(shown(&error).contains("ResourceNotFoundException"), "{}", shown(&error));
}

#[tokio::test]
async fn a_binary_secret_is_refused() {
    let client = Client::new(&sdk_config().await);
    let name = unique_name("stammkunde-config");
    let created = client.create_secret().name(&name).secret_binary(Blob::new(b"\x00\x01".to_vec())).send().await;
    created.unwrap_or_else(|e| panic!("{}", chain(&e)));

    let error = load_app_config(&client, &name).await.err().unwrap_or_else(|| panic!("a binary secret must fail"));

    assert!(matches!(error, ConfigLoadError::NotText { .. }), "{}", shown(&error));
}
