//! The SDK configuration every client here is built from, with our HTTPS client.
//!
//! The SDK's default client is rustls on aws-lc-rs; ours is rustls on ring, with the same native
//! root certificates. aws-lc-rs added about 0.7 MB to every Lambda zip (it carries its own libcrypto)
//! and minutes to a clean build (a C library built with cmake), for cryptography ring already
//! does. Every crate loads its SDK configuration here: without the SDK's `default-https-client`
//! feature, a configuration loaded elsewhere has no HTTP client and fails its first request.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Builder;

/// `aws_config::defaults` with the latest behaviour version and our HTTPS client: what the
/// environment gives (region, credentials, `AWS_ENDPOINT_URL`) applies as usual.
pub fn sdk_loader() -> ConfigLoader {
    let https = Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

/// The SDK configuration from the environment, as a Lambda's cold start loads it.
pub async fn load_sdk_config() -> SdkConfig {
    sdk_loader().load().await
}
