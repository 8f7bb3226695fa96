//! The points service against the real embedded store: what earns, what does not, and that a
//! credit is written once however often its order is announced.

use chrono::{TimeZone, Utc};
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, LineId, OrderId, ShopId};
use stammkunde_domain::ledger::Balance;
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::{CustomerStore, LedgerStore};
use stammkunde_points::{CreditOutcome, PointsService};
use stammkunde_store_sqlite::SqliteStore;

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
    }
}

struct Fixture {
    service: PointsService,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 1).single().unwrap_or_default()));
    let store = Arc::new(SqliteStore::open(&dir.path().join("db"), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
    let config = AppConfig::from_toml(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let service = PointsService { shops: Arc::new(ShopDirectory::new(config)), ledger: store.clone(), clock };
    Fixture { service, store, _dir: dir }
}

async fn handle(f: &Fixture, order: Order) -> CreditOutcome {
    f.service.handle_event(&DomainEvent::OrderRecorded { order }).await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_paid_order_is_credited_per_line_at_the_shops_rate_and_only_once() {
    let f = fixture();
    // 2 points per euro, floored per line: 19.99 → 39, 45.50 → 91. Shipping and tax are excluded.
    assert_eq!(
        handle(&f, order(PaymentState::Paid, Some("c1"), "shop")).await,
        CreditOutcome::Credited { points: 130 }
    );
    assert_eq!(handle(&f, order(PaymentState::Paid, Some("c1"), "shop")).await, CreditOutcome::AlreadyCredited);
    let (shop, customer) = (id(ShopId::parse, "shop"), id(CustomerId::parse, "c1"));
    let entries = f.store.entries(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].key.as_str(), "earn:order:1001");
    let basis = entries[0].basis.clone().unwrap_or_else(|| panic!("basis stored"));
    assert_eq!(basis.points_per_unit.to_string(), "2");
    assert_eq!(
        basis.lines.iter().map(|l| (l.amount_minor, l.points)).collect::<Vec<_>>(),
        vec![(1999, 39), (4550, 91)]
    );
    let stored = f.store.customer(&shop, &customer).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.map(|c| c.balance), Some(Balance { available: 130, pending: 0 }));
}

#[tokio::test]
async fn a_refunded_order_was_paid_and_earns_its_credit_for_the_ledger_to_reverse() {
    let f = fixture();
    assert_eq!(
        handle(&f, order(PaymentState::Refunded, Some("c1"), "shop")).await,
        CreditOutcome::Credited { points: 130 }
    );
}

#[tokio::test]
async fn unpaid_and_guest_orders_earn_nothing_and_write_nothing() {
    let f = fixture();
    assert_eq!(
        handle(&f, order(PaymentState::Pending, Some("c1"), "shop")).await,
        CreditOutcome::Skipped("order not paid")
    );
    assert_eq!(
        handle(&f, order(PaymentState::Voided, Some("c1"), "shop")).await,
        CreditOutcome::Skipped("order not paid")
    );
    assert_eq!(handle(&f, order(PaymentState::Paid, None, "shop")).await, CreditOutcome::Skipped("guest order"));
    let entries = f.store.entries(&id(ShopId::parse, "shop"), &id(CustomerId::parse, "c1")).await;
    assert_eq!(entries.map(|e| e.len()).ok(), Some(0));
}

#[tokio::test]
async fn an_order_of_a_shop_this_instance_does_not_know_is_retried_not_dropped() {
    let f = fixture();
    let event = DomainEvent::OrderRecorded { order: order(PaymentState::Paid, Some("c1"), "other") };
    let error = f.service.handle_event(&event).await.err().unwrap_or_else(|| panic!("must fail"));
    assert!(error.is_retryable(), "{error}");
}
