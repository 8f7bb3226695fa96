//! The domain's error types. One enum per boundary: what was wrong with the input (a 4xx), and what
//! went wrong in a store or bus (a 5xx or a retry). Adapters keep the underlying cause as `source`.

use thiserror::Error;

/// Something about a request or payload that the sender must fix. Always maps to a 4xx.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    #[error("missing required field `{0}`")]
    Missing(&'static str),
    #[error("field `{field}` {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
}

/// A failure of a store adapter. `Unavailable` and `Io` are worth a retry; the rest are bugs or
/// broken data and are not.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or throttled us; retrying later may succeed.
    #[error("store unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Two writes raced on one item and the adapter gave up after its bounded retries.
    #[error("write contention on {key}")]
    Contention { key: String },
    /// An item in the store could not be decoded: a bug or a manual edit.
    #[error("corrupt item {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// A write would break a ledger invariant; nothing was written.
    #[error("invariant violated: {0}")]
    Invariant(String),
    /// Any other backend error, with its cause.
    #[error("store error: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    pub fn unavailable(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable { message: message.into(), source: Some(Box::new(source)) }
    }

    pub fn backend(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend { message: message.into(), source: Some(Box::new(source)) }
    }

    /// Whether the same call may succeed if repeated later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. } | StoreError::Contention { .. })
    }
}

/// A failure to publish on the event bus.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BusError {
    #[error("event bus unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("event rejected by the bus: {0}")]
    Rejected(String),
    #[error("a subscriber failed: {0}")]
    Subscriber(String),
}

/// A failure to hand a message to the mailer. The variants say whether the message can have gone
/// out, because that decides whether a later sweep may send it again.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MailError {
    /// Refused for good (a malformed address, an unverified sender, a rejected message): nothing
    /// was sent, and sending again would fail again.
    #[error("the mailer refused the message: {0}")]
    Rejected(String),
    /// Certainly not sent, worth trying later (throttled, quota, connection refused).
    #[error("the mailer did not take the message, try later: {message}")]
    NotSent {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The outcome is unknown (a timeout after the request went out): it may have been sent.
    #[error("the mailer's answer was lost, the message may have been sent: {message}")]
    Unknown {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// A failure to read from a shop's own API (Shopware's Admin API). Nothing has been written when it
/// is returned; the platform's retry of the webhook tries again.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ShopApiError {
    /// The shop has not confirmed our app's registration, so we hold no API credentials.
    #[error("the shop has not given us Admin API credentials (registration not confirmed)")]
    NoCredentials,
    /// The shop URL from the registration is not one we send credentials to.
    #[error("the shop URL is refused: {0}")]
    RefusedUrl(String),
    /// Network failure or timeout.
    #[error("the shop's API could not be reached: {message}")]
    Unreachable {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The shop answered, but not with success.
    #[error("the shop's API answered HTTP {status} to {request}")]
    Status { status: u16, request: &'static str },
    /// The shop answered success with a body we cannot use.
    #[error("the shop's API answered {request} with an unreadable body: {reason}")]
    BadResponse { request: &'static str, reason: String },
}

/// An error and its causes as one line, for logs: Display only, never Debug (SDK errors' Debug
/// output carries whole HTTP responses).
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
