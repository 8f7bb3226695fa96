//! Money as integer minor units plus an ISO 4217 currency. Platforms send amounts as decimal strings
//! and sometimes as JSON numbers (Shopware: all floats); both are read from their exact text as a
//! `Decimal`, never through `f64`.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::InputError;

/// An ISO 4217 currency with its number of minor-unit digits (EUR 2, JPY 0, KWD 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, InputError> {
        let upper = code.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper).map(Currency).ok_or_else(|| InputError::Invalid {
            field: "currency",
            reason: format!("`{}` is not an ISO 4217 code", truncate(code)),
        })
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point in this currency's minor unit. Currencies without one in
    /// ISO 4217 (e.g. XAU) count as 0.
    pub fn exponent(&self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Currency::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An amount in minor units (cents) of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

/// Largest absolute amount we accept, in major units: far above any real order, far below i64.
const AMOUNT_MAJOR_MAX: i64 = 1_000_000_000_000;

/// Parses a decimal amount (string or JSON number text) into minor units of `currency`.
/// Digits beyond the currency's exponent are rounded half away from zero, as shops round prices.
pub fn parse_minor(field: &'static str, text: &str, currency: Currency) -> Result<i64, InputError> {
    let invalid = |reason: String| InputError::Invalid { field, reason };
    let decimal = Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|_| invalid(format!("`{}` is not a decimal amount", truncate(text))))?;
    if decimal.abs() > Decimal::from(AMOUNT_MAJOR_MAX) {
        return Err(invalid("is out of range".into()));
    }
    let scaled = decimal
        .checked_mul(Decimal::from(10_i64.pow(currency.exponent())))
        .ok_or_else(|| invalid("is out of range".into()))?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(scaled).map_err(|_| invalid("is out of range".into()))
}

/// Reads an amount from a JSON value that is either a decimal string or a number.
pub fn minor_from_json(field: &'static str, value: &serde_json::Value, currency: Currency) -> Result<i64, InputError> {
    match value {
        serde_json::Value::String(s) => parse_minor(field, s, currency),
        // With serde_json's `arbitrary_precision`, `to_string` gives the number's exact source text.
        serde_json::Value::Number(n) => parse_minor(field, &n.to_string(), currency),
        serde_json::Value::Null => Err(InputError::Missing(field)),
        _ => Err(InputError::Invalid { field, reason: "is not an amount".into() }),
    }
}

/// Like `minor_from_json`, but a missing or null field counts as zero.
pub fn minor_or_zero(
    field: &'static str,
    value: Option<&serde_json::Value>,
    currency: Currency,
) -> Result<i64, InputError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(0),
        Some(v) => minor_from_json(field, v, currency),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn decimal_strings_become_exact_minor_units() {
        assert_eq!(parse_minor("x", "404.95", eur()), Ok(40495));
        assert_eq!(parse_minor("x", "-8.10", eur()), Ok(-810));
        assert_eq!(parse_minor("x", "0", eur()), Ok(0));
    }

    #[test]
    fn json_floats_are_read_from_their_text_not_through_f64() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a": 0.1, "b": 10.799999999999999, "c": 1e2}"#).unwrap_or_default();
        assert_eq!(minor_from_json("a", &v["a"], eur()), Ok(10));
        assert_eq!(minor_from_json("b", &v["b"], eur()), Ok(1080));
        assert_eq!(minor_from_json("c", &v["c"], eur()), Ok(10000));
    }

    #[test]
    fn currencies_know_their_minor_unit() {
        assert_eq!(Currency::parse("jpy").map(|c| c.exponent()), Ok(0));
        assert_eq!(Currency::parse("KWD").map(|c| c.exponent()), Ok(3));
        assert!(Currency::parse("EURO").is_err());
    }

    #[test]
    fn garbage_and_huge_amounts_are_refused() {
        assert!(parse_minor("x", "12,50", eur()).is_err());
        assert!(parse_minor("x", "NaN", eur()).is_err());
        assert!(parse_minor("x", "1e30", eur()).is_err());
    }
}
