//! Shopware's entity events for customers. Their payload lists the rows one write touched,
//! `[{"entity","operation","primaryKey","updatedFields","versionId"}]`, never the values
//! (`HookableEntityWrittenEvent` in shopware/shopware; the webhook guide's `product.written` sample).
//!
//! * `customer.deleted`: complete as it is: each primary key is a deleted customer.
//! * `customer.written`: the customers are read back from the shop's Admin API
//!   (`POST /api/search/customer`, `Accept: application/json`, answering `{"total","data":[..]}`),
//!   whose customer entity has the same fields as the business events' one and goes through the
//!   same parser. Their `updatedAt` guards the profile as usual, so a fetch that races a newer
//!   write cannot move it backwards.
//!
//! A login alone writes `lastLogin` and fires `customer.written`; a write that touched none of the
//! fields we keep is ignored without asking the shop.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{customer_profile, Envelope, Parsed};
use crate::config::ShopConfig;
use crate::error::InputError;
use crate::ids::CustomerId;
use crate::ingest::Change;
use crate::platforms::{get, invalid, opt_str, parse_json, ParseOutcome};

/// Most rows we take from one entity event. Shopware writes one event per write call; a bulk
/// import through the sync API can name many customers, and a 1 MiB body holds about 7,000.
const WRITTEN_ROWS_MAX: usize = 10_000;

/// Most customers one Admin API search asks for. The handler splits longer lists.
pub const CUSTOMER_SEARCH_LIMIT: usize = 100;

/// The customer fields a profile is made of (`customer_profile`). A write that touched only
/// others (`lastLogin`, `customerGroupId`, …) changes nothing we keep.
const PROFILE_FIELDS: [&str; 7] =
    ["email", "firstName", "lastName", "birthday", "languageId", "defaultBillingAddressId", "newsletter"];

/// `customer.written`: the customers to fetch, or `Ignored` if the write touched nothing we keep.
pub(super) fn customer_written(envelope: &Envelope) -> Result<Parsed, InputError> {
    let mut ids: Vec<CustomerId> = Vec::new();
    for row in customer_rows(envelope)? {
        if touches_profile(row)? {
            let id = primary_key(row)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        let reason = "the write touched no customer field we keep".into();
        return Ok(Parsed::Ready(ParseOutcome::Ignored { reason }));
    }
    Ok(Parsed::FetchCustomers(ids))
}

/// `customer.deleted`: one `DeleteCustomer` per row.
pub(super) fn customer_deleted(
    envelope: &Envelope,
    shop: &ShopConfig,
    received_at: DateTime<Utc>,
) -> Result<ParseOutcome, InputError> {
    let mut changes: Vec<Change> = Vec::new();
    for row in customer_rows(envelope)? {
        let customer_id = primary_key(row)?;
        if !changes.iter().any(|c| matches!(c, Change::DeleteCustomer { customer_id: id, .. } if *id == customer_id)) {
            changes.push(Change::DeleteCustomer { shop: shop.id.clone(), customer_id, at: received_at });
        }
    }
    Ok(ParseOutcome::Changes(changes))
}

/// The Admin API search criteria for these customers (at most `CUSTOMER_SEARCH_LIMIT`), with the
/// associations `customer_profile` reads: language locale and billing country.
pub fn customer_search(ids: &[CustomerId]) -> Value {
    let ids: Vec<&str> = ids.iter().take(CUSTOMER_SEARCH_LIMIT).map(CustomerId::as_str).collect();
    json!({
        "ids": ids,
        "limit": ids.len(),
        "associations": {
            "language": {"associations": {"locale": {}}},
            "defaultBillingAddress": {"associations": {"country": {}}},
        },
        "total-count-mode": 0,
    })
}

/// The Admin API's search answer as profile upserts, keeping only the customers that were asked
/// for. A customer deleted since the event is simply absent (its deletion has its own event).
pub fn fetched_customers(body: &[u8], shop: &ShopConfig, requested: &[CustomerId]) -> Result<Vec<Change>, InputError> {
    let json = parse_json(body)?;
    let data = match get(&json, "data") {
        Some(Value::Array(data)) => data,
        Some(_) => return Err(invalid("data", "is not an array")),
        None => return Err(InputError::Missing("data")),
    };
    let mut changes = Vec::with_capacity(data.len());
    for customer in data {
        let profile = customer_profile(customer, shop)?;
        if requested.contains(&profile.customer_id) {
            changes.push(Change::UpsertCustomer(profile));
        }
    }
    Ok(changes)
}

/// The payload's rows of entity `customer` (an event can also carry rows of related entities).
fn customer_rows(envelope: &Envelope) -> Result<Vec<&Value>, InputError> {
    let rows = match &envelope.payload {
        Value::Array(rows) => rows,
        _ => return Err(invalid("data.payload", "is not a list of written rows")),
    };
    if rows.len() > WRITTEN_ROWS_MAX {
        return Err(invalid("data.payload", "lists more rows than we accept in one event"));
    }
    let mut customers = Vec::with_capacity(rows.len());
    for row in rows {
        if opt_str(row, "entity", "data.payload[].entity")? == Some("customer") {
            customers.push(row);
        }
    }
    Ok(customers)
}

fn primary_key(row: &Value) -> Result<CustomerId, InputError> {
    match get(row, "primaryKey") {
        Some(Value::String(key)) => CustomerId::parse(key),
        Some(_) => Err(invalid("data.payload[].primaryKey", "is not a customer id")),
        None => Err(InputError::Missing("data.payload[].primaryKey")),
    }
}

/// An insert always counts; an update counts if it names a profile field, or names none at all
/// (older Shopware versions send no `updatedFields`).
fn touches_profile(row: &Value) -> Result<bool, InputError> {
    if opt_str(row, "operation", "data.payload[].operation")? == Some("insert") {
        return Ok(true);
    }
    match get(row, "updatedFields") {
        None => Ok(true),
        Some(Value::Array(fields)) => {
            Ok(fields.iter().filter_map(Value::as_str).any(|field| PROFILE_FIELDS.contains(&field)))
        }
        Some(_) => Err(invalid("data.payload[].updatedFields", "is not a list")),
    }
}
