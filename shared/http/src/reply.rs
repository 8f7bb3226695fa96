//! Replies: every answer is JSON, errors carry a stable `error` code and a human `reason`.

use http::{Response, StatusCode};
use serde_json::json;

use stammkunde_domain::error::{cause_chain, BusError, InputError, StoreError};
use stammkunde_domain::signature::SignatureError;

/// A reply before it becomes an HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl Reply {
    pub fn ok(status: &str) -> Reply {
        Reply { status: StatusCode::OK, body: json!({ "status": status }) }
    }

    pub fn ok_with(status: &str, reason: impl Into<String>) -> Reply {
        Reply { status: StatusCode::OK, body: json!({ "status": status, "reason": reason.into() }) }
    }

    pub fn json(body: serde_json::Value) -> Reply {
        Reply { status: StatusCode::OK, body }
    }

    pub fn error(status: StatusCode, code: &str, reason: impl Into<String>) -> Reply {
        Reply { status, body: json!({ "error": code, "reason": reason.into() }) }
    }

    pub fn unauthorized(code: &str, reason: impl Into<String>) -> Reply {
        Reply::error(StatusCode::UNAUTHORIZED, code, reason)
    }

    pub fn bad_request(reason: impl Into<String>) -> Reply {
        Reply::error(StatusCode::BAD_REQUEST, "bad_request", reason)
    }

    pub fn into_response(self) -> Response<String> {
        let mut response = Response::new(self.body.to_string());
        *response.status_mut() = self.status;
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response
    }
}

impl From<InputError> for Reply {
    fn from(e: InputError) -> Reply {
        Reply::bad_request(e.to_string())
    }
}

impl From<SignatureError> for Reply {
    fn from(e: SignatureError) -> Reply {
        Reply::unauthorized("bad_signature", e.to_string())
    }
}

impl From<StoreError> for Reply {
    fn from(e: StoreError) -> Reply {
        tracing::error!(error = %cause_chain(&e), "store failed");
        if e.is_retryable() {
            Reply::error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "storage is busy; retry later")
        } else {
            Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the delivery could not be stored")
        }
    }
}

impl From<BusError> for Reply {
    fn from(e: BusError) -> Reply {
        tracing::error!(error = %e, "publish failed");
        Reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "bus_unavailable",
            "stored, but events could not be published; retry",
        )
    }
}
