//! Index pages and their opaque cursors.
//!
//! A cursor is base64 (URL-safe) of the last returned item's index key as a JSON object: a string
//! attribute as a JSON string, a number attribute as `{"N": "…"}`. A cursor is checked against the
//! query it is used with, so a cursor from another shop's or another day's page cannot steer a
//! query into a different partition.
//!
//! A page asks DynamoDB for one item more than it returns, so `next` is `None` exactly when the
//! page is the last one (DynamoDB alone hands back a cursor to an empty page whenever the last
//! page happens to be full).

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ports::PAGE_LIMIT_MAX;

use super::codec::Item;
use super::errors::store_error;
use super::expr::Expr;
use super::schema::{PK, SK};
use super::{DynamoStore, QUERY_PAGES_MAX};

#[derive(Debug, thiserror::Error)]
pub(crate) enum CursorError {
    #[error("cursor is not base64")]
    Base64(#[from] base64::DecodeError),
    #[error("cursor is not a JSON object of key attributes")]
    Json(#[from] serde_json::Error),
    #[error("cursor belongs to a different query")]
    OtherQuery,
    #[error("key attribute `{0}` is neither a string nor a number")]
    NotAKey(String),
}

fn invalid(err: CursorError) -> StoreError {
    StoreError::backend("invalid page cursor", err)
}

const NUMBER_TAG: &str = "N";

pub(crate) fn encode_cursor(key: &Item) -> Result<String, StoreError> {
    let mut fields = Map::new();
    for (name, value) in key {
        let value = match value {
            AttributeValue::S(text) => Value::String(text.clone()),
            AttributeValue::N(text) => {
                Value::Object(Map::from_iter([(NUMBER_TAG.to_owned(), Value::String(text.clone()))]))
            }
            _ => return Err(invalid(CursorError::NotAKey(name.clone()))),
        };
        fields.insert(name.clone(), value);
    }
    let json = serde_json::to_vec(&Value::Object(fields)).map_err(|e| invalid(e.into()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The ExclusiveStartKey for a query whose partition attribute `attribute` equals `expected`.
pub(crate) fn decode_cursor(cursor: &str, attribute: &str, expected: &str) -> Result<Item, StoreError> {
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|e| invalid(e.into()))?;
    let fields: Map<String, Value> = serde_json::from_slice(&json).map_err(|e| invalid(e.into()))?;
    if fields.get(attribute).and_then(Value::as_str) != Some(expected) {
        return Err(invalid(CursorError::OtherQuery));
    }
    fields
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(text) => AttributeValue::S(text),
                Value::Object(mut tagged) if tagged.len() == 1 => match tagged.remove(NUMBER_TAG) {
                    Some(Value::String(text)) => AttributeValue::N(text),
                    _ => return Err(invalid(CursorError::NotAKey(name))),
                },
                _ => return Err(invalid(CursorError::NotAKey(name))),
            };
            Ok((name, value))
        })
        .collect()
}

/// One page of a Query on a global secondary index.
pub(crate) struct IndexPage<'a> {
    pub(crate) index: &'a str,
    /// The index's partition attribute and the value queried.
    pub(crate) hash: (&'a str, String),
    /// The index's sort attribute, and an upper bound on it (`<=`) if the query has one.
    pub(crate) range: (&'a str, Option<AttributeValue>),
    /// Only items whose (projected) attribute equals this value.
    pub(crate) filter: Option<(&'a str, AttributeValue)>,
    pub(crate) limit: u32,
    pub(crate) cursor: Option<&'a str>,
}

impl DynamoStore {
    /// Up to `limit` items of an index in its order, and the cursor of the next page. With a
    /// filter DynamoDB counts the items it reads, not the ones it returns, so the page is
    /// filled by further requests (at most `QUERY_PAGES_MAX`; a page that hits that bound is
    /// returned short, with a cursor to go on from).
    pub(crate) async fn index_page(&self, page: IndexPage<'_>) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let page_size = usize::try_from(page.limit.clamp(1, PAGE_LIMIT_MAX)).unwrap_or(1);
        let (hash_attribute, hash_value) = (page.hash.0, page.hash.1.as_str());
        let mut start = page.cursor.map(|c| decode_cursor(c, hash_attribute, hash_value)).transpose()?;
        let mut expr = Expr::default();
        let mut condition =
            format!("{} = {}", expr.name(hash_attribute), expr.value(AttributeValue::S(page.hash.1.clone())));
        if let (attribute, Some(bound)) = &page.range {
            condition.push_str(&format!(" AND {} <= {}", expr.name(attribute), expr.value(bound.clone())));
        }
        let filter = page.filter.as_ref().map(|(attribute, value)| {
            let name = expr.name(attribute);
            format!("{name} = {}", expr.value(value.clone()))
        });
        let mut items: Vec<Item> = Vec::new();
        let mut more = false;
        for _ in 0..QUERY_PAGES_MAX {
            let wanted = page_size + 1 - items.len();
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(page.index)
                .key_condition_expression(&condition)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            more = start.is_some();
            if items.len() > page_size || !more {
                break;
            }
        }
        let key_attributes = [PK, SK, hash_attribute, page.range.0];
        let next = if items.len() > page_size {
            items.truncate(page_size);
            items.last().map(|last| encode_cursor(&index_key(last, &key_attributes))).transpose()?
        } else if more {
            start.as_ref().map(encode_cursor).transpose()?
        } else {
            None
        };
        Ok((items, next))
    }
}

/// The index item's key attributes: the shape of a LastEvaluatedKey for its index.
fn index_key(item: &Item, attributes: &[&str]) -> Item {
    item.iter()
        .filter(|(name, _)| attributes.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
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

    #[test]
    fn a_cursor_keeps_a_number_key_a_number() {
        let mut key: Item = [("g4", "demo#T"), ("pk", "demo#C#1"), ("sk", "T")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
            .collect();
        key.insert("due".into(), AttributeValue::N("1772442000.5".into()));
        let cursor = encode_cursor(&key).unwrap_or_default();
        assert_eq!(decode_cursor(&cursor, "g4", "demo#T").ok(), Some(key));
        let bad = URL_SAFE_NO_PAD.encode(r#"{"g4":"demo#T","due":{"N":5}}"#);
        assert!(decode_cursor(&bad, "g4", "demo#T").is_err());
    }
}
