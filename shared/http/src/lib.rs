//! What the HTTP functions (webhooks, API) share: JSON replies with stable error codes, and
//! header access. Requests arrive as `http::Request<Bytes>` from either API Gateway (via
//! `lambda_http`) or the local runner, so handlers are the same on both paths.

mod lambda;
mod reply;

use bytes::Bytes;
use http::Request;

pub use lambda::from_lambda;
pub use reply::Reply;

/// A header as text; absent, empty or non-UTF-8 values count as missing.
pub fn header<'a>(request: &'a Request<Bytes>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}
