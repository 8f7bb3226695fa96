//! `dynamodb_cost`: DynamoDB write request units per credited order, from the real items.
//!
//! The Shopify `orders_paid` fixture is parsed by the product's parser; the points function
//! (`PointsService` over the real `LedgerService`) credits it against stores that only record
//! what they are asked, and every item is built by `stammkunde_aws::dynamo::items` exactly as the
//! DynamoDB store writes it, then sized by `item_size_bytes` / `wru_for_item` (AWS's documented
//! formula). The list of writes follows `shared/aws/src/dynamo/{ingest,changes,customer_writes,
//! ledger,timers}.rs`:
//!
//! webhooks (per new delivery): `record_order` (PutItem; `record_refund` per refund the payload
//! carries), then `write_customer` (one UpdateItem for the customer's profile and last order
//! together, after a strongly consistent GetItem of its guards), then `record_delivery` (one
//! PutItem per delivery id);
//! points (`LedgerService::run`): `append_entries` (one conditional PutItem for a single entry, a
//! TransactWriteItems of Puts for several; the balance is derived from the entries, not stored),
//! then `set_timer` (one conditional PutItem of the customer's timer item, which replaces it
//! whole): the credit is held for the return window, and the timer is what gets it released on
//! time.
//!
//! Index writes follow AWS's rules for global secondary indexes, for every index of the table
//! (`schema::INDEXES`) whose keys the item carries before or after the write: a new index entry
//! costs one write on that index, a removed one one, a moved key two (delete and put), a changed
//! projected attribute one, and an unchanged entry nothing. Each index entry is sized like an item
//! (table keys, index keys, projected attributes).
//!
//! No AWS is needed for the figures. With `--moto URL` (or `AWS_ENDPOINT_URL` set), the same two
//! deliveries are then written through the real `DynamoStore` (ingest and the points function)
//! into a fresh table there, and every stored item must be exactly one of the items counted, with
//! nothing stored that was not counted; otherwise the program fails.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use stammkunde_aws::dynamo::schema::{IndexDefinition, CUSTOMER_INDEXES, INDEXES, PK, SK};
use stammkunde_aws::dynamo::{item_size_bytes, items, wru_for_item, DynamoStore, Item};
use stammkunde_bench::args::Flags;
use stammkunde_bench::moto::sdk_config;
use stammkunde_bench::orders::ORDERS_PAID;
use stammkunde_bench::shop::{config_toml, shop_config, POINTS_PER_ORDER, TOPIC};
use stammkunde_bench::stats::kib;
use stammkunde_bench::table::Table;
use stammkunde_bench::{print_error, BenchResult};
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopConfig, ShopDirectory};
use stammkunde_domain::coupon::{Coupon, CouponCode, Issue};
use stammkunde_domain::customer::{Customer, CustomerProfile, Email};
use stammkunde_domain::error::{BusError, StoreError};
use stammkunde_domain::events::{DomainEvent, EVENT_SOURCE};
use stammkunde_domain::ids::{CustomerId, DeliveryId, IdempotencyKey, OrderId, RewardId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord, PrivacyRequest, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::ledger::{AppendOutcome, EntryKind, LedgerEntry};
use stammkunde_domain::order::Order;
use stammkunde_domain::platforms::{shopify, ParseOutcome};
use stammkunde_domain::ports::{
    CodeStore, CustomerStore, DueTimer, EventBus, IngestStore, LedgerStore, Page, PageRequest, Timer, TimerStore,
};
use stammkunde_domain::refund::Refund;
use stammkunde_points::{PointsOutcome, PointsService};
use stammkunde_services::LedgerService;

const TARGET_WRU: u32 = 4;
const STRETCH_WRU: u32 = 2;
/// EventBridge bills PutEvents per started 64 KB of each entry.
const EVENT_CHUNK_BYTES: usize = 64 * 1024;
/// When the first delivery arrives, and how long after it the points function runs.
const RECEIVED_AT: &str = "2026-11-20T09:16:00Z";
const CREDIT_DELAY_MS: i64 = 120;
/// The returning customer's next order comes this much later, while the first is still held.
const NEXT_ORDER_AFTER_DAYS: i64 = 1;

const FLAGS: [&str; 1] = ["--moto"];
const USAGE: &str =
    "usage: dynamodb_cost [--moto http://127.0.0.1:5055]   (default: $AWS_ENDPOINT_URL if set, else no cross-check)";

fn main() -> ExitCode {
    let moto = match Flags::from_env(&FLAGS) {
        Ok(flags) if flags.help() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(flags) => flags
            .value("--moto")
            .map(str::to_owned)
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok().filter(|url| !url.trim().is_empty())),
        Err(e) => {
            print_error("dynamodb_cost", &e);
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            print_error("dynamodb_cost", &e.into());
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(moto)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error("dynamodb_cost", &e);
            ExitCode::FAILURE
        }
    }
}

async fn run(moto: Option<String>) -> BenchResult<()> {
    let shop = shop_config()?;
    let recorder = Arc::new(Recorder::default());
    let first = delivery(&shop, &recorder, None).await?;
    let next = delivery(&shop, &recorder, Some(&first)).await?;
    let first_writes = writes(&first, None)?;
    let next_writes = writes(&next, Some(&first))?;
    print_writes(&first, &first_writes);
    print_totals(&first_writes, &next_writes);
    print_returning(&next, &next_writes);
    print_reads_and_events(&first)?;
    match moto {
        Some(endpoint) => {
            let checked = cross_check(&endpoint, &[(&first, &first_writes), (&next, &next_writes)]).await?;
            println!("\nCross-check on moto at {endpoint}: {checked}");
        }
        None => println!("\nCross-check against a table skipped (no --moto and no AWS_ENDPOINT_URL)."),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The facts: one delivery of the fixture, ingested and credited.

/// What one delivery of an `orders/paid` leads to, as the functions decide it.
struct Delivery {
    profile: CustomerProfile,
    order: Order,
    refunds: Vec<Refund>,
    record: DeliveryRecord,
    /// The parsed changes, as the webhooks function applies them.
    changes: Vec<Change>,
    /// What the webhooks function publishes.
    webhook_events: Vec<DomainEvent>,
    /// What the points function did with the order, as the stores saw it.
    credit: Credit,
}

/// Parses the fixture and credits it. `after`: the customer's earlier delivery, whose order this
/// one follows (a new order id, placed `NEXT_ORDER_AFTER_DAYS` later); `None` for the fixture
/// itself, a new customer's first order.
async fn delivery(shop: &ShopConfig, recorder: &Arc<Recorder>, after: Option<&Delivery>) -> BenchResult<Delivery> {
    let offset = Duration::days(if after.is_some() { NEXT_ORDER_AFTER_DAYS } else { 0 });
    let received_at = RECEIVED_AT.parse::<DateTime<Utc>>()? + offset;
    // The webhooks function records one id per Shopify delivery: X-Shopify-Event-Id, else
    // X-Shopify-Webhook-Id (see functions/webhooks/src/shopify.rs).
    let suffix = if after.is_some() { "2" } else { "1" };
    let event_id = DeliveryId::parse(&format!("event:98880550-7158-44d4-b7cd-2c97c8a091b{suffix}"))?;
    let ParseOutcome::Changes(changes) =
        shopify::parse(TOPIC, ORDERS_PAID.as_bytes(), shop, event_id.as_str(), received_at)?
    else {
        return Err("the fixture was ignored by the parser".into());
    };
    let mut profile = None;
    let mut order = None;
    let mut refunds = Vec::new();
    for change in &changes {
        match change {
            Change::UpsertCustomer(p) => profile = Some(p.clone()),
            Change::RecordOrder(o) => order = Some(o.clone()),
            Change::RecordRefund(r) => refunds.push(r.clone()),
            other => return Err(format!("the fixture gave an unexpected change: {other:?}").into()),
        }
    }
    let (Some(profile), Some(mut order)) = (profile, order) else {
        return Err("the fixture did not give a customer and an order".into());
    };
    if let Some(earlier) = after {
        order.order_id = OrderId::parse(&format!("{}2", earlier.order.order_id))?;
        order.placed_at += offset;
        order.paid_at = order.paid_at.map(|at| at + offset);
        for refund in &mut refunds {
            refund.order_id = order.order_id.clone();
        }
    }
    let changes: Vec<Change> = changes
        .into_iter()
        .map(|change| match change {
            Change::RecordOrder(_) => Change::RecordOrder(order.clone()),
            Change::RecordRefund(r) => Change::RecordRefund(Refund { order_id: order.order_id.clone(), ..r }),
            other => other,
        })
        .collect();
    let record = DeliveryRecord {
        shop: shop.id.clone(),
        ids: vec![event_id],
        topic: TOPIC.to_owned(),
        received_at,
        expires_at: received_at + Duration::days(DELIVERY_RETENTION_DAYS),
    };
    // As `functions/webhooks/src/ingest.rs` announces the changes, in their order.
    let webhook_events = changes
        .iter()
        .map(|change| match change {
            Change::UpsertCustomer(p) => {
                DomainEvent::CustomerUpdated { shop: p.shop.clone(), customer_id: p.customer_id.clone() }
            }
            Change::RecordRefund(r) => DomainEvent::RefundRecorded { refund: r.clone() },
            _ => DomainEvent::OrderRecorded { order: order.clone() },
        })
        .collect();
    let credit = credit(recorder, &order, received_at + Duration::milliseconds(CREDIT_DELAY_MS)).await?;
    let expected_position = if after.is_some() { 2 } else { 1 };
    match credit.appends.as_slice() {
        [entries]
            if matches!(entries.as_slice(), [e] if e.kind == EntryKind::Earn
            && e.position == expected_position
            && e.pending == POINTS_PER_ORDER
            && e.available == 0) => {}
        other => {
            let got: Vec<Vec<String>> = other
                .iter()
                .map(|a| a.iter().map(|e| format!("{} {} at {}", e.kind.as_str(), e.points(), e.position)).collect())
                .collect();
            return Err(format!(
                "the points function should append one pending earn entry of {POINTS_PER_ORDER} points at position \
                 {expected_position}, appended {got:?}"
            )
            .into());
        }
    }
    if credit.timers.len() != 1 {
        return Err(format!("the points function set the timer {} times, not once", credit.timers.len()).into());
    }
    Ok(Delivery { profile, order, refunds, record, changes, webhook_events, credit })
}

/// What one credit asked of the stores and the bus.
#[derive(Default)]
struct Credit {
    /// Each `append_entries` call's entries.
    appends: Vec<Vec<LedgerEntry>>,
    /// Each `set_timer` call that wrote.
    timers: Vec<TimerWrite>,
    published: Vec<DomainEvent>,
    reads: Vec<String>,
}

/// One `set_timer` that wrote: the timer item as stored before, the item put, its due time.
struct TimerWrite {
    before: Option<Item>,
    after: Item,
    due: Option<DateTime<Utc>>,
}

/// Runs the points function on the order's `OrderRecorded`, as its Lambda does.
async fn credit(recorder: &Arc<Recorder>, order: &Order, now: DateTime<Utc>) -> BenchResult<Credit> {
    let config = AppConfig::from_toml(&config_toml())?;
    let ledger = Arc::new(LedgerService {
        ledger: recorder.clone(),
        timers: recorder.clone(),
        bus: recorder.clone(),
        clock: Arc::new(FixedClock::new(now)),
    });
    let points = PointsService {
        shops: Arc::new(ShopDirectory::new(config)),
        ledger,
        customers: recorder.clone(),
        codes: recorder.clone(),
    };
    let outcome = points.handle_event(&DomainEvent::OrderRecorded { order: order.clone() }).await?;
    if !matches!(outcome, PointsOutcome::Reconciled { .. }) {
        return Err(format!("the points function did not credit the order: {outcome:?}").into());
    }
    Ok(std::mem::take(&mut *recorder.lock()?))
}

// ---------------------------------------------------------------------------------------------
// Stores that keep one customer's ledger and timer in memory and record every call.

#[derive(Default)]
struct Recorder(Mutex<Recorded>);

#[derive(Default)]
struct Recorded {
    entries: Vec<LedgerEntry>,
    timer: Option<(ShopId, CustomerId, Timer)>,
    log: Credit,
}

impl std::ops::Deref for Recorded {
    type Target = Credit;
    fn deref(&self) -> &Credit {
        &self.log
    }
}

impl std::ops::DerefMut for Recorded {
    fn deref_mut(&mut self) -> &mut Credit {
        &mut self.log
    }
}

impl Recorder {
    fn lock(&self) -> Result<MutexGuard<'_, Recorded>, StoreError> {
        self.0.lock().map_err(|_| StoreError::Invariant("the recording store is poisoned".into()))
    }

    fn read(&self, what: String) -> Result<(), StoreError> {
        self.lock()?.reads.push(what);
        Ok(())
    }
}

fn unused(what: &str) -> StoreError {
    StoreError::Invariant(format!("{what} is not part of crediting an order"))
}

#[async_trait]
impl LedgerStore for Recorder {
    async fn append_entries(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        entries: &[LedgerEntry],
    ) -> Result<AppendOutcome, StoreError> {
        let mut recorded = self.lock()?;
        let next = u32::try_from(recorded.entries.len()).unwrap_or(u32::MAX).saturating_add(1);
        for (offset, entry) in (0_u32..).zip(entries) {
            entry.check().map_err(StoreError::Invariant)?;
            if &entry.shop != shop || &entry.customer_id != customer || entry.position != next + offset {
                return Err(StoreError::Invariant(format!("entry {} does not continue the ledger", entry.key)));
            }
        }
        recorded.entries.extend_from_slice(entries);
        recorded.log.appends.push(entries.to_vec());
        Ok(AppendOutcome::Appended)
    }

    async fn entries(&self, _: &ShopId, _: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut recorded = self.lock()?;
        recorded.reads.push("Query of the customer's ledger entries (sk begins_with L#), strongly consistent".into());
        Ok(recorded.entries.clone())
    }
}

#[async_trait]
impl TimerStore for Recorder {
    async fn set_timer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        due: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<(), StoreError> {
        let mut recorded = self.lock()?;
        let before = recorded.timer.as_ref().map(|(s, c, t)| items::timer_item(s, c, t.due, t.ledger_len));
        if recorded.timer.as_ref().is_some_and(|(_, _, t)| t.ledger_len > ledger_len) {
            return Ok(());
        }
        let after = items::timer_item(shop, customer, due, ledger_len);
        recorded.log.timers.push(TimerWrite { before, after, due });
        recorded.timer = Some((shop.clone(), customer.clone(), Timer { due, ledger_len }));
        Ok(())
    }

    async fn timer(&self, _: &ShopId, _: &CustomerId) -> Result<Option<Timer>, StoreError> {
        let mut recorded = self.lock()?;
        recorded.reads.push("GetItem of the customer's timer (sk T), strongly consistent".into());
        Ok(recorded.timer.as_ref().map(|(_, _, t)| t.clone()))
    }

    async fn due_timers(&self, _: &ShopId, _: DateTime<Utc>, _: PageRequest) -> Result<Page<DueTimer>, StoreError> {
        Err(unused("due_timers"))
    }
}

#[async_trait]
impl EventBus for Recorder {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), BusError> {
        let mut recorded = self.0.lock().map_err(|_| BusError::Rejected("the recording bus is poisoned".into()))?;
        recorded.log.published.extend_from_slice(events);
        Ok(())
    }
}

#[async_trait]
impl CustomerStore for Recorder {
    async fn customer(&self, _: &ShopId, _: &CustomerId) -> Result<Option<Customer>, StoreError> {
        Err(unused("customer"))
    }
    async fn order(&self, _: &ShopId, _: &OrderId) -> Result<Option<Order>, StoreError> {
        Err(unused("order"))
    }
    async fn privacy_requests(&self, _: &ShopId) -> Result<Vec<PrivacyRequest>, StoreError> {
        Err(unused("privacy_requests"))
    }
    async fn refunds(&self, _: &ShopId, _: &OrderId) -> Result<Vec<Refund>, StoreError> {
        self.read("Query of the order's refunds (sk begins_with F#), strongly consistent".into())?;
        Ok(Vec::new())
    }
    async fn customers(&self, _: &ShopId, _: PageRequest) -> Result<Page<CustomerId>, StoreError> {
        Err(unused("customers"))
    }
    async fn customers_by_email(&self, _: &ShopId, _: &Email, _: PageRequest) -> Result<Page<CustomerId>, StoreError> {
        Err(unused("customers_by_email"))
    }
    async fn customers_by_birthday(
        &self,
        _: &ShopId,
        _: u8,
        _: u8,
        _: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        Err(unused("customers_by_birthday"))
    }
    async fn customers_by_last_order_date(
        &self,
        _: &ShopId,
        _: NaiveDate,
        _: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        Err(unused("customers_by_last_order_date"))
    }
}

#[async_trait]
impl CodeStore for Recorder {
    async fn import_codes(&self, _: &ShopId, _: &RewardId, _: &[CouponCode], _: bool) -> Result<u32, StoreError> {
        Err(unused("import_codes"))
    }
    async fn claim_code(&self, _: &ShopId, _: &RewardId, _: &Issue) -> Result<Option<Coupon>, StoreError> {
        Err(unused("claim_code"))
    }
    async fn insert_issued(&self, _: &Coupon) -> Result<Option<Coupon>, StoreError> {
        Err(unused("insert_issued"))
    }
    async fn return_code(&self, _: &ShopId, _: &CouponCode, _: &IdempotencyKey) -> Result<(), StoreError> {
        Err(unused("return_code"))
    }
    /// The fixture's discount code is the shop's own, not one we issued: no holder to mark.
    async fn code(&self, _: &ShopId, code: &CouponCode) -> Result<Option<Coupon>, StoreError> {
        self.read(format!("GetItem of code {code} (not one we issued), strongly consistent"))?;
        Ok(None)
    }
    async fn code_for_redemption(&self, _: &ShopId, _: &IdempotencyKey) -> Result<Option<Coupon>, StoreError> {
        Err(unused("code_for_redemption"))
    }
    async fn codes(&self, _: &ShopId, _: Option<&RewardId>, _: PageRequest) -> Result<Page<Coupon>, StoreError> {
        Err(unused("codes"))
    }
}

// ---------------------------------------------------------------------------------------------
// The writes and their units.

/// One write of the path.
struct Write {
    function: &'static str,
    what: String,
    call: String,
    /// The item as the write leaves it.
    item: Item,
    /// Its size.
    bytes: usize,
    /// The item it replaced or updated, if there was one.
    bytes_before: Option<usize>,
    /// Units on the table: `wru_for_item` of the larger of the item before and after, twice that
    /// in a transaction.
    table_wru: u32,
    /// Units on the global secondary indexes the write adds, moves, rewrites or removes an entry of.
    index_wru: u32,
    note: String,
}

impl Write {
    /// A write that leaves `after` where `before` was (`None`: a new item).
    fn of(function: &'static str, what: &str, call: &str, before: Option<&Item>, after: &Item) -> Write {
        let table_wru = before.map_or(0, wru_for_item).max(wru_for_item(after));
        let (index_wru, notes) = index_writes(before, after);
        Write {
            function,
            what: what.to_owned(),
            call: call.to_owned(),
            item: after.clone(),
            bytes: item_size_bytes(after),
            bytes_before: before.map(item_size_bytes),
            table_wru,
            index_wru,
            note: notes.join("; "),
        }
    }

    /// A write inside a TransactWriteItems: twice the table units.
    fn transactional(self) -> Write {
        Write { table_wru: self.table_wru * 2, ..self }
    }

    /// Notes the customer indexes a profile item could carry but does not.
    fn noting_absent_customer_indexes(mut self, after: &Item) -> Write {
        let absent: Vec<String> = CUSTOMER_INDEXES
            .iter()
            .filter(|index| !after.contains_key(index.attribute))
            .map(|index| format!("{} ({})", index.name, index.attribute))
            .collect();
        if !absent.is_empty() {
            self.note.push_str(&format!("; no {} entry: not in the payload", absent.join(", ")));
        }
        self
    }
}

/// The index entry an item has in `index`, if it carries the index's keys: the table keys, the
/// index keys and the projected attributes.
fn index_entry(item: &Item, index: &IndexDefinition) -> Option<Item> {
    if !item.contains_key(index.hash) || !item.contains_key(index.range) {
        return None;
    }
    let names = [PK, SK, index.hash, index.range].into_iter().chain(index.include.iter().copied());
    Some(names.filter_map(|name| item.get(name).map(|value| (name.to_owned(), value.clone()))).collect())
}

/// Units on every index of the table for a write that leaves `after` where `before` was, with a
/// note per index touched.
fn index_writes(before: Option<&Item>, after: &Item) -> (u32, Vec<String>) {
    let mut units = 0;
    let mut notes = Vec::new();
    for index in &INDEXES {
        let label = format!("{} ({})", index.name, index.hash);
        let old = before.and_then(|item| index_entry(item, index));
        match (old, index_entry(after, index)) {
            (None, None) => {}
            (None, Some(new)) => {
                units += wru_for_item(&new);
                notes.push(format!("new {label} entry"));
            }
            (Some(old), None) => {
                units += wru_for_item(&old);
                notes.push(format!("{label} entry removed"));
            }
            (Some(old), Some(new)) if old == new => notes.push(format!("{label} entry unchanged")),
            (Some(old), Some(new))
                if old.get(index.hash) == new.get(index.hash) && old.get(index.range) == new.get(index.range) =>
            {
                units += wru_for_item(&new);
                notes.push(format!("{label} entry rewritten (a projected attribute changed)"));
            }
            (Some(old), Some(new)) => {
                units += wru_for_item(&old) + wru_for_item(&new);
                notes.push(format!("{label} entry moves (delete + put)"));
            }
        }
    }
    (units, notes)
}

/// The writes of one delivery; `earlier`: the customer's previous delivery (what its items were
/// before this one).
fn writes(delivery: &Delivery, earlier: Option<&Delivery>) -> BenchResult<Vec<Write>> {
    let profile_before = earlier.map(|e| items::profile_with_last_order_item(&e.profile, e.order.placed_at));
    let profile = items::profile_with_last_order_item(&delivery.profile, delivery.order.placed_at);
    let mut writes = vec![Write::of(
        "webhooks",
        "order (record_order)",
        "PutItem, conditional",
        None,
        &items::order_item(&delivery.order)?,
    )];
    for refund in &delivery.refunds {
        writes.push(Write::of(
            "webhooks",
            "refund (record_refund)",
            "PutItem, conditional",
            None,
            &items::refund_item(refund)?,
        ));
    }
    writes.push(
        Write::of(
            "webhooks",
            "customer profile + last order (write_customer)",
            "UpdateItem, conditional",
            profile_before.as_ref(),
            &profile,
        )
        .noting_absent_customer_indexes(&profile),
    );
    for id in &delivery.record.ids {
        let item = items::delivery_item(&delivery.record, id);
        writes.push(Write::of("webhooks", "delivery record (record_delivery)", "PutItem, conditional", None, &item));
    }
    for append in &delivery.credit.appends {
        for entry in append {
            let what = format!("ledger entry {} at {} (append_entries)", entry.kind.as_str(), entry.position);
            let item = items::ledger_entry_item(entry)?;
            writes.push(match append.len() {
                1 => Write::of("points", &what, "PutItem, conditional", None, &item),
                _ => Write::of("points", &what, "TransactWriteItems Put, conditional", None, &item).transactional(),
            });
        }
    }
    for timer in &delivery.credit.timers {
        let (before, after) = (timer.before.as_ref(), &timer.after);
        writes.push(Write::of("points", "customer timer (set_timer)", "PutItem, conditional", before, after));
    }
    Ok(writes)
}

// ---------------------------------------------------------------------------------------------
// Printing.

fn due_of(delivery: &Delivery) -> String {
    let due = delivery.credit.timers.last().and_then(|timer| timer.due);
    due.map_or("no timer".to_owned(), |at| format!("timer due {}", at.format("%Y-%m-%d %H:%M UTC")))
}

fn print_writes(delivery: &Delivery, writes: &[Write]) {
    println!("dynamodb_cost: write request units per credited order (Shopify orders_paid fixture, new customer, first order)");
    let entry = delivery.credit.appends.first().and_then(|a| a.first());
    println!(
        "  order {} of customer {}: {} lines, {} points pending (return window), {}; items from \
         stammkunde_aws::dynamo::items, sized by item_size_bytes\n",
        delivery.order.order_id,
        delivery.profile.customer_id,
        delivery.order.lines.len(),
        entry.map_or(0, LedgerEntry::points),
        due_of(delivery)
    );
    print_table(writes);
    println!(
        "(table WRU = ⌈bytes / 1 KB⌉; an update, or a put that replaces an item, is charged for the larger of the item \
         before and after; index WRU = ⌈index entry bytes / 1 KB⌉ per entry added or removed, twice for a moved key, \
         over every index of schema::INDEXES)"
    );
}

fn print_table(writes: &[Write]) {
    let mut table = Table::new(&["#", "function", "write", "DynamoDB call", "item", "table WRU", "index WRU", "note"]);
    for (i, w) in writes.iter().enumerate() {
        let bytes = match w.bytes_before {
            Some(before) => format!("{} B (was {before} B)", w.bytes),
            None => format!("{} B", w.bytes),
        };
        table.row(vec![
            (i + 1).to_string(),
            w.function.to_owned(),
            w.what.clone(),
            w.call.clone(),
            bytes,
            w.table_wru.to_string(),
            w.index_wru.to_string(),
            w.note.clone(),
        ]);
    }
    table.print();
}

fn sum(writes: &[Write], pick: impl Fn(&Write) -> bool, with_indexes: bool) -> u32 {
    writes.iter().filter(|w| pick(w)).map(|w| w.table_wru + if with_indexes { w.index_wru } else { 0 }).sum()
}

fn print_totals(first: &[Write], next: &[Write]) {
    let target = format!("≤ {TARGET_WRU} (stretch {STRETCH_WRU})");
    let entry = |w: &Write| w.what.contains("(append_entries)");
    let points = |w: &Write| w.function == "points";
    let webhooks = |w: &Write| w.function == "webhooks";
    let every = |_: &Write| true;
    let mut table = Table::new(&["per credited order", "new customer", "returning customer", "target"]);
    let mut row = |label: &str, pick: &dyn Fn(&Write) -> bool, with_indexes: bool, target: &str| {
        table.row(vec![
            label.to_owned(),
            sum(first, pick, with_indexes).to_string(),
            sum(next, pick, with_indexes).to_string(),
            target.to_owned(),
        ]);
    };
    row("ledger entry alone (points)", &entry, false, "");
    row("points: entry + timer, table", &points, false, "");
    row("points: entry + timer, with index writes", &points, true, "");
    row("webhooks (ingest), with index writes", &webhooks, true, "");
    row("table writes", &every, false, &target);
    row("  + index writes", &every, true, &target);
    println!();
    table.print();
}

fn print_returning(next: &Delivery, writes: &[Write]) {
    println!(
        "\nReturning customer: the same customer's next order {NEXT_ORDER_AFTER_DAYS} day later (order {}), the first \
         still held; {}. Its writes:",
        next.order.order_id,
        due_of(next)
    );
    print_table(writes);
    println!(
        "The timer item is rewritten on every credit (its ledger length moves, the guard against a late writer), but its \
         by_due entry only moves when the earliest due time does: here the first order's release comes first. When \
         nothing applies to the profile (a stale stamp and no later order, as on a retry), nothing is written for the \
         customer; a repeated credit appends nothing and leaves the timer as it is (0 WRU)."
    );
}

fn print_reads_and_events(delivery: &Delivery) -> BenchResult<()> {
    println!(
        "\nNot in the totals: reads (webhooks: one strongly consistent BatchGetItem of the delivery's {} id(s) before \
         applying, and one strongly consistent GetItem of the profile's guards (pk, su, lo, da) before its one UpdateItem; \
         a duplicate delivery reads the order back and republishes it, and the points function then finds the order on \
         the ledger and appends nothing). The points function read:",
        delivery.record.ids.len()
    );
    for read in &delivery.credit.reads {
        println!("  {read}");
    }
    println!(
        "Nor the later release: the sweep finds the customer through by_due when the window closes, appends the release \
         entry and moves or clears the timer; that is the hold's cost, paid once per order, after crediting."
    );
    println!("EventBridge (not DynamoDB; billed per started 64 KB of each entry):");
    let published = delivery.webhook_events.iter().map(|e| ("webhooks", e));
    let ledger = delivery.credit.published.iter().map(|e| ("points", e));
    for (function, event) in published.chain(ledger) {
        let bytes = EVENT_SOURCE.len() + event.detail_type().len() + serde_json::to_string(event)?.len();
        println!(
            "  {function:<8} PutEvents entry {:<20} {:>8} → {} billed event(s) of 64 KB",
            event.detail_type(),
            kib(bytes as u64),
            bytes.div_ceil(EVENT_CHUNK_BYTES)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The cross-check: the same deliveries through the real store, on moto.

/// A bus that takes every event (the cross-check counts table items, not events).
struct DiscardBus;

#[async_trait]
impl EventBus for DiscardBus {
    async fn publish(&self, _: &[DomainEvent]) -> Result<(), BusError> {
        Ok(())
    }
}

/// Writes the deliveries, in order, through `DynamoStore` into a new table on moto and compares
/// what is stored after each with the items counted for it. The table is deleted afterwards.
async fn cross_check(endpoint: &str, deliveries: &[(&Delivery, &[Write])]) -> BenchResult<String> {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(endpoint).await);
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let table = format!("stammkunde-bench-cost-{}-{millis}", std::process::id());
    stammkunde_aws::dynamo::create_table(&client, &table)
        .await
        .map_err(|e| format!("creating table {table} on moto at {endpoint} failed: {e}"))?;
    let checked = check_on(&client, &table, deliveries).await;
    if client.delete_table().table_name(&table).send().await.is_err() {
        eprintln!("note: the moto table {table} could not be deleted");
    }
    checked
}

async fn check_on(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    deliveries: &[(&Delivery, &[Write])],
) -> BenchResult<String> {
    let store = Arc::new(DynamoStore::new(client.clone(), table));
    let mut expected: BTreeMap<(String, String), Item> = BTreeMap::new();
    let mut report = Vec::new();
    for (delivery, writes) in deliveries {
        let outcome = store.apply_delivery(&delivery.record, &delivery.changes).await?;
        if outcome.duplicate {
            return Err("moto: the delivery was taken for a duplicate".into());
        }
        let order = outcome.orders.first().ok_or("moto: the delivery stored no order")?;
        let at = delivery.record.received_at + Duration::milliseconds(CREDIT_DELAY_MS);
        let config = AppConfig::from_toml(&config_toml())?;
        let points = PointsService {
            shops: Arc::new(ShopDirectory::new(config)),
            ledger: Arc::new(LedgerService {
                ledger: store.clone(),
                timers: store.clone(),
                bus: Arc::new(DiscardBus),
                clock: Arc::new(FixedClock::new(at)),
            }),
            customers: store.clone(),
            codes: store.clone(),
        };
        points.handle_event(&DomainEvent::OrderRecorded { order: order.clone() }).await?;
        for write in writes.iter() {
            expected.insert(item_key(&write.item)?, write.item.clone());
        }
        let stored = scan(client, table).await?;
        let mut problems = Vec::new();
        for (key, item) in &stored {
            match expected.get(key) {
                None => problems.push(format!("{}/{} is stored but was not counted", key.0, key.1)),
                Some(counted) if counted != item => {
                    let mut differ: Vec<&str> = counted
                        .keys()
                        .chain(item.keys())
                        .filter(|name| counted.get(*name) != item.get(*name))
                        .map(String::as_str)
                        .collect();
                    differ.sort_unstable();
                    differ.dedup();
                    problems.push(format!("{}/{} differs from the counted item in {differ:?}", key.0, key.1));
                }
                Some(_) => {}
            }
        }
        for key in expected.keys().filter(|key| !stored.contains_key(*key)) {
            problems.push(format!("{}/{} was counted but is not stored", key.0, key.1));
        }
        if !problems.is_empty() {
            return Err(format!("moto: the table does not hold what was counted: {}", problems.join("; ")).into());
        }
        report.push(format!("order {}: {} items stored", delivery.order.order_id, stored.len()));
    }
    Ok(format!(
        "{}, each exactly as counted (item by item, every attribute), nothing else in the table.",
        report.join(", then ")
    ))
}

fn item_key(item: &Item) -> BenchResult<(String, String)> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    match (text(PK), text(SK)) {
        (Some(pk), Some(sk)) => Ok((pk, sk)),
        _ => Err("an item without pk and sk".into()),
    }
}

/// Every item of the table, by key.
async fn scan(client: &aws_sdk_dynamodb::Client, table: &str) -> BenchResult<BTreeMap<(String, String), Item>> {
    let mut items = BTreeMap::new();
    let mut start = None;
    loop {
        let out = client.scan().table_name(table).consistent_read(true).set_exclusive_start_key(start).send().await?;
        for item in out.items.unwrap_or_default() {
            items.insert(item_key(&item)?, item);
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}
