//! What the HTTP functions (webhooks, API) share: JSON replies with stable error codes, and
//! header access. Requests arrive as `http::Request<Bytes>` from either API Gateway (via
//! `lambda_http`) or the local runner, so handlers are the same on both paths.

mod lambda;
mod reply;

use bytes::Bytes;
use http::Request;
use std::net::IpAddr;

pub use lambda::from_lambda;
pub use reply::Reply;

/// The address of the client that sent a request, as the front end saw the connection: API
/// Gateway's `requestContext.http.sourceIp` (set by `from_lambda`), or the local runner's peer.
/// Kept in consent records where a person acted; never logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The request's client address, if its front end recorded one.
pub fn client_ip(request: &Request<Bytes>) -> Option<IpAddr> {
    request.extensions().get::<ClientIp>().map(|ip| ip.0)
}

/// A header as text; absent, empty or non-UTF-8 values count as missing.
pub fn header<'a>(request: &'a Request<Bytes>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}
