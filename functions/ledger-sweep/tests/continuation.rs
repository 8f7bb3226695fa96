//! The sweep function against the embedded store: it works only through due customers, and a shop
//! with more due than one invocation may do is re-queued on the bus, not dropped.

use chrono::{Duration, TimeZone, Utc};
use std::sync::{Arc, Mutex};

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ports::TimerStore;
use stammkunde_ledger_sweep::{SweepFunction, SweepInput};
use stammkunde_local::{InProcessBus, Subscriber};
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_services::{LedgerService, LedgerSweep};
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
"#;

#[derive(Default)]
struct Recorder(Mutex<Vec<DomainEvent>>);

#[async_trait::async_trait]
impl Subscriber for Recorder {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push(event.clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_with_more_due_than_one_invocation_does_is_requeued_and_finished_by_the_next() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 5, 0).single().unwrap_or_default();
    let clock = Arc::new(FixedClock::new(now));
    let store = Arc::new(SqliteStore::open(&dir.path().join("db"), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
    let shop = ShopId::parse("shop").unwrap_or_else(|e| panic!("{e}"));
    // 150 customers due (an hour ago), with nothing on their ledgers: each tick clears its timer.
    for n in 0..150 {
        let customer = CustomerId::parse(&format!("c{n:03}")).unwrap_or_else(|e| panic!("{e}"));
        store.set_timer(&shop, &customer, Some(now - Duration::hours(1)), 0).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let bus = Arc::new(InProcessBus::new());
    let events = Arc::new(Recorder::default());
    bus.subscribe(events.clone());
    let ledger = Arc::new(LedgerService {
        ledger: store.clone(),
        timers: store.clone(),
        bus: bus.clone(),
        clock: clock.clone(),
    });
    let privacy = Arc::new(Privacy::over(store.clone(), Arc::new(NoMailArchive), clock.clone()));
    let sweep = LedgerSweep { ledger, timers: store.clone(), customers: store.clone(), shops: store.clone(), clock };
    let config = AppConfig::from_toml(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let function = SweepFunction {
        shops: Arc::new(ShopDirectory::new(config)),
        sweep,
        bus,
        pages_per_invocation: 1,
        privacy,
        erasure_batches_per_invocation: 1,
    };

    let scheduled: SweepInput = serde_json::from_str(r#"{"sweep": "ledger"}"#).unwrap_or_else(|e| panic!("{e}"));
    let first = function.handle(&scheduled).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((first[0].1.customers, first[0].1.more), (100, true));
    let requeued = events.0.lock().map(|e| e.clone()).unwrap_or_default();
    assert_eq!(requeued, vec![DomainEvent::LedgerSweepRequested { shop: shop.clone() }]);

    let continued =
        SweepInput::Continue { detail_type: "LedgerSweepRequested".into(), detail: Box::new(requeued[0].clone()) };
    let second = function.handle(&continued).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((second[0].1.customers, second[0].1.more), (50, false));
    let third = function.handle(&scheduled).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(third[0].1.customers, 0, "nobody is due any more");
    assert_eq!(events.0.lock().map(|e| e.len()).unwrap_or_default(), 1, "re-queued once");
}
