//! The AWS side of the benchmarks that use one: a moto_server on 127.0.0.1, never real AWS.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};

pub const REGION: &str = "eu-central-1";

/// An SDK configuration for the moto_server at `endpoint`, with moto's test credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    stammkunde_aws::sdk_loader()
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "stammkunde-bench"))
        .load()
        .await
}
