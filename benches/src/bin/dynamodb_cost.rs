//! `dynamodb_cost`: DynamoDB write request units per credited order, from the real items.
//!
//! The Shopify `orders_paid` fixture is parsed by the product's parser, the points function
//! builds its ledger entry (through `PointsService` with a ledger that only records what it is
//! given), and every item is built by `stammkunde_aws::dynamo::items` exactly as the store
//! writes it, then sized by `item_size_bytes` / `wru_for_item` (AWS's documented formula). The
//! list of writes follows `shared/aws/src/dynamo/{ingest,changes,customer_writes,ledger}.rs`:
//!
//! webhooks (per new delivery): `record_order` (PutItem), then `write_customer` (one UpdateItem
//! for the customer's profile and last order together, after a strongly consistent GetItem of its
//! guards), then `record_delivery` (one PutItem per delivery id);
//! points: `append_entry` (one conditional PutItem of the entry; the balance is derived from the
//! entries, not stored).
//!
//! Index writes are added by AWS's rules for global secondary indexes (a new index entry costs one
//! write on that index, a changed index key two); every index here projects keys only, so each
//! index entry is far below 1 KB.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use stammkunde_aws::dynamo::schema::{CustomerIndex, CUSTOMER_INDEXES};
use stammkunde_aws::dynamo::{item_size_bytes, items, wru_for_item, Item};
use stammkunde_bench::orders::ORDERS_PAID;
use stammkunde_bench::shop::{shop_config, POINTS_PER_ORDER, TOPIC};
use stammkunde_bench::stats::kib;
use stammkunde_bench::table::Table;
use stammkunde_bench::{print_error, BenchResult};
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::ledger::{AppendOutcome, LedgerEntry};
use stammkunde_domain::order::Order;
use stammkunde_domain::platforms::{shopify, ParseOutcome};
use stammkunde_domain::ports::LedgerStore;
use stammkunde_points::PointsService;

const TARGET_WRU: u32 = 4;
const STRETCH_WRU: u32 = 2;
/// EventBridge bills PutEvents per started 64 KB of each entry.
const EVENT_CHUNK_BYTES: usize = 64 * 1024;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            print_error("dynamodb_cost", &e.into());
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error("dynamodb_cost", &e);
            ExitCode::FAILURE
        }
    }
}

/// One write of the path.
struct Write {
    function: &'static str,
    what: String,
    call: &'static str,
    bytes: usize,
    /// Units on the table: `wru_for_item` (no write of this path is transactional).
    table_wru: u32,
    /// Units on the global secondary indexes the write adds, moves or removes an entry of.
    index_wru: u32,
    note: String,
}

impl Write {
    fn standard(function: &'static str, what: String, call: &'static str, item: &Item) -> Write {
        let (bytes, table_wru) = (item_size_bytes(item), wru_for_item(item));
        Write { function, what, call, bytes, table_wru, index_wru: 0, note: String::new() }
    }

    /// For a write that creates `item`: one index write per sparse index key the item carries
    /// (a new index entry costs one write on that index).
    fn new_index_entries(self, item: &Item) -> Write {
        let (present, absent): (Vec<CustomerIndex>, Vec<CustomerIndex>) =
            CUSTOMER_INDEXES.into_iter().partition(|index| item.contains_key(index.attribute));
        let list = |indexes: &[CustomerIndex]| {
            indexes.iter().map(|i| format!("{} ({})", i.name, i.attribute)).collect::<Vec<_>>().join(", ")
        };
        let mut note = format!("new {} entries", list(&present));
        if !absent.is_empty() {
            note.push_str(&format!("; no {} entry: not in the payload", list(&absent)));
        }
        Write { index_wru: u32::try_from(present.len()).unwrap_or(u32::MAX), note, ..self }
    }
}

/// The facts one delivery of the fixture leads to.
struct Facts {
    profile: CustomerProfile,
    order: Order,
    delivery: DeliveryRecord,
    entry: LedgerEntry,
    events: Vec<DomainEvent>,
}

async fn run() -> BenchResult<()> {
    let facts = facts().await?;
    let writes = writes(&facts)?;
    print_writes(&facts, &writes);
    print_totals(&writes);
    print_reads_and_events(&facts)?;
    Ok(())
}

async fn facts() -> BenchResult<Facts> {
    let shop = shop_config()?;
    let received_at: DateTime<Utc> = "2026-11-20T09:16:00Z".parse()?;
    // The webhooks function records one id per Shopify delivery: X-Shopify-Event-Id, else
    // X-Shopify-Webhook-Id (see functions/webhooks/src/shopify.rs).
    let event_id = DeliveryId::parse("event:98880550-7158-44d4-b7cd-2c97c8a091b5")?;
    let ParseOutcome::Changes(changes) =
        shopify::parse(TOPIC, ORDERS_PAID.as_bytes(), &shop, event_id.as_str(), received_at)?
    else {
        return Err("the fixture was ignored by the parser".into());
    };
    let profile = changes.iter().find_map(|c| match c {
        Change::UpsertCustomer(profile) => Some(profile.clone()),
        _ => None,
    });
    let order = changes.iter().find_map(|c| match c {
        Change::RecordOrder(order) => Some(order.clone()),
        _ => None,
    });
    let (Some(profile), Some(order)) = (profile, order) else {
        return Err("the fixture did not give a customer and an order".into());
    };
    let delivery = DeliveryRecord {
        shop: shop.id.clone(),
        ids: vec![event_id],
        topic: TOPIC.to_owned(),
        received_at,
        expires_at: received_at + Duration::days(DELIVERY_RETENTION_DAYS),
    };
    let entry = ledger_entry(&order, received_at).await?;
    let events = vec![
        DomainEvent::CustomerUpdated { shop: shop.id.clone(), customer_id: profile.customer_id.clone() },
        DomainEvent::OrderRecorded { order: order.clone() },
    ];
    Ok(Facts { profile, order, delivery, entry, events })
}

/// A ledger that keeps what it is asked to append: the points function's own entry, unchanged.
#[derive(Default)]
struct RecordingLedger(Mutex<Vec<LedgerEntry>>);

#[async_trait]
impl LedgerStore for RecordingLedger {
    async fn append_entry(&self, entry: &LedgerEntry) -> Result<AppendOutcome, StoreError> {
        self.0.lock().map_err(|_| StoreError::Invariant("recording ledger poisoned".into()))?.push(entry.clone());
        Ok(AppendOutcome::Appended)
    }

    async fn entries(&self, _: &ShopId, _: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(Vec::new())
    }
}

async fn ledger_entry(order: &Order, now: DateTime<Utc>) -> BenchResult<LedgerEntry> {
    let ledger = Arc::new(RecordingLedger::default());
    let config = AppConfig::from_toml(&stammkunde_bench::shop::config_toml())?;
    let points = PointsService {
        shops: Arc::new(ShopDirectory::new(config)),
        ledger: ledger.clone(),
        clock: Arc::new(FixedClock::new(now + Duration::milliseconds(120))),
    };
    points.handle_event(&DomainEvent::OrderRecorded { order: order.clone() }).await?;
    let entry = ledger.0.lock().map_err(|_| "recording ledger poisoned")?.pop();
    let entry = entry.ok_or("the points function appended nothing")?;
    if entry.points != POINTS_PER_ORDER {
        return Err(format!("the fixture earned {} points, not {POINTS_PER_ORDER}", entry.points).into());
    }
    Ok(entry)
}

fn writes(facts: &Facts) -> BenchResult<Vec<Write>> {
    let profile = items::profile_with_last_order_item(&facts.profile, facts.order.placed_at);
    let mut writes = vec![
        Write::standard(
            "webhooks",
            "order (record_order)".into(),
            "PutItem, conditional",
            &items::order_item(&facts.order)?,
        ),
        Write::standard(
            "webhooks",
            "customer profile + last order (write_customer)".into(),
            "UpdateItem, conditional",
            &profile,
        )
        .new_index_entries(&profile),
    ];
    for id in &facts.delivery.ids {
        let what = "delivery record (record_delivery)".to_owned();
        writes.push(Write::standard(
            "webhooks",
            what,
            "PutItem, conditional",
            &items::delivery_item(&facts.delivery, id),
        ));
    }
    writes.push(Write::standard(
        "points",
        "ledger entry (append_entry)".into(),
        "PutItem, conditional",
        &items::ledger_entry_item(&facts.entry)?,
    ));
    Ok(writes)
}

fn print_writes(facts: &Facts, writes: &[Write]) {
    println!("dynamodb_cost: write request units per credited order (Shopify orders_paid fixture, new customer, first order)");
    println!(
        "  order {} of customer {}: {} lines, {} points; items from stammkunde_aws::dynamo::items, sized by item_size_bytes\n",
        facts.order.order_id,
        facts.profile.customer_id,
        facts.order.lines.len(),
        facts.entry.points
    );
    let mut table = Table::new(&["#", "function", "write", "DynamoDB call", "item", "table WRU", "index WRU", "note"]);
    for (i, w) in writes.iter().enumerate() {
        table.row(vec![
            (i + 1).to_string(),
            w.function.to_owned(),
            w.what.clone(),
            w.call.to_owned(),
            format!("{} B", w.bytes),
            w.table_wru.to_string(),
            w.index_wru.to_string(),
            w.note.clone(),
        ]);
    }
    table.print();
    println!("(table WRU = ⌈bytes / 1 KB⌉; an update is charged for the larger of the item before and after)");
}

fn print_totals(writes: &[Write]) {
    let sum = |pick: &dyn Fn(&Write) -> bool, with_indexes: bool| -> u32 {
        writes.iter().filter(|w| pick(w)).map(|w| w.table_wru + if with_indexes { w.index_wru } else { 0 }).sum()
    };
    let every = |_: &Write| true;
    let ledger = |w: &Write| w.function == "points";
    let customer = |w: &Write| w.what.contains("(write_customer)");
    let target = format!("≤ {TARGET_WRU} (stretch {STRETCH_WRU})");
    let mut table = Table::new(&["per credited order", "WRU", "target"]);
    table.row(vec!["ledger append alone (points)".into(), sum(&ledger, false).to_string(), String::new()]);
    table.row(vec!["table writes".into(), sum(&every, false).to_string(), target.clone()]);
    table.row(vec!["  + index writes".into(), sum(&every, true).to_string(), target]);
    println!();
    table.print();
    println!(
        "A returning customer costs the same: their newer profile and later order are one UpdateItem ({} table WRU, \
         charged for the larger of the stored item and the item after), their by_email entry already exists (0 index \
         WRU), and a later order date moves their by_last_order entry (2 index WRU: delete and put). When nothing applies \
         (a stale stamp and no later order, as on a retry), nothing is written for the customer (0 WRU).",
        sum(&customer, false)
    );
}

fn print_reads_and_events(facts: &Facts) -> BenchResult<()> {
    println!(
        "\nNot in the totals: reads (webhooks: one strongly consistent BatchGetItem of the delivery's {} id(s) before applying, \
         and one strongly consistent GetItem of the profile's guards (pk, su, lo, da) before its one UpdateItem; \
         a duplicate delivery reads the order back and republishes it, and the points function's conditional append then fails), \
         and EventBridge:",
        facts.delivery.ids.len()
    );
    for event in &facts.events {
        let bytes = stammkunde_domain::events::EVENT_SOURCE.len()
            + event.detail_type().len()
            + serde_json::to_string(event)?.len();
        println!(
            "  PutEvents entry {:<16} {:>8} → {} billed event(s) of 64 KB",
            event.detail_type(),
            kib(bytes as u64),
            bytes.div_ceil(EVENT_CHUNK_BYTES)
        );
    }
    Ok(())
}
