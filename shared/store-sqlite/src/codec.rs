//! How values become columns and back: sortable timestamps, JSON bodies, page cursors, ids.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::CustomerId;

use crate::error::SqliteStoreError;

/// Timestamps are stored as fixed-width UTC text (`2026-03-02T09:00:00.000000000Z`): it sorts
/// like the instant it names, so guards compare with plain `<`, and it keeps every nanosecond.
/// Only four-digit years have a fixed width; others are refused rather than mis-sorted.
pub fn timestamp(at: &DateTime<Utc>) -> Result<String, StoreError> {
    if !(0..=9999).contains(&at.year()) {
        let error = SqliteStoreError::TimestampOutOfRange(at.to_rfc3339());
        return Err(StoreError::backend("encoding a timestamp", error));
    }
    Ok(at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string())
}

pub fn optional_timestamp(at: Option<&DateTime<Utc>>) -> Result<Option<String>, StoreError> {
    at.map(timestamp).transpose()
}

/// The UTC date of a stored timestamp: its first ten characters, by the format above.
pub fn date_of(stored_timestamp: &str) -> Option<String> {
    stored_timestamp.get(..10).map(str::to_owned)
}

/// The key the last-order index stores for a date (`2026-03-02`).
pub fn date_key(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn parse_timestamp(key: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| corrupt(key, format!("timestamp `{text}`: {error}")))
}

pub fn parse_optional_timestamp(key: &str, text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|text| parse_timestamp(key, &text)).transpose()
}

pub fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::backend(format!("encoding {what}"), error))
}

pub fn from_json<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| corrupt(key, error.to_string()))
}

pub fn corrupt(key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { key: key.to_owned(), reason: reason.into() }
}

/// A page cursor: the sort key of the page's last item, opaque to callers (base64) so they do not
/// build their own.
pub fn cursor_from(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_key)
}

/// The sort key a cursor resumes after, still to be checked by the page that reads it. A cursor
/// we did not make is refused as corrupt input rather than guessed at.
pub fn cursor_key(cursor: &str) -> Result<String, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|error| corrupt("page cursor", error.to_string()))?;
    String::from_utf8(bytes).map_err(|error| corrupt("page cursor", error.to_string()))
}

/// The cursor after the page's last customer, for pages ordered by customer id.
pub fn cursor_after(last: &CustomerId) -> String {
    cursor_from(last.as_str())
}

/// The customer id a cursor resumes after.
pub fn parse_cursor(cursor: &str) -> Result<CustomerId, StoreError> {
    let text = cursor_key(cursor)?;
    CustomerId::parse(&text).map_err(|error| corrupt("page cursor", error.to_string()))
}

/// A stored timestamp read back from a cursor: it must be in exactly the form `timestamp` writes,
/// or it would not compare with the column as the page expects.
pub fn parse_stored_timestamp(key: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    let at = parse_timestamp(key, text)?;
    if timestamp(&at)? != text {
        return Err(corrupt(key, format!("timestamp `{text}` is not in the stored form")));
    }
    Ok(at)
}

/// Parses an id read back from a column, reporting a bad one as corrupt data.
pub fn parse_id<T, E: std::fmt::Display>(
    key: &str,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parse(raw).map_err(|error| corrupt(key, format!("id `{raw}`: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn instant(year: i32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, 1, 2, 3, 4, 5).single().unwrap_or_default()
    }

    #[test]
    fn timestamps_keep_every_nanosecond_and_sort_as_text() {
        let early = instant(2026) + Duration::nanoseconds(1);
        let late = instant(2026) + Duration::nanoseconds(10);
        let (early_text, late_text) = (timestamp(&early).ok(), timestamp(&late).ok());
        assert!(early_text < late_text);
        assert_eq!(early_text.as_deref().map(|t| parse_timestamp("k", t).ok()), Some(Some(early)));
        assert_eq!(early_text.as_deref().and_then(date_of), Some("2026-01-02".into()));
    }

    #[test]
    fn a_year_without_four_digits_is_refused_not_missorted() {
        assert!(timestamp(&instant(10_000)).is_err());
        assert!(timestamp(&instant(-1)).is_err());
        assert!(timestamp(&instant(9999)).is_ok());
    }

    #[test]
    fn a_cursor_round_trips_and_a_foreign_one_is_refused() {
        let id = CustomerId::parse("gid://shopify/Customer/1").ok();
        let back = id.as_ref().map(|id| parse_cursor(&cursor_after(id)).ok());
        assert_eq!(back, Some(id.clone()));
        assert!(parse_cursor("not base64!").is_err());
        assert!(parse_cursor(&URL_SAFE_NO_PAD.encode("bad id with spaces")).is_err());
    }
}
