//! Request bodies: JSON into the request's own type, with a clear 400 for anything else.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use stammkunde_http::Reply;

pub(crate) fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| Reply::bad_request(format!("body is not the expected JSON: {e}")))
}

/// Bounds a free text a merchant sends (a reason, a customer text): trimmed, no control
/// characters, at most `max` characters.
pub(crate) fn text(field: &str, raw: &str, max: usize) -> Result<String, Reply> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Reply::bad_request(format!("`{field}` is empty")));
    }
    if trimmed.chars().count() > max {
        return Err(Reply::bad_request(format!("`{field}` is longer than {max} characters")));
    }
    Ok(trimmed.chars().filter(|c| !c.is_control()).collect())
}
