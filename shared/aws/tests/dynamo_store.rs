//! DynamoDB-specific behaviour the shared conformance suite cannot see: the table definition,
//! raw item shapes (sparse indexes, TTL), error mapping, cursors, and the write cost of a
//! credited order measured on the items as stored.

mod common;

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType, TimeToLiveStatus};
use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use stammkunde_aws::dynamo::{wru_for_item, DynamoStore, Item};
use stammkunde_domain::customer::{CustomerProfile, Email};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, LineId, OrderId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::ledger::{AppendOutcome, Bucket, BusinessKey, EarnBasis, EntryKind, LedgerEntry, LineCredit};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::{CustomerStore, IngestStore, LedgerStore, PageRequest};

use common::{chain, fresh_dynamo_store, unique_name};

fn shop() -> ShopId {
    ShopId::parse(&unique_name("shop")).unwrap_or_else(|e| panic!("{e}"))
}

fn customer_id() -> CustomerId {
    CustomerId::parse("7390814126403").unwrap_or_else(|e| panic!("{e}"))
}

fn at(minutes: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap_or_else(|| panic!("valid time"))
        + Duration::minutes(minutes)
}

/// A customer as an order webhook describes them (a snapshot: no stamp).
fn snapshot(shop: &ShopId) -> CustomerProfile {
    CustomerProfile {
        shop: shop.clone(),
        customer_id: customer_id(),
        email: Email::parse("anna.schmidt@example.de").ok(),
        first_name: Some("Anna".into()),
        last_name: Some("Schmidt".into()),
        locale: Some("de".into()),
        country: Some("DE".into()),
        birthday: None,
        accepts_email_marketing: Some(true),
        source_updated_at: None,
    }
}

/// A paid order with three lines, ids as long as Shopify's.
fn paid_order(shop: &ShopId) -> Order {
    let line = |id: &str| OrderLine {
        line_id: LineId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        product_id: Some("8072389165379".into()),
        quantity: 2,
        amount_minor: 5998,
        tax_minor: 958,
    };
    Order {
        shop: shop.clone(),
        platform: Platform::Shopify,
        order_id: OrderId::parse("5862143819907").unwrap_or_else(|e| panic!("{e}")),
        order_number: Some("#1042".into()),
        customer_id: Some(customer_id()),
        currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
        taxes_included: true,
        lines: vec![line("14913488355459"), line("14913488388227"), line("14913488421000")],
        shipping_minor: 495,
        payment: PaymentState::Paid,
        cancelled: false,
        discount_codes: vec!["WELCOME10".into()],
        placed_at: at(0),
        version: OrderVersion::of(at(1), PaymentState::Paid, false),
    }
}

fn earn_entry(order: &Order) -> LedgerEntry {
    let lines: Vec<LineCredit> = order
        .lines
        .iter()
        .map(|l| LineCredit {
            line_id: l.line_id.clone(),
            quantity: l.quantity,
            amount_minor: l.amount_minor,
            points: 59,
        })
        .collect();
    LedgerEntry {
        shop: order.shop.clone(),
        customer_id: customer_id(),
        key: BusinessKey::earn_for_order(&order.order_id),
        kind: EntryKind::Earn,
        bucket: Bucket::Pending,
        points: 59 * 3,
        reason: "order #1042 paid".into(),
        order_id: Some(order.order_id.clone()),
        basis: Some(EarnBasis { currency: order.currency, points_per_unit: Decimal::ONE, tax_included: true, lines }),
        created_at: at(2),
    }
}

fn delivery(shop: &ShopId, ids: &[&str]) -> DeliveryRecord {
    DeliveryRecord {
        shop: shop.clone(),
        ids: ids.iter().map(|id| DeliveryId::parse(id).unwrap_or_else(|e| panic!("{e}"))).collect(),
        topic: "orders/paid".into(),
        received_at: at(1),
        expires_at: at(1) + Duration::days(7),
    }
}

async fn raw_item(store: &DynamoStore, client: &aws_sdk_dynamodb::Client, pk: &str, sk: &str) -> Item {
    let out = client
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem {pk}/{sk}: {}", chain(&e)));
    out.item.unwrap_or_else(|| panic!("no item {pk}/{sk}"))
}

#[tokio::test]
async fn the_table_has_the_documented_keys_indexes_and_ttl() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let table = client.describe_table().table_name(store.table()).send().await.unwrap_or_else(|e| panic!("{e}"));
    let table = table.table.unwrap_or_else(|| panic!("no table description"));

    let keys: Vec<(String, KeyType)> =
        table.key_schema().iter().map(|k| (k.attribute_name().to_owned(), k.key_type().clone())).collect();
    assert_eq!(keys, vec![("pk".into(), KeyType::Hash), ("sk".into(), KeyType::Range)]);
    let mut indexes: Vec<(String, String, String, Option<ProjectionType>)> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let key = |t: KeyType| {
                i.key_schema()
                    .iter()
                    .find(|k| *k.key_type() == t)
                    .map(|k| k.attribute_name().to_owned())
                    .unwrap_or_default()
            };
            (
                i.index_name().unwrap_or_default().to_owned(),
                key(KeyType::Hash),
                key(KeyType::Range),
                i.projection().and_then(|p| p.projection_type().cloned()),
            )
        })
        .collect();
    indexes.sort();
    let keys_only = Some(ProjectionType::KeysOnly);
    assert_eq!(
        indexes,
        vec![
            ("by_birthday".into(), "g2".into(), "pk".into(), keys_only.clone()),
            ("by_email".into(), "g1".into(), "pk".into(), keys_only.clone()),
            ("by_last_order".into(), "g3".into(), "pk".into(), keys_only),
        ]
    );

    let ttl = client.describe_time_to_live().table_name(store.table()).send().await.unwrap_or_else(|e| panic!("{e}"));
    let ttl = ttl.time_to_live_description.unwrap_or_else(|| panic!("no TTL description"));
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn a_deleted_customer_keeps_no_index_attributes() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let profile = CustomerProfile {
        birthday: stammkunde_domain::customer::Birthday::new(7, 14, None).ok(),
        source_updated_at: Some(at(0)),
        ..snapshot(&shop)
    };
    let changes = [Change::UpsertCustomer(profile), Change::RecordOrder(paid_order(&shop))];
    store.apply_delivery(&delivery(&shop, &["d-1"]), &changes).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    let pk = format!("{shop}#C#{}", customer_id());
    let before = raw_item(&store, &client, &pk, "C").await;
    for index in ["g1", "g2", "g3"] {
        assert!(before.contains_key(index), "a live customer is in index {index}");
    }

    let delete = Change::DeleteCustomer { shop: shop.clone(), customer_id: customer_id(), at: at(5) };
    store.apply_delivery(&delivery(&shop, &["d-2"]), &[delete]).await.unwrap_or_else(|e| panic!("{}", chain(&e)));

    let after = raw_item(&store, &client, &pk, "C").await;
    for index in ["g1", "g2", "g3"] {
        assert!(!after.contains_key(index), "a deleted customer must leave index {index}");
    }
    assert!(after.contains_key("e"), "the profile itself stays");
}

#[tokio::test]
async fn a_delivery_record_expires_by_ttl_in_epoch_seconds() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let record = delivery(&shop, &["webhook:1"]);
    store.apply_delivery(&record, &[]).await.unwrap_or_else(|e| panic!("{}", chain(&e)));

    let item = raw_item(&store, &client, &format!("{shop}#D#webhook:1"), "D").await;
    assert_eq!(item.get("expires_at"), Some(&AttributeValue::N(record.expires_at.timestamp().to_string())));
}

#[tokio::test]
async fn a_cursor_from_another_query_is_refused() {
    let store = fresh_dynamo_store().await;
    let shop = shop();
    let email = |raw: &str| Email::parse(raw).unwrap_or_else(|e| panic!("{e}"));
    let mut changes = Vec::new();
    for id in ["c1", "c2", "c3"] {
        let customer_id = CustomerId::parse(id).unwrap_or_else(|e| panic!("{e}"));
        changes.push(Change::UpsertCustomer(CustomerProfile { customer_id, ..snapshot(&shop) }));
    }
    store.apply_delivery(&delivery(&shop, &["d-1"]), &changes).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    let first = store.customers_by_email(&shop, &email("anna.schmidt@example.de"), PageRequest::first(2)).await;
    let cursor = first.unwrap_or_else(|e| panic!("{}", chain(&e))).next.unwrap_or_else(|| panic!("a second page"));

    let foreign = PageRequest { cursor: Some(cursor.clone()), limit: 2 };
    let other_email = store.customers_by_email(&shop, &email("bob@example.de"), foreign.clone()).await;
    assert!(matches!(other_email, Err(StoreError::Backend { .. })), "{other_email:?}");
    let garbage = PageRequest { cursor: Some("not a cursor!".into()), limit: 2 };
    let garbled = store.customers_by_email(&shop, &email("anna.schmidt@example.de"), garbage).await;
    assert!(matches!(garbled, Err(StoreError::Backend { .. })), "{garbled:?}");
}

#[tokio::test]
async fn a_missing_table_is_a_backend_error_that_keeps_its_cause() {
    let store = DynamoStore::new(common::dynamo_client().await, unique_name("no-such-table"));
    let error = match store.customer(&shop(), &customer_id()).await {
        Err(error) => error,
        Ok(found) => panic!("a missing table must fail, got {found:?}"),
    };
    assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let text = format!("{:?}", std::error::Error::source(&error));
    assert!(text.contains("ResourceNotFoundException"), "the SDK error is kept as source: {text}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_and_retryable() {
    let config = common::sdk_config().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "any");
    let error = match store.order(&shop(), &OrderId::parse("1").unwrap_or_else(|e| panic!("{e}"))).await {
        Err(error) => error,
        Ok(found) => panic!("nothing listens on port 9, got {found:?}"),
    };
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(error.is_retryable());
}

/// The write cost of one credited order, from the items exactly as stored: ingest (customer
/// snapshot, order, last-order move, one delivery id) and the ledger append (a transaction: x2).
#[tokio::test]
async fn a_credited_order_costs_four_write_units_to_ingest_and_four_to_credit() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let order = paid_order(&shop);
    let changes = [Change::UpsertCustomer(snapshot(&shop)), Change::RecordOrder(order.clone())];
    let outcome = store.apply_delivery(&delivery(&shop, &["d-1"]), &changes).await;
    assert_eq!(outcome.unwrap_or_else(|e| panic!("{}", chain(&e))).applied, vec![true, true]);
    let entry = earn_entry(&order);
    let appended = store.append_entry(&entry).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(appended, AppendOutcome::Appended);

    let customer_pk = format!("{shop}#C#{}", customer_id());
    let profile = raw_item(&store, &client, &customer_pk, "C").await;
    let order_item = raw_item(&store, &client, &format!("{shop}#O#{}", order.order_id), "O").await;
    let delivery_item = raw_item(&store, &client, &format!("{shop}#D#d-1"), "D").await;
    let entry_item = raw_item(&store, &client, &customer_pk, &format!("L#{}", entry.key)).await;
    let balance = raw_item(&store, &client, &customer_pk, "B").await;

    // An update is charged for the larger of the item before and after: the stored profile.
    let ingest =
        wru_for_item(&profile) + wru_for_item(&order_item) + wru_for_item(&profile) + wru_for_item(&delivery_item);
    let credit = 2 * (wru_for_item(&entry_item) + wru_for_item(&balance));
    assert_eq!(ingest, 4);
    assert_eq!(credit, 4);
}
