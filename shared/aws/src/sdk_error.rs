//! Which SDK failures are worth a retry. Shared by every adapter so DynamoDB, EventBridge and
//! Secrets Manager classify the same way.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// Error codes AWS services use for throttling and transient server trouble. The SDK's own retry
/// loop has already retried these; we still call them transient so the caller can retry later.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "TooManyRequestsException",
    "InternalServerError",
    "InternalFailure",
    "InternalException",
    "InternalServiceError",
    "ServiceUnavailable",
];

/// True for timeouts, connection failures, unreadable responses, throttling and 5xx.
pub(crate) fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(context) => {
            context.raw().status().is_server_error() || context.err().code().is_some_and(is_transient_code)
        }
        // A request that could not even be built will fail the same way again.
        _ => false,
    }
}

pub(crate) fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}
