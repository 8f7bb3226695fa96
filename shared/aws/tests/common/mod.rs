//! Shared test harness: SDK config for moto, unique names, a fresh store per test.
//!
//! These tests need an AWS-compatible endpoint. Locally:
//!
//! ```sh
//! python scripts/moto_server.py 127.0.0.1 5055 &   # moto, one request at a time
//! export AWS_ENDPOINT_URL=http://127.0.0.1:5055 AWS_REGION=eu-central-1 \
//!        AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
//! cargo test -p stammkunde-aws
//! ```
#![allow(dead_code)] // each test file uses a different part of the harness

use aws_config::SdkConfig;
use stammkunde_aws::dynamo::{create_table, DynamoStore};

/// The SDK config from the environment. Panics (fails the test, never skips it) when no local
/// endpoint is configured, so a CI that forgot moto goes red instead of silently passing.
pub async fn sdk_config() -> SdkConfig {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        panic!(
            "AWS_ENDPOINT_URL is not set: these tests run against moto_server. Start it with \
             `python scripts/moto_server.py 127.0.0.1 5055` and export AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
             AWS_REGION=eu-central-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
        );
    }
    stammkunde_aws::load_sdk_config().await
}

/// `{prefix}-{random}`: a name no other test or earlier run uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

/// A store on a table of its own, created for this test.
pub async fn fresh_dynamo_store() -> DynamoStore {
    let client = dynamo_client().await;
    let table = unique_name("stammkunde-test");
    if let Err(error) = create_table(&client, &table).await {
        panic!("creating table {table} failed: {}", chain(&error));
    }
    DynamoStore::new(client, table)
}

/// An error with its causes, for failure messages.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
