//! Parsing a JSON body into a `Value` that holds only the fields a parser reads.
//!
//! A Shopify order is 3–15 KB of JSON of which the parser reads a few dozen fields. Building the
//! whole `serde_json::Value` tree allocated a `String` per key, string and number (numbers are
//! text under `arbitrary_precision`) and a map node per object: a fifth of the server's CPU per
//! webhook. Here the body is parsed once, by the same `serde_json` deserializer (same syntax
//! checks, error positions and recursion limit), but a field outside the schema is skipped with
//! `IgnoredAny`, which validates it without allocating.
//!
//! The result is the tree the parser would have seen, minus fields it never looks at: a kept key
//! holds exactly what the full parse would hold there, whatever its type (a number where an object
//! was expected stays a number, so the parser refuses it as before), and arrays keep every
//! element, so the parser's bounds on their length still apply.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use crate::error::InputError;

use super::json_error;

/// What to keep of a value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Keep {
    /// The whole value, as `serde_json` parses it.
    All,
    /// Of an object, only these keys (each with what to keep of its value); of an array, each
    /// element so. Any other value is kept whole.
    Fields(&'static [(&'static str, Keep)]),
}

/// Parses `body`, keeping what `keep` names. Errors are those of `parse_json`.
pub(crate) fn parse_json_pruned(body: &[u8], keep: Keep) -> Result<Value, InputError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = keep.deserialize(&mut deserializer).and_then(|value| deserializer.end().map(|()| value));
    value.map_err(|e| json_error(&e))
}

impl<'de> DeserializeSeed<'de> for Keep {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self {
            Keep::All => Value::deserialize(deserializer),
            Keep::Fields(fields) => deserializer.deserialize_any(Pruning(fields)),
        }
    }
}

struct Pruning(&'static [(&'static str, Keep)]);

/// The key `serde_json` hands a visitor for a number under `arbitrary_precision`: the number
/// arrives as a one-entry map from this key to its source text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> Visitor<'de> for Pruning {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Keep::Fields(self.0))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return text.parse::<Number>().map(Value::Number).map_err(serde::de::Error::custom);
            }
            match self.0.iter().find(|(name, _)| *name == key) {
                // Later duplicates win, as in a full parse.
                Some((_, keep)) => {
                    object.insert(key.into_owned(), map.next_value_seed(*keep)?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(object))
    }
}

/// An object key, borrowed from the body unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(value)))
            }

            fn visit_str<E>(self, value: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value.to_owned())))
            }

            fn visit_string<E>(self, value: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::parse_json;

    const AMOUNT: Keep = Keep::Fields(&[("amount", Keep::All)]);
    const SCHEMA: Keep =
        Keep::Fields(&[("id", Keep::All), ("lines", Keep::Fields(&[("price", AMOUNT), ("qty", Keep::All)]))]);

    fn pruned(text: &str) -> Result<Value, InputError> {
        parse_json_pruned(text.as_bytes(), SCHEMA)
    }

    #[test]
    fn only_the_named_fields_are_kept_and_they_are_kept_exactly() {
        let body = r#"{"id": 18446744073709551616, "note": {"deep": [1, 2, {"x": "y"}]},
            "lines": [{"price": {"amount": 12.30, "cur": "EUR"}, "qty": 2, "sku": "a"}, {"qty": 1}],
            "na\u006de": "ignored"}"#;
        let expected = r#"{"id": 18446744073709551616,
            "lines": [{"price": {"amount": 12.30}, "qty": 2}, {"qty": 1}]}"#;
        assert_eq!(pruned(body), parse_json(expected.as_bytes()));
        let amount = pruned(body).ok().and_then(|v| v.pointer("/lines/0/price/amount").map(Value::to_string));
        assert_eq!(amount.as_deref(), Some("12.30"), "numbers keep their source text");
    }

    #[test]
    fn a_kept_key_of_an_unexpected_type_is_kept_as_it_is() {
        for body in [r#"{"lines": 5}"#, r#"{"lines": 1.5e3}"#, r#"{"lines": "x"}"#, r#"{"lines": null}"#, "[1, {}]"] {
            assert_eq!(pruned(body), parse_json(body.as_bytes()), "{body}");
        }
        assert_eq!(pruned(r#"{"lines": [7, {"price": true}]}"#), parse_json(br#"{"lines": [7, {"price": true}]}"#));
    }

    #[test]
    fn later_duplicates_win_as_in_a_full_parse() {
        let body = r#"{"id": 1, "id": 2}"#;
        assert_eq!(pruned(body), parse_json(body.as_bytes()));
    }

    #[test]
    fn skipped_fields_are_still_checked_and_errors_read_as_before() {
        for body in
            [r#"{"note": [1, 2,], "id": 1}"#, r#"{"id": 1"#, r#"{"id": 1} trailing"#, "\u{7b}\"note\": \"\\q\"}"]
        {
            let (ours, full) = (pruned(body), parse_json(body.as_bytes()));
            assert!(ours.is_err(), "{body}");
            assert_eq!(ours, full, "{body}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_where_kept_and_skipped_without_recursion_elsewhere() {
        let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
        // serde_json skips an ignored value in a loop over a heap stack, so no depth reaches
        // the call stack there; a kept value is built recursively and keeps the limit of 128.
        assert!(pruned(&format!("{{\"note\": {nested}, \"id\": 1}}")).is_ok_and(|v| v == serde_json::json!({"id": 1})));
        assert!(matches!(pruned(&format!("{{\"id\": {nested}}}")), Err(InputError::MalformedJson(_))));
        assert!(matches!(pruned(&format!("{{\"lines\": {nested}}}")), Err(InputError::MalformedJson(_))));
    }
}
