//! `ingest`: signed Shopify `orders/paid` webhooks through the local runner's real HTTP stack.
//!
//! Starts the release runner (`target/release/stammkunde`) as a child process with a fresh data
//! directory and configuration, so its memory is the server's alone. Every delivery is checked
//! (HMAC), deduplicated, stored in SQLite (group commit) and credited by the points function
//! before it is answered. 30 % of deliveries are duplicates: an earlier delivery sent again with
//! the same `X-Shopify-Webhook-Id` and the same bytes.
//!
//! 1. Closed loop: N keep-alive connections each sending as fast as answers come → peak rate.
//! 2. Open loop at half the best peak rate: sends at fixed intended times from a pacer thread and
//!    measures each latency from the *intended* send time, so a stall delays (and counts against)
//!    everything scheduled behind it instead of silently sending less (no coordinated omission).
//!
//! Then it checks the work: every answer 200, one `earn` ledger entry of 251 points per distinct
//! order, held as pending (the shop's return window), and a due timer for every credited customer
//! (SQLite file and merchant API), and exits non-zero if anything is off.

use bytes::Bytes;
use http::{Method, StatusCode};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinSet;

use stammkunde_bench::args::Flags;
use stammkunde_bench::client::Connection;
use stammkunde_bench::machine::{fsync_probe, FSYNC_PROBES};
use stammkunde_bench::orders::OrderBodies;
use stammkunde_bench::runner::Server;
use stammkunde_bench::shop::{config_toml, shopify_signature, API_KEY, POINTS_PER_ORDER, SHOP_DOMAIN, SHOP_ID, TOPIC};
use stammkunde_bench::stats::{kib, mib, ms, thousands, Latencies, Summary};
use stammkunde_bench::table::Table;
use stammkunde_bench::{mix64, procfs, run_main, workspace_root, BenchResult};

const FLAGS: [&str; 7] = [
    "--runner",
    "--secs",
    "--concurrency",
    "--open-connections",
    "--duplicates-percent",
    "--customers",
    "--data-parent",
];
const USAGE: &str = "usage: ingest [--runner PATH] [--secs 10] [--concurrency 16,64,256] [--open-connections 64]
              [--duplicates-percent 30] [--customers 20000] [--data-parent DIR]";

const TARGET_PEAK_PER_SECOND: f64 = 10_000.0;
const TARGET_P99: Duration = Duration::from_millis(2);
const TARGET_RSS_BYTES: u64 = 100 * 1024 * 1024;

/// A short closed-loop run before the measured phases: first connections, page cache, allocator.
const WARMUP: Duration = Duration::from_secs(1);
const WARMUP_CONNECTIONS: usize = 16;
/// Limits that keep a mistyped flag from taking the machine down.
const CONNECTIONS_MAX: usize = 1024;
const PHASE_SECONDS_MAX: u64 = 60;
/// A duplicate repeats one of the last this many new deliveries, as a platform retry would.
const DUPLICATE_WINDOW: u64 = 10_000;
const UNEXPECTED_SHOWN_MAX: usize = 5;
/// The SQLite writer thread's name (`shared/store-sqlite/src/writer.rs`).
const WRITER_THREAD: &str = "sqlite-writer";

struct Options {
    runner: PathBuf,
    phase: Duration,
    concurrencies: Vec<usize>,
    open_connections: usize,
    duplicate_percent: u64,
    customers: u64,
    data_parent: PathBuf,
}

fn main() -> ExitCode {
    run_main("ingest", USAGE, options(), run)
}

fn options() -> BenchResult<Option<Options>> {
    let flags = Flags::from_env(&FLAGS)?;
    if flags.help() {
        return Ok(None);
    }
    let default_runner = workspace_root().join("target/release/stammkunde");
    let options = Options {
        runner: flags.value("--runner").map(PathBuf::from).unwrap_or(default_runner),
        phase: Duration::from_secs(flags.parsed("--secs", 10)?),
        concurrencies: flags.list("--concurrency", &[16, 64, 256])?,
        open_connections: flags.parsed("--open-connections", 64)?,
        duplicate_percent: flags.parsed("--duplicates-percent", 30)?,
        customers: flags.parsed("--customers", 20_000)?,
        data_parent: flags.value("--data-parent").map(PathBuf::from).unwrap_or_else(std::env::temp_dir),
    };
    let connections_ok = |c: &usize| (1..=CONNECTIONS_MAX).contains(c);
    if !options.concurrencies.iter().chain([&options.open_connections]).all(connections_ok)
        || options.concurrencies.is_empty()
    {
        return Err(format!("connections must be 1..={CONNECTIONS_MAX}").into());
    }
    if options.phase.is_zero() || options.phase.as_secs() > PHASE_SECONDS_MAX || options.duplicate_percent > 90 {
        return Err(format!("--secs must be 1..={PHASE_SECONDS_MAX} and --duplicates-percent at most 90").into());
    }
    Ok(Some(options))
}

async fn run(options: Options) -> BenchResult<()> {
    let bodies = OrderBodies::new(options.customers)?;
    // Every group commit pays one fsync, and each new delivery waits for three commits in a row
    // (its ingest, its ledger append, its timer).
    let fsync = fsync_probe(&options.data_parent)?.summary();
    let server = Server::start(&options.runner, &options.data_parent, &config_toml()).await?;
    print_setup(&options, &server, &bodies, &fsync);
    let load = Arc::new(Load {
        bodies,
        requests: AtomicU64::new(0),
        originals: AtomicU64::new(0),
        duplicate_percent: options.duplicate_percent,
    });

    let warmup =
        measure(&server, "warm-up", WARMUP_CONNECTIONS, closed_loop(server.addr, &load, WARMUP_CONNECTIONS, WARMUP))
            .await?;
    let mut phases = Vec::new();
    for &connections in &options.concurrencies {
        let label = format!("closed loop, {connections} conns");
        phases.push(
            measure(&server, &label, connections, closed_loop(server.addr, &load, connections, options.phase)).await?,
        );
    }
    let peak = phases.iter().map(Phase::rate).fold(0.0, f64::max);
    let rate = (peak / 2.0).max(1.0);
    let label = format!("open loop @ {} /s", thousands(rate as u64));
    let connections = options.open_connections;
    let open =
        measure(&server, &label, connections, open_loop(server.addr, &load, rate, connections, options.phase)).await?;
    let peak_rss = procfs::status_bytes(server.child.pid(), "VmHWM");

    let mut all = Tally::default();
    for phase in std::iter::once(&warmup).chain(&phases).chain([&open]) {
        all.add_counts(&phase.tally);
    }
    let checked = verify(&server, &load, &all).await;
    print_phases(&phases, &open);
    print_targets(peak, rate, &open, peak_rss);
    let mut server = server;
    server.child.interrupt(Duration::from_secs(5));
    match checked {
        Ok(lines) => {
            println!("\ncorrectness: OK");
            lines.iter().for_each(|l| println!("  {l}"));
            Ok(())
        }
        Err(e) => Err(format!("CORRECTNESS CHECK FAILED: {e}").into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The load: new orders and duplicates.

struct Delivery {
    webhook_id: String,
    body: Bytes,
    signature: String,
    duplicate: bool,
}

struct Load {
    bodies: OrderBodies,
    /// Deliveries handed out.
    requests: AtomicU64,
    /// New orders handed out: order numbers `0..originals`, webhook id `bench-{n}`.
    originals: AtomicU64,
    duplicate_percent: u64,
}

impl Load {
    fn next(&self) -> Delivery {
        let k = self.requests.fetch_add(1, Ordering::Relaxed);
        let roll = mix64(k);
        let known = self.originals.load(Ordering::Relaxed);
        let (n, duplicate) = if known > 0 && roll % 100 < self.duplicate_percent {
            (known - 1 - mix64(roll) % known.min(DUPLICATE_WINDOW), true)
        } else {
            (self.originals.fetch_add(1, Ordering::Relaxed), false)
        };
        let body = self.bodies.body(n);
        Delivery {
            webhook_id: format!("bench-{n}"),
            signature: shopify_signature(&body),
            body: Bytes::from(body),
            duplicate,
        }
    }
}

enum Outcome {
    Accepted,
    Duplicate,
    Unexpected(String),
}

async fn deliver(connection: &mut Connection, delivery: &Delivery) -> BenchResult<Outcome> {
    let headers = [
        ("content-type", "application/json"),
        ("x-shopify-shop-domain", SHOP_DOMAIN),
        ("x-shopify-topic", TOPIC),
        ("x-shopify-api-version", "2025-07"),
        ("x-shopify-hmac-sha256", delivery.signature.as_str()),
        ("x-shopify-webhook-id", delivery.webhook_id.as_str()),
    ];
    let answer = connection.send(Method::POST, "/webhooks/shopify", &headers, delivery.body.clone()).await?;
    let status = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_owned));
    Ok(match (answer.status, status.as_deref()) {
        (StatusCode::OK, Some("accepted")) => Outcome::Accepted,
        (StatusCode::OK, Some("duplicate")) => Outcome::Duplicate,
        (code, _) => Outcome::Unexpected(format!("{code} {}", String::from_utf8_lossy(&answer.body))),
    })
}

/// What one or more connections saw.
#[derive(Default)]
struct Tally {
    answers: u64,
    accepted: u64,
    duplicate: u64,
    sent_duplicates: u64,
    unexpected: u64,
    unexpected_examples: Vec<String>,
    /// From the moment the request was sent to the full answer.
    service: Latencies,
    /// Open loop only: from the intended send time to the full answer.
    intended: Latencies,
    /// Open loop only: how late the request left compared to its intended time.
    lateness: Latencies,
    /// The phase's latency (from the intended time in the open loop, else from sending) split
    /// into new orders `[0]` and duplicates `[1]`.
    by_kind: [Latencies; 2],
}

impl Tally {
    /// `intended`: the latency from the intended send time (open loop only).
    fn record(&mut self, delivery: &Delivery, outcome: Outcome, service: Duration, intended: Option<Duration>) {
        self.answers += 1;
        self.sent_duplicates += u64::from(delivery.duplicate);
        match outcome {
            Outcome::Accepted => self.accepted += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Unexpected(text) => {
                self.unexpected += 1;
                if self.unexpected_examples.len() < UNEXPECTED_SHOWN_MAX {
                    self.unexpected_examples.push(text);
                }
            }
        }
        self.service.push(service);
        self.by_kind[usize::from(delivery.duplicate)].push(intended.unwrap_or(service));
        if let Some(intended) = intended {
            self.intended.push(intended);
        }
    }

    fn add_counts(&mut self, other: &Tally) {
        self.answers += other.answers;
        self.accepted += other.accepted;
        self.duplicate += other.duplicate;
        self.sent_duplicates += other.sent_duplicates;
        self.unexpected += other.unexpected;
        let room = UNEXPECTED_SHOWN_MAX.saturating_sub(self.unexpected_examples.len());
        self.unexpected_examples.extend(other.unexpected_examples.iter().take(room).cloned());
    }

    fn merge(&mut self, other: Tally) {
        self.add_counts(&other);
        self.service.merge(other.service);
        self.intended.merge(other.intended);
        self.lateness.merge(other.lateness);
        let [new, duplicate] = other.by_kind;
        self.by_kind[0].merge(new);
        self.by_kind[1].merge(duplicate);
    }
}

async fn open_connections(addr: SocketAddr, count: usize) -> BenchResult<Vec<Connection>> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        connections.push(Connection::open(addr).await?);
    }
    Ok(connections)
}

async fn join_all(mut tasks: JoinSet<BenchResult<Tally>>) -> BenchResult<Tally> {
    let mut tally = Tally::default();
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(part)) => tally.merge(part),
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(e.into())),
        }
    }
    match failure {
        Some(e) => Err(format!("a connection failed (is the runner still up?): {e}").into()),
        None => Ok(tally),
    }
}

async fn closed_loop(addr: SocketAddr, load: &Arc<Load>, connections: usize, duration: Duration) -> BenchResult<Tally> {
    let mut tasks = JoinSet::new();
    let connections = open_connections(addr, connections).await?;
    let deadline = Instant::now() + duration;
    for mut connection in connections {
        let load = Arc::clone(load);
        tasks.spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let delivery = load.next();
                let started = Instant::now();
                let outcome = deliver(&mut connection, &delivery).await?;
                tally.record(&delivery, outcome, started.elapsed(), None);
            }
            Ok(tally)
        });
    }
    join_all(tasks).await
}

struct Scheduled {
    intended: Instant,
    delivery: Delivery,
}

async fn open_loop(
    addr: SocketAddr,
    load: &Arc<Load>,
    rate_per_second: f64,
    connections: usize,
    duration: Duration,
) -> BenchResult<Tally> {
    let total = (rate_per_second * duration.as_secs_f64()).round().max(1.0) as u64;
    let connections = open_connections(addr, connections).await?;
    // Bounded by the phase's own request count: the pacer never waits for the workers.
    let (sender, receiver) = mpsc::channel::<Scheduled>(usize::try_from(total)?);
    let receiver = Arc::new(Mutex::new(receiver));
    let mut tasks = JoinSet::new();
    for mut connection in connections {
        let receiver = Arc::clone(&receiver);
        tasks.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let next = receiver.lock().await.recv().await;
                let Some(scheduled) = next else { return Ok(tally) };
                let sent = Instant::now();
                let outcome = deliver(&mut connection, &scheduled.delivery).await?;
                let done = Instant::now();
                tally.record(&scheduled.delivery, outcome, done - sent, Some(done - scheduled.intended));
                tally.lateness.push(sent.saturating_duration_since(scheduled.intended));
            }
        });
    }
    drop(receiver);
    let load = Arc::clone(load);
    let pacer =
        std::thread::Builder::new().name("pacer".into()).spawn(move || pace(&load, &sender, rate_per_second, total))?;
    let tally = join_all(tasks).await;
    pacer.join().map_err(|_| "the pacer thread panicked")?;
    tally
}

/// Hands out request `i` at `start + i / rate`, on a plain thread: its sleeps are precise to tens
/// of microseconds, where the async timer rounds to whole milliseconds. Bodies are made and
/// signed ahead of their time, so that cost is not in the latency.
fn pace(load: &Load, sender: &mpsc::Sender<Scheduled>, rate_per_second: f64, total: u64) {
    let start = Instant::now() + Duration::from_millis(5);
    for i in 0..total {
        let delivery = load.next();
        let intended = start + Duration::from_secs_f64(i as f64 / rate_per_second);
        let now = Instant::now();
        if intended > now {
            std::thread::sleep(intended - now);
        }
        if sender.blocking_send(Scheduled { intended, delivery }).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring a phase.

struct Phase {
    label: String,
    connections: usize,
    elapsed: Duration,
    tally: Tally,
    server_cpu: Duration,
    writer_cpu: Duration,
    own_cpu: Duration,
    written_bytes: u64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.tally.answers as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    fn per_delivery(&self, total: Duration) -> Duration {
        total / u32::try_from(self.tally.answers.max(1)).unwrap_or(u32::MAX)
    }

    fn share_of_one_core(&self, cpu: Duration) -> String {
        format!("{:.0} %", 100.0 * cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(f64::EPSILON))
    }
}

struct Readings {
    server_cpu: Duration,
    writer_cpu: Duration,
    own_cpu: Duration,
    written_bytes: u64,
}

fn read_counters(pid: u32) -> Readings {
    Readings {
        server_cpu: procfs::cpu_time(pid).unwrap_or_default(),
        writer_cpu: procfs::thread_cpu_times(pid).get(WRITER_THREAD).copied().unwrap_or_default(),
        own_cpu: procfs::own_cpu_time().unwrap_or_default(),
        written_bytes: procfs::written_bytes(pid).unwrap_or_default(),
    }
}

async fn measure(
    server: &Server,
    label: &str,
    connections: usize,
    work: impl std::future::Future<Output = BenchResult<Tally>>,
) -> BenchResult<Phase> {
    let pid = server.child.pid();
    let before = read_counters(pid);
    let started = Instant::now();
    let tally = work.await?;
    let elapsed = started.elapsed();
    let after = read_counters(pid);
    Ok(Phase {
        label: label.to_owned(),
        connections,
        elapsed,
        tally,
        server_cpu: after.server_cpu.saturating_sub(before.server_cpu),
        writer_cpu: after.writer_cpu.saturating_sub(before.writer_cpu),
        own_cpu: after.own_cpu.saturating_sub(before.own_cpu),
        written_bytes: after.written_bytes.saturating_sub(before.written_bytes),
    })
}

// ---------------------------------------------------------------------------------------------
// Checking the work.

async fn verify(server: &Server, load: &Load, all: &Tally) -> BenchResult<Vec<String>> {
    let originals = load.originals.load(Ordering::Relaxed);
    if all.unexpected > 0 {
        return Err(format!(
            "{} of {} answers were not 200 accepted/duplicate, e.g. {:?}",
            all.unexpected, all.answers, all.unexpected_examples
        )
        .into());
    }
    if all.accepted != originals || all.duplicate != all.answers - originals {
        return Err(format!(
            "{} accepted and {} duplicate answers for {originals} distinct webhook ids in {} deliveries",
            all.accepted, all.duplicate, all.answers
        )
        .into());
    }
    let mut lines = vec![format!(
        "{} answers, all 200: {} accepted (= distinct webhook ids sent), {} duplicate ({} sent as duplicates)",
        thousands(all.answers),
        thousands(all.accepted),
        thousands(all.duplicate),
        thousands(all.sent_duplicates)
    )];
    lines.push(verify_database(&server.database(), originals)?);
    lines.push(verify_api(server.addr, load, originals).await?);
    Ok(lines)
}

fn verify_database(path: &Path, orders: u64) -> BenchResult<String> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db =
        rusqlite::Connection::open_with_flags(path, flags).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let count = |sql: &str| db.query_row(sql, [], |row| row.get::<_, i64>(0));
    let entries = count("SELECT count(*) FROM ledger_entries")?;
    // One earn entry per order, under the order's business key (`earn:order:{order}`).
    let earn_entries = count(
        "SELECT count(*) FROM ledger_entries WHERE body ->> '$.kind' = 'earn' AND entry_key = 'earn:order:' || (body ->> '$.order_id')",
    )?;
    let earned_orders =
        count("SELECT count(DISTINCT body ->> '$.order_id') FROM ledger_entries WHERE body ->> '$.kind' = 'earn'")?;
    let entries_pending = count("SELECT coalesce(sum(pending), 0) FROM ledger_entries")?;
    let entries_available = count("SELECT coalesce(sum(available), 0) FROM ledger_entries")?;
    let stored_orders = count("SELECT count(*) FROM orders")?;
    let deliveries = count("SELECT count(*) FROM deliveries")?;
    let balance_pending = count("SELECT coalesce(sum(pending), 0) FROM customers")?;
    let balance_available = count("SELECT coalesce(sum(available), 0) FROM customers")?;
    let ledger_lengths = count("SELECT coalesce(sum(ledger_len), 0) FROM customers")?;
    // Every credited customer has a timer for the release of their held points, computed from
    // their whole ledger.
    let credited_customers = count("SELECT count(DISTINCT customer_id) FROM ledger_entries")?;
    let timed_customers = count(
        "SELECT count(*) FROM timers t JOIN customers c ON c.shop = t.shop AND c.customer_id = t.customer_id \
         WHERE t.due_at IS NOT NULL AND t.ledger_len = c.ledger_len AND c.ledger_len > 0",
    )?;
    let orders = i64::try_from(orders)?;
    let expected_points = POINTS_PER_ORDER * orders;
    let n = |v: i64| thousands(v.unsigned_abs());
    let summary = format!(
        "SQLite: {} orders, {} ledger entries ({} earn, for {} distinct orders), {} delivery records for {} distinct \
         orders; {} points pending and {} available in the entries, {} pending and {} available in the balances, \
         expected {POINTS_PER_ORDER} × {} = {} pending and 0 available; {} of {} credited customers with a due timer \
         at their ledger's length",
        n(stored_orders),
        n(entries),
        n(earn_entries),
        n(earned_orders),
        n(deliveries),
        n(orders),
        n(entries_pending),
        n(entries_available),
        n(balance_pending),
        n(balance_available),
        n(orders),
        n(expected_points),
        n(timed_customers),
        n(credited_customers)
    );
    if entries != orders
        || earn_entries != orders
        || earned_orders != orders
        || stored_orders != orders
        || deliveries != orders
        || entries_pending != expected_points
        || entries_available != 0
        || balance_pending != expected_points
        || balance_available != 0
        || ledger_lengths != entries
        || timed_customers != credited_customers
    {
        return Err(summary.into());
    }
    Ok(summary)
}

/// The merchant API's view of one customer: order `n` belongs to customer `n % customers`, so
/// customer 0 has ⌈orders / customers⌉ orders.
async fn verify_api(addr: SocketAddr, load: &Load, orders: u64) -> BenchResult<String> {
    let customer = load.bodies.ids(0).customer;
    let expected_entries = i64::try_from(orders.div_ceil(load.bodies.customers()))?;
    let path = format!("/api/shops/{SHOP_ID}/customers/{customer}/ledger");
    let bearer = format!("Bearer {API_KEY}");
    let mut connection = Connection::open(addr).await?;
    let answer = connection.send(Method::GET, &path, &[("authorization", bearer.as_str())], Bytes::new()).await?;
    let body: serde_json::Value = serde_json::from_slice(&answer.body)?;
    let points =
        |name: &str| body.pointer(&format!("/points/{name}")).and_then(serde_json::Value::as_i64).unwrap_or(-1);
    let (pending, available) = (points("pending"), points("available"));
    let listed = body.get("entries").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
    let entries = listed.len() as i64;
    // Each entry an earn of the order's points, pending, at positions 1, 2, … in ledger order.
    let earns = listed
        .iter()
        .zip(1_i64..)
        .filter(|(entry, position)| {
            let field = |name: &str| entry.get(name).and_then(serde_json::Value::as_i64);
            entry.get("kind").and_then(serde_json::Value::as_str) == Some("earn")
                && field("position") == Some(*position)
                && field("pending") == Some(POINTS_PER_ORDER)
                && field("available") == Some(0)
        })
        .count() as i64;
    let summary = format!(
        "API: GET {path} → {}, {entries} entries ({earns} pending earn entries of {POINTS_PER_ORDER} in position order), \
         {pending} points pending and {available} available (expected {expected_entries} entries, {} points pending)",
        answer.status,
        POINTS_PER_ORDER * expected_entries
    );
    if answer.status != StatusCode::OK
        || entries != expected_entries
        || earns != expected_entries
        || pending != POINTS_PER_ORDER * expected_entries
        || available != 0
    {
        return Err(summary.into());
    }
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// Printing.

fn print_setup(options: &Options, server: &Server, bodies: &OrderBodies, fsync: &Summary) {
    let (min, mean, max) = bodies.sizes();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("ingest: signed Shopify orders/paid webhooks → local runner (HTTP, HMAC, dedup, SQLite group commit, points credit)");
    println!("  runner   {} (pid {}), RUST_LOG=warn", server.runner.display(), server.child.pid());
    println!("  data     {}", server.data_dir.display());
    println!(
        "  disk     fsync after a 4 KB append: p50 {}, p99 {} ({FSYNC_PROBES} probes in {})",
        ms(fsync.quantile(0.5)),
        ms(fsync.quantile(0.99)),
        options.data_parent.display()
    );
    println!(
        "  bodies   {}–{}, mean {} (orders_paid fixture in 7 shapes), a new order per delivery, {} % duplicates, {} customers",
        kib(min as u64),
        kib(max as u64),
        kib(mean as u64),
        options.duplicate_percent,
        thousands(options.customers)
    );
    println!("  machine  {cpus} CPUs, shared by this load generator and the server");
    println!(
        "  phases   {:?} each; closed loop at {:?} connections, then open loop at half the best peak\n",
        options.phase, options.concurrencies
    );
}

fn print_phases(phases: &[Phase], open: &Phase) {
    let mut table = Table::new(&[
        "phase",
        "conns",
        "deliveries",
        "per s",
        "p50",
        "p99",
        "p99.9",
        "max",
        "server CPU",
        "CPU/delivery",
        "writer thread",
        "disk/delivery",
        "generator CPU",
    ]);
    for phase in phases.iter().chain([open]) {
        let latencies = if phase.tally.intended.is_empty() { &phase.tally.service } else { &phase.tally.intended };
        let s = latencies.summary();
        table.row(vec![
            phase.label.clone(),
            phase.connections.to_string(),
            thousands(phase.tally.answers),
            thousands(phase.rate().round() as u64),
            ms(s.quantile(0.5)),
            ms(s.quantile(0.99)),
            ms(s.quantile(0.999)),
            ms(s.max()),
            phase.share_of_one_core(phase.server_cpu),
            format!("{} µs", phase.per_delivery(phase.server_cpu).as_micros()),
            phase.share_of_one_core(phase.writer_cpu),
            kib(phase.written_bytes / phase.tally.answers.max(1)),
            phase.share_of_one_core(phase.own_cpu),
        ]);
    }
    table.print();
    let service = open.tally.service.summary();
    let late = open.tally.lateness.summary();
    let (new, duplicate) = (open.tally.by_kind[0].summary(), open.tally.by_kind[1].summary());
    println!(
        "(closed loop: latency from send; open loop: from the intended send time. CPU columns: % of one core.)\n\
         open loop: new orders p50 {} / p99 {}, duplicates p50 {} / p99 {}; service time alone p50 {} / p99 {}; \
         pacer lateness p99 {}",
        ms(new.quantile(0.5)),
        ms(new.quantile(0.99)),
        ms(duplicate.quantile(0.5)),
        ms(duplicate.quantile(0.99)),
        ms(service.quantile(0.5)),
        ms(service.quantile(0.99)),
        ms(late.quantile(0.99))
    );
}

fn print_targets(peak: f64, rate: f64, open: &Phase, peak_rss: Option<u64>) {
    let s = open.tally.intended.summary();
    let verdict = |met: bool| if met { "meets" } else { "misses" }.to_owned();
    let mut table = Table::new(&["figure", "measured", "target", ""]);
    table.row(vec![
        "peak deliveries/s (best closed loop)".into(),
        thousands(peak.round() as u64),
        format!("≥ {}", thousands(TARGET_PEAK_PER_SECOND as u64)),
        verdict(peak >= TARGET_PEAK_PER_SECOND),
    ]);
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        let target = if name == "p99" { format!("≤ {}", ms(TARGET_P99)) } else { String::new() };
        let met = if name == "p99" { verdict(s.quantile(q) <= TARGET_P99) } else { String::new() };
        table.row(vec![
            format!("{name} at half peak ({} /s, open loop)", thousands(rate as u64)),
            ms(s.quantile(q)),
            target,
            met,
        ]);
    }
    let rss = peak_rss.map_or("unknown".to_owned(), mib);
    let rss_met = peak_rss.map_or(String::new(), |b| verdict(b < TARGET_RSS_BYTES));
    table.row(vec!["server peak RSS (VmHWM)".into(), rss, format!("< {}", mib(TARGET_RSS_BYTES)), rss_met]);
    println!();
    table.print();
}
