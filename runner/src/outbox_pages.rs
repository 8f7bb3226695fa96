//! `/dev/outbox`: the mails the local outbox mailer wrote, listed newest first, each readable as
//! the raw message it would have been sent as.

use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

use stammkunde_local::OutboxMailer;

pub fn list(outbox: &OutboxMailer) -> Response {
    let entries = match outbox.list() {
        Ok(entries) => entries,
        Err(error) => {
            tracing::error!(error = %error, "listing the outbox failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the outbox cannot be read").into_response();
        }
    };
    let mut rows = String::new();
    for entry in &entries {
        // Outbox names are [A-Za-z0-9._-] only: nothing to escape in a path or in HTML.
        rows.push_str(&format!(
            "<tr><td><a href=\"/dev/outbox/{0}\">{0}</a></td><td>{1}</td><td>{2}</td></tr>\n",
            entry.name,
            entry.size,
            entry.modified.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Outbox</title></head><body>\n\
         <h1>Outbox: {} mails</h1>\n<p>What the mail sweep would have sent, newest first. Each is the raw message.</p>\n\
         <table><thead><tr><th>File</th><th>Bytes</th><th>Written</th></tr></thead><tbody>\n{rows}</tbody></table>\n</body></html>\n",
        entries.len()
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

pub fn read(outbox: &OutboxMailer, name: &str) -> Response {
    match outbox.read(name) {
        Ok(Some(raw)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], raw).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such mail").into_response(),
        Err(error) => {
            tracing::error!(error = %error, "reading from the outbox failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the outbox cannot be read").into_response()
        }
    }
}
