//! The embedded store with the real ledger services on it, in this process: `SqliteStore` on disk
//! (WAL, `synchronous=FULL`, group commit), the ledger service, the points function, the ledger
//! sweep and the code generator, wired as the local runner wires them (`runner/src/lib.rs`), and
//! the webhook's store step (`delivery_seen`, then `apply_delivery`) for the facts the points
//! function reads. Used by the `ledger` benchmark.
//!
//! Orders are the `orders_paid` fixture as the product's Shopify parser reads it (customer profile
//! and order), given new ids: order `n` has order id `5900000000000 + n` and line ids derived from
//! `n`, and belongs to whichever customer the caller names.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::{AppConfig, ShopConfig, ShopDirectory};
use stammkunde_domain::coupon::{claim_key, Issue, IssueRequest};
use stammkunde_domain::customer::{CustomerProfile, Email};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, DeliveryId, IdempotencyKey, LineId, OrderId, RefundId, RewardId};
use stammkunde_domain::ingest::{Change, DeliveryRecord, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::ledger::{AdjustmentRequest, RedemptionRequest};
use stammkunde_domain::order::Order;
use stammkunde_domain::platforms::{shopify, ParseOutcome};
use stammkunde_domain::ports::{CouponIssuer, IngestStore};
use stammkunde_domain::refund::{Refund, RefundLine};
use stammkunde_local::{InProcessBus, Subscriber};
use stammkunde_points::{PointsOutcome, PointsService};
use stammkunde_services::{CodeGenerator, LedgerService, LedgerSweep};
use stammkunde_store_sqlite::{SqliteStore, WriteStats};

use crate::orders::ORDERS_PAID;
use crate::shop::{config_toml, TOPIC};
use crate::BenchResult;

/// The database file inside the store's directory.
pub const DATABASE_FILE: &str = "stammkunde.db";
/// The reward redemptions ask for: generated codes, so the code generator issues them.
pub const REWARD_ID: &str = "bench-voucher";
pub const REWARD_POINTS: i64 = 100;

const ORDER_ID_BASE: u64 = 5_900_000_000_000;
const LINE_ID_BASE: u64 = 14_000_000_000_000;
/// Line ids per order: the fixture has four lines; room for more keeps ids unique regardless.
const LINE_IDS_PER_ORDER: u64 = 16;

/// The benchmark shop (`shop::config_toml`) with one reward whose codes are generated.
pub fn config() -> BenchResult<AppConfig> {
    let toml = format!(
        "{}\n[[shops.rewards]]\nid = \"{REWARD_ID}\"\nname = \"Bench voucher\"\npoints = {REWARD_POINTS}\ncodes = \"generate\"\n",
        config_toml()
    );
    Ok(AppConfig::from_toml(&toml)?)
}

/// The services over one store, as the runner has them.
pub struct Embedded {
    pub store: Arc<SqliteStore>,
    pub ledger: Arc<LedgerService>,
    pub points: Arc<PointsService>,
    pub sweep: LedgerSweep,
    pub codes: CodeGenerator,
    pub clock: Arc<dyn Clock>,
    pub shop: ShopConfig,
    pub path: PathBuf,
}

/// Hands bus events to the points function, as the runner's `PointsSubscriber` does. Weak, so the
/// store is closed (and its disk space freed) when the benchmark drops `Embedded`.
struct ToPoints(Weak<PointsService>);

#[async_trait]
impl Subscriber for ToPoints {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        let Some(points) = self.0.upgrade() else { return Ok(()) };
        points.handle_event(event).await.map(|_| ()).map_err(|e| stammkunde_domain::error::cause_chain(&e))
    }
}

impl Embedded {
    /// Opens (creates) the store at `dir/stammkunde.db` and wires the services on it.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> BenchResult<Embedded> {
        let config = config()?;
        let shop = config.shops.first().cloned().ok_or("the benchmark configuration has no shop")?;
        let path = dir.join(DATABASE_FILE);
        let store = Arc::new(SqliteStore::open(&path, clock.clone())?);
        let bus = Arc::new(InProcessBus::new());
        let ledger = Arc::new(LedgerService {
            ledger: store.clone(),
            timers: store.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
        });
        let points = Arc::new(PointsService {
            shops: Arc::new(ShopDirectory::new(config)),
            ledger: ledger.clone(),
            customers: store.clone(),
            codes: store.clone(),
        });
        bus.subscribe(Arc::new(ToPoints(Arc::downgrade(&points))));
        let sweep = LedgerSweep {
            ledger: ledger.clone(),
            timers: store.clone(),
            customers: store.clone(),
            shops: store.clone(),
            clock: clock.clone(),
        };
        let codes = CodeGenerator { store: store.clone() };
        Ok(Embedded { store, ledger, points, sweep, codes, clock, shop, path })
    }

    pub fn write_stats(&self) -> WriteStats {
        self.store.write_stats()
    }

    /// The webhook's store step for one delivery: skip it if seen, else apply its changes and
    /// record it. Returns the stored orders the changes touched (what the webhook publishes).
    pub async fn store_delivery(&self, delivery_id: &str, changes: &[Change]) -> BenchResult<Vec<Order>> {
        let ids = vec![DeliveryId::parse(delivery_id)?];
        if self.store.delivery_seen(&self.shop.id, &ids).await? {
            return Err(format!("delivery {delivery_id} was seen before").into());
        }
        let now = self.clock.now();
        let record = DeliveryRecord {
            shop: self.shop.id.clone(),
            ids,
            topic: TOPIC.to_owned(),
            received_at: now,
            expires_at: now + Duration::days(DELIVERY_RETENTION_DAYS),
        };
        let outcome = self.store.apply_delivery(&record, changes).await?;
        if outcome.duplicate {
            return Err(format!("delivery {delivery_id} was a duplicate").into());
        }
        Ok(outcome.orders)
    }

    /// A new order, as the webhook stores it and the points function credits it.
    pub async fn credit(&self, order: &NewOrder) -> BenchResult<PointsOutcome> {
        let stored = self.store_delivery(&format!("bench-order-{}", order.number), &order.changes).await?;
        let order = stored.into_iter().next().ok_or("the delivery stored no order")?;
        Ok(self.points.handle_event(&DomainEvent::OrderRecorded { order }).await?)
    }

    /// A refund, as the webhook stores it (`refunds/create`) and the points function reverses it.
    pub async fn reverse(&self, refund: Refund) -> BenchResult<PointsOutcome> {
        let delivery = format!("bench-refund-{}", refund.refund_id);
        self.store_delivery(&delivery, &[Change::RecordRefund(refund.clone())]).await?;
        Ok(self.points.handle_event(&DomainEvent::RefundRecorded { refund }).await?)
    }

    /// A manual adjustment of `points` (available at once) under the key `adjust-{n}`.
    pub async fn adjust(&self, customer: &CustomerId, n: u64, points: i64) -> BenchResult<usize> {
        let request = AdjustmentRequest {
            key: IdempotencyKey::parse(&format!("adjust-{n}"))?,
            points,
            reason: "benchmark start balance".into(),
            customer_text: None,
        };
        let outcome = self.ledger.run(&self.shop, customer, |d| d.adjust(&request)).await?;
        Ok(outcome.appended.len())
    }

    /// A redemption of the benchmark reward under the key `redeem-{n}`, as the merchant API books
    /// it: a generated code bound to the redemption, then the debit. If the debit fails the code
    /// is withdrawn (the API first checks that the ledger does not hold it; here any failure is
    /// wrong work anyway). Returns the entries appended.
    pub async fn redeem(&self, customer: &CustomerId, n: u64) -> BenchResult<usize> {
        let reward = self.shop.reward(&RewardId::parse(REWARD_ID)?).ok_or("the benchmark reward is missing")?;
        let key = IdempotencyKey::parse(&format!("redeem-{n}"))?;
        let now = self.clock.now();
        let request = IssueRequest {
            shop: self.shop.id.clone(),
            reward: reward.id.clone(),
            code_prefix: reward.code_prefix.clone(),
            issue: Issue {
                customer_id: customer.clone(),
                redemption: claim_key(customer, &key),
                issued_at: now,
                expires_at: now + Duration::days(i64::from(reward.valid_days)),
            },
        };
        let coupon = self.codes.issue(&request).await?.ok_or("the code generator gave no code")?;
        let redemption = RedemptionRequest {
            key,
            reward: reward.id.clone(),
            code: coupon.code.clone(),
            expires_at: request.issue.expires_at,
        };
        match self.ledger.run(&self.shop, customer, |d| d.redeem(&redemption)).await {
            Ok(outcome) => Ok(outcome.appended.len()),
            Err(error) => match self.codes.withdraw(&coupon).await {
                Ok(()) => Err(error.into()),
                Err(also) => Err(format!("{error}; withdrawing its code failed too: {also}").into()),
            },
        }
    }
}

/// A new order: its number and the changes its `orders/paid` delivery carries.
pub struct NewOrder {
    pub number: u64,
    pub changes: Vec<Change>,
}

/// Makes new orders from the fixture's parsed changes.
pub struct OrderMaker {
    profile: CustomerProfile,
    order: Order,
    /// Indexes of the lines that earn points: the lines a reversal can take back.
    earning_lines: Vec<usize>,
}

impl OrderMaker {
    /// Parses the fixture once. Its order is not fulfilled, so the return window runs from the
    /// payment plus the shipping allowance.
    pub fn new(shop: &ShopConfig) -> BenchResult<OrderMaker> {
        let ParseOutcome::Changes(changes) =
            shopify::parse(TOPIC, ORDERS_PAID.as_bytes(), shop, "template", Utc::now())?
        else {
            return Err("the parser ignored the orders_paid fixture".into());
        };
        let (profile, mut order) = match changes.as_slice() {
            [Change::UpsertCustomer(profile), Change::RecordOrder(order)] => (profile.clone(), order.clone()),
            _ => return Err("the orders_paid fixture should parse to a customer and an order, nothing else".into()),
        };
        order.fulfilled_at = None;
        let basis = shop.earn.earn(&order).ok_or("the fixture order earns nothing")?;
        let earning = |i: &usize| basis.lines.iter().any(|l| l.line_id == order.lines[*i].line_id && l.points > 0);
        let earning_lines: Vec<usize> = (0..order.lines.len()).filter(earning).collect();
        if earning_lines.is_empty() || order.lines.len() as u64 > LINE_IDS_PER_ORDER {
            return Err("the fixture order has no line that earns points, or too many lines".into());
        }
        Ok(OrderMaker { profile, order, earning_lines })
    }

    pub fn earning_lines(&self) -> &[usize] {
        &self.earning_lines
    }

    /// Order `number` for `customer`, paid at `paid_at` if given (as WooCommerce reports it;
    /// Shopify says nothing, and the credit takes its own time).
    pub fn order(&self, number: u64, customer: &CustomerId, paid_at: Option<DateTime<Utc>>) -> BenchResult<NewOrder> {
        let mut profile = self.profile.clone();
        profile.customer_id = customer.clone();
        profile.email = Some(Email::parse(&format!("c{customer}@example.com"))?);
        let mut order = self.order.clone();
        order.order_id = order_id(number)?;
        order.order_number = Some(format!("#{number}"));
        order.customer_id = Some(customer.clone());
        order.paid_at = paid_at;
        for (k, line) in order.lines.iter_mut().enumerate() {
            line.line_id = line_id(number, k)?;
        }
        Ok(NewOrder { number, changes: vec![Change::UpsertCustomer(profile), Change::RecordOrder(order)] })
    }

    /// A refund of all of line `line` of order `number`, under refund id `r{refund}`.
    pub fn refund(
        &self,
        shop: &ShopConfig,
        number: u64,
        line: usize,
        refund: u64,
        at: DateTime<Utc>,
    ) -> BenchResult<Refund> {
        let quantity = self.order.lines.get(line).map(|l| l.quantity).ok_or("no such line")?;
        Ok(Refund {
            shop: shop.id.clone(),
            order_id: order_id(number)?,
            refund_id: RefundId::parse(&format!("r{refund}"))?,
            created_at: at,
            lines: vec![RefundLine { line_id: line_id(number, line)?, quantity }],
            amount_minor: None,
        })
    }
}

fn order_id(number: u64) -> BenchResult<OrderId> {
    Ok(OrderId::parse(&(ORDER_ID_BASE + number).to_string())?)
}

fn line_id(number: u64, line: usize) -> BenchResult<LineId> {
    Ok(LineId::parse(&(LINE_ID_BASE + number * LINE_IDS_PER_ORDER + line as u64).to_string())?)
}

/// Customer `n` of the benchmark: `c{n}`, zero-padded so ids sort as numbers do.
pub fn customer_id(n: u64) -> BenchResult<CustomerId> {
    Ok(CustomerId::parse(&format!("c{n:08}"))?)
}

/// What the SQLite file holds, read through a connection of its own (read-only, WAL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contents {
    /// Entries per kind (`earn`, `release`, …): count, sum of available, sum of pending deltas.
    pub kinds: BTreeMap<String, (u64, i64, i64)>,
    /// The customers' stored balances and ledger lengths, summed.
    pub balance_available: i64,
    pub balance_pending: i64,
    pub ledger_lens: i64,
    pub customers: u64,
    pub orders: u64,
    pub refunds: u64,
    pub codes: u64,
    /// Timers with a due time.
    pub timers_due_set: u64,
}

impl Contents {
    pub fn entries(&self) -> u64 {
        self.kinds.values().map(|(count, _, _)| count).sum()
    }

    pub fn kind(&self, kind: &str) -> u64 {
        self.kinds.get(kind).map_or(0, |(count, _, _)| *count)
    }

    /// Whether the entries add up to the balances and the ledger lengths on the customer rows.
    pub fn balanced(&self) -> bool {
        let available: i64 = self.kinds.values().map(|k| k.1).sum();
        let pending: i64 = self.kinds.values().map(|k| k.2).sum();
        available == self.balance_available
            && pending == self.balance_pending
            && i64::try_from(self.entries()).ok() == Some(self.ledger_lens)
    }
}

pub fn contents(path: &Path) -> BenchResult<Contents> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut contents = Contents::default();
    let mut statement = conn
        .prepare("SELECT body ->> '$.kind', count(*), sum(available), sum(pending) FROM ledger_entries GROUP BY 1")?;
    let rows =
        statement.query_map([], |row| Ok((row.get::<_, String>(0)?, (row.get(1)?, row.get(2)?, row.get(3)?))))?;
    for row in rows {
        let (kind, figures) = row?;
        contents.kinds.insert(kind, figures);
    }
    let count = |sql: &str| -> BenchResult<u64> { Ok(conn.query_row(sql, [], |row| row.get(0))?) };
    contents.customers = count("SELECT count(*) FROM customers")?;
    contents.orders = count("SELECT count(*) FROM orders")?;
    contents.refunds = count("SELECT count(*) FROM refunds")?;
    contents.codes = count("SELECT count(*) FROM codes")?;
    contents.timers_due_set = count("SELECT count(*) FROM timers WHERE due_at IS NOT NULL")?;
    (contents.balance_available, contents.balance_pending, contents.ledger_lens) = conn.query_row(
        "SELECT coalesce(sum(available), 0), coalesce(sum(pending), 0), coalesce(sum(ledger_len), 0) FROM customers",
        [],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    Ok(contents)
}

/// Timers due at or before `at`. The store writes times as `%Y-%m-%dT%H:%M:%S%.9fZ`
/// (`shared/store-sqlite/src/codec.rs`), so comparing the text compares the times.
pub fn timers_due(path: &Path, at: DateTime<Utc>) -> BenchResult<u64> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let at = at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string();
    Ok(conn
        .query_row("SELECT count(*) FROM timers WHERE due_at IS NOT NULL AND due_at <= ?1", [at], |row| row.get(0))?)
}

/// The file system `path` is on (`ext4`, `tmpfs`, …), from `/proc/mounts`.
pub fn file_system(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, mount, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(mount).then(|| (mount.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind)
}

/// Bytes of the database and its WAL.
pub fn database_bytes(path: &Path) -> u64 {
    let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    size(path.to_path_buf()) + size(wal)
}
