//! The points service against the real embedded store and the in-process bus: what earns, what
//! does not, that a credit is written once however often its order is announced, that a refund
//! waits for its order, and that every entry is announced on the bus.

use chrono::{TimeZone, Utc};
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, DeliveryId, LineId, OrderId, RefundId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::ledger::{Balance, EntryDetail, EntryKind};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::{CustomerStore, IngestStore, LedgerStore, TimerStore};
use stammkunde_domain::refund::{Refund, RefundLine};
use stammkunde_local::{InProcessBus, Subscriber};
use stammkunde_points::{PointsOutcome, PointsService};
use stammkunde_services::LedgerService;
use stammkunde_store_sqlite::SqliteStore;
use std::sync::Mutex;

const CONFIG: &str = r#"
[[shops]]
id = "shop"
platform = "shopify"
domain = "shop.myshopify.com"
webhook_secret = "0123456789abcdef"
api_key = "0123456789abcdef"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"
[shops.earn]
points_per_unit = "2"
"#;

fn id<T>(parse: fn(&str) -> Result<T, stammkunde_domain::error::InputError>, raw: &str) -> T {
    parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn order(payment: PaymentState, customer: Option<&str>, shop: &str) -> Order {
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().unwrap_or_default();
    Order {
        shop: id(ShopId::parse, shop),
        platform: Platform::Shopify,
        order_id: id(OrderId::parse, "1001"),
        order_number: Some("#1001".into()),
        customer_id: customer.map(|c| id(CustomerId::parse, c)),
        currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
        taxes_included: false,
        lines: vec![
            OrderLine {
                line_id: id(LineId::parse, "a"),
                product_id: None,
                quantity: 1,
                amount_minor: 1999,
                tax_minor: 380,
            },
            OrderLine {
                line_id: id(LineId::parse, "b"),
                product_id: None,
                quantity: 3,
                amount_minor: 4550,
                tax_minor: 865,
            },
        ],
        shipping_minor: 490,
        payment,
        cancelled: false,
        discount_codes: vec![],
        placed_at: at,
        version: OrderVersion::of(at, payment, false),
        paid_at: None,
        fulfilled_at: None,
        total_minor: None,
    }
}

/// Records what reaches the bus, as an EventBridge rule's target would.
#[derive(Default)]
struct Recorder(Mutex<Vec<DomainEvent>>);

#[async_trait::async_trait]
impl Subscriber for Recorder {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push(event.clone());
        Ok(())
    }
}

struct Fixture {
    service: PointsService,
    store: Arc<SqliteStore>,
    events: Arc<Recorder>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 1).single().unwrap_or_default()));
    let store = Arc::new(SqliteStore::open(&dir.path().join("db"), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
    let config = AppConfig::from_toml(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let bus = Arc::new(InProcessBus::new());
    let events = Arc::new(Recorder::default());
    bus.subscribe(events.clone());
    let ledger = Arc::new(LedgerService { ledger: store.clone(), timers: store.clone(), bus, clock });
    let service = PointsService {
        shops: Arc::new(ShopDirectory::new(config)),
        ledger,
        customers: store.clone(),
        codes: store.clone(),
    };
    Fixture { service, store, events, _dir: dir }
}

async fn handle(f: &Fixture, event: DomainEvent) -> PointsOutcome {
    f.service.handle_event(&event).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn handle_order(f: &Fixture, order: Order) -> PointsOutcome {
    handle(f, DomainEvent::OrderRecorded { order }).await
}

fn ids() -> (ShopId, CustomerId) {
    (id(ShopId::parse, "shop"), id(CustomerId::parse, "c1"))
}

#[tokio::test]
async fn a_paid_order_is_credited_pending_per_line_at_the_shops_rate_and_only_once() {
    let f = fixture();
    // 2 points per euro, floored per line: 19.99 → 39, 45.50 → 91. Shipping and tax are excluded.
    let first = handle_order(&f, order(PaymentState::Paid, Some("c1"), "shop")).await;
    assert_eq!(first, PointsOutcome::Reconciled { appended: vec![EntryKind::Earn] });
    let again = handle_order(&f, order(PaymentState::Paid, Some("c1"), "shop")).await;
    assert_eq!(again, PointsOutcome::Skipped("ledger already up to date"));
    let (shop, customer) = ids();
    let entries = f.store.entries(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].key.as_str(), "earn:order:1001");
    let EntryDetail::Earn(basis) = &entries[0].detail else { panic!("an earn entry") };
    assert_eq!(basis.points_per_unit.to_string(), "2");
    assert_eq!(
        basis.lines.iter().map(|l| (l.amount_minor, l.points)).collect::<Vec<_>>(),
        vec![(1999, 39), (4550, 91)]
    );
    let stored = f.store.customer(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.map(|c| c.balance), Some(Balance { available: 0, pending: 130 }));
    // The hold ends 5 + 14 days after payment: the sweep will find the customer then.
    let timer = f.store.timer(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}"));
    let due = Utc.with_ymd_and_hms(2026, 12, 9, 9, 0, 1).single();
    assert_eq!(timer.map(|t| (t.due, t.ledger_len)), Some((due, 1)));
}

#[tokio::test]
async fn every_appended_entry_is_announced_once_on_the_bus() {
    let f = fixture();
    handle_order(&f, order(PaymentState::Paid, Some("c1"), "shop")).await;
    handle_order(&f, order(PaymentState::Paid, Some("c1"), "shop")).await;
    let events = f.events.0.lock().map(|e| e.clone()).unwrap_or_default();
    let keys: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            DomainEvent::LedgerEntryAppended { entry } => Some(entry.key.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, vec!["earn:order:1001"]);
}

#[tokio::test]
async fn a_refund_before_its_order_is_held_and_reversed_when_the_order_arrives() {
    let f = fixture();
    let (shop, customer) = ids();
    let refund = Refund {
        shop: shop.clone(),
        order_id: id(OrderId::parse, "1001"),
        refund_id: id(RefundId::parse, "r-1"),
        created_at: Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).single().unwrap_or_default(),
        lines: vec![RefundLine { line_id: id(LineId::parse, "b"), quantity: 3 }],
        amount_minor: None,
    };
    // The webhook stores the refund before it announces it.
    let delivery = DeliveryRecord {
        shop: shop.clone(),
        ids: vec![id(DeliveryId::parse, "d-1")],
        topic: "refunds/create".into(),
        received_at: Utc::now(),
        expires_at: Utc::now() + chrono::Duration::days(7),
    };
    f.store.apply_delivery(&delivery, &[Change::RecordRefund(refund.clone())]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        handle(&f, DomainEvent::RefundRecorded { refund }).await,
        PointsOutcome::Skipped("refund held until its order arrives")
    );
    let placed = order(PaymentState::Paid, Some("c1"), "shop");
    f.store
        .apply_delivery(
            &DeliveryRecord { ids: vec![id(DeliveryId::parse, "d-2")], ..delivery },
            &[Change::RecordOrder(placed.clone())],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let outcome = handle_order(&f, placed).await;
    assert_eq!(outcome, PointsOutcome::Reconciled { appended: vec![EntryKind::Earn, EntryKind::Reversal] });
    let stored = f.store.customer(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.map(|c| c.balance), Some(Balance { available: 0, pending: 39 }));
}

#[tokio::test]
async fn a_refunded_order_never_credited_earns_nothing_to_reverse() {
    let f = fixture();
    let outcome = handle_order(&f, order(PaymentState::Refunded, Some("c1"), "shop")).await;
    assert_eq!(outcome, PointsOutcome::Skipped("ledger already up to date"));
}

#[tokio::test]
async fn unpaid_and_guest_orders_earn_nothing_and_write_nothing() {
    let f = fixture();
    for payment in [PaymentState::Pending, PaymentState::Voided] {
        let outcome = handle_order(&f, order(payment, Some("c1"), "shop")).await;
        assert_eq!(outcome, PointsOutcome::Skipped("ledger already up to date"));
    }
    assert_eq!(handle_order(&f, order(PaymentState::Paid, None, "shop")).await, PointsOutcome::Skipped("guest order"));
    let (shop, customer) = ids();
    let entries = f.store.entries(&shop, &customer).await;
    assert_eq!(entries.map(|e| e.len()).ok(), Some(0));
}

#[tokio::test]
async fn an_order_of_a_shop_this_instance_does_not_know_is_retried_not_dropped() {
    let f = fixture();
    let event = DomainEvent::OrderRecorded { order: order(PaymentState::Paid, Some("c1"), "other") };
    let error = f.service.handle_event(&event).await.err().unwrap_or_else(|| panic!("must fail"));
    assert!(error.is_retryable(), "{error}");
}
