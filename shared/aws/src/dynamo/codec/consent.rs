//! Consent items.
//!
//! Records (`pk = {shop}#C#{customer}`, `sk = Q#{key}`): the key is the record's business key, so
//! a second record under it fails the create's condition. `at` when, for sorting, and `cr` the
//! record as the domain's JSON: a record is written once and never updated or queried by its
//! fields, so one attribute is smaller than a dozen named ones and cannot drift from the type.
//!
//! Wordings (`pk = {shop}#W`, `sk = {digest}`): `cw` the wording as JSON.

use stammkunde_domain::consent::{ConsentRecord, ConsentWording};
use stammkunde_domain::error::StoreError;

use super::{key_item, s, time, Item, Reader};
use crate::dynamo::schema::{consent_record_key, wording_key};

pub(crate) const AT: &str = "at";
const RECORD: &str = "cr";
const WORDING: &str = "cw";

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::backend(format!("encoding {what}"), error))
}

pub(crate) fn encode_record(record: &ConsentRecord) -> Result<Item, StoreError> {
    let mut item = key_item(&consent_record_key(&record.shop, &record.customer_id, &record.key));
    item.insert(AT.into(), time(record.at));
    item.insert(RECORD.into(), s(json("a consent record", record)?));
    Ok(item)
}

pub(crate) fn decode_record(item: &Item) -> Result<ConsentRecord, StoreError> {
    let r = Reader::new(item);
    serde_json::from_str(r.s(RECORD)?).map_err(|error| r.corrupt(format!("consent record: {error}")))
}

pub(crate) fn encode_wording(wording: &ConsentWording) -> Result<Item, StoreError> {
    let mut item = key_item(&wording_key(&wording.shop, &wording.digest));
    item.insert(WORDING.into(), s(json("a consent wording", wording)?));
    Ok(item)
}

pub(crate) fn decode_wording(item: &Item) -> Result<ConsentWording, StoreError> {
    let r = Reader::new(item);
    serde_json::from_str(r.s(WORDING)?).map_err(|error| r.corrupt(format!("consent wording: {error}")))
}
