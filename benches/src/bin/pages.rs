//! `pages`: the preference centre's page views and saves through the local runner's HTTP stack.
//!
//! Starts the release runner as a child process with the benchmark shop (mail on), gives it
//! `--customers` customers through signed Shopify order webhooks (each then has a profile, an
//! order and 251 points pending on the ledger, so the page shows points and history), and stores a
//! preference-centre link for each, as a mail would (`put_link` of the token's digest).
//!
//! 1. Views, closed loop: N keep-alive connections each `GET /p/{token}` of a random customer as
//!    soon as the last page came. Pages/s and latency from send to the whole page.
//! 2. Views, open loop at half the best rate: request *i* is due at `start + i / rate`, latency
//!    is measured from that intended time (a stall counts against everything behind it).
//! 3. Saves, closed loop: each connection owns its own customers (no two saves of one customer
//!    race), reads the page for its form fields and posts the form (the frequency flipped each
//!    time); the POST's latency is measured.
//!
//! Checked afterwards (any mismatch fails the program): every view was 200 and showed its
//! customer's 251 pending points, every save 303, and the store holds one settings revision per
//! save answered.

use bytes::Bytes;
use http::{Method, StatusCode};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use stammkunde_bench::args::Flags;
use stammkunde_bench::client::Connection;
use stammkunde_bench::mailing::config_toml_with_mail;
use stammkunde_bench::orders::OrderBodies;
use stammkunde_bench::runner::Server;
use stammkunde_bench::shop::{shopify_signature, SHOP_DOMAIN, SHOP_ID, TOPIC};
use stammkunde_bench::stats::{mib, ms, thousands, Latencies};
use stammkunde_bench::table::Table;
use stammkunde_bench::{mix64, procfs, run_main, workspace_root, BenchResult};
use stammkunde_domain::clock::SystemClock;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::link::{digest, LinkToken};
use stammkunde_domain::ports::MailStore;
use stammkunde_store_sqlite::SqliteStore;

const FLAGS: [&str; 5] = ["--runner", "--secs", "--concurrency", "--customers", "--data-parent"];
const USAGE: &str =
    "usage: pages [--runner PATH] [--secs 5] [--concurrency 16,64] [--customers 2000] [--data-parent DIR]";

const TARGET_VIEWS_PER_SECOND: f64 = 5_000.0;
const TARGET_P99: Duration = Duration::from_millis(5);
const CONNECTIONS_MAX: usize = 1024;
const CUSTOMERS_MAX: u64 = 1_000_000;
/// The page shows the pending points of the one order each customer has.
const PENDING_SHOWN: &str = "<td>251</td>";
/// Connections that send the set-up orders.
const SETUP_CONNECTIONS: usize = 16;

struct Options {
    runner: PathBuf,
    phase: Duration,
    concurrencies: Vec<usize>,
    customers: u64,
    data_parent: PathBuf,
}

fn main() -> ExitCode {
    run_main("pages", USAGE, options(), run)
}

fn options() -> BenchResult<Option<Options>> {
    let flags = Flags::from_env(&FLAGS)?;
    if flags.help() {
        return Ok(None);
    }
    let options = Options {
        runner: flags
            .value("--runner")
            .map(PathBuf::from)
            .unwrap_or(workspace_root().join("target/release/stammkunde")),
        phase: Duration::from_secs(flags.parsed("--secs", 5)?),
        concurrencies: flags.list("--concurrency", &[16, 64])?,
        customers: flags.parsed("--customers", 2_000)?,
        data_parent: flags.value("--data-parent").map(PathBuf::from).unwrap_or_else(std::env::temp_dir),
    };
    let connections_ok = options.concurrencies.iter().all(|c| (1..=CONNECTIONS_MAX).contains(c));
    if !connections_ok || options.concurrencies.is_empty() || options.phase.is_zero() {
        return Err(format!("connections must be 1..={CONNECTIONS_MAX} and --secs at least 1").into());
    }
    if !(1..=CUSTOMERS_MAX).contains(&options.customers) {
        return Err(format!("--customers must be 1..={CUSTOMERS_MAX}").into());
    }
    Ok(Some(options))
}

/// The customers and their links' tokens (customer `n` has token `n`).
struct Links {
    tokens: Vec<String>,
    customers: Vec<CustomerId>,
}

impl Links {
    fn path(&self, n: u64) -> String {
        format!("/p/{}", self.tokens[(n % self.tokens.len() as u64) as usize])
    }
}

/// One phase's answers.
#[derive(Default)]
struct Tally {
    latencies: Latencies,
    wrong: u64,
    first_wrong: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.merge(other.latencies);
        self.wrong += other.wrong;
        self.first_wrong = self.first_wrong.take().or(other.first_wrong);
    }

    fn refuse(&mut self, what: String) {
        self.wrong += 1;
        self.first_wrong.get_or_insert(what);
    }
}

struct Phase {
    label: String,
    connections: usize,
    tally: Tally,
    elapsed: Duration,
    server_cpu: Duration,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.tally.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

async fn run(options: Options) -> BenchResult<()> {
    let server = Server::start(&options.runner, &options.data_parent, &config_toml_with_mail(1_000)).await?;
    let started = Instant::now();
    order_for_each_customer(server.addr, options.customers).await?;
    let links = Arc::new(store_links(&server, options.customers).await?);
    println!("pages: the preference centre (/p/{{token}}) through the local runner, views and saves");
    println!("  runner   {} (pid {}), RUST_LOG=warn", server.runner.display(), server.child.pid());
    println!("  data     {}", server.data_dir.display());
    println!(
        "  setup    {} customers, each with an order (251 points pending) and a link, in {:.1} s",
        thousands(options.customers),
        started.elapsed().as_secs_f64()
    );
    println!("  machine  {} CPUs, shared by this load generator and the server", num_cpus());
    let pid = server.child.pid();

    let mut views = Vec::new();
    for &connections in &options.concurrencies {
        let label = format!("views, closed loop, {connections} conns");
        views.push(
            measure(pid, label, connections, load_views(server.addr, &links, Pace::Closed, connections, options.phase))
                .await?,
        );
    }
    let peak = views.iter().map(Phase::rate).fold(0.0, f64::max);
    let rate = (peak / 2.0).max(1.0);
    let connections = options.concurrencies.iter().copied().max().unwrap_or(16);
    let label = format!("views, open loop @ {} /s", thousands(rate as u64));
    let open = measure(
        pid,
        label,
        connections,
        load_views(
            server.addr,
            &links,
            Pace::Open { rate, total: (rate * options.phase.as_secs_f64()) as u64 },
            connections,
            options.phase,
        ),
    )
    .await?;
    let save_connections = options.concurrencies[0];
    let label = format!("saves, closed loop, {save_connections} conns");
    let saves =
        measure(pid, label, save_connections, closed_saves(server.addr, &links, save_connections, options.phase))
            .await?;
    let peak_rss = procfs::status_bytes(pid, "VmHWM");

    print_phases(views.iter().chain([&open, &saves]));
    print_targets(peak, &open, &saves, peak_rss);
    let checked = verify(&server, &links, &views, &open, &saves).await;
    let mut server = server;
    server.child.interrupt(Duration::from_secs(5));
    match checked {
        Ok(line) => {
            println!("\ncorrectness: OK\n  {line}");
            Ok(())
        }
        Err(e) => Err(format!("CORRECTNESS CHECK FAILED: {e}").into()),
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Customer `n` gets order `n` (the bodies spread orders over exactly `customers` customers).
async fn order_for_each_customer(addr: SocketAddr, customers: u64) -> BenchResult<()> {
    let bodies = Arc::new(OrderBodies::new(customers)?);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..SETUP_CONNECTIONS {
        let (bodies, next) = (Arc::clone(&bodies), Arc::clone(&next));
        tasks.spawn(async move {
            let mut connection = Connection::open(addr).await?;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= customers {
                    return BenchResult::Ok(());
                }
                let body = bodies.body(n);
                let signature = shopify_signature(&body);
                let webhook_id = format!("pages-setup-{n}");
                let headers = [
                    ("content-type", "application/json"),
                    ("x-shopify-topic", TOPIC),
                    ("x-shopify-shop-domain", SHOP_DOMAIN),
                    ("x-shopify-hmac-sha256", signature.as_str()),
                    ("x-shopify-webhook-id", webhook_id.as_str()),
                ];
                let answer = connection.send(Method::POST, "/webhooks/shopify", &headers, Bytes::from(body)).await?;
                if answer.status != StatusCode::OK {
                    return Err(format!(
                        "set-up order {n}: {} {}",
                        answer.status,
                        String::from_utf8_lossy(&answer.body)
                    )
                    .into());
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// A link per customer, stored as a mail stores it: the digest of a random 128-bit token.
async fn store_links(server: &Server, customers: u64) -> BenchResult<Links> {
    let store = SqliteStore::open(&server.database(), Arc::new(SystemClock))?;
    let bodies = OrderBodies::new(customers)?;
    let shop = ShopId::parse(SHOP_ID)?;
    let now = chrono::Utc::now();
    let seed = u64::from(std::process::id()) ^ now.timestamp_nanos_opt().unwrap_or_default() as u64;
    let (mut tokens, mut ids) = (Vec::with_capacity(customers as usize), Vec::with_capacity(customers as usize));
    for n in 0..customers {
        let token = format!("{:016x}{:016x}", mix64(seed ^ (2 * n)), mix64(seed ^ (2 * n + 1)));
        let customer = CustomerId::parse(&bodies.ids(n).customer.to_string())?;
        let link = LinkToken {
            shop: shop.clone(),
            customer_id: customer.clone(),
            issued_at: now,
            expires_at: now + chrono::Duration::days(30),
            confirms: None,
        };
        store.put_link(&digest(&token), &link).await?;
        tokens.push(token);
        ids.push(customer);
    }
    Ok(Links { tokens, customers: ids })
}

async fn measure(
    pid: u32,
    label: String,
    connections: usize,
    load: impl std::future::Future<Output = BenchResult<(Tally, Duration)>>,
) -> BenchResult<Phase> {
    let cpu_before = procfs::cpu_time(pid).unwrap_or_default();
    let (tally, elapsed) = load.await?;
    let server_cpu = procfs::cpu_time(pid).unwrap_or_default().saturating_sub(cpu_before);
    Ok(Phase { label, connections, tally, elapsed, server_cpu })
}

/// Sends one view and checks the page; returns its latency from `from`.
async fn view(connection: &mut Connection, path: &str, from: Instant, tally: &mut Tally) -> BenchResult<()> {
    let answer = connection.send(Method::GET, path, &[], Bytes::new()).await?;
    let latency = from.elapsed();
    let page = String::from_utf8_lossy(&answer.body);
    if answer.status != StatusCode::OK || !page.contains(PENDING_SHOWN) {
        tally.refuse(format!("GET {path}: {} {}", answer.status, page.chars().take(300).collect::<String>()));
    }
    tally.latencies.push(latency);
    Ok(())
}

/// When a connection sends its next view: as soon as the last page came (closed loop, for the
/// phase), or at view *i*'s intended time `start + i / rate` (open loop, `total` views; latency
/// counts from that time, so a stall counts against every view behind it).
#[derive(Clone, Copy)]
enum Pace {
    Closed,
    Open { rate: f64, total: u64 },
}

async fn load_views(
    addr: SocketAddr,
    links: &Arc<Links>,
    pace: Pace,
    connections: usize,
    phase: Duration,
) -> BenchResult<(Tally, Duration)> {
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        let (links, next) = (Arc::clone(links), Arc::clone(&next));
        tasks.spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut tally = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let from = match pace {
                    Pace::Closed if start.elapsed() < phase => Instant::now(),
                    Pace::Open { rate, total } if i < total => {
                        let due = start + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    _ => return BenchResult::Ok(tally),
                };
                view(&mut connection, &links.path(mix64(i)), from, &mut tally).await?;
            }
        });
    }
    Ok((join(tasks).await?, start.elapsed()))
}

/// The value of a hidden form field in the page.
fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    Some(page[start..].split('"').next()?.to_owned())
}

async fn closed_saves(
    addr: SocketAddr,
    links: &Arc<Links>,
    connections: usize,
    phase: Duration,
) -> BenchResult<(Tally, Duration)> {
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for lane in 0..connections {
        let links = Arc::clone(links);
        tasks.spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut tally = Tally::default();
            // This connection's customers: lane, lane + connections, …
            let mut k = 0_u64;
            while start.elapsed() < phase {
                let n =
                    lane as u64 + (k % (links.tokens.len() as u64 / connections as u64).max(1)) * connections as u64;
                let path = links.path(n);
                let page = connection.send(Method::GET, &path, &[], Bytes::new()).await?;
                let page = String::from_utf8_lossy(&page.body).into_owned();
                let (Some(csrf), Some(revision)) = (hidden(&page, "csrf"), hidden(&page, "revision")) else {
                    tally.refuse(format!("GET {path}: no form in {}", page.chars().take(300).collect::<String>()));
                    k += 1;
                    continue;
                };
                let frequency = if revision.parse::<u64>().unwrap_or(0) % 2 == 0 { "weekly" } else { "monthly" };
                let form = format!(
                    "csrf={csrf}&revision={revision}&topic_newsletter=on&topic_offers=on&topic_birthday=on\
                     &topic_points_news=on&frequency={frequency}&pause_until=&birthday_day=&birthday_month=\
                     &birthday_year=&time_zone="
                );
                let sent = Instant::now();
                let headers = [("content-type", "application/x-www-form-urlencoded")];
                let answer = connection.send(Method::POST, &path, &headers, Bytes::from(form)).await?;
                tally.latencies.push(sent.elapsed());
                if answer.status != StatusCode::SEE_OTHER {
                    tally.refuse(format!("POST {path}: {} {}", answer.status, String::from_utf8_lossy(&answer.body)));
                }
                k += 1;
            }
            BenchResult::Ok(tally)
        });
    }
    Ok((join(tasks).await?, start.elapsed()))
}

async fn join(mut tasks: JoinSet<BenchResult<Tally>>) -> BenchResult<Tally> {
    let mut all = Tally::default();
    while let Some(done) = tasks.join_next().await {
        all.merge(done??);
    }
    Ok(all)
}

fn print_phases<'p>(phases: impl Iterator<Item = &'p Phase>) {
    let mut table =
        Table::new(&["phase", "conns", "answers", "per s", "p50", "p99", "p99.9", "max", "server CPU", "CPU/answer"]);
    for phase in phases {
        let summary = phase.tally.latencies.summary();
        let answers = phase.tally.latencies.len() as u64;
        let cpu_share = phase.server_cpu.as_secs_f64() / phase.elapsed.as_secs_f64().max(1e-9);
        let per_answer = phase.server_cpu.as_secs_f64() / (answers.max(1) as f64);
        table.row(vec![
            phase.label.clone(),
            phase.connections.to_string(),
            thousands(answers),
            thousands(phase.rate() as u64),
            ms(summary.quantile(0.5)),
            ms(summary.quantile(0.99)),
            ms(summary.quantile(0.999)),
            ms(summary.max()),
            format!("{:.0} %", cpu_share * 100.0),
            format!("{:.0} µs", per_answer * 1e6),
        ]);
    }
    println!();
    table.print();
    println!("(closed loop: latency from send; open loop: from the intended send time; saves: the POST alone)");
}

fn print_targets(peak: f64, open: &Phase, saves: &Phase, peak_rss: Option<u64>) {
    let verdict = |ok: bool| if ok { "meets" } else { "misses" };
    let p99 = open.tally.latencies.summary().quantile(0.99);
    let mut table = Table::new(&["figure", "measured", "target", ""]);
    table.row(vec![
        "peak page views/s (best closed loop)".into(),
        thousands(peak as u64),
        format!("≥ {}", thousands(TARGET_VIEWS_PER_SECOND as u64)),
        verdict(peak >= TARGET_VIEWS_PER_SECOND).into(),
    ]);
    table.row(vec![
        format!("view p99 at half peak ({} /s, open loop)", thousands(open.rate() as u64)),
        ms(p99),
        format!("≤ {}", ms(TARGET_P99)),
        verdict(p99 <= TARGET_P99).into(),
    ]);
    table.row(vec!["saves/s (closed loop)".into(), thousands(saves.rate() as u64), String::new(), String::new()]);
    table.row(vec![
        "server peak RSS (VmHWM)".into(),
        peak_rss.map(mib).unwrap_or_default(),
        String::new(),
        String::new(),
    ]);
    println!();
    table.print();
}

/// Every answer right, and one settings revision in the store per save answered.
async fn verify(server: &Server, links: &Links, views: &[Phase], open: &Phase, saves: &Phase) -> BenchResult<String> {
    for phase in views.iter().chain([open, saves]) {
        if phase.tally.wrong > 0 {
            let first = phase.tally.first_wrong.clone().unwrap_or_default();
            return Err(format!("{}: {} wrong answers, the first: {first}", phase.label, phase.tally.wrong).into());
        }
    }
    let store = SqliteStore::open(&server.database(), Arc::new(SystemClock))?;
    let shop = ShopId::parse(SHOP_ID)?;
    let mut stored = 0;
    for customer in &links.customers {
        stored += store.contact(&shop, customer).await?.map_or(0, |c| c.revision);
    }
    let saved = saves.tally.latencies.len() as u64;
    if stored != saved {
        return Err(format!("{saved} saves answered 303, but the settings' revisions add up to {stored}").into());
    }
    let views: u64 = views.iter().chain([open]).map(|p| p.tally.latencies.len() as u64).sum();
    Ok(format!(
        "{} views all 200 with the customer's pending points; {} saves all 303, and the {} customers' settings revisions add up to {}",
        thousands(views),
        thousands(saved),
        thousands(links.customers.len() as u64),
        thousands(stored)
    ))
}
