//! SDK errors into `StoreError`. The SDK error stays the `source`, so logs keep the full cause
//! chain (code, message, request id) without us flattening it into a string.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use stammkunde_domain::error::StoreError;

use super::codec::Item;
use crate::sdk_error::{is_transient, is_transient_code};

/// A write that met a transaction in progress on the same item (DynamoDB rejects it rather than
/// wait). Nothing was written; the same request may succeed a moment later.
const TRANSACTION_CONFLICT: &str = "TransactionConflictException";

/// Throttling, 5xx and network trouble are `Unavailable` (retry later); a conflict with a
/// transaction in progress is `Contention`; the rest is `Backend`.
pub(crate) fn store_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("DynamoDB {operation} failed");
    if is_transient(&err) {
        StoreError::unavailable(message, err)
    } else if err.as_service_error().and_then(|e| e.code()) == Some(TRANSACTION_CONFLICT) {
        StoreError::Contention { key: format!("{operation}: a transaction in progress on the same item") }
    } else {
        StoreError::backend(message, err)
    }
}

/// Why one action of a cancelled TransactWriteItems did not go through, as far as callers care.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reason {
    /// This action was fine; another one cancelled the transaction.
    None,
    /// This action's condition failed; the item as stored comes with it when the action asked
    /// for ALL_OLD and the item exists.
    ConditionFailed(Option<Item>),
    /// Another transaction was writing the same item: nothing is decided, the same request may
    /// succeed when retried.
    Conflict,
}

/// The reasons of a `TransactionCanceledException`, one per action. Throttling is `Unavailable`;
/// anything else (a validation error, an item collection over its size limit) is a bug or a
/// limit, `Backend`, with the whole exception kept as the source.
pub(crate) fn cancellation_reasons<E>(
    reasons: &[CancellationReason],
    err: SdkError<E, HttpResponse>,
) -> Result<Vec<Reason>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut out = Vec::with_capacity(reasons.len());
    for reason in reasons {
        let code = reason.code().unwrap_or("None");
        out.push(match code {
            "None" => Reason::None,
            "ConditionalCheckFailed" => Reason::ConditionFailed(reason.item().filter(|i| !i.is_empty()).cloned()),
            "TransactionConflict" => Reason::Conflict,
            "ThrottlingError" | "ProvisionedThroughputExceeded" => {
                return Err(StoreError::unavailable("DynamoDB TransactWriteItems throttled", err));
            }
            other if is_transient_code(other) => {
                return Err(StoreError::unavailable("DynamoDB TransactWriteItems failed", err));
            }
            _ => return Err(StoreError::backend(format!("DynamoDB TransactWriteItems cancelled: {code}"), err)),
        });
    }
    Ok(out)
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
