//! Opaque page cursors: base64 (URL-safe) of the LastEvaluatedKey as a JSON object of strings.
//! A cursor is checked against the query it is used with, so a cursor from another shop's or
//! another day's page cannot steer a query into a different partition.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use stammkunde_domain::error::StoreError;
use std::collections::BTreeMap;

use super::codec::Item;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CursorError {
    #[error("cursor is not base64")]
    Base64(#[from] base64::DecodeError),
    #[error("cursor is not a JSON object of strings")]
    Json(#[from] serde_json::Error),
    #[error("cursor belongs to a different query")]
    OtherQuery,
    #[error("key attribute `{0}` is not a string")]
    NotAString(String),
}

fn invalid(err: CursorError) -> StoreError {
    StoreError::backend("invalid page cursor", err)
}

pub(crate) fn encode_cursor(key: &Item) -> Result<String, StoreError> {
    let mut fields = BTreeMap::new();
    for (name, value) in key {
        match value {
            AttributeValue::S(text) => fields.insert(name.as_str(), text.as_str()),
            _ => return Err(invalid(CursorError::NotAString(name.clone()))),
        };
    }
    let json = serde_json::to_vec(&fields).map_err(|e| invalid(e.into()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The ExclusiveStartKey for a query whose partition attribute `attribute` equals `expected`.
pub(crate) fn decode_cursor(cursor: &str, attribute: &str, expected: &str) -> Result<Item, StoreError> {
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|e| invalid(e.into()))?;
    let fields: BTreeMap<String, String> = serde_json::from_slice(&json).map_err(|e| invalid(e.into()))?;
    if fields.get(attribute).map(String::as_str) != Some(expected) {
        return Err(invalid(CursorError::OtherQuery));
    }
    Ok(fields.into_iter().map(|(name, value)| (name, AttributeValue::S(value))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_is_refused_by_another_query() {
        let key: Item = [("g1", "demo#E#a@b.c"), ("pk", "demo#C#1"), ("sk", "C")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
            .collect();
        let cursor = encode_cursor(&key).unwrap_or_default();
        assert_eq!(decode_cursor(&cursor, "g1", "demo#E#a@b.c").ok(), Some(key));
        assert!(decode_cursor(&cursor, "g1", "other#E#a@b.c").is_err());
        assert!(decode_cursor("%%%", "g1", "x").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("[1]"), "g1", "x").is_err());
    }
}
