//! DynamoDB-specific behaviour the shared conformance suite cannot see: the table definition,
//! raw item shapes (sparse indexes, TTL), error mapping, cursors, the write cost of a credited
//! order measured on the items as stored, the one write per customer per delivery and the one
//! PutItem per single-entry append, counted on the requests the store sends to moto.

mod common;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType, TimeToLiveStatus};
use aws_smithy_runtime_api::box_error::BoxError;
use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use stammkunde_aws::dynamo::{items, wru_for_item, DynamoStore, Item};
use stammkunde_domain::coupon::{Coupon, CouponCode, Issue};
use stammkunde_domain::customer::{CustomerProfile, Email};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, LineId, OrderId, ShopId};
use stammkunde_domain::ids::{IdempotencyKey, RewardId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::ledger::{
    AppendOutcome, Balance, BusinessKey, EarnBasis, EntryDetail, EntryKind, LedgerEntry, LineCredit,
};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::send::CLAIM_LEASE_MINUTES;
use stammkunde_domain::mail::{
    Campaign, DueSend, MailContact, MailSend, SendState, SendStateKind, Suppression, SuppressionReason,
};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::{
    CodeStore, CreateOutcome, CustomerStore, IngestStore, LedgerStore, MailStore, PageRequest, TimerStore,
};
use std::sync::{Arc, Mutex};

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
        paid_at: Some(at(1)),
        fulfilled_at: None,
        total_minor: Some(3 * 5998 + 495),
    }
}

/// The credit the points function appends for `order` at `position`: 59 points a line, pending,
/// with the whole basis a refund needs later (product ids, the order total, when it was paid).
fn earn_entry(order: &Order, position: u32) -> LedgerEntry {
    let lines: Vec<LineCredit> = order
        .lines
        .iter()
        .map(|l| LineCredit {
            line_id: l.line_id.clone(),
            product_id: l.product_id.clone(),
            quantity: l.quantity,
            amount_minor: l.amount_minor,
            points: 59,
        })
        .collect();
    let points = lines.iter().map(|l| l.points).sum();
    LedgerEntry {
        shop: order.shop.clone(),
        customer_id: customer_id(),
        position,
        key: BusinessKey::earn_for_order(&order.order_id),
        kind: EntryKind::Earn,
        available: 0,
        pending: points,
        reason: "order #1042 paid".into(),
        customer_text: None,
        order_id: Some(order.order_id.clone()),
        detail: EntryDetail::Earn(EarnBasis {
            currency: order.currency,
            points_per_unit: Decimal::ONE,
            tax_included: true,
            multiplier: Decimal::ONE,
            tier: None,
            order_total_minor: order.total_minor,
            paid_at: order.paid_at,
            lines,
        }),
        created_at: at(2),
    }
}

async fn append(store: &DynamoStore, entries: &[LedgerEntry]) -> AppendOutcome {
    let first = entries.first().unwrap_or_else(|| panic!("an append needs an entry"));
    let outcome = store.append_entries(&first.shop, &first.customer_id, entries).await;
    outcome.unwrap_or_else(|e| panic!("{}", chain(&e)))
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
            ("by_deferred".into(), "g8".into(), "g9".into(), keys_only.clone()),
            ("by_due".into(), "g4".into(), "due".into(), keys_only.clone()),
            ("by_email".into(), "g1".into(), "pk".into(), keys_only.clone()),
            ("by_last_order".into(), "g3".into(), "pk".into(), keys_only.clone()),
            ("by_pool".into(), "g5".into(), "pk".into(), keys_only.clone()),
            ("by_shop".into(), "g7".into(), "pk".into(), keys_only),
            ("by_shop_code".into(), "g6".into(), "pk".into(), Some(ProjectionType::Include)),
        ]
    );
    let codes = table.global_secondary_indexes().iter().find(|i| i.index_name() == Some("by_shop_code"));
    let projected = codes.and_then(|i| i.projection()).map(|p| p.non_key_attributes().to_vec());
    assert_eq!(projected, Some(vec!["rw".to_owned()]), "listing one reward filters on the index");
    let due = table.attribute_definitions().iter().find(|a| a.attribute_name() == "due");
    assert_eq!(due.map(|a| a.attribute_type().as_str()), Some("N"), "due times compare as numbers");

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
    assert_eq!(after.get("g7"), before.get("g7"), "a deleted customer stays in the shop's listing");
    assert_eq!(after.get("g7"), Some(&AttributeValue::S(format!("{shop}#A"))));
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

/// The write cost of one credited order, from the items exactly as stored: ingest (the order, the
/// customer's profile with its last order in one update, one delivery id) and the ledger append
/// (one put of the entry; there is no balance item).
#[tokio::test]
async fn a_credited_order_costs_three_write_units_to_ingest_and_one_to_credit() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let order = paid_order(&shop);
    let changes = [Change::UpsertCustomer(snapshot(&shop)), Change::RecordOrder(order.clone())];
    let outcome = store.apply_delivery(&delivery(&shop, &["d-1"]), &changes).await;
    assert_eq!(outcome.unwrap_or_else(|e| panic!("{}", chain(&e))).applied, vec![true, true]);
    let entry = earn_entry(&order, 1);
    assert_eq!(append(&store, std::slice::from_ref(&entry)).await, AppendOutcome::Appended);

    let customer_pk = format!("{shop}#C#{}", customer_id());
    let profile = raw_item(&store, &client, &customer_pk, "C").await;
    let order_item = raw_item(&store, &client, &format!("{shop}#O#{}", order.order_id), "O").await;
    let delivery_item = raw_item(&store, &client, &format!("{shop}#D#d-1"), "D").await;
    let entry_item = raw_item(&store, &client, &customer_pk, "L#0000000001").await;
    assert_eq!(profile, items::profile_with_last_order_item(&snapshot(&shop), order.placed_at), "as `items` says");
    let expected_entry = items::ledger_entry_item(&entry).unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(entry_item, expected_entry, "as `items` says");
    assert_eq!(entry_item.get("bk"), Some(&AttributeValue::S(entry.key.to_string())), "the key is an attribute");
    assert!(!has_item(&client, &store, &customer_pk, "B").await, "no balance item is written");

    let ingest = wru_for_item(&profile) + wru_for_item(&order_item) + wru_for_item(&delivery_item);
    let credit = wru_for_item(&entry_item);
    assert_eq!(ingest, 3);
    assert_eq!(credit, 1);
    let customer = store.customer(&shop, &customer_id()).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(customer.map(|c| c.balance), Some(Balance { available: 0, pending: 59 * 3 }));
}

async fn has_item(client: &aws_sdk_dynamodb::Client, store: &DynamoStore, pk: &str, sk: &str) -> bool {
    let out = client
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem {pk}/{sk}: {}", chain(&e)));
    out.item.is_some_and(|item| !item.is_empty())
}

/// One request the store sent: the operation (from `X-Amz-Target`) and the `pk` it names.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Call {
    operation: String,
    pk: String,
}

/// Records every request a client sends, as it goes to moto (observed, not mocked).
#[derive(Clone, Debug, Default)]
struct Calls(Arc<Mutex<Vec<Call>>>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let body: serde_json::Value =
            request.body().bytes().and_then(|bytes| serde_json::from_slice(bytes).ok()).unwrap_or_default();
        let pk = ["/Key/pk/S", "/Item/pk/S"]
            .iter()
            .find_map(|pointer| body.pointer(pointer).and_then(|v| v.as_str()))
            .unwrap_or_default()
            .to_owned();
        self.0.lock().map_err(|_| "calls poisoned")?.push(Call { operation, pk });
        Ok(())
    }
}

impl Calls {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| panic!("{e}")))
    }
}

/// How many of `calls` are `operation` on partition `pk`.
fn count(calls: &[Call], operation: &str, pk: &str) -> usize {
    calls.iter().filter(|c| c.operation == operation && c.pk == pk).count()
}

/// A store on a fresh table whose client records what it sends.
async fn counted_store() -> (DynamoStore, Calls) {
    let table = fresh_dynamo_store().await.table().to_owned();
    let calls = Calls::default();
    let config =
        aws_sdk_dynamodb::config::Builder::from(&common::sdk_config().await).interceptor(calls.clone()).build();
    (DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table), calls)
}

async fn apply(store: &DynamoStore, shop: &ShopId, id: &str, changes: &[Change]) -> Vec<bool> {
    let outcome = store.apply_delivery(&delivery(shop, &[id]), changes).await;
    outcome.unwrap_or_else(|e| panic!("{}", chain(&e))).applied
}

fn stamped(shop: &ShopId, first_name: &str, stamp: i64) -> CustomerProfile {
    CustomerProfile { first_name: Some(first_name.into()), source_updated_at: Some(at(stamp)), ..snapshot(shop) }
}

/// Another order of the customer, placed at `placed` minutes.
fn order_placed(shop: &ShopId, id: &str, placed: i64) -> Order {
    Order {
        order_id: OrderId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        placed_at: at(placed),
        version: OrderVersion::of(at(placed + 1), PaymentState::Paid, false),
        ..paid_order(shop)
    }
}

async fn stored_customer(store: &DynamoStore, shop: &ShopId) -> stammkunde_domain::customer::Customer {
    let found = store.customer(shop, &customer_id()).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    found.unwrap_or_else(|| panic!("the customer is stored"))
}

#[tokio::test]
async fn a_profile_and_an_order_of_one_customer_are_one_update_item() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let order = order_placed(&shop, "1001", 0);

    let first = [Change::UpsertCustomer(stamped(&shop, "Anna", 0)), Change::RecordOrder(order.clone())];
    assert_eq!(apply(&store, &shop, "d-1", &first).await, vec![true, true]);
    let sent = calls.take();
    assert_eq!(count(&sent, "UpdateItem", &customer_pk), 1, "{sent:?}");
    assert_eq!(count(&sent, "GetItem", &customer_pk), 1, "{sent:?}");
    assert_eq!(sent.iter().filter(|c| c.operation == "UpdateItem").count(), 1, "{sent:?}");
    assert_eq!(sent.iter().filter(|c| c.operation == "PutItem").count(), 2, "order and delivery id: {sent:?}");
    assert!(sent.iter().all(|c| c.operation != "TransactWriteItems"), "{sent:?}");
    let customer = stored_customer(&store, &shop).await;
    assert_eq!(customer.profile, stamped(&shop, "Anna", 0));
    assert_eq!(customer.last_order_at, Some(at(0)));
    let found = store.customers_by_last_order_date(&shop, at(0).date_naive(), PageRequest::first(10)).await;
    assert_eq!(found.unwrap_or_else(|e| panic!("{}", chain(&e))).items, vec![customer_id()]);

    // A returning customer: newer profile, later order. Still one write for the customer.
    let later = order_placed(&shop, "1002", 60 * 24 * 3);
    let second = [Change::UpsertCustomer(stamped(&shop, "Anna-Lena", 5)), Change::RecordOrder(later.clone())];
    assert_eq!(apply(&store, &shop, "d-2", &second).await, vec![true, true]);
    let sent = calls.take();
    assert_eq!(count(&sent, "UpdateItem", &customer_pk), 1, "{sent:?}");
    let customer = stored_customer(&store, &shop).await;
    assert_eq!(customer.profile.first_name.as_deref(), Some("Anna-Lena"));
    assert_eq!(customer.last_order_at, Some(later.placed_at));

    // The same content again as a new delivery: nothing applies, nothing is written to the profile.
    assert_eq!(apply(&store, &shop, "d-3", &second).await, vec![false, false]);
    let sent = calls.take();
    assert_eq!(count(&sent, "UpdateItem", &customer_pk), 0, "{sent:?}");
}

#[tokio::test]
async fn a_stale_profile_with_a_newer_order_still_moves_the_last_order() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let first =
        [Change::UpsertCustomer(stamped(&shop, "Anna", 10)), Change::RecordOrder(order_placed(&shop, "1001", 0))];
    apply(&store, &shop, "d-1", &first).await;
    calls.take();

    let second =
        [Change::UpsertCustomer(stamped(&shop, "Stale", 5)), Change::RecordOrder(order_placed(&shop, "1002", 30))];
    assert_eq!(apply(&store, &shop, "d-2", &second).await, vec![false, true]);
    assert_eq!(count(&calls.take(), "UpdateItem", &customer_pk), 1);
    let customer = stored_customer(&store, &shop).await;
    assert_eq!(customer.profile, stamped(&shop, "Anna", 10), "the stale profile changes nothing");
    assert_eq!(customer.last_order_at, Some(at(30)));
}

#[tokio::test]
async fn a_retry_moves_the_last_order_of_an_order_stored_by_a_failed_attempt() {
    let (store, _calls) = counted_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let order = order_placed(&shop, "1001", 0);
    // A first attempt that stored the order and then failed before the customer's write.
    let item = items::order_item(&order).unwrap_or_else(|e| panic!("{}", chain(&e)));
    client
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem: {}", chain(&e)));

    assert_eq!(apply(&store, &shop, "d-1", &[Change::RecordOrder(order.clone())]).await, vec![true]);
    assert_eq!(stored_customer(&store, &shop).await.last_order_at, Some(order.placed_at));
}

#[tokio::test]
async fn a_newer_profile_with_an_older_order_updates_the_profile_only() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let first =
        [Change::UpsertCustomer(stamped(&shop, "Anna", 0)), Change::RecordOrder(order_placed(&shop, "1001", 30))];
    apply(&store, &shop, "d-1", &first).await;
    calls.take();

    // The older order is new to the store (its put applies) but does not move the last order.
    let older = order_placed(&shop, "1000", 5);
    let second = [Change::UpsertCustomer(stamped(&shop, "Anna-Lena", 20)), Change::RecordOrder(older.clone())];
    assert_eq!(apply(&store, &shop, "d-2", &second).await, vec![true, true]);
    assert_eq!(count(&calls.take(), "UpdateItem", &customer_pk), 1);
    let customer = stored_customer(&store, &shop).await;
    assert_eq!(customer.profile, stamped(&shop, "Anna-Lena", 20));
    assert_eq!(customer.last_order_at, Some(at(30)));

    // The same older order again: its put is stale and its last order does not apply.
    let third = [Change::UpsertCustomer(stamped(&shop, "Anna-Maria", 40)), Change::RecordOrder(older)];
    assert_eq!(apply(&store, &shop, "d-3", &third).await, vec![true, false]);
    assert_eq!(stored_customer(&store, &shop).await.last_order_at, Some(at(30)));
}

#[tokio::test]
async fn a_deleted_customer_is_left_alone() {
    let (store, calls) = counted_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let first =
        [Change::UpsertCustomer(stamped(&shop, "Anna", 0)), Change::RecordOrder(order_placed(&shop, "1001", 0))];
    apply(&store, &shop, "d-1", &first).await;
    let delete = Change::DeleteCustomer { shop: shop.clone(), customer_id: customer_id(), at: at(10) };
    assert_eq!(apply(&store, &shop, "d-2", &[delete]).await, vec![true]);
    let before = raw_item(&store, &client, &customer_pk, "C").await;
    calls.take();

    let later = [
        Change::UpsertCustomer(stamped(&shop, "Anna-Lena", 20)),
        Change::UpsertCustomer(snapshot(&shop)),
        Change::RecordOrder(order_placed(&shop, "1002", 30)),
    ];
    assert_eq!(apply(&store, &shop, "d-3", &later).await, vec![false, false, true], "only the order's own put");
    let sent = calls.take();
    assert_eq!(count(&sent, "UpdateItem", &customer_pk), 0, "{sent:?}");
    assert_eq!(raw_item(&store, &client, &customer_pk, "C").await, before);
}

#[tokio::test]
async fn a_delete_between_two_profiles_keeps_its_place_in_the_delivery() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let changes = [
        Change::UpsertCustomer(stamped(&shop, "Anna", 0)),
        Change::DeleteCustomer { shop: shop.clone(), customer_id: customer_id(), at: at(10) },
        Change::UpsertCustomer(stamped(&shop, "Anna-Lena", 20)),
    ];
    assert_eq!(apply(&store, &shop, "d-1", &changes).await, vec![true, true, false]);
    assert_eq!(count(&calls.take(), "UpdateItem", &customer_pk), 2, "the profile, then the delete");
    let customer = stored_customer(&store, &shop).await;
    assert_eq!(customer.deleted_at, Some(at(10)));
    assert_eq!(customer.profile.first_name.as_deref(), Some("Anna"));
}

#[tokio::test]
async fn a_profile_without_fields_creates_its_customer() {
    let store = fresh_dynamo_store().await;
    let shop = shop();
    let bare = bare_profile(&shop);
    assert_eq!(apply(&store, &shop, "d-1", &[Change::UpsertCustomer(bare.clone())]).await, vec![true]);
    assert_eq!(stored_customer(&store, &shop).await.profile, bare);
    assert_eq!(apply(&store, &shop, "d-2", &[Change::UpsertCustomer(bare)]).await, vec![false]);
}

#[tokio::test]
async fn the_balance_is_the_replay_of_the_entries_and_an_old_balance_item_is_ignored() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    // A balance item as earlier versions wrote it: no longer read.
    client
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S(customer_pk.clone()))
        .item("sk", AttributeValue::S("B".into()))
        .item("a", AttributeValue::N("999".into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem: {}", chain(&e)));
    let first = earn_entry(&order_placed(&shop, "1001", 0), 1);
    let second = LedgerEntry {
        key: BusinessKey::earn_for_order(&OrderId::parse("1002").unwrap_or_else(|e| panic!("{e}"))),
        available: first.pending,
        pending: 0,
        position: 2,
        ..first.clone()
    };
    assert_eq!(append(&store, std::slice::from_ref(&first)).await, AppendOutcome::Appended);
    assert_eq!(append(&store, std::slice::from_ref(&second)).await, AppendOutcome::Appended);
    assert_eq!(append(&store, std::slice::from_ref(&first)).await, AppendOutcome::Moved, "a repeat changes nothing");
    let customer = stored_customer(&store, &shop).await;
    assert_eq!(customer.balance, Balance { available: 59 * 3, pending: 59 * 3 });
    assert_eq!(customer.profile, bare_profile(&shop), "entries without a profile read as an empty profile");
}

/// A profile with nothing but its ids.
fn bare_profile(shop: &ShopId) -> CustomerProfile {
    CustomerProfile {
        shop: shop.clone(),
        customer_id: customer_id(),
        email: None,
        first_name: None,
        last_name: None,
        locale: None,
        country: None,
        birthday: None,
        accepts_email_marketing: None,
        source_updated_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_deliveries_for_one_customer_leave_the_latest_order_and_profile() {
    let store = Arc::new(fresh_dynamo_store().await);
    let shop = shop();
    let mut tasks = Vec::new();
    for i in 0..4_i64 {
        let (store, shop) = (store.clone(), shop.clone());
        tasks.push(tokio::spawn(async move {
            let changes = [
                Change::UpsertCustomer(stamped(&shop, &format!("Anna {i}"), i)),
                Change::RecordOrder(order_placed(&shop, &format!("20{i}"), 60 * 24 * i)),
            ];
            // A lost race is retryable contention: the platform would deliver again.
            for _ in 0..10 {
                match store.apply_delivery(&delivery(&shop, &[&format!("d-{i}")]), &changes).await {
                    Err(StoreError::Contention { .. }) => continue,
                    other => return other.unwrap_or_else(|e| panic!("{}", chain(&e))),
                }
            }
            panic!("delivery {i} kept losing races");
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let customer = stored_customer(&store, &shop).await;
    assert_eq!(customer.profile, stamped(&shop, "Anna 3", 3));
    assert_eq!(customer.last_order_at, Some(at(60 * 24 * 3)));
    for day in 0..4 {
        let date = at(60 * 24 * day).date_naive();
        let found = store.customers_by_last_order_date(&shop, date, PageRequest::first(10)).await;
        let expected = if day == 3 { vec![customer_id()] } else { Vec::new() };
        assert_eq!(found.unwrap_or_else(|e| panic!("{}", chain(&e))).items, expected, "day {day}");
    }
}

#[tokio::test]
async fn a_single_entry_append_is_one_put_item_and_several_entries_one_transaction() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let first = earn_entry(&order_placed(&shop, "1001", 0), 1);
    assert_eq!(append(&store, std::slice::from_ref(&first)).await, AppendOutcome::Appended);
    let sent = calls.take();
    assert_eq!(sent, vec![Call { operation: "PutItem".into(), pk: customer_pk.clone() }], "no read, no transaction");

    let batch = [earn_entry(&order_placed(&shop, "1002", 1), 2), earn_entry(&order_placed(&shop, "1003", 2), 3)];
    assert_eq!(append(&store, &batch).await, AppendOutcome::Appended);
    let sent = calls.take();
    assert_eq!(sent.iter().map(|c| c.operation.as_str()).collect::<Vec<_>>(), vec!["TransactWriteItems"]);

    // Decided on the ledger before `batch`: one put, refused by its condition.
    let stale = earn_entry(&order_placed(&shop, "1004", 3), 2);
    assert_eq!(append(&store, &[stale]).await, AppendOutcome::Moved);
    assert_eq!(count(&calls.take(), "PutItem", &customer_pk), 1);
    let listed = store.entries(&shop, &customer_id()).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(listed.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[tokio::test]
async fn a_timer_is_one_put_of_one_unit_and_a_cleared_timer_leaves_the_due_index() {
    let (store, calls) = counted_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    store.set_timer(&shop, &customer_id(), Some(at(60)), 3).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(calls.take(), vec![Call { operation: "PutItem".into(), pk: customer_pk.clone() }]);

    let stored = raw_item(&store, &client, &customer_pk, "T").await;
    assert_eq!(stored, items::timer_item(&shop, &customer_id(), Some(at(60)), 3), "as `items` says");
    assert_eq!(stored.get("g4"), Some(&AttributeValue::S(format!("{shop}#T"))));
    assert!(matches!(stored.get("due"), Some(AttributeValue::N(_))), "{stored:?}");
    assert_eq!(wru_for_item(&stored), 1);

    store.set_timer(&shop, &customer_id(), None, 4).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    let cleared = raw_item(&store, &client, &customer_pk, "T").await;
    assert!(!cleared.contains_key("g4") && !cleared.contains_key("due"), "{cleared:?}");
    let due = store.due_timers(&shop, at(1_000), PageRequest::first(10)).await;
    assert!(due.unwrap_or_else(|e| panic!("{}", chain(&e))).items.is_empty());
    // The timer item shares the customer's partition but is not part of the customer.
    assert_eq!(store.customer(&shop, &customer_id()).await.unwrap_or_else(|e| panic!("{}", chain(&e))), None);
}

fn code(raw: &str) -> CouponCode {
    CouponCode::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn redemption(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_claimed_code_leaves_its_pool_keeps_its_listing_and_is_never_given_a_ttl() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let reward = RewardId::parse("5-euro").unwrap_or_else(|e| panic!("{e}"));
    let pooled = code("FIVE-0001");
    let imported = store.import_codes(&shop, &reward, std::slice::from_ref(&pooled), false).await;
    assert_eq!(imported.unwrap_or_else(|e| panic!("{}", chain(&e))), 1);
    let code_pk = format!("{shop}#K#FIVE-0001");
    let before = raw_item(&store, &client, &code_pk, "K").await;
    let in_pool =
        Coupon { shop: shop.clone(), code: pooled.clone(), reward: reward.clone(), generated: false, issue: None };
    assert_eq!(before, items::code_item(&in_pool), "as `items` says");
    assert_eq!(before.get("g5"), Some(&AttributeValue::S(format!("{shop}#P#5-euro"))));

    let issue = Issue {
        customer_id: customer_id(),
        redemption: redemption("redeem-1"),
        issued_at: at(0),
        expires_at: at(60 * 24 * 90),
    };
    let claimed = store.claim_code(&shop, &reward, &issue).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(claimed.map(|c| c.code), Some(pooled.clone()));

    let after = raw_item(&store, &client, &code_pk, "K").await;
    assert!(!after.contains_key("g5"), "a claimed code leaves its pool: {after:?}");
    assert_eq!(after.get("g6"), before.get("g6"), "and stays in the shop's listing");
    assert!(!after.contains_key("expires_at"), "the code's expiry must not be the table's TTL attribute");
    assert_eq!(after, items::code_item(&Coupon { issue: Some(issue.clone()), ..in_pool }));
    let claim = raw_item(&store, &client, &format!("{shop}#R#redeem-1"), "R").await;
    assert_eq!(claim, items::claim_item(&shop, &issue.redemption, &pooled));
    assert!(wru_for_item(&after) == 1 && wru_for_item(&claim) == 1);

    store.return_code(&shop, &pooled, &issue.redemption).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(raw_item(&store, &client, &code_pk, "K").await, before, "back in its pool as imported");
    assert!(!has_item(&client, &store, &format!("{shop}#R#redeem-1"), "R").await, "the claim is gone");
}

#[tokio::test]
async fn a_returned_generated_code_is_deleted() {
    let store = fresh_dynamo_store().await;
    let shop = shop();
    let issue =
        Issue { customer_id: customer_id(), redemption: redemption("redeem-1"), issued_at: at(0), expires_at: at(90) };
    let generated = Coupon {
        shop: shop.clone(),
        code: code("SK-AAAA-BBBB"),
        reward: RewardId::parse("5-euro").unwrap_or_else(|e| panic!("{e}")),
        generated: true,
        issue: Some(issue.clone()),
    };
    let inserted = store.insert_issued(&generated).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(inserted.as_ref(), Some(&generated));

    store.return_code(&shop, &generated.code, &issue.redemption).await.unwrap_or_else(|e| panic!("{}", chain(&e)));

    assert_eq!(store.code(&shop, &generated.code).await.unwrap_or_else(|e| panic!("{}", chain(&e))), None);
    let bound = store.code_for_redemption(&shop, &issue.redemption).await;
    assert_eq!(bound.unwrap_or_else(|e| panic!("{}", chain(&e))), None);
}

#[tokio::test]
async fn an_import_larger_than_one_call_takes_is_refused_before_any_write() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let reward = RewardId::parse("5-euro").unwrap_or_else(|e| panic!("{e}"));
    let codes: Vec<CouponCode> =
        (0..=stammkunde_aws::dynamo::IMPORT_CODES_MAX).map(|n| code(&format!("BULK-{n:05}"))).collect();
    let refused = store.import_codes(&shop, &reward, &codes, false).await;
    assert!(matches!(refused, Err(StoreError::Invariant(_))), "{refused:?}");
    assert!(calls.take().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_refund_is_one_put_in_its_orders_partition() {
    let store = fresh_dynamo_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let order = paid_order(&shop);
    let refund = stammkunde_domain::refund::Refund {
        shop: shop.clone(),
        order_id: order.order_id.clone(),
        refund_id: stammkunde_domain::ids::RefundId::parse("921234").unwrap_or_else(|e| panic!("{e}")),
        created_at: at(30),
        lines: vec![stammkunde_domain::refund::RefundLine { line_id: order.lines[0].line_id.clone(), quantity: 1 }],
        amount_minor: None,
    };
    let applied = apply(&store, &shop, "d-1", &[Change::RecordRefund(refund.clone())]).await;
    assert_eq!(applied, vec![true]);

    let stored = raw_item(&store, &client, &format!("{shop}#O#{}", order.order_id), "F#921234").await;
    assert_eq!(stored, items::refund_item(&refund).unwrap_or_else(|e| panic!("{}", chain(&e))));
    assert_eq!(wru_for_item(&stored), 1);
}

fn mail_send(shop: &ShopId, campaign: Campaign, day: &str, state: SendState) -> MailSend {
    let date = day.parse().unwrap_or_else(|e| panic!("{day}: {e}"));
    MailSend { shop: shop.clone(), customer_id: customer_id(), campaign, date, state }
}

fn operations(calls: &[Call]) -> Vec<&str> {
    calls.iter().map(|c| c.operation.as_str()).collect()
}

#[tokio::test]
async fn a_deferred_send_is_in_the_due_index_then_as_a_claim_until_its_lease_runs_out_then_leaves_it() {
    let (store, calls) = counted_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let deferred = mail_send(&shop, Campaign::Birthday, "2026-06-30", SendState::Deferred { due: at(60) });
    let created = store.create_send(&deferred).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(created, CreateOutcome::Created);
    assert_eq!(calls.take(), vec![Call { operation: "PutItem".into(), pk: customer_pk.clone() }]);

    let sk = "M#birthday#2026-06-30";
    let stored = raw_item(&store, &client, &customer_pk, sk).await;
    assert_eq!(stored.get("st"), Some(&AttributeValue::S("deferred".into())));
    assert_eq!(stored.get("g8"), Some(&AttributeValue::S(format!("{shop}#M"))));
    let due = format!("{:011}.000000000", at(60).timestamp());
    let order = format!("{due}#{}#birthday#2026-06-30", customer_id());
    assert_eq!(stored.get("g9"), Some(&AttributeValue::S(order)), "(due, customer, campaign, date)");
    assert_eq!(wru_for_item(&stored), 1);
    let due_send = |due| DueSend { customer_id: customer_id(), campaign: Campaign::Birthday, date: deferred.date, due };
    let listed = store.due_sends(&shop, at(60), PageRequest::first(10)).await;
    assert_eq!(listed.unwrap_or_else(|e| panic!("{}", chain(&e))).items, vec![due_send(at(60))]);
    let early = store.due_sends(&shop, at(59), PageRequest::first(10)).await;
    assert!(early.unwrap_or_else(|e| panic!("{}", chain(&e))).items.is_empty(), "not due yet");
    calls.take();

    let claimed = MailSend { state: SendState::Claimed { at: at(61) }, ..deferred.clone() };
    let replaced = store.replace_send(&claimed, SendStateKind::Deferred).await;
    assert!(replaced.unwrap_or_else(|e| panic!("{}", chain(&e))));
    assert_eq!(operations(&calls.take()), vec!["PutItem"], "one conditional put, no read");
    let stored = raw_item(&store, &client, &customer_pk, sk).await;
    let lease_end = at(61 + CLAIM_LEASE_MINUTES);
    let order = format!("{:011}.000000000#{}#birthday#2026-06-30", lease_end.timestamp(), customer_id());
    assert_eq!(stored.get("g9"), Some(&AttributeValue::S(order)), "a claim is due when its lease runs out");
    assert_eq!(stored.get("ca"), Some(&AttributeValue::N(at(61).timestamp().to_string())));
    assert_eq!(stored.get("cd"), None, "a claim holds no code: it is drawn after the claim");
    let listed = store.due_sends(&shop, at(61 + CLAIM_LEASE_MINUTES - 1), PageRequest::first(10)).await;
    assert!(listed.unwrap_or_else(|e| panic!("{}", chain(&e))).items.is_empty(), "within its lease");
    let listed = store.due_sends(&shop, at(1_000), PageRequest::first(10)).await;
    assert_eq!(listed.unwrap_or_else(|e| panic!("{}", chain(&e))).items, vec![due_send(lease_end)]);
    calls.take();

    let sent = MailSend {
        state: SendState::Sent {
            at: at(62),
            claimed_at: at(61),
            message_id: "m-1".into(),
            code: Some(code("BDAY-1")),
            link_digest: None,
        },
        ..deferred.clone()
    };
    let replaced = store.replace_send(&sent, SendStateKind::Claimed).await;
    assert!(replaced.unwrap_or_else(|e| panic!("{}", chain(&e))));
    let stored = raw_item(&store, &client, &customer_pk, sk).await;
    assert!(!stored.contains_key("g8") && !stored.contains_key("g9"), "a sent record leaves the index: {stored:?}");
    let listed = store.due_sends(&shop, at(1_000), PageRequest::first(10)).await;
    assert!(listed.unwrap_or_else(|e| panic!("{}", chain(&e))).items.is_empty());
    // The record shares the customer's partition but is not part of the customer.
    assert_eq!(store.customer(&shop, &customer_id()).await.unwrap_or_else(|e| panic!("{}", chain(&e))), None);
}

#[tokio::test]
async fn a_second_create_of_a_send_is_one_put_answered_with_the_stored_record() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let first = mail_send(&shop, Campaign::WinBack, "2026-07-01", SendState::Claimed { at: at(1) });
    let created = store.create_send(&first).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(created, CreateOutcome::Created);
    calls.take();
    let second = MailSend { state: SendState::Claimed { at: at(2) }, ..first.clone() };
    let again = store.create_send(&second).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(again, CreateOutcome::Exists(first));
    let sent = calls.take();
    assert_eq!(count(&sent, "PutItem", &format!("{shop}#C#{}", customer_id())), 1, "{sent:?}");
    // The failed condition hands back the stored item (ALL_OLD): no read follows.
    assert_eq!(operations(&sent), vec!["PutItem"], "{sent:?}");
}

#[tokio::test]
async fn the_frequency_cap_is_one_query_of_the_customers_send_records() {
    let (store, calls) = counted_store().await;
    let shop = shop();
    let states = [
        ("2026-06-01", SendState::Claimed { at: at(10) }),
        ("2026-06-02", SendState::Deferred { due: at(20) }),
        ("2026-06-03", SendState::Dropped { at: at(30) }),
    ];
    for (day, state) in states {
        let record = mail_send(&shop, Campaign::WinBack, day, state);
        store.create_send(&record).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    }
    // The settings item and the profile share the partition and are not send records.
    let contact = MailContact { unsubscribed_at: Some(at(3)), ..MailContact::default() };
    store.put_contact(&shop, &customer_id(), &contact).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    apply(&store, &shop, "d-1", &[Change::UpsertCustomer(stamped(&shop, "Anna", 0))]).await;
    calls.take();
    let counted = store.sends_claimed_since(&shop, &customer_id(), at(0)).await;
    let counted = counted.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(counted.iter().map(|s| s.date.to_string()).collect::<Vec<_>>(), vec!["2026-06-01"]);
    assert_eq!(operations(&calls.take()), vec!["Query"]);
}

#[tokio::test]
async fn a_due_page_cursor_from_another_shop_is_refused() {
    let store = fresh_dynamo_store().await;
    let shop = shop();
    for day in ["2026-06-01", "2026-06-02", "2026-06-03"] {
        let record = mail_send(&shop, Campaign::WinBack, day, SendState::Deferred { due: at(1) });
        store.create_send(&record).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    }
    let first = store.due_sends(&shop, at(5), PageRequest::first(2)).await;
    let first = first.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(first.items.len(), 2);
    let cursor = first.next.unwrap_or_else(|| panic!("a second page"));
    let rest = store.due_sends(&shop, at(5), PageRequest { cursor: Some(cursor.clone()), limit: 2 }).await;
    let rest = rest.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!((rest.items.len(), rest.next), (1, None));
    let foreign = store.due_sends(&self::shop(), at(5), PageRequest { cursor: Some(cursor), limit: 2 }).await;
    assert!(matches!(foreign, Err(StoreError::Backend { .. })), "{foreign:?}");
}

#[tokio::test]
async fn mail_settings_and_suppressions_are_one_item_each() {
    let (store, calls) = counted_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let contact = MailContact { double_opt_in_at: Some(at(1)), ..MailContact::default() };
    store.put_contact(&shop, &customer_id(), &contact).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    let stored = raw_item(&store, &client, &customer_pk, "MC").await;
    assert_eq!(stored.get("oi"), Some(&AttributeValue::N(at(1).timestamp().to_string())));
    assert_eq!(stored.len(), 3, "{stored:?}");

    let email = Email::parse("jon@example.com").unwrap_or_else(|e| panic!("{e}"));
    let address = AddressDigest::of(&shop, &email);
    let first =
        Suppression { shop: shop.clone(), address: address.clone(), reason: SuppressionReason::Complaint, at: at(2) };
    calls.take();
    store.suppress(&first).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    let later = Suppression { reason: SuppressionReason::HardBounce, at: at(3), ..first.clone() };
    store.suppress(&later).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(operations(&calls.take()), vec!["PutItem", "PutItem"], "a listed address is no error and no read");
    let stored = raw_item(&store, &client, &format!("{shop}#X"), address.as_str()).await;
    assert_eq!(stored.get("rs"), Some(&AttributeValue::S("complaint".into())));
    assert!(!stored.to_owned().into_values().any(|v| v == AttributeValue::S(email.as_str().into())), "no address");
    let found = store.suppression(&shop, &address).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(found, Some(first));
}

#[tokio::test]
async fn a_birthday_is_stamped_in_the_same_update_that_stores_it() {
    let (store, calls) = counted_store().await;
    let client = common::dynamo_client().await;
    let shop = shop();
    let customer_pk = format!("{shop}#C#{}", customer_id());
    let with_birthday = |month: u8, day: u8, stamp: i64| CustomerProfile {
        birthday: stammkunde_domain::customer::Birthday::new(month, day, None).ok(),
        ..stamped(&shop, "Anna", stamp)
    };
    let since = |item: &Item| item.get("bs").cloned();
    let epoch = |minutes: i64| Some(AttributeValue::N(at(minutes).timestamp().to_string()));

    let first = with_birthday(7, 14, 0);
    assert_eq!(apply(&store, &shop, "d-1", &[Change::UpsertCustomer(first.clone())]).await, vec![true]);
    let sent = calls.take();
    assert_eq!((count(&sent, "GetItem", &customer_pk), count(&sent, "UpdateItem", &customer_pk)), (1, 1), "{sent:?}");
    let stored = raw_item(&store, &client, &customer_pk, "C").await;
    assert_eq!(stored, items::profile_item(&first), "as `items` says");
    assert_eq!(since(&stored), epoch(0));
    assert_eq!(wru_for_item(&stored), 1);
    assert_eq!(stored_customer(&store, &shop).await.birthday_since, Some(at(0)));

    apply(&store, &shop, "d-2", &[Change::UpsertCustomer(with_birthday(7, 14, 5))]).await;
    assert_eq!(since(&raw_item(&store, &client, &customer_pk, "C").await), epoch(0), "the same birthday");
    apply(&store, &shop, "d-3", &[Change::UpsertCustomer(with_birthday(8, 1, 9))]).await;
    assert_eq!(since(&raw_item(&store, &client, &customer_pk, "C").await), epoch(9), "a changed birthday");
    // Stale, and then deleted: neither moves it.
    assert_eq!(apply(&store, &shop, "d-4", &[Change::UpsertCustomer(with_birthday(9, 1, 8))]).await, vec![false]);
    let delete = Change::DeleteCustomer { shop: shop.clone(), customer_id: customer_id(), at: at(10) };
    apply(&store, &shop, "d-5", &[delete]).await;
    assert_eq!(apply(&store, &shop, "d-6", &[Change::UpsertCustomer(with_birthday(9, 1, 11))]).await, vec![false]);
    assert_eq!(since(&raw_item(&store, &client, &customer_pk, "C").await), epoch(9));
}
