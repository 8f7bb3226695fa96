//! SDK errors into `StoreError`. The SDK error stays the `source`, so logs keep the full cause
//! chain (code, message, request id) without us flattening it into a string.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use stammkunde_domain::error::StoreError;

use crate::sdk_error::is_transient;

/// Throttling, 5xx and network trouble are `Unavailable` (retry later); the rest is `Backend`.
pub(crate) fn store_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("DynamoDB {operation} failed");
    if is_transient(&err) {
        StoreError::unavailable(message, err)
    } else {
        StoreError::backend(message, err)
    }
}

/// A cancelled transaction that lost a race with another write to the same item. DynamoDB's
/// advice is to retry; we report it as contention so the caller's retry policy decides.
pub(crate) fn contention(key: &str) -> StoreError {
    StoreError::Contention { key: key.to_owned() }
}

/// A stored item we cannot read back: a bug or a manual edit. Never a panic.
pub(crate) fn corrupt(key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { key: key.to_owned(), reason: reason.into() }
}
