//! Turning each platform's webhook payloads into typed changes. Pure functions of (topic, body,
//! shop, time): the HTTP handler reads headers and verifies signatures before calling these.

mod pruned;
pub mod shopify;
pub mod shopware;
pub mod woocommerce;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::customer::Email;
use crate::error::InputError;
use crate::ingest::Change;

/// What a verified payload means for us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    Changes(Vec<Change>),
    /// A topic we do not act on. Answered with 2xx so the platform keeps the subscription alive.
    Ignored {
        reason: String,
    },
}

/// Parses a JSON body, mapping serde's error to a 400 reason without echoing the body.
pub fn parse_json(body: &[u8]) -> Result<serde_json::Value, crate::error::InputError> {
    serde_json::from_slice(body).map_err(|e| json_error(&e))
}

/// serde's error as a 400 reason: where and what kind, never the body's text.
pub(crate) fn json_error(e: &serde_json::Error) -> InputError {
    InputError::MalformedJson(format!("line {} column {}: {}", e.line(), e.column(), e.classify_label()))
}

trait ClassifyLabel {
    fn classify_label(&self) -> &'static str;
}

impl ClassifyLabel for serde_json::Error {
    fn classify_label(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "unexpected end of input",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the platform parsers. Every accessor distinguishes "absent" (JSON `null` or a
// missing key: platforms use both for "not set") from "present but of the wrong type", so the
// caller can answer `Missing` or `Invalid` precisely. None of them index, unwrap or panic.
// ---------------------------------------------------------------------------------------------

/// A topic or event name as shown in an `Ignored` reason: control characters dropped and the
/// length bounded, so a hostile header cannot bloat logs or responses.
pub(crate) fn shown(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// The `Invalid` error with a fixed reason.
pub(crate) fn invalid(field: &'static str, reason: &str) -> InputError {
    InputError::Invalid { field, reason: reason.to_owned() }
}

/// A key's value, with JSON `null` treated as absent.
pub(crate) fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|v| !v.is_null())
}

/// A nested value (`a.b.c`), `None` as soon as a step is absent or null.
pub(crate) fn get_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |current, key| get(current, key))
}

/// The body or a sub-object must be a JSON object; anything else is a sender bug.
pub(crate) fn expect_object(value: &Value, field: &'static str) -> Result<(), InputError> {
    if value.is_object() {
        Ok(())
    } else {
        Err(invalid(field, "is not a JSON object"))
    }
}

/// An optional string field. Present but not a string is `Invalid`.
pub(crate) fn opt_str<'a>(value: &'a Value, key: &str, field: &'static str) -> Result<Option<&'a str>, InputError> {
    match get(value, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(field, "is not a string")),
    }
}

/// `opt_str` on an object that may itself be absent (an address that was not sent).
pub(crate) fn opt_str_in<'a>(
    parent: Option<&'a Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<&'a str>, InputError> {
    parent.map_or(Ok(None), |value| opt_str(value, key, field))
}

/// A required, non-empty string field.
pub(crate) fn req_str<'a>(value: &'a Value, key: &str, field: &'static str) -> Result<&'a str, InputError> {
    match opt_str(value, key, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(InputError::Missing(field)),
    }
}

/// An optional boolean field.
pub(crate) fn opt_bool(value: &Value, key: &str, field: &'static str) -> Result<Option<bool>, InputError> {
    match get(value, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(field, "is not a boolean")),
    }
}

/// An array field, bounded: absent counts as empty, more than `max` entries is refused so one
/// payload cannot make us do unbounded work.
pub(crate) fn array<'a>(
    value: &'a Value,
    key: &str,
    field: &'static str,
    max: usize,
) -> Result<&'a [Value], InputError> {
    match get(value, key) {
        None => Ok(&[]),
        Some(Value::Array(items)) if items.len() > max => {
            Err(InputError::Invalid { field, reason: format!("has more than {max} entries") })
        }
        Some(Value::Array(items)) => Ok(items.as_slice()),
        Some(_) => Err(invalid(field, "is not an array")),
    }
}

/// A platform id as text: a string, or a JSON integer taken from its exact digits (64-bit ids
/// survive; serde_json keeps the source text). Floats, booleans and objects are refused: an id
/// like `1.5e3` is a sender bug, not an id. The newtypes check length and alphabet afterwards.
pub(crate) fn opt_id(value: &Value, key: &str, field: &'static str) -> Result<Option<String>, InputError> {
    let Some(raw) = get(value, key) else { return Ok(None) };
    if let Value::Number(n) = raw {
        let text = n.to_string();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(field, "is not a whole number"));
        }
        return Ok(Some(text));
    }
    crate::ids::id_text(raw).map(Some).ok_or_else(|| invalid(field, "is not an id (string or integer)"))
}

/// A required id, see `opt_id`.
pub(crate) fn req_id(value: &Value, key: &str, field: &'static str) -> Result<String, InputError> {
    opt_id(value, key, field)?.ok_or(InputError::Missing(field))
}

/// Largest quantity of one line we accept: far above any real order, and small enough that
/// `price × quantity` stays far from overflow.
pub(crate) const LINE_QUANTITY_MAX: u32 = 1_000_000;

/// A quantity: a non-negative JSON integer up to `LINE_QUANTITY_MAX`.
pub(crate) fn quantity(value: &Value, key: &str, field: &'static str) -> Result<u32, InputError> {
    match get(value, key) {
        None => Err(InputError::Missing(field)),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|q| u32::try_from(q).ok())
            .filter(|q| *q <= LINE_QUANTITY_MAX)
            .ok_or_else(|| invalid(field, "is not a whole count up to 1000000")),
        Some(_) => Err(invalid(field, "is not a number")),
    }
}

/// Largest absolute amount of one line (or of shipping) in minor units: 10^15, i.e. 10^13 EUR.
/// With at most `ORDER_LINES_MAX` lines, sums over an order stay far inside `i64`.
pub(crate) const LINE_AMOUNT_MINOR_MAX: i64 = 1_000_000_000_000_000;

/// Refuses a line amount beyond `LINE_AMOUNT_MINOR_MAX`.
pub(crate) fn bounded_minor(field: &'static str, amount: i64) -> Result<i64, InputError> {
    if amount.unsigned_abs() > LINE_AMOUNT_MINOR_MAX.unsigned_abs() {
        return Err(invalid(field, "is out of range"));
    }
    Ok(amount)
}

/// Parses an RFC 3339 time with offset (Shopify `2021-12-31T19:00:00-05:00`, Shopware
/// `2023-05-04T13:36:26.566+00:00`).
pub(crate) fn rfc3339(field: &'static str, text: &str) -> Result<DateTime<Utc>, InputError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| invalid(field, "is not an RFC 3339 date-time"))
        .and_then(|t| plausible(field, t.with_timezone(&Utc)))
}

/// Years an order or customer can carry. Outside them a date is a bug or an attack; worse, stores
/// cannot keep it (SQLite's fixed-width time text, and a year-10000 version could never be
/// superseded), so it is refused here as bad input instead of failing later as a server error.
pub(crate) const YEAR_MIN: i32 = 1970;
pub(crate) const YEAR_MAX: i32 = 9998;

pub(crate) fn plausible(field: &'static str, at: DateTime<Utc>) -> Result<DateTime<Utc>, InputError> {
    use chrono::Datelike;
    if (YEAR_MIN..=YEAR_MAX).contains(&at.year()) {
        Ok(at)
    } else {
        Err(invalid(field, "is outside the years 1970 to 9998"))
    }
}

/// An optional RFC 3339 time field.
pub(crate) fn opt_rfc3339(value: &Value, key: &str, field: &'static str) -> Result<Option<DateTime<Utc>>, InputError> {
    opt_str(value, key, field)?.map(|text| rfc3339(field, text)).transpose()
}

/// A date-time without offset (WooCommerce `2023-03-29T03:21:20`), seconds optionally with a
/// fraction. Texts that do carry an offset are honoured as such.
pub(crate) fn naive_date_time(field: &'static str, text: &str) -> Result<NaiveDateTime, InputError> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|_| invalid(field, "is not a date-time (YYYY-MM-DDTHH:MM:SS)"))
}

/// A time without offset that is known to be UTC (WooCommerce `*_gmt` fields).
pub(crate) fn utc_without_offset(field: &'static str, text: &str) -> Result<DateTime<Utc>, InputError> {
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text.trim()) {
        return plausible(field, with_offset.with_timezone(&Utc));
    }
    naive_date_time(field, text).and_then(|naive| plausible(field, naive.and_utc()))
}

/// A shop-local time without offset (WooCommerce fields without `_gmt`), converted with the
/// shop's configured zone. In the autumn fold the earlier instant is taken; a time inside the
/// spring gap cannot have been written by a clock and is refused.
pub(crate) fn local_without_offset(field: &'static str, text: &str, zone: Tz) -> Result<DateTime<Utc>, InputError> {
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text.trim()) {
        return plausible(field, with_offset.with_timezone(&Utc));
    }
    let naive = naive_date_time(field, text)?;
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => plausible(field, t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(earlier, _) => plausible(field, earlier.with_timezone(&Utc)),
        chrono::LocalResult::None => Err(invalid(field, "does not exist in the shop's time zone")),
    }
}

/// An email as the profile keeps it. A malformed address is dropped, not refused: a typo in the
/// buyer's email is no reason to lose their order.
pub(crate) fn email(raw: Option<&str>) -> Option<Email> {
    raw.and_then(|text| Email::parse(text).ok())
}

/// An ISO 3166-1 alpha-2 code, upper-cased; anything else (country names, hostile text) is dropped.
pub(crate) fn country_code(raw: Option<&str>) -> Option<String> {
    let code = raw?.trim();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())).then(|| code.to_ascii_uppercase())
}

/// Longest language tag we keep; real BCP 47 tags from shops are 2–10 characters.
const LOCALE_LENGTH_MAX: usize = 35;

/// A BCP 47-like language tag (`de`, `en-US`; Shopware's `de-DE`). Underscores (`de_DE`, as PHP
/// writes them) become hyphens; anything with other characters is dropped.
pub(crate) fn locale(raw: Option<&str>) -> Option<String> {
    let tag = raw?.trim();
    let plausible = !tag.is_empty()
        && tag.len() <= LOCALE_LENGTH_MAX
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plausible.then(|| tag.replace('_', "-"))
}

/// A product id, checked like the id newtypes (bounded length, a safe alphabet) because it is
/// stored with the order. `OrderLine::product_id` is a plain string, hence no newtype.
pub(crate) fn product_id_text(field: &'static str, raw: &str) -> Result<String, InputError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '@' | '+');
    if raw.is_empty() || raw.len() > crate::ids::ID_LENGTH_MAX || !raw.chars().all(safe) {
        return Err(invalid(field, "is not a plausible id"));
    }
    Ok(raw.to_owned())
}

/// Adds amounts in minor units, refusing overflow (which real amounts, bounded in `money`, never
/// reach; a crafted payload might).
pub(crate) fn add_minor(field: &'static str, a: i64, b: i64) -> Result<i64, InputError> {
    a.checked_add(b).ok_or_else(|| invalid(field, "is out of range"))
}

/// Splits `total` (≥ 0) over `weights` (each ≥ 0) in proportion, exactly: each share is rounded
/// down, then the units left over go one each to the largest remainders (earlier entries first on
/// ties). The shares sum to `total` when the weights sum to more than zero, and no share exceeds
/// its weight when `total` does not exceed the sum of the weights.
pub(crate) fn allocate_proportionally(total: i64, weights: &[i64]) -> Vec<i64> {
    let weight_sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if total <= 0 || weight_sum == 0 {
        return vec![0; weights.len()];
    }
    let total = i128::from(total);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let product = total * i128::from((*weight).max(0));
        shares.push(product / weight_sum);
        remainders.push((product % weight_sum, index));
    }
    let mut left_over = total - shares.iter().sum::<i128>();
    // Largest remainder first; on equal remainders the earlier line wins, so the result is stable.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if left_over <= 0 {
            break;
        }
        if let Some(share) = shares.get_mut(index) {
            *share += 1;
            left_over -= 1;
        }
    }
    // Every share is at most `total`, which came from an i64, so the conversion cannot fail.
    shares.into_iter().map(|s| i64::try_from(s).unwrap_or(0)).collect()
}

#[cfg(test)]
mod helper_tests {
    use super::*;

    #[test]
    fn proportional_allocation_is_exact_and_favours_the_largest_remainders() {
        assert_eq!(allocate_proportionally(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate_proportionally(1000, &[5000, 3000, 2000]), vec![500, 300, 200]);
        assert_eq!(allocate_proportionally(7, &[0, 10]), vec![0, 7]);
        assert_eq!(allocate_proportionally(5, &[0, 0]), vec![0, 0]);
        assert_eq!(allocate_proportionally(0, &[3, 4]), vec![0, 0]);
        let shares = allocate_proportionally(9_999, &[3_333, 1, 6_665]);
        assert_eq!(shares.iter().sum::<i64>(), 9_999);
        assert!(shares.iter().zip([3_333, 1, 6_665]).all(|(s, w)| *s <= w));
    }

    #[test]
    fn times_without_offset_are_read_as_utc_or_shop_local() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap_or(Tz::UTC);
        let utc = utc_without_offset("t", "2023-03-29T03:21:20").map(|t| t.to_rfc3339());
        assert_eq!(utc.as_deref(), Ok("2023-03-29T03:21:20+00:00"));
        let local = local_without_offset("t", "2023-03-29T05:21:20", berlin).map(|t| t.to_rfc3339());
        assert_eq!(local.as_deref(), Ok("2023-03-29T03:21:20+00:00"));
        assert!(local_without_offset("t", "2023-03-26T02:30:00", berlin).is_err());
        assert!(utc_without_offset("t", "yesterday").is_err());
    }

    #[test]
    fn ids_are_digits_or_strings_and_nothing_else() {
        let v: Value = serde_json::from_str(r#"{"a": 18446744073709551616, "b": "gid://x/1", "c": 1.5, "d": true}"#)
            .unwrap_or_default();
        assert_eq!(opt_id(&v, "a", "a").ok().flatten().as_deref(), Some("18446744073709551616"));
        assert_eq!(opt_id(&v, "b", "b").ok().flatten().as_deref(), Some("gid://x/1"));
        assert!(opt_id(&v, "c", "c").is_err());
        assert!(opt_id(&v, "d", "d").is_err());
        assert_eq!(opt_id(&v, "e", "e"), Ok(None));
    }

    #[test]
    fn countries_and_locales_are_kept_only_when_plausible() {
        assert_eq!(country_code(Some(" de ")), Some("DE".into()));
        assert_eq!(country_code(Some("Germany")), None);
        assert_eq!(locale(Some("de_DE")), Some("de-DE".into()));
        assert_eq!(locale(Some("en<script>")), None);
    }
}
