//! `ledger`: the ledger on the embedded store, in this process, through the real services.
//!
//! The store is `SqliteStore` in a fresh directory on disk (WAL, `synchronous=FULL`, group
//! commit: every `Ok` is an fsynced commit), with the ledger service, the points function, the
//! code generator and the ledger sweep wired as the local runner wires them.
//!
//! 1. Throughput: N tasks for a fixed time, each doing a mix of credits (a new order for a random
//!    customer of a pool: the webhook's store step, then `PointsService::handle_event` with
//!    `OrderRecorded`), reversals (a refund of one whole line of an earlier order: stored through
//!    `apply_delivery`, then `RefundRecorded`) and redemptions (a generated code, then
//!    `Decision::redeem` through `LedgerService::run`) for customers given points first by
//!    adjustments. Prints operations/s and p50/p99 per kind, the commits and the peak RSS.
//! 2. Release sweep scaling: two stores with 100,000 and 1,000,000 held orders (one customer
//!    each), in both of which exactly the same number of orders (10,000) is due at each sweep
//!    time and the rest later. Times `LedgerSweep::sweep_shop` at those times (three rounds,
//!    alternating between the stores), checks that each sweep appended exactly one `release` per
//!    due order and nothing else, and prints the times and the ratio of the medians: PASS if the
//!    larger store took less than twice as long, FAIL (exit code 1) if not.
//!
//! Every result is checked against the SQLite file afterwards (entries per kind, balances, codes,
//! refunds, timers); wrong work fails the program whatever its speed.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use stammkunde_bench::args::{options_or_exit, Flags};
use stammkunde_bench::embedded::{
    contents, customer_id, database_bytes, timers_due, Contents, Embedded, OrderMaker, REWARD_POINTS,
};
use stammkunde_bench::machine::print_machine;
use stammkunde_bench::stats::{median, mib, ms, thousands, Latencies};
use stammkunde_bench::table::Table;
use stammkunde_bench::tasks::for_each;
use stammkunde_bench::{mix64, print_error, procfs, BenchResult};
use stammkunde_domain::clock::{FixedClock, SystemClock};
use stammkunde_domain::ledger::EntryKind;
use stammkunde_points::PointsOutcome;
use stammkunde_services::sweep::SWEEP_PAGE_SIZE;
use stammkunde_store_sqlite::WriteStats;

const FLAGS: [&str; 10] = [
    "--tasks",
    "--secs",
    "--mix",
    "--customers",
    "--orders",
    "--due",
    "--rounds",
    "--populate-tasks",
    "--phases",
    "--data-parent",
];
const USAGE: &str = "usage: ledger [--tasks 32] [--secs 10] [--mix 70,20,10] [--customers 10000]
              [--orders 100000,1000000] [--due 10000] [--rounds 3] [--populate-tasks 64]
              [--phases throughput,sweep] [--data-parent DIR]";

/// The sweep must take less than this many times as long on the larger store.
const RATIO_MAX: f64 = 2.0;
/// Points each customer is given before the throughput phase: a thousand redemptions' worth, so
/// a redemption for any customer of the pool can be paid for.
const START_POINTS: i64 = 1_000 * REWARD_POINTS;
const TASKS_MAX: usize = 1024;
const SECONDS_MAX: u64 = 600;
const CUSTOMERS_MAX: u64 = 10_000_000;
const ORDERS_MAX: u64 = 10_000_000;
/// Sweep rounds are an hour apart and every order outside them is due a day or more later.
const ROUNDS_MAX: u64 = 12;
const FAILURES_SHOWN_MAX: usize = 5;
/// The SQLite writer thread's name (`shared/store-sqlite/src/writer.rs`).
const WRITER_THREAD: &str = "sqlite-writer";

struct Options {
    tasks: usize,
    phase: Duration,
    mix: [u64; 3],
    customers: u64,
    orders: [u64; 2],
    due: u64,
    populate_tasks: usize,
    rounds: u64,
    throughput: bool,
    sweep: bool,
    data_parent: PathBuf,
}

fn main() -> ExitCode {
    let options = match options_or_exit("ledger", USAGE, options()) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    match runtime.block_on(run(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            print_error("ledger", &e);
            ExitCode::FAILURE
        }
    }
}

fn options() -> BenchResult<Option<Options>> {
    let flags = Flags::from_env(&FLAGS)?;
    if flags.help() {
        return Ok(None);
    }
    let mix: Vec<u64> = flags.list("--mix", &[70, 20, 10])?;
    let orders: Vec<u64> = flags.list("--orders", &[100_000, 1_000_000])?;
    let phases: Vec<String> = flags.list("--phases", &["throughput".to_owned(), "sweep".to_owned()])?;
    let options = Options {
        tasks: flags.parsed("--tasks", 32)?,
        phase: Duration::from_secs(flags.parsed("--secs", 10)?),
        mix: <[u64; 3]>::try_from(mix).map_err(|_| "--mix takes three percentages: credits,reversals,redemptions")?,
        customers: flags.parsed("--customers", 10_000)?,
        orders: <[u64; 2]>::try_from(orders).map_err(|_| "--orders takes two store sizes, smaller first")?,
        due: flags.parsed("--due", 10_000)?,
        populate_tasks: flags.parsed("--populate-tasks", 64)?,
        rounds: flags.parsed("--rounds", 3)?,
        throughput: phases.iter().any(|p| p == "throughput"),
        sweep: phases.iter().any(|p| p == "sweep"),
        data_parent: flags.value("--data-parent").map(PathBuf::from).unwrap_or_else(std::env::temp_dir),
    };
    check(&options, &phases)?;
    Ok(Some(options))
}

fn check(options: &Options, phases: &[String]) -> BenchResult<()> {
    if phases.iter().any(|p| p != "throughput" && p != "sweep") {
        return Err("--phases takes throughput, sweep or both".into());
    }
    let tasks_ok = |t: usize| (1..=TASKS_MAX).contains(&t);
    if !tasks_ok(options.tasks) || !tasks_ok(options.populate_tasks) {
        return Err(format!("--tasks and --populate-tasks must be 1..={TASKS_MAX}").into());
    }
    if options.phase.is_zero() || options.phase.as_secs() > SECONDS_MAX {
        return Err(format!("--secs must be 1..={SECONDS_MAX}").into());
    }
    if options.mix.iter().sum::<u64>() != 100 {
        return Err("--mix must add up to 100".into());
    }
    if !(1..=CUSTOMERS_MAX).contains(&options.customers) {
        return Err(format!("--customers must be 1..={CUSTOMERS_MAX}").into());
    }
    let [small, large] = options.orders;
    if small == 0 || small > large || large > ORDERS_MAX {
        return Err(format!("--orders must be 1 ≤ first ≤ second ≤ {ORDERS_MAX}").into());
    }
    if !(1..=ROUNDS_MAX).contains(&options.rounds) || options.due == 0 || options.due * options.rounds > small {
        return Err(format!("--rounds must be 1..={ROUNDS_MAX} and 1 ≤ --due × --rounds ≤ the first store size").into());
    }
    Ok(())
}

async fn run(options: Options) -> BenchResult<bool> {
    print_machine(&options.data_parent)?;
    if options.throughput {
        throughput(&options).await?;
    }
    if !options.sweep {
        return Ok(true);
    }
    sweep_scaling(&options).await
}

// ---------------------------------------------------------------------------------------------
// 1. Throughput: credits, reversals and redemptions mixed.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Credit = 0,
    Reversal = 1,
    Redemption = 2,
}

const OPS: [Op; 3] = [Op::Credit, Op::Reversal, Op::Redemption];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Credit => "credit",
            Op::Reversal => "reversal",
            Op::Redemption => "redemption",
        }
    }
}

struct Load {
    env: Embedded,
    maker: OrderMaker,
    customers: u64,
    mix: [u64; 3],
    next_order: AtomicU64,
    next_refund: AtomicU64,
    next_redemption: AtomicU64,
    /// (order number, line index) of credited lines not refunded yet: what a reversal may take.
    reversible: Mutex<Vec<(u64, usize)>>,
    failures: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Tally {
    done: [u64; 3],
    failed: [u64; 3],
    latencies: [Latencies; 3],
    /// Reversals that found no credited line left and credited a new order instead.
    fallbacks: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (i, latencies) in other.latencies.into_iter().enumerate() {
            self.done[i] += other.done[i];
            self.failed[i] += other.failed[i];
            self.latencies[i].merge(latencies);
        }
        self.fallbacks += other.fallbacks;
    }
}

/// What the process used during a phase.
struct Usage {
    stats: WriteStats,
    cpu: Duration,
    writer_cpu: Duration,
    written: u64,
}

impl Usage {
    fn now(env: &Embedded) -> Usage {
        let pid = std::process::id();
        Usage {
            stats: env.write_stats(),
            cpu: procfs::own_cpu_time().unwrap_or_default(),
            writer_cpu: procfs::thread_cpu_times(pid).get(WRITER_THREAD).copied().unwrap_or_default(),
            written: procfs::written_bytes(pid).unwrap_or(0),
        }
    }
}

async fn throughput(options: &Options) -> BenchResult<()> {
    let dir = tempfile::Builder::new().prefix("stammkunde-ledger-").tempdir_in(&options.data_parent)?;
    let env = Embedded::open(dir.path(), Arc::new(SystemClock))?;
    let maker = OrderMaker::new(&env.shop)?;
    let load = Arc::new(Load {
        env,
        maker,
        customers: options.customers,
        mix: options.mix,
        next_order: AtomicU64::new(options.customers),
        next_refund: AtomicU64::new(0),
        next_redemption: AtomicU64::new(0),
        reversible: Mutex::new(Vec::new()),
        failures: Mutex::new(Vec::new()),
    });
    let [credits, reversals, redemptions] = options.mix;
    println!(
        "\n== throughput: {} tasks, {} s, {credits} % credits / {reversals} % reversals / {redemptions} % redemptions, {} customers",
        options.tasks,
        options.phase.as_secs(),
        thousands(options.customers)
    );
    let started = Instant::now();
    seed(&load, options.tasks).await?;
    println!(
        "setup (not measured): {} adjustments of {} points and {} first orders, one per customer, in {:.1} s",
        thousands(options.customers),
        thousands(START_POINTS as u64),
        thousands(options.customers),
        started.elapsed().as_secs_f64()
    );
    let before = Usage::now(&load.env);
    let started = Instant::now();
    let tally = measure(&load, options.tasks, options.phase).await?;
    let elapsed = started.elapsed();
    let after = Usage::now(&load.env);
    let rss = procfs::status_bytes(std::process::id(), "VmHWM");
    print_throughput(&tally, elapsed, &before, &after, rss);
    check_throughput(&load, &tally)
}

/// Gives every customer `START_POINTS` available points and one credited order (order number =
/// customer number), so reversals and redemptions have something to work on from the start.
async fn seed(load: &Arc<Load>, tasks: usize) -> BenchResult<()> {
    let seeding = load.clone();
    for_each(tasks, load.customers, None, move |n| {
        let load = seeding.clone();
        async move {
            let customer = customer_id(n)?;
            if load.env.adjust(&customer, n, START_POINTS).await? != 1 {
                return Err(format!("the start balance of customer {customer} was not appended").into());
            }
            credit_order(&load, n, n).await
        }
    })
    .await
}

async fn credit_order(load: &Load, number: u64, customer: u64) -> BenchResult<()> {
    let order = load.maker.order(number, &customer_id(customer)?, None)?;
    match load.env.credit(&order).await? {
        PointsOutcome::Reconciled { appended } if appended.contains(&EntryKind::Earn) => {}
        other => return Err(format!("order {number} was not credited: {other:?}").into()),
    }
    let mut reversible = load.reversible.lock().map_err(|_| "a poisoned lock")?;
    reversible.extend(load.maker.earning_lines().iter().map(|line| (number, *line)));
    Ok(())
}

async fn measure(load: &Arc<Load>, tasks: usize, phase: Duration) -> BenchResult<Tally> {
    let deadline = Instant::now() + phase;
    let mut set = JoinSet::new();
    for task in 0..tasks {
        let load = load.clone();
        set.spawn(async move {
            let mut tally = Tally::default();
            let mut random = mix64(task as u64 + 1);
            while Instant::now() < deadline {
                random = mix64(random);
                one_operation(&load, random, &mut tally).await;
            }
            tally
        });
    }
    let mut total = Tally::default();
    while let Some(tally) = set.join_next().await {
        total.merge(tally?);
    }
    Ok(total)
}

async fn one_operation(load: &Load, random: u64, tally: &mut Tally) {
    let roll = random % 100;
    let wanted = if roll < load.mix[0] {
        Op::Credit
    } else if roll < load.mix[0] + load.mix[1] {
        Op::Reversal
    } else {
        Op::Redemption
    };
    let customer = (random >> 8) % load.customers;
    let started = Instant::now();
    let (op, result) = match wanted {
        Op::Credit => (Op::Credit, credit_order(load, load.next_order.fetch_add(1, Ordering::Relaxed), customer).await),
        Op::Reversal => match take_reversible(load, random >> 32) {
            Some((number, line)) => (Op::Reversal, reverse_line(load, number, line).await),
            None => {
                tally.fallbacks += 1;
                (Op::Credit, credit_order(load, load.next_order.fetch_add(1, Ordering::Relaxed), customer).await)
            }
        },
        Op::Redemption => (Op::Redemption, redeem(load, customer).await),
    };
    let latency = started.elapsed();
    match result {
        Ok(()) => {
            tally.done[op as usize] += 1;
            tally.latencies[op as usize].push(latency);
        }
        Err(error) => {
            tally.failed[op as usize] += 1;
            if let Ok(mut failures) = load.failures.lock() {
                if failures.len() < FAILURES_SHOWN_MAX {
                    failures.push(format!("{}: {error}", op.name()));
                }
            }
        }
    }
}

fn take_reversible(load: &Load, random: u64) -> Option<(u64, usize)> {
    let mut reversible = load.reversible.lock().ok()?;
    if reversible.is_empty() {
        return None;
    }
    let at = (random % reversible.len() as u64) as usize;
    Some(reversible.swap_remove(at))
}

/// A refund of one whole line. A reconciliation racing on the same order (a refund of another
/// of its lines) may book this refund's reversal first: then the ledger is already up to date,
/// and the count of reversal entries in the file checks that every refund was reversed once.
async fn reverse_line(load: &Load, number: u64, line: usize) -> BenchResult<()> {
    let refund_number = load.next_refund.fetch_add(1, Ordering::Relaxed);
    let refund = load.maker.refund(&load.env.shop, number, line, refund_number, load.env.clock.now())?;
    match load.env.reverse(refund).await? {
        PointsOutcome::Reconciled { appended } if appended.contains(&EntryKind::Reversal) => Ok(()),
        PointsOutcome::Skipped("ledger already up to date") => Ok(()),
        other => Err(format!("the refund of order {number} line {line} was not reversed: {other:?}").into()),
    }
}

async fn redeem(load: &Load, customer: u64) -> BenchResult<()> {
    let n = load.next_redemption.fetch_add(1, Ordering::Relaxed);
    match load.env.redeem(&customer_id(customer)?, n).await? {
        0 => Err(format!("redemption {n} appended nothing").into()),
        _ => Ok(()),
    }
}

fn print_throughput(tally: &Tally, elapsed: Duration, before: &Usage, after: &Usage, rss: Option<u64>) {
    let secs = elapsed.as_secs_f64();
    let mut table = Table::new(&["kind", "operations", "per second", "p50", "p99", "max", "failed"]);
    let mut all = Latencies::default();
    for op in OPS {
        let i = op as usize;
        let summary = tally.latencies[i].summary();
        table.row(vec![
            op.name().into(),
            thousands(tally.done[i]),
            format!("{:.0}", tally.done[i] as f64 / secs),
            ms(summary.quantile(0.50)),
            ms(summary.quantile(0.99)),
            ms(summary.max()),
            thousands(tally.failed[i]),
        ]);
        all.merge(tally.latencies[i].clone());
    }
    let (done, failed) = (tally.done.iter().sum::<u64>(), tally.failed.iter().sum::<u64>());
    let summary = all.summary();
    table.row(vec![
        "total".into(),
        thousands(done),
        format!("{:.0}", done as f64 / secs),
        ms(summary.quantile(0.50)),
        ms(summary.quantile(0.99)),
        ms(summary.max()),
        thousands(failed),
    ]);
    println!("measured for {secs:.2} s:");
    table.print();
    if tally.fallbacks > 0 {
        println!("({} reversals found no credited line left and credited a new order instead)", tally.fallbacks);
    }
    let commits = after.stats.commits - before.stats.commits;
    let jobs = after.stats.jobs - before.stats.jobs;
    println!(
        "commits: {} ({:.0}/s) for {} write jobs, {:.1} jobs per commit, {:.2} commits per operation",
        thousands(commits),
        commits as f64 / secs,
        thousands(jobs),
        jobs as f64 / commits.max(1) as f64,
        commits as f64 / done.max(1) as f64
    );
    let per_op = |d: Duration| d.as_secs_f64() * 1e6 / done.max(1) as f64;
    let cpu = after.cpu.saturating_sub(before.cpu);
    let writer = after.writer_cpu.saturating_sub(before.writer_cpu);
    println!(
        "CPU: {:.0} µs per operation in all (services, store and load generator share this process), {:.0} µs of it on the SQLite writer thread",
        per_op(cpu),
        per_op(writer)
    );
    println!(
        "written to storage: {:.1} KB per operation",
        (after.written - before.written) as f64 / 1024.0 / done.max(1) as f64
    );
    match rss {
        Some(bytes) => println!("peak RSS (VmHWM of this process, store and load generator together): {}", mib(bytes)),
        None => println!("peak RSS: not measurable here (no /proc/self/status)"),
    }
}

/// The file must hold exactly the work that was reported done.
fn check_throughput(load: &Load, tally: &Tally) -> BenchResult<()> {
    let failed: u64 = tally.failed.iter().sum();
    if failed > 0 {
        let shown = load.failures.lock().map(|f| f.join("\n  ")).unwrap_or_default();
        return Err(format!("{failed} operations failed, e.g.:\n  {shown}").into());
    }
    let file = contents(&load.env.path)?;
    let customers = load.customers;
    let credits = customers + tally.done[Op::Credit as usize];
    let reversals = tally.done[Op::Reversal as usize];
    let redemptions = tally.done[Op::Redemption as usize];
    let expected = [("adjustment", customers), ("earn", credits), ("reversal", reversals), ("redemption", redemptions)];
    let mut wrong: Vec<String> = expected
        .iter()
        .filter(|(kind, count)| file.kind(kind) != *count)
        .map(|(kind, count)| format!("{} {kind} entries, expected {}", file.kind(kind), count))
        .collect();
    if file.entries() != expected.iter().map(|(_, c)| c).sum::<u64>() {
        wrong.push(format!("{} entries of kinds {:?}", file.entries(), file.kinds.keys().collect::<Vec<_>>()));
    }
    if file.orders != credits || file.refunds != reversals || file.codes != redemptions {
        wrong.push(format!("{} orders, {} refunds, {} codes stored", file.orders, file.refunds, file.codes));
    }
    let redeemed = file.kinds.get("redemption").map_or(0, |k| k.1);
    if redeemed != -REWARD_POINTS * redemptions as i64 || !file.balanced() {
        wrong.push("the entries do not add up to the balances and ledger lengths".into());
    }
    if !wrong.is_empty() {
        return Err(format!("the SQLite file does not hold the work done: {}", wrong.join("; ")).into());
    }
    println!(
        "checked in the SQLite file: {} earn, {} reversal, {} redemption and {} adjustment entries, as done; {} orders, {} refunds, {} codes; balances = sum of entries",
        thousands(credits),
        thousands(reversals),
        thousands(redemptions),
        thousands(customers),
        thousands(file.orders),
        thousands(file.refunds),
        thousands(file.codes)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. The release sweep at two store sizes with the same number due.
//
// Each store holds `rounds` cohorts of `due` orders, cohort r due in the hour before sweep time
// r (one hour apart), and every other order due days later. Both stores are built first; then
// the sweeps alternate (small r, large r, small r + 1, …), so that a burst of other work on a
// shared machine hits both sizes alike, and the figure is each size's median.

/// A store of held orders for the sweep, and its sweeps so far.
struct SweepStore {
    orders: u64,
    dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    env: Embedded,
    populate: Duration,
    /// The file as it was after the last check.
    contents: Contents,
    sweeps: Vec<Duration>,
    commits: Vec<u64>,
}

/// When sweep round `round` runs; the stores are filled two hours before the first.
fn sweep_time(round: u64) -> DateTime<Utc> {
    let first = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).single().unwrap_or_else(Utc::now);
    first + Days::hours(round as i64)
}

fn filled_at() -> DateTime<Utc> {
    sweep_time(0) - Days::hours(2)
}

async fn sweep_scaling(options: &Options) -> BenchResult<bool> {
    println!(
        "\n== release sweep: stores of {} and {} held orders (one customer each); {} rounds, each with exactly {} orders due",
        thousands(options.orders[0]),
        thousands(options.orders[1]),
        options.rounds,
        thousands(options.due)
    );
    let mut stores = Vec::new();
    for orders in options.orders {
        stores.push(build_store(options, orders).await?);
    }
    for store in &stores {
        warm_sweep(store).await?;
    }
    for round in 0..options.rounds {
        for store in &mut stores {
            sweep_round(store, options, round).await?;
        }
    }
    let passed = print_sweeps(options, &stores);
    for store in stores {
        let SweepStore { env, dir, .. } = store;
        drop(env);
        dir.close()?;
    }
    Ok(passed)
}

async fn build_store(options: &Options, orders: u64) -> BenchResult<SweepStore> {
    let dir = tempfile::Builder::new().prefix("stammkunde-ledger-sweep-").tempdir_in(&options.data_parent)?;
    let clock = Arc::new(FixedClock::new(filled_at()));
    let env = Arc::new(Embedded::open(dir.path(), clock.clone())?);
    println!("\n{} held orders in {}:", thousands(orders), dir.path().display());
    let started = Instant::now();
    populate(&env, options, orders).await?;
    let populate = started.elapsed();
    println!(
        "  populated in {:.1} s, {:.0} orders/s (not part of the measured figure)",
        populate.as_secs_f64(),
        orders as f64 / populate.as_secs_f64()
    );
    let contents = check_populated(&env, options, orders)?;
    // Closed and opened again, as a sweep process starting would: closing checkpoints the WAL,
    // so both stores start from the same state, whatever population left in the WAL.
    drop(env);
    let env = Embedded::open(dir.path(), clock.clone())?;
    Ok(SweepStore { orders, dir, clock, env, populate, contents, sweeps: Vec::new(), commits: Vec::new() })
}

/// The hourly sweep of the hour before the first round: nothing is due, and it records the tier
/// mark (a shop without tiers), so every measured sweep is a steady-state one.
async fn warm_sweep(store: &SweepStore) -> BenchResult<()> {
    let report = store.env.sweep.sweep_shop(&store.env.shop, 1).await?;
    if report.customers != 0 || report.entries != 0 || report.failed != 0 || report.more {
        return Err(format!("the sweep before anything was due did work: {report:?}").into());
    }
    Ok(())
}

async fn sweep_round(store: &mut SweepStore, options: &Options, round: u64) -> BenchResult<()> {
    let at = sweep_time(round);
    store.clock.set(at);
    let pages = u32::try_from(options.due.div_ceil(u64::from(SWEEP_PAGE_SIZE)) + 1)?;
    let stats = store.env.write_stats();
    let started = Instant::now();
    let report = store.env.sweep.sweep_shop(&store.env.shop, pages).await?;
    let sweep = started.elapsed();
    let commits = store.env.write_stats().commits - stats.commits;
    store.contents = check_swept(&store.env, options, &store.contents, &report, at)?;
    println!(
        "  round {} on {} orders: sweep {} ({} customers, {} entries, {} commits); checked: exactly {} releases appended, nothing else",
        round + 1,
        thousands(store.orders),
        ms(sweep),
        thousands(u64::from(report.customers)),
        thousands(u64::from(report.entries)),
        thousands(commits),
        thousands(options.due)
    );
    store.sweeps.push(sweep);
    store.commits.push(commits);
    Ok(())
}

fn print_sweeps(options: &Options, stores: &[SweepStore]) -> bool {
    let mut table =
        Table::new(&["held orders", "due", "database", "population", "sweeps", "median", "per due order", "commits"]);
    for store in stores {
        let median = median(&store.sweeps);
        table.row(vec![
            thousands(store.orders),
            thousands(options.due),
            mib(database_bytes(&store.env.path)),
            format!("{:.1} s", store.populate.as_secs_f64()),
            store.sweeps.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", "),
            ms(median),
            format!("{:.0} µs", median.as_secs_f64() * 1e6 / options.due as f64),
            thousands(store.commits.iter().sum::<u64>() / store.commits.len().max(1) as u64),
        ]);
    }
    println!();
    table.print();
    let (small, large) = (&stores[0], &stores[1]);
    let ratio = median(&large.sweeps).as_secs_f64() / median(&small.sweeps).as_secs_f64().max(1e-9);
    let verdict = if ratio < RATIO_MAX { "PASS" } else { "FAIL" };
    println!(
        "sweep time, median of {} rounds: {} orders {}, {} orders {}; ratio {ratio:.3} (must be < {RATIO_MAX}): {verdict}",
        options.rounds,
        thousands(small.orders),
        ms(median(&small.sweeps)),
        thousands(large.orders),
        ms(median(&large.sweeps))
    );
    ratio < RATIO_MAX
}

/// When order `i` of a store of `orders` was paid. Every `stride`-th order belongs to a cohort
/// (`rounds × due` of them, cohorts interleaved over the ids), paid so that its hold ends in the
/// hour before its round's sweep; every other one so that its hold ends 1 to 18 days after the
/// last round.
fn paid_at(options: &Options, orders: u64, hold_days: i64, i: u64) -> DateTime<Utc> {
    let cohorts = options.due * options.rounds;
    let stride = orders / cohorts;
    let hold = Days::days(hold_days);
    let (cohort_index, offset) = (i / stride, i % stride);
    if offset == 0 && cohort_index < cohorts {
        let (round, rank) = (cohort_index % options.rounds, cohort_index / options.rounds);
        // In (sweep r − 1 h, sweep r − 1 s]: after the sweep an hour before, at or before this one.
        sweep_time(round) - hold - Days::hours(1) + Days::seconds(1 + (rank % 3599) as i64)
    } else {
        sweep_time(options.rounds) - hold + Days::days(1 + (i % (hold_days as u64 - 1)) as i64)
    }
}

/// Order `i` belongs to customer `i` and is credited through the webhook's store step and the
/// points function, `--populate-tasks` at a time.
async fn populate(env: &Arc<Embedded>, options: &Options, orders: u64) -> BenchResult<()> {
    let maker = Arc::new(OrderMaker::new(&env.shop)?);
    let hold_days = i64::from(env.shop.hold.shipping_allowance_days + env.shop.hold.return_window_days);
    if hold_days < 2 {
        return Err("the benchmark shop's hold is shorter than two days".into());
    }
    let paid: Arc<[DateTime<Utc>]> = (0..orders).map(|i| paid_at(options, orders, hold_days, i)).collect();
    let env = env.clone();
    for_each(options.populate_tasks, orders, Some("populated"), move |i| {
        let (env, maker, paid) = (env.clone(), maker.clone(), paid.clone());
        async move {
            let order = maker.order(i, &customer_id(i)?, Some(paid[i as usize]))?;
            match env.credit(&order).await? {
                PointsOutcome::Reconciled { appended } if appended == [EntryKind::Earn] => Ok(()),
                other => Err(format!("order {i} was not credited: {other:?}").into()),
            }
        }
    })
    .await
}

fn check_populated(env: &Embedded, options: &Options, orders: u64) -> BenchResult<Contents> {
    let file = contents(&env.path)?;
    let due_when_filled = timers_due(&env.path, filled_at())?;
    let mut due_by_round = Vec::new();
    for round in 0..options.rounds {
        due_by_round.push(timers_due(&env.path, sweep_time(round))?);
    }
    let cohorts_ok = due_by_round.iter().zip(1..).all(|(due, r)| *due == options.due * r);
    if file.kind("earn") != orders
        || file.entries() != orders
        || file.customers != orders
        || file.orders != orders
        || file.timers_due_set != orders
        || due_when_filled != 0
        || !cohorts_ok
        || !file.balanced()
    {
        return Err(format!(
            "the store is not as populated: {} entries ({} earn), {} customers, {} orders, {} timers, {due_when_filled} due when filled, {due_by_round:?} due by each round",
            file.entries(),
            file.kind("earn"),
            file.customers,
            file.orders,
            file.timers_due_set
        )
        .into());
    }
    println!(
        "  checked: {} earn entries, customers, orders and timers; {} due at each round's sweep, the rest later; database {}",
        thousands(orders),
        thousands(options.due),
        mib(database_bytes(&env.path))
    );
    Ok(file)
}

/// Exactly one `release` per due order was appended, and nothing else changed. Returns the file
/// as it is now.
fn check_swept(
    env: &Embedded,
    options: &Options,
    before: &Contents,
    report: &stammkunde_services::SweepReport,
    at: DateTime<Utc>,
) -> BenchResult<Contents> {
    let after = contents(&env.path)?;
    let due = options.due;
    let held = before.kinds.get("earn").map_or(0, |k| k.2) / before.kind("earn").max(1) as i64;
    let mut expected = before.kinds.clone();
    let (count, available, pending) = expected.get("release").copied().unwrap_or_default();
    expected.insert("release".into(), (count + due, available + held * due as i64, pending - held * due as i64));
    let others_same = after.customers == before.customers
        && after.orders == before.orders
        && after.refunds == before.refunds
        && after.codes == before.codes
        && after.timers_due_set == before.timers_due_set;
    let still_due = timers_due(&env.path, at)?;
    let report_ok =
        u64::from(report.customers) == due && u64::from(report.entries) == due && report.failed == 0 && !report.more;
    if after.kinds != expected || !others_same || still_due != 0 || !report_ok || !after.balanced() {
        return Err(format!(
            "the sweep did not do exactly {due} releases: {} release entries appended, kinds {:?}, {still_due} timers still due, report {report:?}",
            after.kind("release") - before.kind("release"),
            after.kinds
        )
        .into());
    }
    Ok(after)
}
