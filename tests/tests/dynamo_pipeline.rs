//! The webhook pipeline as it runs on AWS, in-process: the webhooks function over the DynamoDB
//! store (on moto, a fresh table per test), its events handed to the points function over the same
//! store, exactly once.
//!
//! Needs moto:
//!
//! ```sh
//! python scripts/moto_server.py 127.0.0.1 5055 &   # moto, one request at a time (see that script)
//! export AWS_ENDPOINT_URL=http://127.0.0.1:5055 AWS_REGION=eu-central-1 \
//!        AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
//! cargo test -p stammkunde-e2e --test dynamo_pipeline
//! ```

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use stammkunde_services::LedgerService;
use std::sync::Arc;

use stammkunde_aws::dynamo::{create_table, DynamoStore};
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::customer::Customer;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::ledger::LedgerEntry;
use stammkunde_domain::order::{Order, PaymentState};
use stammkunde_domain::ports::Store;
use stammkunde_e2e::{dynamo_client, edit_json, shopify_headers, test_config};
use stammkunde_local::{InProcessBus, Subscriber};
use stammkunde_points::PointsService;
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_shopware_admin::HttpShopwareAdmin;
use stammkunde_webhooks::WebhookService;

const ORDER_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
const CUSTOMER: &str = "7654321098765";
const ORDER: &str = "5912345678901";
/// 41 + 188 + 22: net of tax per line, floored; the gift card line earns nothing.
const ORDER_PAID_POINTS: i64 = 251;

/// The points function behind the bus, as the EventBridge rule targets it on AWS.
struct PointsSubscriber(Arc<PointsService>);

#[async_trait]
impl Subscriber for PointsSubscriber {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        self.0.handle_event(event).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

struct Pipeline {
    webhooks: WebhookService,
    store: Arc<DynamoStore>,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default()
}

/// The webhooks and points functions over one fresh table.
async fn pipeline() -> Pipeline {
    let client = dynamo_client().await;
    let table = format!("stammkunde-e2e-{:016x}", rand::random::<u64>());
    if let Err(e) = create_table(&client, &table).await {
        panic!("creating table {table} at {:?}: {e:?}", std::env::var("AWS_ENDPOINT_URL"));
    }
    let store = Arc::new(DynamoStore::new(client, table));
    let shops = Arc::new(ShopDirectory::new(test_config()));
    let clock = Arc::new(FixedClock::new(now()));
    let bus = Arc::new(InProcessBus::new());
    let ledger = Arc::new(LedgerService {
        ledger: store.clone(),
        timers: store.clone(),
        bus: bus.clone(),
        clock: clock.clone(),
    });
    let points = PointsService { shops: shops.clone(), ledger, customers: store.clone(), codes: store.clone() };
    bus.subscribe(Arc::new(PointsSubscriber(Arc::new(points))));
    let store_port: Arc<dyn Store> = store.clone();
    let shopware_admin = Arc::new(HttpShopwareAdmin::new());
    let privacy = Arc::new(Privacy::over(store.clone(), Arc::new(NoMailArchive), clock.clone()));
    let webhooks = WebhookService { shops, store: store_port, bus, clock, shopware_admin, public_url: None, privacy };
    Pipeline { webhooks, store }
}

impl Pipeline {
    /// One signed Shopify delivery through `WebhookService::handle`: (status, reply body).
    async fn deliver(&self, topic: &str, body: &[u8], webhook_id: &str) -> (u16, serde_json::Value) {
        let mut request = http::Request::builder().method("POST").uri("/webhooks/shopify");
        for (name, value) in shopify_headers(topic, body, webhook_id) {
            request = request.header(name, value);
        }
        let request = request.body(Bytes::copy_from_slice(body)).unwrap_or_else(|e| panic!("{e}"));
        let response = self.webhooks.handle(request).await;
        let status = response.status().as_u16();
        (status, serde_json::from_str(response.body()).unwrap_or_default())
    }

    /// The customer's ledger entries, stored customer, and the stored order.
    async fn state(&self) -> (Vec<LedgerEntry>, Option<Customer>, Option<Order>) {
        use stammkunde_domain::ports::{CustomerStore, LedgerStore};
        let shop = ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}"));
        let customer = CustomerId::parse(CUSTOMER).unwrap_or_else(|e| panic!("{e}"));
        let order = OrderId::parse(ORDER).unwrap_or_else(|e| panic!("{e}"));
        let entries = self.store.entries(&shop, &customer).await.unwrap_or_else(|e| panic!("entries: {e:?}"));
        let stored = self.store.customer(&shop, &customer).await.unwrap_or_else(|e| panic!("customer: {e:?}"));
        let order = self.store.order(&shop, &order).await.unwrap_or_else(|e| panic!("order: {e:?}"));
        (entries, stored, order)
    }

    /// Asserts exactly one credit of the paid order, and a balance equal to it.
    async fn assert_credited_once(&self) {
        let (entries, customer, order) = self.state().await;
        let balance = customer.as_ref().map(|c| (c.balance.available, c.balance.pending));
        assert_eq!(balance, Some((0, ORDER_PAID_POINTS)), "the balance is the one credit, held");
        self.assert_one_entry(&entries, order.as_ref());
    }

    fn assert_one_entry(&self, entries: &[LedgerEntry], order: Option<&Order>) {
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].key.as_str(), format!("earn:order:{ORDER}"));
        assert_eq!(entries[0].points(), ORDER_PAID_POINTS);
        assert!(order.is_some_and(|o| o.payment == PaymentState::Paid));
    }
}

#[tokio::test]
async fn the_same_delivery_five_times_credits_once_on_dynamodb() {
    let pipeline = pipeline().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = pipeline.deliver("orders/paid", ORDER_PAID, "wh-same").await;
        assert_eq!(status, 200, "{body:?}");
        statuses.push(body["status"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, ["accepted", "duplicate", "duplicate", "duplicate", "duplicate"]);
    pipeline.assert_credited_once().await;
}

#[tokio::test]
async fn the_same_order_under_new_delivery_ids_credits_once_on_dynamodb() {
    let pipeline = pipeline().await;
    for (topic, id) in [("orders/create", "a"), ("orders/paid", "b"), ("orders/updated", "c")] {
        let (status, body) = pipeline.deliver(topic, ORDER_PAID, id).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("accepted")), "{body:?}");
    }
    pipeline.assert_credited_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_deliveries_credit_once_on_dynamodb() {
    let pipeline = pipeline().await;
    let answers =
        futures::future::join_all((0..50).map(|_| pipeline.deliver("orders/paid", ORDER_PAID, "wh-race"))).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{answers:?}");
    let accepted = answers.iter().filter(|(_, body)| body["status"] == "accepted").count();
    let duplicates = answers.iter().filter(|(_, body)| body["status"] == "duplicate").count();
    assert_eq!((accepted, duplicates), (1, 49), "exactly one delivery is the first: {answers:?}");
    pipeline.assert_credited_once().await;
}

#[tokio::test]
async fn a_stale_update_arriving_after_a_newer_one_changes_nothing_on_dynamodb() {
    let pipeline = pipeline().await;
    let (status, body) = pipeline.deliver("orders/paid", ORDER_PAID, "new").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("accepted")), "{body:?}");
    let before = pipeline.state().await;

    // The same order as it was an hour earlier, still pending: a late retry of orders/create.
    let stale = edit_json(ORDER_PAID, |order| {
        order["financial_status"] = "pending".into();
        order["updated_at"] = "2026-11-20T09:15:42+01:00".into();
        order["customer"]["first_name"] = "Stale".into();
    });
    let (status, body) = pipeline.deliver("orders/create", &stale, "old").await;
    assert_eq!(status, 200, "{body:?}");

    let after = pipeline.state().await;
    assert_eq!(before, after);
    pipeline.assert_credited_once().await;
}

#[tokio::test]
async fn a_date_outside_four_digit_years_is_refused_as_on_sqlite() {
    let pipeline = pipeline().await;
    // Well-formed RFC 3339, but the year 10000 in UTC: the SQLite store cannot encode it, and an
    // order stamped with it could never be updated again.
    let far = edit_json(ORDER_PAID, |order| order["updated_at"] = "9999-12-31T23:30:00-01:00".into());
    let (status, body) = pipeline.deliver("orders/paid", &far, "far").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body:?}");
    let (entries, customer, order) = pipeline.state().await;
    assert!(entries.is_empty() && customer.is_none() && order.is_none(), "nothing is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_deliveries_of_one_order_under_different_ids_credit_once_on_dynamodb() {
    let pipeline = pipeline().await;
    // Shopify sends orders/create, orders/paid and orders/updated for one payment, each with its
    // own webhook id: none is a duplicate delivery, all race to credit the same order.
    let topics = ["orders/create", "orders/paid", "orders/updated"];
    let ids: Vec<String> = (0..50).map(|i| format!("wh-{i}")).collect();
    let answers = futures::future::join_all(
        ids.iter().enumerate().map(|(i, id)| pipeline.deliver(topics[i % topics.len()], ORDER_PAID, id)),
    )
    .await;
    assert!(answers.iter().all(|(status, body)| *status == 200 && body["status"] == "accepted"), "{answers:?}");
    pipeline.assert_credited_once().await;
}
