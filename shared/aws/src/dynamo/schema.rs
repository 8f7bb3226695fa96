//! The single-table layout: key shapes, index names and the table definition.
//!
//! Table definition (the SAM template must mirror this exactly):
//!
//! ```yaml
//! Table:
//!   Type: AWS::DynamoDB::Table
//!   Properties:
//!     BillingMode: PAY_PER_REQUEST
//!     AttributeDefinitions:
//!       - { AttributeName: pk, AttributeType: S }
//!       - { AttributeName: sk, AttributeType: S }
//!       - { AttributeName: g1, AttributeType: S }
//!       - { AttributeName: g2, AttributeType: S }
//!       - { AttributeName: g3, AttributeType: S }
//!     KeySchema:
//!       - { AttributeName: pk, KeyType: HASH }
//!       - { AttributeName: sk, KeyType: RANGE }
//!     GlobalSecondaryIndexes:
//!       - IndexName: by_email
//!         KeySchema: [{ AttributeName: g1, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_birthday
//!         KeySchema: [{ AttributeName: g2, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!       - IndexName: by_last_order
//!         KeySchema: [{ AttributeName: g3, KeyType: HASH }, { AttributeName: pk, KeyType: RANGE }]
//!         Projection: { ProjectionType: KEYS_ONLY }
//!     TimeToLiveSpecification: { AttributeName: expires_at, Enabled: true }
//! ```
//!
//! Items (`{shop}`, `{customer}`, … are the domain ids, which never contain `#`):
//!
//! | item | pk | sk |
//! |---|---|---|
//! | customer profile | `{shop}#C#{customer}` | `C` |
//! | ledger entry | `{shop}#C#{customer}` | `L#{business key}` |
//! | order | `{shop}#O#{order}` | `O` |
//! | delivery id | `{shop}#D#{delivery id}` | `D` (TTL `expires_at`) |
//! | privacy request | `{shop}#P` | `{kind}#{request ref}` |
//! | Shopware registration | `{shop}#S` | `R` |
//! | uninstall | `{shop}#S` | `U` |
//!
//! The indexes are sparse: only customer profiles carry `g1` (`{shop}#E#{email}`), `g2`
//! (`{shop}#B#{MM-DD}`) and `g3` (`{shop}#L#{YYYY-MM-DD}`, UTC), and a deleted customer drops all
//! three. Their sort key is the table's own `pk`, so no extra attribute is stored for it and a page
//! comes back ordered by customer.
//!
//! There is no balance item: a customer's balance is derived, the replay of their ledger entries,
//! which share the profile's partition. Exactly-once is the entry's key (a conditional put of the
//! entry is the whole append, 1 write unit, no transaction), so the balance can never disagree
//! with the entries, and reading it is the same one Query that reads the profile (entries are a
//! few hundred bytes each; a strongly consistent read unit covers 4 KB).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use chrono::NaiveDate;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, OrderId, ShopId};
use stammkunde_domain::ingest::PrivacyRequestKind;
use stammkunde_domain::ledger::BusinessKey;
use std::time::Duration;

use super::errors::store_error;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The TTL attribute, epoch seconds. Only delivery records carry it.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// One sparse index over customer profiles: its name and its partition key attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomerIndex {
    pub name: &'static str,
    pub attribute: &'static str,
}

pub const BY_EMAIL: CustomerIndex = CustomerIndex { name: "by_email", attribute: "g1" };
pub const BY_BIRTHDAY: CustomerIndex = CustomerIndex { name: "by_birthday", attribute: "g2" };
pub const BY_LAST_ORDER: CustomerIndex = CustomerIndex { name: "by_last_order", attribute: "g3" };
pub const CUSTOMER_INDEXES: [CustomerIndex; 3] = [BY_EMAIL, BY_BIRTHDAY, BY_LAST_ORDER];

pub const SK_PROFILE: &str = "C";
pub const SK_ORDER: &str = "O";
pub const SK_DELIVERY: &str = "D";
pub const SK_REGISTRATION: &str = "R";
pub const SK_UNINSTALL: &str = "U";
pub const SK_LEDGER_PREFIX: &str = "L#";

/// A primary key: partition and sort key values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Key { pk, sk: sk.into() }
    }

    /// `pk/sk`, for error messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.pk, self.sk)
    }
}

pub fn customer_pk(shop: &ShopId, customer: &CustomerId) -> String {
    format!("{shop}#C#{customer}")
}

/// Recovers the customer id from a customer partition key of this shop.
pub fn customer_from_pk(shop: &ShopId, pk: &str) -> Option<CustomerId> {
    let rest = pk.strip_prefix(shop.as_str())?.strip_prefix("#C#")?;
    CustomerId::parse(rest).ok()
}

pub fn profile_key(shop: &ShopId, customer: &CustomerId) -> Key {
    Key::new(customer_pk(shop, customer), SK_PROFILE)
}

pub fn ledger_key(shop: &ShopId, customer: &CustomerId, key: &BusinessKey) -> Key {
    Key::new(customer_pk(shop, customer), format!("{SK_LEDGER_PREFIX}{key}"))
}

pub fn order_key(shop: &ShopId, order: &OrderId) -> Key {
    Key::new(format!("{shop}#O#{order}"), SK_ORDER)
}

pub fn delivery_key(shop: &ShopId, id: &DeliveryId) -> Key {
    Key::new(format!("{shop}#D#{id}"), SK_DELIVERY)
}

pub fn privacy_pk(shop: &ShopId) -> String {
    format!("{shop}#P")
}

pub fn privacy_key(shop: &ShopId, kind: PrivacyRequestKind, request_ref: &str) -> Key {
    Key::new(privacy_pk(shop), format!("{}#{request_ref}", kind.as_str()))
}

pub fn registration_key(shop: &ShopId) -> Key {
    Key::new(format!("{shop}#S"), SK_REGISTRATION)
}

pub fn uninstall_key(shop: &ShopId) -> Key {
    Key::new(format!("{shop}#S"), SK_UNINSTALL)
}

pub fn email_index_value(shop: &ShopId, email: &str) -> String {
    format!("{shop}#E#{email}")
}

/// `month_day` is `MM-DD`.
pub fn birthday_index_value(shop: &ShopId, month_day: &str) -> String {
    format!("{shop}#B#{month_day}")
}

pub fn last_order_index_value(shop: &ShopId, date: NaiveDate) -> String {
    format!("{shop}#L#{}", date.format("%Y-%m-%d"))
}

/// How long `create_table` waits for the table to become ACTIVE (real AWS takes seconds; moto is
/// immediate).
const TABLE_ACTIVE_POLLS_MAX: u32 = 120;
const TABLE_ACTIVE_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Creates the table as described in the module documentation, waits until it is ACTIVE and
/// enables TTL on `expires_at`. For tests and local tooling; production tables come from SAM.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?);
    for attribute in [PK, SK].into_iter().chain(CUSTOMER_INDEXES.iter().map(|i| i.attribute)) {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::backend("table definition", e))?,
        );
    }
    for index in CUSTOMER_INDEXES {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.attribute, KeyType::Hash)?)
                .key_schema(key(PK, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
                .build()
                .map_err(|e| StoreError::backend("table definition", e))?,
        );
    }
    request.send().await.map_err(|e| store_error("CreateTable", e))?;
    wait_until_active(client, name).await?;
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(|e| StoreError::backend("table definition", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| store_error("UpdateTimeToLive", e))?;
    Ok(())
}

fn key(attribute: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(attribute)
        .key_type(key_type)
        .build()
        .map_err(|e| StoreError::backend("table definition", e))
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), StoreError> {
    for _ in 0..TABLE_ACTIVE_POLLS_MAX {
        let described =
            client.describe_table().table_name(name).send().await.map_err(|e| store_error("DescribeTable", e))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(TABLE_ACTIVE_POLL_INTERVAL).await;
    }
    Err(StoreError::Unavailable { message: format!("table {name} did not become ACTIVE"), source: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_customer_id_survives_the_round_trip_through_its_partition_key() {
        let customer = CustomerId::parse("gid://shopify/Customer/1").unwrap_or_else(|e| panic!("{e}"));
        let pk = customer_pk(&shop(), &customer);
        assert_eq!(customer_from_pk(&shop(), &pk), Some(customer));
        assert_eq!(customer_from_pk(&ShopId::parse("dem").unwrap_or_else(|e| panic!("{e}")), &pk), None);
    }
}
