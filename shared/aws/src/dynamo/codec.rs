//! Items <-> domain types. Attribute names are one to three letters because every byte of a name
//! is paid for on every write (DynamoDB sizes an item by its names plus its values).
//!
//! Timestamps are stored as DynamoDB numbers holding exact decimal epoch seconds
//! (`1763884800` or `1763884800.123456789`): exact to the nanosecond, numerically comparable in
//! condition expressions, and small because DynamoDB trims trailing zeros.

pub(crate) mod code;
pub(crate) mod consent;
pub(crate) mod customer;
pub(crate) mod ledger;
pub(crate) mod mail;
pub(crate) mod order;
pub(crate) mod refund;
pub(crate) mod shop;
pub(crate) mod timer;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use std::collections::HashMap;

use super::errors::corrupt;
use super::schema::{Key, PK, SK};

pub type Item = HashMap<String, AttributeValue>;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn time(value: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(encode_time(value))
}

/// The key attributes of `key`, as an item to extend or as a `Key` parameter.
pub(crate) fn key_item(key: &Key) -> Item {
    HashMap::from([(PK.to_owned(), s(&key.pk)), (SK.to_owned(), s(&key.sk))])
}

pub(crate) fn encode_time(value: DateTime<Utc>) -> String {
    let total = i128::from(value.timestamp()) * NANOS_PER_SECOND + i128::from(value.timestamp_subsec_nanos());
    let sign = if total < 0 { "-" } else { "" };
    let magnitude = total.unsigned_abs();
    let seconds = magnitude / NANOS_PER_SECOND.unsigned_abs();
    let nanos = magnitude % NANOS_PER_SECOND.unsigned_abs();
    if nanos == 0 {
        return format!("{sign}{seconds}");
    }
    let fraction = format!("{nanos:09}");
    format!("{sign}{seconds}.{}", fraction.trim_end_matches('0'))
}

pub(crate) fn decode_time(text: &str) -> Option<DateTime<Utc>> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (unsigned, ""),
    };
    if whole.is_empty() || fraction.len() > 9 || !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let seconds: i128 = whole.parse().ok()?;
    let nanos: i128 = if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse().ok()? };
    let magnitude = seconds.checked_mul(NANOS_PER_SECOND)?.checked_add(nanos)?;
    let total = if negative { -magnitude } else { magnitude };
    let seconds = i64::try_from(total.div_euclid(NANOS_PER_SECOND)).ok()?;
    let nanos = u32::try_from(total.rem_euclid(NANOS_PER_SECOND)).ok()?;
    DateTime::from_timestamp(seconds, nanos)
}

/// Typed access to one item's attributes; every failure names the item and attribute.
pub(crate) struct Reader<'a> {
    item: &'a Item,
    label: String,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(item: &'a Item) -> Self {
        let key_part = |name: &str| match item.get(name) {
            Some(AttributeValue::S(value)) => value.as_str(),
            _ => "?",
        };
        let label = format!("{}/{}", key_part(PK), key_part(SK));
        Reader { item, label }
    }

    pub(crate) fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        corrupt(&self.label, reason)
    }

    pub(crate) fn opt_s(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(self.corrupt(format!("attribute `{name}` is not a string"))),
        }
    }

    pub(crate) fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_s(name)?.ok_or_else(|| self.corrupt(format!("attribute `{name}` is missing")))
    }

    pub(crate) fn opt_n(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(value)) => Ok(Some(value.as_str())),
            Some(_) => Err(self.corrupt(format!("attribute `{name}` is not a number"))),
        }
    }

    pub(crate) fn opt_i64(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.opt_n(name)?
            .map(|text| text.parse().map_err(|_| self.corrupt(format!("attribute `{name}` is not an integer"))))
            .transpose()
    }

    pub(crate) fn i64(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_i64(name)?.ok_or_else(|| self.corrupt(format!("attribute `{name}` is missing")))
    }

    pub(crate) fn opt_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_n(name)?
            .map(|text| decode_time(text).ok_or_else(|| self.corrupt(format!("attribute `{name}` is not a timestamp"))))
            .transpose()
    }

    pub(crate) fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time(name)?.ok_or_else(|| self.corrupt(format!("attribute `{name}` is missing")))
    }

    pub(crate) fn opt_bool(&self, name: &str) -> Result<Option<bool>, StoreError> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(self.corrupt(format!("attribute `{name}` is not a boolean"))),
        }
    }

    pub(crate) fn opt_strings(&self, name: &str) -> Result<Vec<&'a str>, StoreError> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(text) => Ok(text.as_str()),
                    _ => Err(self.corrupt(format!("attribute `{name}` holds a non-string"))),
                })
                .collect(),
            Some(_) => Err(self.corrupt(format!("attribute `{name}` is not a list"))),
        }
    }

    /// Parses a stored text with a domain parser, reporting failures as corruption.
    pub(crate) fn parse<T, E: std::fmt::Display>(
        &self,
        name: &str,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        parse(text).map_err(|e| self.corrupt(format!("attribute `{name}`: {e}")))
    }
}

/// A list attribute of strings; DynamoDB string sets would drop order and duplicates.
pub(crate) fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, nanos).unwrap_or_else(|| panic!("valid timestamp"))
    }

    #[test]
    fn timestamps_round_trip_exactly_and_stay_short() {
        for (t, text) in [
            (at(1_763_884_800, 0), "1763884800"),
            (at(1_763_884_800, 500_000_000), "1763884800.5"),
            (at(1_763_884_800, 123_456_789), "1763884800.123456789"),
            (at(-1, 500_000_000), "-0.5"),
            (at(-2, 0), "-2"),
        ] {
            assert_eq!(encode_time(t), text);
            assert_eq!(decode_time(text), Some(t));
        }
    }

    #[test]
    fn timestamps_compare_as_numbers_in_the_order_of_time() {
        let texts: Vec<f64> = [at(-2, 0), at(-1, 500_000_000), at(0, 1), at(5, 0)]
            .into_iter()
            .map(|t| encode_time(t).parse().unwrap_or(f64::NAN))
            .collect();
        assert!(texts.windows(2).all(|w| w[0] < w[1]), "{texts:?}");
    }

    #[test]
    fn garbage_timestamps_are_refused_without_panicking() {
        for text in ["", "-", ".5", "1.", "1e9", "1.1234567891", "99999999999999999999999999999999999999", "a"] {
            assert_eq!(decode_time(text), None, "{text}");
        }
    }
}
