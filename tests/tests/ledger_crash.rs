//! Crash injection: a credit, a credit that marks a code used, a reversal, a release by the ledger
//! sweep and a redemption (from a pool, and of a generated code) are each interrupted at every port
//! call they make, retried once as Lambda, EventBridge or the client would, and must then end
//! exactly as the same operation run without interruption on an identical system.
//!
//! The real system: the points function, the ledger service, the ledger sweep and the merchant API
//! over a real `SqliteStore`, the in-process bus and a `FixedClock`. Between the services and the
//! store, and between the ledger service and the bus, sits a wrapper that implements the same
//! ports by delegating, numbers every call (each read, each write, each publish) one attempt makes,
//! and interrupts call `k` in one of three ways:
//!
//! - `FailsBefore` (a): the call never reaches the backend and answers a retryable
//!   `StoreError::Unavailable` / `BusError::Unavailable`;
//! - `FailsAfter` (b): the call is carried out (the write is durable, the events delivered), then
//!   answers the same retryable error, as when the backend's answer is lost;
//! - `DiesAfter`: the call is carried out and then the process dies: nothing after it runs, no
//!   error handler either (a Lambda killed right after DynamoDB answered).
//!
//! A failure the attempt handles itself (the timer marked due after a failed publish, a code
//! withdrawn after a failed debit) is then interrupted once more, at each call of that handling.
//!
//! The uninterrupted run gives the calls and the outcome: the customer's entries (position, key,
//! kind, points, detail, reason, time), the stored balance, the timer, every code with its binding,
//! the distinct keys of the `LedgerEntryAppended` events published, the sweep's tier mark, and for
//! a redemption the API's answer. Each interrupted run must report a retryable failure, and after
//! one retry (for the sweep: and the next sweep, if the retry alone did not finish) match that
//! outcome. A generated code is drawn at random, so it may differ; it is compared as a placeholder,
//! and every observation checks that the ledger's code is the one the store binds to the
//! redemption and that no code is bound to a redemption the ledger does not hold (a pool code lost,
//! a second generated code kept).
//!
//! Every case has its own SQLite database under `/dev/shm` where there is one: about 300 systems,
//! about 3 s in a debug build on two cores (4 s on one).
//!
//! A redemption interrupted after its debit was appended (its event not published, its timer not
//! stored) is finished by the client's retry, which goes through the ledger service although it
//! appends nothing; without that the code's expiry was missed.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use stammkunde_api::ApiService;
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopConfig, ShopDirectory};
use stammkunde_domain::coupon::{claim_key, Coupon};
use stammkunde_domain::customer::{CustomerProfile, Email};
use stammkunde_domain::error::{cause_chain, BusError, StoreError};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, DeliveryId, IdempotencyKey, LineId, OrderId, RefundId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::ledger::{Balance, EntryDetail, LedgerEntry, LedgerState};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::{
    CodeStore, CustomerStore, EventBus, IngestStore, LedgerStore, PageRequest, ShopStore, Timer, TimerStore,
    PAGE_LIMIT_MAX,
};
use stammkunde_domain::refund::{Refund, RefundLine};
use stammkunde_e2e::faults::{Closer, Fault, Faults, FaultySqlite, Mode, MODES};
use stammkunde_local::{InProcessBus, Subscriber};
use stammkunde_points::PointsService;
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_services::reconsent::Reconsent;
use stammkunde_services::sweep::TIER_MARK;
use stammkunde_services::{Coupons, LedgerService, LedgerSweep};
use stammkunde_store_sqlite::SqliteStore;

const SHOP: &str = "crash-shop";
const API_KEY: &str = "crash-api-key-0123456789";
const CUSTOMER: &str = "c-crash";
const POOL_REWARD: &str = "gutschein";
const GENERATED_REWARD: &str = "versand";
const REWARD_POINTS: i64 = 100;
/// The pool, in the order the store hands its codes out (by code).
const POOL_CODES: [&str; 3] = ["KAFFEE-0001", "KAFFEE-0002", "KAFFEE-0003"];
/// What the customer has to spend before a redemption: enough for two rewards.
const STARTING_POINTS: i64 = 250;
const REDEMPTION_KEY: &str = "r-crash";
/// The order every operation is about, and the one that uses a code.
const ORDER: &str = "o1";
const ORDER_WITH_CODE: &str = "o2";
const REFUND: &str = "rf1";
const RETURN_WINDOW_DAYS: i64 = 14;
/// Pages one sweep may take: far more than one customer needs.
const SWEEP_PAGES_MAX: u32 = 4;
/// More port calls than any of these operations makes; a run past it is a loop.
const CALLS_MAX: usize = 64;
/// How a generated code appears in an outcome: it is drawn at random on every run.
const GENERATED_CODE: &str = "<generated code>";

fn config() -> AppConfig {
    let text = format!(
        r#"
[[shops]]
id = "{SHOP}"
platform = "shopify"
domain = "crash-shop.myshopify.com"
webhook_secret = "crash-secret-0123456789"
api_key = "{API_KEY}"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"
[shops.earn]
points_per_unit = "1"
[shops.hold]
return_window_days = {RETURN_WINDOW_DAYS}
shipping_allowance_days = 5
keep_bonus_percent = 10
[shops.expiry]
months = 12
notice_days = 30
[[shops.rewards]]
id = "{POOL_REWARD}"
name = "5 € Gutschein"
points = {REWARD_POINTS}
valid_days = 30
codes = "pool"
[[shops.rewards]]
id = "{GENERATED_REWARD}"
name = "Versandkostenfrei"
points = {REWARD_POINTS}
valid_days = 30
codes = "generate"
"#
    );
    AppConfig::from_toml(&text).unwrap_or_else(|e| panic!("crash shop config: {e}"))
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).single().unwrap_or_default()
}

fn parsed<T, E: std::fmt::Display>(parse: impl Fn(&str) -> Result<T, E>, raw: &str) -> T {
    parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

// ------------------------------------------------------------------------------------------------
// The interruptions: the store's are `stammkunde_e2e::faults`; the bus's are here
// ------------------------------------------------------------------------------------------------

fn bus_unavailable(message: String) -> BusError {
    BusError::Unavailable { message, source: None }
}

struct FaultyBus {
    inner: InProcessBus,
    faults: Arc<Faults>,
}

#[async_trait]
impl EventBus for FaultyBus {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), BusError> {
        self.faults.guard("EventBus::publish", self.inner.publish(events), bus_unavailable).await
    }
}

/// A subscriber that keeps the key of every ledger entry whose event was delivered.
#[derive(Default)]
struct EventLog(Mutex<BTreeSet<String>>);

impl EventLog {
    fn keys(&self) -> MutexGuard<'_, BTreeSet<String>> {
        match self.0.lock() {
            Ok(keys) => keys,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[async_trait]
impl Subscriber for EventLog {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        if let DomainEvent::LedgerEntryAppended { entry } = event {
            self.keys().insert(entry.key.to_string());
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------
// The system
// ------------------------------------------------------------------------------------------------

struct System {
    shop: ShopConfig,
    customer: CustomerId,
    clock: Arc<FixedClock>,
    faults: Arc<Faults>,
    events: Arc<EventLog>,
    points: PointsService,
    sweep: LedgerSweep,
    api: ApiService,
    /// The store itself, for the test's own reads: never counted, never interrupted.
    sqlite: Arc<SqliteStore>,
    // Last: the directory outlives the store that has it open.
    _dir: tempfile::TempDir,
}

impl System {
    fn open() -> System {
        let clock = Arc::new(FixedClock::new(t0()));
        let FaultySqlite { sqlite, faults, store, dir } = FaultySqlite::open("ledger-crash-", clock.clone());
        let events = Arc::new(EventLog::default());
        let bus = InProcessBus::new();
        bus.subscribe(events.clone());
        let bus = Arc::new(FaultyBus { inner: bus, faults: faults.clone() });
        let shops = Arc::new(ShopDirectory::new(config()));
        let shop = shops.by_id(&parsed(ShopId::parse, SHOP)).cloned().unwrap_or_else(|| panic!("no {SHOP}"));
        let ledger = Arc::new(LedgerService {
            ledger: store.clone(),
            timers: store.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
        });
        let points = PointsService {
            shops: shops.clone(),
            ledger: ledger.clone(),
            customers: store.clone(),
            codes: store.clone(),
        };
        let sweep = LedgerSweep {
            ledger: ledger.clone(),
            timers: store.clone(),
            customers: store.clone(),
            shops: store.clone(),
            clock: clock.clone(),
        };
        let coupons = Arc::new(Coupons::new(store.clone()));
        let api = ApiService {
            shops,
            store,
            ledger,
            coupons,
            clock: clock.clone(),
            mail: sqlite.clone(),
            consent: sqlite.clone(),
            bus,
            privacy: Arc::new(Privacy::over(sqlite.clone(), Arc::new(NoMailArchive), clock.clone())),
            reconsent: Arc::new(Reconsent::over(sqlite.clone(), clock.clone())),
        };
        let customer = parsed(CustomerId::parse, CUSTOMER);
        System { shop, customer, clock, faults, events, points, sweep, api, sqlite, _dir: dir }
    }

    /// As the webhook function stores a delivery; returns the stored orders it touched.
    async fn deliver(&self, id: &str, change: Change) -> Vec<Order> {
        let now = t0();
        let record = DeliveryRecord {
            shop: self.shop.id.clone(),
            ids: vec![parsed(DeliveryId::parse, id)],
            topic: "crash".into(),
            received_at: now,
            expires_at: now + Duration::days(DELIVERY_RETENTION_DAYS),
        };
        let outcome = self.sqlite.apply_delivery(&record, &[change]).await;
        outcome.unwrap_or_else(|e| panic!("storing delivery {id}: {}", cause_chain(&e))).orders
    }

    async fn add_customer(&self) {
        let profile = CustomerProfile {
            shop: self.shop.id.clone(),
            customer_id: self.customer.clone(),
            email: Some(parsed(Email::parse, "kundin@example.com")),
            first_name: Some("Kim".into()),
            last_name: None,
            locale: Some("de".into()),
            country: Some("DE".into()),
            birthday: None,
            accepts_email_marketing: None,
            source_updated_at: Some(t0()),
        };
        self.deliver("d-customer", Change::UpsertCustomer(profile)).await;
    }

    /// Stores the order as the webhook does and returns its `OrderRecorded`.
    async fn record_order(&self, order: Order) -> DomainEvent {
        let id = format!("d-{}", order.order_id);
        let stored = self.deliver(&id, Change::RecordOrder(order)).await;
        let order = stored.into_iter().next().unwrap_or_else(|| panic!("{id} stored no order"));
        DomainEvent::OrderRecorded { order }
    }

    /// A request to the merchant API of the shop: (status, body).
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).unwrap_or_else(|e| panic!("{e}"));
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("/api/shops/{SHOP}{path}"))
            .header("authorization", format!("Bearer {API_KEY}"))
            .header("content-type", "application/json")
            .body(Bytes::from(bytes))
            .unwrap_or_else(|e| panic!("{e}"));
        let response = self.api.handle(request).await;
        let status = response.status().as_u16();
        (status, serde_json::from_str(response.body()).unwrap_or(Value::Null))
    }

    async fn post_ok(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.post(path, body).await;
        assert!((200..300).contains(&status), "POST {path} {body}: {status} {answer}");
        answer
    }

    async fn give_points(&self) {
        let body = json!({"idempotency_key": "start", "points": STARTING_POINTS, "reason": "Startguthaben"});
        self.post_ok(&format!("/customers/{CUSTOMER}/adjustments"), &body).await;
    }

    async fn fill_pool(&self) {
        let answer = self.post_ok(&format!("/rewards/{POOL_REWARD}/codes"), &json!({ "codes": POOL_CODES })).await;
        assert_eq!(answer["imported"], json!(POOL_CODES.len()), "{answer}");
    }

    /// Reads everything the operation may have changed, straight from the store, and checks the
    /// bindings of codes to redemptions.
    async fn observe(&self, reply: Option<&Value>) -> Outcome {
        let shop = &self.shop.id;
        let entries = self.sqlite.entries(shop, &self.customer).await.unwrap_or_else(|e| failed("the ledger", e));
        let page = self.sqlite.codes(shop, None, PageRequest::first(PAGE_LIMIT_MAX)).await;
        let codes = page.unwrap_or_else(|e| failed("the codes", e));
        assert!(codes.next.is_none(), "more codes than one page");
        let customer = self.sqlite.customer(shop, &self.customer).await.unwrap_or_else(|e| failed("the customer", e));
        let timer = self.sqlite.timer(shop, &self.customer).await.unwrap_or_else(|e| failed("the timer", e));
        let tier_mark = self.sqlite.sweep_mark(shop, TIER_MARK).await.unwrap_or_else(|e| failed("the mark", e));
        let mut problems = binding_problems(&self.customer, &entries, &codes.items);
        let balance = customer.map(|c| c.balance).unwrap_or_default();
        match LedgerState::replay(shop, &self.customer, &entries) {
            Ok(state) if state.balance() == balance && Balance::replay(&entries) == balance => {}
            Ok(state) => problems.push(format!(
                "balances disagree: stored {balance:?}, replayed {:?}, entries sum {:?}",
                state.balance(),
                Balance::replay(&entries)
            )),
            Err(violation) => problems.push(format!("the stored ledger does not replay: {violation}")),
        }
        let generated: Vec<String> = codes.items.iter().filter(|c| c.generated).map(|c| c.code.to_string()).collect();
        let plain = |text: String| generated.iter().fold(text, |text, code| text.replace(code, GENERATED_CODE));
        let mut code_views: Vec<CodeView> = codes.items.iter().map(|c| CodeView::of(c, &plain)).collect();
        code_views.sort_by(|a, b| a.code.cmp(&b.code));
        Outcome {
            entries: entries.iter().map(|e| EntryView::of(e, &plain)).collect(),
            balance,
            timer,
            codes: code_views,
            published: self.events.keys().iter().map(|k| plain(k.clone())).collect(),
            tier_mark,
            reply: reply.map(|r| serde_json::from_str(&plain(r.to_string())).unwrap_or(Value::Null)),
            problems,
        }
    }
}

fn failed(what: &str, e: StoreError) -> ! {
    panic!("reading {what}: {}", cause_chain(&e))
}

/// Every redemption on the ledger must hold the code the store binds to it, and every code the
/// store binds must belong to a redemption on the ledger: else a pool code is lost, or a second
/// code was kept for one redemption.
fn binding_problems(customer: &CustomerId, entries: &[LedgerEntry], codes: &[Coupon]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut booked = BTreeSet::new();
    for entry in entries {
        let EntryDetail::Redemption { code, .. } = &entry.detail else { continue };
        let key = entry.key.as_str().strip_prefix("redeem:").unwrap_or_else(|| panic!("redemption {}", entry.key));
        let claim = claim_key(customer, &parsed(IdempotencyKey::parse, key));
        let bound: Vec<&Coupon> =
            codes.iter().filter(|c| c.issue.as_ref().is_some_and(|i| i.redemption == claim)).collect();
        match bound.as_slice() {
            [one] if &one.code == code => {}
            _ => problems.push(format!("{} holds code {code}, the store binds {bound:?} to it", entry.key)),
        }
        booked.insert(claim);
    }
    for coupon in codes {
        if let Some(issue) = coupon.issue.as_ref().filter(|i| !booked.contains(&i.redemption)) {
            problems
                .push(format!("code {} is bound to {}, which the ledger does not hold", coupon.code, issue.redemption));
        }
    }
    problems
}

// ------------------------------------------------------------------------------------------------
// Outcomes
// ------------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
struct EntryView {
    position: u32,
    key: String,
    kind: &'static str,
    available: i64,
    pending: i64,
    /// The detail as JSON, generated codes replaced.
    detail: String,
    reason: String,
    created_at: DateTime<Utc>,
}

impl EntryView {
    fn of(entry: &LedgerEntry, plain: &impl Fn(String) -> String) -> EntryView {
        EntryView {
            position: entry.position,
            key: plain(entry.key.to_string()),
            kind: entry.kind.as_str(),
            available: entry.available,
            pending: entry.pending,
            detail: plain(serde_json::to_string(&entry.detail).unwrap_or_else(|e| panic!("{e}"))),
            reason: plain(entry.reason.clone()),
            created_at: entry.created_at,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct CodeView {
    code: String,
    reward: String,
    generated: bool,
    /// To whom and which redemption it is bound, and when it was issued and expires.
    issue: Option<String>,
}

impl CodeView {
    fn of(coupon: &Coupon, plain: &impl Fn(String) -> String) -> CodeView {
        CodeView {
            code: plain(coupon.code.to_string()),
            reward: coupon.reward.to_string(),
            generated: coupon.generated,
            issue: coupon
                .issue
                .as_ref()
                .map(|i| format!("{} {} issued {} expires {}", i.customer_id, i.redemption, i.issued_at, i.expires_at)),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    entries: Vec<EntryView>,
    /// As the store reports it (checked against the entries' sum in `problems`).
    balance: Balance,
    timer: Option<Timer>,
    codes: Vec<CodeView>,
    /// Keys of the ledger entries whose `LedgerEntryAppended` was delivered, at least once.
    published: BTreeSet<String>,
    tier_mark: Option<String>,
    /// The API's last answer, for redemptions.
    reply: Option<Value>,
    problems: Vec<String>,
}

fn differences(expected: &Outcome, actual: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..expected.entries.len().max(actual.entries.len()) {
        let (want, got) = (expected.entries.get(i), actual.entries.get(i));
        if want != got {
            out.push(format!("entry {}: expected {want:?}, got {got:?}", i + 1));
        }
    }
    if expected.balance != actual.balance {
        out.push(format!("balance: expected {:?}, got {:?}", expected.balance, actual.balance));
    }
    if expected.timer != actual.timer {
        out.push(format!("timer: expected {:?}, got {:?}", expected.timer, actual.timer));
    }
    if expected.codes != actual.codes {
        out.push(format!("codes: expected {:?}, got {:?}", expected.codes, actual.codes));
    }
    let missing: Vec<&String> = expected.published.difference(&actual.published).collect();
    let extra: Vec<&String> = actual.published.difference(&expected.published).collect();
    if !missing.is_empty() || !extra.is_empty() {
        out.push(format!("events: never published {missing:?}, published beyond the uninterrupted run {extra:?}"));
    }
    if expected.tier_mark != actual.tier_mark {
        out.push(format!("tier mark: expected {:?}, got {:?}", expected.tier_mark, actual.tier_mark));
    }
    if expected.reply != actual.reply {
        out.push(format!("answer: expected {:?}, got {:?}", expected.reply, actual.reply));
    }
    out.extend(actual.problems.iter().cloned());
    out
}

// ------------------------------------------------------------------------------------------------
// The operations
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    /// `OrderRecorded` of a paid, fulfilled order: its credit and the start of its return window.
    Credit,
    /// `OrderRecorded` of a paid order that used a code the customer redeemed before: the credit,
    /// then the code marked used on its holder's ledger (a second ledger write).
    CreditUsingCode,
    /// A stored refund of one unit of a credited order, then `RefundRecorded`.
    Reversal,
    /// The clock past the return window, then the ledger sweep: the release and the keep bonus.
    Release,
    /// The API's redemption route for a reward whose codes come from a pool.
    PoolRedemption,
    /// The API's redemption route for a reward whose codes are generated.
    GeneratedRedemption,
}

/// What an operation is given, the same on every attempt.
enum Input {
    Event(Box<DomainEvent>),
    Sweep,
    Redeem { reward: &'static str },
}

#[derive(Debug)]
struct Attempt {
    /// What the operation reported, if it reported a failure.
    failure: Option<String>,
    /// Whether the failure makes Lambda, EventBridge, the client or the next sweep try again.
    retryable: bool,
    /// The API's answer (redemptions).
    reply: Option<Value>,
}

impl Attempt {
    fn done(reply: Option<Value>) -> Attempt {
        Attempt { failure: None, retryable: false, reply }
    }

    fn failed(failure: String, retryable: bool, reply: Option<Value>) -> Attempt {
        Attempt { failure: Some(failure), retryable, reply }
    }
}

fn line(order: &str, line: &str, product: &str, quantity: u32, amount_minor: i64) -> OrderLine {
    OrderLine {
        line_id: parsed(LineId::parse, &format!("{order}-{line}")),
        product_id: Some(product.into()),
        quantity,
        amount_minor,
        tax_minor: 0,
    }
}

/// A paid order of the customer, placed at `t0`: 40 + 25 points.
fn paid_order(id: &str, fulfilled: bool, discount_codes: &[&str]) -> Order {
    Order {
        shop: parsed(ShopId::parse, SHOP),
        platform: Platform::Shopify,
        order_id: parsed(OrderId::parse, id),
        order_number: Some(format!("#{id}")),
        customer_id: Some(parsed(CustomerId::parse, CUSTOMER)),
        currency: parsed(Currency::parse, "EUR"),
        taxes_included: false,
        lines: vec![line(id, "l1", "p1", 2, 4_000), line(id, "l2", "p2", 1, 2_550)],
        shipping_minor: 0,
        payment: PaymentState::Paid,
        cancelled: false,
        discount_codes: discount_codes.iter().map(|c| (*c).to_owned()).collect(),
        placed_at: t0(),
        version: OrderVersion::of(t0(), PaymentState::Paid, false),
        paid_at: Some(t0()),
        fulfilled_at: fulfilled.then(t0),
        total_minor: None,
    }
}

impl Operation {
    /// The keys the operation must append, so a run that does nothing cannot pass.
    fn appends(self) -> Vec<String> {
        match self {
            Operation::Credit => vec![format!("earn:order:{ORDER}"), format!("window:order:{ORDER}")],
            Operation::CreditUsingCode => {
                vec![format!("earn:order:{ORDER_WITH_CODE}"), format!("used:code:{}", POOL_CODES[0])]
            }
            Operation::Reversal => vec![format!("reversal:refund:{ORDER}:{REFUND}")],
            Operation::Release => vec![format!("release:order:{ORDER}"), format!("keep:order:{ORDER}")],
            Operation::PoolRedemption | Operation::GeneratedRedemption => vec![format!("redeem:{REDEMPTION_KEY}")],
        }
    }

    /// Brings a fresh system to where the operation starts, through the real services, uncounted.
    async fn prepare(self, system: &System) -> Input {
        system.add_customer().await;
        let input = match self {
            Operation::Credit => Input::Event(Box::new(system.record_order(paid_order(ORDER, true, &[])).await)),
            Operation::CreditUsingCode => {
                system.give_points().await;
                system.fill_pool().await;
                let body = json!({"idempotency_key": "r-before", "reward": POOL_REWARD});
                let answer = system.post_ok(&format!("/customers/{CUSTOMER}/redemptions"), &body).await;
                assert_eq!(answer["code"], json!(POOL_CODES[0]), "{answer}");
                Input::Event(Box::new(system.record_order(paid_order(ORDER_WITH_CODE, false, &[POOL_CODES[0]])).await))
            }
            Operation::Reversal => {
                let credited = system.record_order(paid_order(ORDER, false, &[])).await;
                handle(system, &credited).await;
                let refund = Refund {
                    shop: system.shop.id.clone(),
                    order_id: parsed(OrderId::parse, ORDER),
                    refund_id: parsed(RefundId::parse, REFUND),
                    created_at: t0() + Duration::days(3),
                    lines: vec![RefundLine { line_id: parsed(LineId::parse, &format!("{ORDER}-l1")), quantity: 1 }],
                    amount_minor: None,
                };
                system.deliver("d-refund", Change::RecordRefund(refund.clone())).await;
                Input::Event(Box::new(DomainEvent::RefundRecorded { refund }))
            }
            Operation::Release => {
                let credited = system.record_order(paid_order(ORDER, true, &[])).await;
                handle(system, &credited).await;
                system.clock.set(t0() + Duration::days(RETURN_WINDOW_DAYS + 1));
                Input::Sweep
            }
            Operation::PoolRedemption => {
                system.give_points().await;
                system.fill_pool().await;
                Input::Redeem { reward: POOL_REWARD }
            }
            Operation::GeneratedRedemption => {
                system.give_points().await;
                Input::Redeem { reward: GENERATED_REWARD }
            }
        };
        system.events.keys().clear();
        input
    }
}

/// Hands an event to the points function during preparation; it must succeed.
async fn handle(system: &System, event: &DomainEvent) {
    let outcome = system.points.handle_event(event).await;
    outcome.unwrap_or_else(|e| panic!("points on {}: {}", event.detail_type(), cause_chain(&e)));
}

/// One attempt of the operation, as its function runs it.
async fn operate(system: &System, input: &Input) -> Attempt {
    match input {
        Input::Event(event) => match system.points.handle_event(event).await {
            Ok(_) => Attempt::done(None),
            Err(e) => Attempt::failed(cause_chain(&e), e.is_retryable(), None),
        },
        Input::Sweep => match system.sweep.sweep_shop(&system.shop, SWEEP_PAGES_MAX).await {
            Ok(report) if report.failed == 0 && !report.more => Attempt::done(None),
            // A failed tick leaves the customer's timer due: the next sweep retries it.
            Ok(report) => Attempt::failed(format!("{report:?}"), true, None),
            Err(e) => Attempt::failed(cause_chain(&e), e.is_retryable(), None),
        },
        Input::Redeem { reward } => {
            let body = json!({"idempotency_key": REDEMPTION_KEY, "reward": reward});
            let (status, answer) = system.post(&format!("/customers/{CUSTOMER}/redemptions"), &body).await;
            if (200..300).contains(&status) {
                Attempt::done(Some(answer))
            } else {
                // A client retries what the API calls unavailable (503), the same request again.
                Attempt::failed(format!("{status} {answer}"), status == 503, Some(answer))
            }
        }
    }
}

/// An attempt, counted from its first port call, interrupted as planned. A process that dies is
/// no longer driven: the attempt's future is dropped where it stood.
async fn attempt(system: &System, input: &Input, interrupt: &[Fault]) -> (Attempt, Vec<&'static str>) {
    let (attempt, calls) = system.faults.attempt(interrupt, CALLS_MAX, operate(system, input)).await;
    let attempt = attempt.unwrap_or_else(|| Attempt::failed("the process died".into(), true, None));
    (attempt, calls)
}

// ------------------------------------------------------------------------------------------------
// Running the cases
// ------------------------------------------------------------------------------------------------

struct Baseline {
    calls: Vec<&'static str>,
    outcome: Outcome,
}

/// The operation run without interruption on a fresh system: its calls and its outcome.
async fn uninterrupted(operation: Operation, closer: &Closer) -> Baseline {
    let system = System::open();
    let input = operation.prepare(&system).await;
    let (first, calls) = attempt(&system, &input, &[]).await;
    assert_eq!(first.failure, None, "{operation:?} without interruption");
    let outcome = system.observe(first.reply.as_ref()).await;
    assert!(outcome.problems.is_empty(), "{operation:?} without interruption: {:?}", outcome.problems);
    for key in operation.appends() {
        assert!(outcome.entries.iter().any(|e| e.key == key), "{operation:?} appended no {key}: {outcome:#?}");
        assert!(outcome.published.contains(&key), "{operation:?} published no {key}: {outcome:#?}");
    }
    if matches!(input, Input::Sweep) {
        // The baseline is what the sweep leaves: another run finds nothing due.
        let (again, _) = attempt(&system, &input, &[]).await;
        assert_eq!(again.failure, None, "a second sweep");
        let swept_again = system.observe(None).await;
        assert!(swept_again == outcome, "a second sweep changed {:?}", differences(&outcome, &swept_again));
    }
    closer.close(system);
    Baseline { calls, outcome }
}

/// How an interrupted case ended, if it converged.
#[derive(Debug)]
enum Converged {
    AfterTheRetry,
    AfterTheNextSweep,
}

struct Case {
    /// The port calls the interrupted attempt made (its error handling included).
    calls: Vec<&'static str>,
    /// `Err` says what differs from the uninterrupted run.
    result: Result<Converged, String>,
}

/// Names the faults of a case: `call 6 of 8 (LedgerStore::append_entries) FailsAfter, then call 7
/// of the failed attempt (LedgerStore::entries) FailsBefore`.
fn describe(faults: &[Fault], calls: &[&'static str], baseline: &Baseline) -> String {
    let label = |k: usize| calls.get(k - 1).copied().unwrap_or("?");
    let named: Vec<String> = faults
        .iter()
        .enumerate()
        .map(|(n, (k, mode))| match n {
            0 => format!("call {k} of {} ({}) {mode:?}", baseline.calls.len(), label(*k)),
            _ => format!("call {k} of the failed attempt ({}) {mode:?}", label(*k)),
        })
        .collect();
    named.join(", then ")
}

/// The operation interrupted by `faults`, then retried once (and swept once more if it is a sweep
/// the retry alone did not finish).
async fn interrupted(operation: Operation, baseline: &Baseline, faults: &[Fault], closer: &Closer) -> Case {
    let system = System::open();
    let input = operation.prepare(&system).await;
    let (first, calls) = attempt(&system, &input, faults).await;
    let mut problems = Vec::new();
    let k = faults.iter().map(|(k, _)| *k).min().unwrap_or(0);
    if calls.get(..k) != baseline.calls.get(..k) {
        problems
            .push(format!("the interrupted attempt made the calls {calls:?}, not the uninterrupted run's first {k}"));
    }
    match &first.failure {
        None => problems.push("the interrupted attempt reported success, so nothing retries it".into()),
        Some(failure) if !first.retryable => {
            problems.push(format!("the interrupted attempt failed for good: {failure}"))
        }
        Some(_) => {}
    }
    let (retry, _) = attempt(&system, &input, &[]).await;
    if let Some(failure) = &retry.failure {
        problems.push(format!("the retry failed: {failure}"));
    }
    let mut outcome = system.observe(retry.reply.as_ref()).await;
    let mut converged = Converged::AfterTheRetry;
    if matches!(input, Input::Sweep) && outcome != baseline.outcome {
        let (next, _) = attempt(&system, &input, &[]).await;
        if let Some(failure) = &next.failure {
            problems.push(format!("the next sweep failed: {failure}"));
        }
        outcome = system.observe(None).await;
        converged = Converged::AfterTheNextSweep;
    }
    problems.extend(differences(&baseline.outcome, &outcome));
    closer.close(system);
    let result = if problems.is_empty() {
        Ok(converged)
    } else {
        Err(format!(
            "{operation:?}, {} (reported: {}):\n    {}",
            describe(faults, &calls, baseline),
            first.failure.unwrap_or_default(),
            problems.join("\n    ")
        ))
    };
    Case { calls, result }
}

/// Interrupts the operation at every call of its uninterrupted run, in every mode; and for a
/// failure the attempt handles (the timer marked due after a failed publish, a code withdrawn
/// after a failed debit), every call of that handling a second time, in every mode. Returns what
/// differs in every case that does not converge.
async fn interruption_failures(operation: Operation) -> Vec<String> {
    let started = Instant::now();
    let closer = Closer::default();
    let baseline = uninterrupted(operation, &closer).await;
    let (mut failures, mut single, mut double, mut next_sweep) = (Vec::new(), 0, 0, 0);
    let mut tally = |case: &Case, failures: &mut Vec<String>| match &case.result {
        Ok(Converged::AfterTheRetry) => {}
        Ok(Converged::AfterTheNextSweep) => next_sweep += 1,
        Err(failure) => failures.push(failure.clone()),
    };
    for k in 1..=baseline.calls.len() {
        for mode in MODES {
            single += 1;
            let case = interrupted(operation, &baseline, &[(k, mode)], &closer).await;
            tally(&case, &mut failures);
            for later in k + 1..=case.calls.len() {
                for second in MODES {
                    double += 1;
                    let twice = interrupted(operation, &baseline, &[(k, mode), (later, second)], &closer).await;
                    tally(&twice, &mut failures);
                }
            }
        }
    }
    closer.finish();
    eprintln!(
        "{operation:?}: {} calls {:?}; {single} single and {double} double interruptions ({next_sweep} needed \
         the next sweep), {} did not converge, in {:.1?}",
        baseline.calls.len(),
        baseline.calls,
        failures.len(),
        started.elapsed()
    );
    failures
}

async fn assert_interruptions_converge(operation: Operation) {
    let failures = interruption_failures(operation).await;
    assert!(failures.is_empty(), "{} cases do not converge:\n  {}", failures.len(), failures.join("\n  "));
}

#[tokio::test]
async fn a_credit_interrupted_at_any_call_ends_as_the_uninterrupted_credit_after_a_retry() {
    assert_interruptions_converge(Operation::Credit).await;
}

#[tokio::test]
async fn a_credit_that_marks_a_code_used_interrupted_at_any_call_ends_as_the_uninterrupted_one_after_a_retry() {
    assert_interruptions_converge(Operation::CreditUsingCode).await;
}

#[tokio::test]
async fn a_reversal_interrupted_at_any_call_ends_as_the_uninterrupted_reversal_after_a_retry() {
    assert_interruptions_converge(Operation::Reversal).await;
}

#[tokio::test]
async fn a_release_interrupted_at_any_call_ends_as_the_uninterrupted_release_after_the_next_sweep() {
    assert_interruptions_converge(Operation::Release).await;
}

#[tokio::test]
async fn a_redemption_from_the_pool_interrupted_before_its_debit_or_after_its_timer_ends_as_the_uninterrupted_one() {
    assert_interruptions_converge(Operation::PoolRedemption).await;
}

#[tokio::test]
async fn a_redemption_of_a_generated_code_interrupted_before_its_debit_or_after_its_timer_ends_as_the_uninterrupted_one(
) {
    assert_interruptions_converge(Operation::GeneratedRedemption).await;
}

/// A redemption retried after its debit was appended still times its code: an unused code's
/// points come back one day after it expired, from the sweep the timer schedules.
#[tokio::test]
async fn an_unused_code_of_a_redemption_retried_after_its_debit_gives_its_points_back_when_it_expires() {
    let closer = Closer::default();
    let baseline = uninterrupted(Operation::PoolRedemption, &closer).await;
    let call = |name: &str| baseline.calls.iter().position(|c| *c == name).map_or(0, |i| i + 1);
    let cases = [
        None,
        Some((call("LedgerStore::append_entries"), Mode::FailsAfter)),
        Some((call("TimerStore::set_timer"), Mode::FailsBefore)),
    ];
    // A day after the code's expiry (30 days), when its points are due back.
    let expired = t0() + Duration::days(31);
    let mut failures = Vec::new();
    for fault in cases {
        let system = System::open();
        let input = Operation::PoolRedemption.prepare(&system).await;
        if let Some(fault) = fault {
            attempt(&system, &input, &[fault]).await;
        }
        let (retry, _) = attempt(&system, &input, &[]).await;
        assert_eq!(retry.failure, None, "{fault:?}: the retry");
        system.clock.set(expired);
        let (swept, _) = attempt(&system, &Input::Sweep, &[]).await;
        assert_eq!(swept.failure, None, "{fault:?}: the sweep");
        let outcome = system.observe(None).await;
        let returned = outcome.entries.iter().any(|e| e.kind == "code_expired");
        let available = outcome.balance.available;
        match fault {
            None => assert!(returned && available == STARTING_POINTS, "uninterrupted: {outcome:#?}"),
            Some((k, mode)) if !returned => failures.push(format!(
                "call {k} ({}) {mode:?}: no code_expired entry after the sweep at {expired}; timer {:?}, \
                 available {available} instead of {STARTING_POINTS}",
                baseline.calls[k - 1],
                outcome.timer
            )),
            Some(_) => {}
        }
        closer.close(system);
    }
    closer.finish();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The client's retry of a redemption that stopped after its claim and before its debit (the
/// claim's answer lost, the process dead right after it, or a failure of any call after it up to
/// the debit) gets the pool's first code, the one the uninterrupted run gives, and one debit.
#[tokio::test]
async fn a_redemption_that_crashed_after_its_claim_gets_the_first_pool_code_and_one_debit_on_retry() {
    let closer = Closer::default();
    let baseline = uninterrupted(Operation::PoolRedemption, &closer).await;
    let claim = baseline.calls.iter().position(|c| *c == "CodeStore::claim_code").map(|i| i + 1);
    let claim = claim.unwrap_or_else(|| panic!("a pool redemption claims: {:?}", baseline.calls));
    let debit = baseline.calls.iter().position(|c| *c == "LedgerStore::append_entries").map(|i| i + 1);
    let debit = debit.unwrap_or_else(|| panic!("a redemption appends: {:?}", baseline.calls));
    let mut cases = vec![(claim, Mode::FailsAfter), (claim, Mode::DiesAfter)];
    cases.extend((claim + 1..=debit).map(|k| (k, Mode::FailsBefore)));
    cases.extend((claim + 1..debit).flat_map(|k| [(k, Mode::FailsAfter), (k, Mode::DiesAfter)]));
    for (k, mode) in cases {
        let system = System::open();
        let input = Operation::PoolRedemption.prepare(&system).await;
        let (first, _) = attempt(&system, &input, &[(k, mode)]).await;
        assert!(first.failure.is_some() && first.retryable, "call {k} {mode:?}: {first:?}");
        let (retry, _) = attempt(&system, &input, &[]).await;
        let reply = retry.reply.unwrap_or_else(|| panic!("call {k} {mode:?}: no answer"));
        assert_eq!(reply["code"], json!(POOL_CODES[0]), "call {k} {mode:?}: {reply}");
        let outcome = system.observe(None).await;
        let debits: Vec<&EntryView> = outcome.entries.iter().filter(|e| e.kind == "redemption").collect();
        assert_eq!(debits.len(), 1, "call {k} {mode:?}: {debits:?}");
        assert_eq!(debits[0].available, -REWARD_POINTS, "call {k} {mode:?}");
        assert_eq!(outcome.balance.available, STARTING_POINTS - REWARD_POINTS, "call {k} {mode:?}");
        let pooled: Vec<&str> = outcome.codes.iter().filter(|c| c.issue.is_none()).map(|c| c.code.as_str()).collect();
        assert_eq!(pooled, &POOL_CODES[1..], "call {k} {mode:?}: the rest of the pool is still there");
        assert!(outcome.problems.is_empty(), "call {k} {mode:?}: {:?}", outcome.problems);
        closer.close(system);
    }
    closer.finish();
}
