//! `mail`: the retention-mail sweep on the embedded store, in this process, through the real
//! services (issue 5).
//!
//! The store is `SqliteStore` in a fresh directory on disk (WAL, `synchronous=FULL`, group
//! commit), with `MailSweep`, the coupon issuers, the renderer and the `.eml` outbox wired as the
//! local runner wires them (`src/mailing.rs`).
//!
//! 1. Sweep scaling: two stores of 100,000 and 1,000,000 customers, each with one order and most
//!    with a birthday and a confirmed subscription, in both of which exactly the same number of
//!    mails (10,000: half birthdays, half win-backs 120 days after the last order) is due on each
//!    of three days. Times `MailSweep::sweep_shop` at noon (Berlin) of each day, alternating
//!    between the stores, checks that each sweep sent exactly the due mails, once each, each with
//!    its own code, and nothing to anyone else (the report, the outbox files and the send records
//!    and codes in the SQLite file), and prints the times and the ratio of the medians: PASS if
//!    the larger store took less than twice as long, FAIL (exit code 1) if not.
//! 2. Mails per second through the outbox: the sweeps' sent mails per second, next to the
//!    target, and each step of a mail alone (rendering, the MIME message, the outbox write) to
//!    show where the time goes.
//!
//! Wrong work fails the program whatever its speed.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, TimeZone, Utc};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stammkunde_bench::args::{options_or_exit, Flags};
use stammkunde_bench::embedded::{customer_id, database_bytes, OrderMaker, DATABASE_FILE};
use stammkunde_bench::machine::{print_disk, print_machine, sync_directory};
use stammkunde_bench::mailing::{config, directory_bytes, MailContents, MailEnv, StoredSend, PUBLIC_URL};
use stammkunde_bench::shop::TOPIC;
use stammkunde_bench::stats::{median, mib, ms, thousands};
use stammkunde_bench::table::Table;
use stammkunde_bench::tasks::for_each;
use stammkunde_bench::{mix64, print_error, procfs, BenchResult};
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{Locale, ShopConfig};
use stammkunde_domain::coupon::{Issue, IssueRequest};
use stammkunde_domain::customer::{Birthday, Email};
use stammkunde_domain::ids::DeliveryId;
use stammkunde_domain::ingest::{Change, DeliveryRecord, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::feedback::ses_tag_value;
use stammkunde_domain::mail::{Campaign, MailContact, MailSend, SendState, SendStateKind};
use stammkunde_domain::ports::{CreateOutcome, CustomerStore, IngestStore, MailStore, Mailer, OutgoingMail};
use stammkunde_local::OutboxMailer;
use stammkunde_services::mail::links::mint_links;
use stammkunde_services::mail::message::{build_message, parse_sender, Envelope};
use stammkunde_services::mail::{MailRenderer, MailSweepReport, MailView, RenderedMail};
use stammkunde_services::Coupons;
use stammkunde_store_sqlite::SqliteStore;

const FLAGS: [&str; 5] = ["--customers", "--due", "--rounds", "--populate-tasks", "--data-parent"];
const USAGE: &str = "usage: mail [--customers 100000,1000000] [--due 10000] [--rounds 3] [--populate-tasks 32]
            [--data-parent DIR]";

/// The sweep must take less than this many times as long on the larger store.
const RATIO_MAX: f64 = 2.0;
/// Mails rendered and handed to the outbox per second, as issue 5 asks.
const TARGET_MAILS_PER_SECOND: f64 = 5_000.0;
/// The SES account rate the benchmark shop declares: a thousand times what a sweep sends here, so
/// the pacer's interval (1 µs) is always over before the next mail is ready.
const SENDS_PER_SECOND_MAX: u32 = 1_000_000;
const CUSTOMERS_MAX: u64 = 10_000_000;
const TASKS_MAX: usize = 1024;
/// Rounds are a day apart; fewer than the 14 days of the win-back reminder, so no round's
/// win-back customer is due a reminder within the run.
const ROUNDS_MAX: u64 = 10;
/// Customers (each with their order) in one delivery: one write job of 200 changes.
const CUSTOMERS_PER_DELIVERY: u64 = 100;
/// Per round, a tenth of the due count again has a birthday that day but never confirmed a
/// subscription: the sweep must find and refuse them.
const REFUSED_PER_DUE: u64 = 10;
/// Pages one sweep may read: more than any round needs, so every sweep finishes.
const PAGES_MAX: u32 = 100_000;
/// Other customers' last orders lie up to this many days before the first round …
const LAST_ORDER_DAYS_MAX: i64 = 1_000;
/// … and neither they nor other birthdays come within this many days of a date a sweep reads.
const MARGIN_DAYS: i64 = 7;
/// One other customer in this many gave no birthday; one in `NO_CONTACT_ONE_IN` never confirmed.
const NO_BIRTHDAY_ONE_IN: u64 = 4;
const NO_CONTACT_ONE_IN: u64 = 3;
/// Orders are placed between these UTC hours (08:00–22:00 in Berlin in June): the same date in
/// UTC, which the last-order index keeps, and in the customer's zone, which the mail counts from.
const ORDER_HOUR_FIRST: i64 = 6;
const ORDER_HOURS: u64 = 14;
/// The SQLite writer thread's name (`shared/store-sqlite/src/writer.rs`).
const WRITER_THREAD: &str = "sqlite-writer";

struct Options {
    customers: [u64; 2],
    due: u64,
    rounds: u64,
    populate_tasks: usize,
    data_parent: PathBuf,
}

fn main() -> ExitCode {
    let options = match options_or_exit("mail", USAGE, options()) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            print_error("mail", &e.into());
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            print_error("mail", &e);
            ExitCode::FAILURE
        }
    }
}

fn options() -> BenchResult<Option<Options>> {
    let flags = Flags::from_env(&FLAGS)?;
    if flags.help() {
        return Ok(None);
    }
    let customers: Vec<u64> = flags.list("--customers", &[100_000, 1_000_000])?;
    let options = Options {
        customers: <[u64; 2]>::try_from(customers).map_err(|_| "--customers takes two store sizes, smaller first")?,
        due: flags.parsed("--due", 10_000)?,
        rounds: flags.parsed("--rounds", 3)?,
        populate_tasks: flags.parsed("--populate-tasks", 32)?,
        data_parent: flags.value("--data-parent").map(PathBuf::from).unwrap_or_else(std::env::temp_dir),
    };
    check(&options)?;
    Ok(Some(options))
}

fn check(options: &Options) -> BenchResult<()> {
    let [small, large] = options.customers;
    if small == 0 || small > large || large > CUSTOMERS_MAX {
        return Err(format!("--customers must be 1 ≤ first ≤ second ≤ {CUSTOMERS_MAX}").into());
    }
    if !(1..=TASKS_MAX).contains(&options.populate_tasks) {
        return Err(format!("--populate-tasks must be 1..={TASKS_MAX}").into());
    }
    let special = options.rounds * (options.due + options.due / REFUSED_PER_DUE);
    if !(1..=ROUNDS_MAX).contains(&options.rounds) || options.due < 2 || special > small {
        return Err(format!(
            "--rounds must be 1..={ROUNDS_MAX}, --due at least 2, and --rounds × 1.1 × --due at most the first store size"
        )
        .into());
    }
    Ok(())
}

async fn run(options: Options) -> BenchResult<bool> {
    print_machine(&options.data_parent)?;
    let config = config(SENDS_PER_SECOND_MAX)?;
    let shop = config.shops.first().cloned().ok_or("the benchmark configuration has no shop")?;
    println!(
        "\n== mail sweep: stores of {} and {} customers; {} rounds a day apart, each with exactly {} mails due ({} birthdays, {} win-backs) and {} refused",
        thousands(options.customers[0]),
        thousands(options.customers[1]),
        options.rounds,
        thousands(options.due),
        thousands(options.due / 2),
        thousands(options.due - options.due / 2),
        thousands(options.due / REFUSED_PER_DUE)
    );
    println!(
        "(shop: sends_per_second_max = {}, so the sweep's pacer never waits: the figures are the sweep's own speed, not an SES rate)",
        thousands(u64::from(SENDS_PER_SECOND_MAX))
    );
    let mut stores = Vec::new();
    for customers in options.customers {
        stores.push(build_store(&options, &shop, customers).await?);
    }
    println!();
    print_disk("disk before the sweeps", &options.data_parent)?;
    for store in &stores {
        warm_sweep(store).await?;
    }
    for round in 0..options.rounds {
        for store in &mut stores {
            sweep_round(store, round).await?;
        }
    }
    // The peak so far: the step-by-step timing below holds its messages in memory.
    let rss = procfs::status_bytes(std::process::id(), "VmHWM");
    let passed = print_sweeps(&options, &stores);
    print_resources(&stores, rss);
    let per_mail = median(&stores[0].sweeps.iter().map(|s| s.per_mail()).collect::<Vec<_>>());
    print_breakdown(&stores[0], &options, per_mail).await?;
    for store in stores {
        let BenchStore { env, dir, .. } = store;
        drop(env);
        dir.close()?;
    }
    Ok(passed)
}

// ---------------------------------------------------------------------------------------------
// Who is who. Each store holds `rounds` cohorts: cohort r has `due / 2` customers whose birthday
// is on day r, `due - due / 2` whose last order was `after_days` before day r, and `due / 10`
// with a birthday on day r and no confirmed subscription. The cohorts are spread evenly over the
// customer ids. Every other customer's birthday and last order lie outside the dates any sweep
// of the run reads (with a margin), so both stores give each sweep the same candidates, and the
// store's size enters only through the depth of its tables and indexes.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Birthday(u64),
    WinBack(u64),
    Refused(u64),
    Other,
}

struct Plan {
    customers: u64,
    due: u64,
    /// Per round: the birthday mails due (the rest of `due` are win-backs) and the refused.
    birthdays: u64,
    refused: u64,
    rounds: u64,
    /// Every `stride`-th customer belongs to a cohort, until the cohorts are full.
    stride: u64,
    /// The first round's sweep: noon in Berlin, inside the send window.
    first: DateTime<Utc>,
    after_days: i64,
    /// Days from the last order to the win-back reminder.
    reminder_days: Option<i64>,
    /// When every profile was last updated and every subscription confirmed: a year before, so
    /// every birthday is old enough to earn its code (`guard_days`).
    entered_at: DateTime<Utc>,
    other_birthdays: Vec<Birthday>,
    /// Days (before the first round's date) the other customers' last orders fall on.
    other_order_days: Vec<i64>,
}

impl Plan {
    fn new(options: &Options, customers: u64, shop: &ShopConfig) -> BenchResult<Plan> {
        let first = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).single().ok_or("no first sweep time")?;
        let refused = options.due / REFUSED_PER_DUE;
        let win_back = &shop.mail.win_back;
        let mut plan = Plan {
            customers,
            due: options.due,
            birthdays: options.due / 2,
            refused,
            rounds: options.rounds,
            stride: customers / (options.rounds * (options.due + refused)),
            first,
            after_days: i64::from(win_back.after_days),
            reminder_days: win_back.reminder_after_days.map(|r| i64::from(win_back.after_days + r)),
            entered_at: first - Days::days(365),
            other_birthdays: Vec::new(),
            other_order_days: Vec::new(),
        };
        plan.other_birthdays = plan.other_birthdays()?;
        plan.other_order_days = plan.other_order_days();
        if plan.other_birthdays.is_empty() || plan.other_order_days.is_empty() {
            return Err("the sweeps read every date: no birthday or last order is left for the other customers".into());
        }
        Ok(plan)
    }

    /// The local date of round `round` (−1: the sweep the day before the first).
    fn date(&self, round: i64) -> NaiveDate {
        self.first.date_naive() + Days::days(round)
    }

    fn time(&self, round: i64) -> DateTime<Utc> {
        self.first + Days::days(round)
    }

    /// Month-days a sweep of the run may read from the birthday index, with the margin.
    fn birthday_window(&self) -> BTreeSet<(u8, u8)> {
        (-1 - MARGIN_DAYS..=self.rounds as i64 + MARGIN_DAYS).map(|d| month_day(self.date(d))).collect()
    }

    /// Dates a sweep of the run may read from the last-order index (win-back and reminder), with
    /// the margin.
    fn order_window(&self) -> BTreeSet<NaiveDate> {
        let mut dates = BTreeSet::new();
        for after in std::iter::once(self.after_days).chain(self.reminder_days) {
            for d in -1 - after - MARGIN_DAYS..=self.rounds as i64 - after + MARGIN_DAYS {
                dates.insert(self.date(d));
            }
        }
        dates
    }

    fn other_birthdays(&self) -> BenchResult<Vec<Birthday>> {
        let window = self.birthday_window();
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("no 1 January")?;
        let mut days = Vec::new();
        for date in start.iter_days().take_while(|d| d.year() == 2026) {
            let (month, day) = month_day(date);
            if !window.contains(&(month, day)) {
                days.push(Birthday::new(month, day, None)?);
            }
        }
        Ok(days)
    }

    fn other_order_days(&self) -> Vec<i64> {
        let window = self.order_window();
        (-LAST_ORDER_DAYS_MAX..=-1).filter(|d| !window.contains(&self.date(*d))).collect()
    }

    fn role(&self, i: u64) -> Role {
        let cohort_customers = self.rounds * (self.due + self.refused);
        let (k, offset) = (i / self.stride, i % self.stride);
        if offset != 0 || k >= cohort_customers {
            return Role::Other;
        }
        let (round, rank) = (k % self.rounds, k / self.rounds);
        if rank < self.birthdays {
            Role::Birthday(round)
        } else if rank < self.due {
            Role::WinBack(round)
        } else {
            Role::Refused(round)
        }
    }

    /// The customers whose mail round `round` must send, with its campaign.
    fn due_in(&self, round: u64) -> impl Iterator<Item = (u64, Campaign)> + '_ {
        (0..self.due).map(move |rank| {
            let campaign = if rank < self.birthdays { Campaign::Birthday } else { Campaign::WinBack };
            ((rank * self.rounds + round) * self.stride, campaign)
        })
    }

    fn birthday(&self, i: u64) -> BenchResult<Option<Birthday>> {
        Ok(match self.role(i) {
            Role::Birthday(round) | Role::Refused(round) => {
                let (month, day) = month_day(self.date(round as i64));
                Some(Birthday::new(month, day, None)?)
            }
            Role::WinBack(_) | Role::Other => {
                let random = mix64(i);
                let lot = random % NO_BIRTHDAY_ONE_IN;
                (lot != 0).then(|| self.other_birthdays[((random >> 8) % self.other_birthdays.len() as u64) as usize])
            }
        })
    }

    fn last_order_at(&self, i: u64) -> DateTime<Utc> {
        let random = mix64(i ^ 0x5eed);
        let day = match self.role(i) {
            Role::WinBack(round) => round as i64 - self.after_days,
            _ => self.other_order_days[(random % self.other_order_days.len() as u64) as usize],
        };
        let midnight = self.date(day).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        midnight + Days::hours(ORDER_HOUR_FIRST + ((random >> 16) % ORDER_HOURS) as i64)
    }

    fn has_contact(&self, i: u64) -> bool {
        match self.role(i) {
            Role::Birthday(_) | Role::WinBack(_) => true,
            Role::Refused(_) => false,
            Role::Other => {
                let lot = mix64(i ^ 0xc0de) % NO_CONTACT_ONE_IN;
                lot != 0
            }
        }
    }
}

fn month_day(date: NaiveDate) -> (u8, u8) {
    (date.month() as u8, date.day() as u8)
}

// ---------------------------------------------------------------------------------------------
// The stores.

/// One sweep's figures.
struct SweepFigures {
    elapsed: Duration,
    report: MailSweepReport,
    commits: u64,
    cpu: Duration,
    writer_cpu: Duration,
}

impl SweepFigures {
    fn per_mail(&self) -> Duration {
        self.elapsed / self.report.sent.max(1)
    }

    fn mails_per_second(&self) -> f64 {
        f64::from(self.report.sent) / self.elapsed.as_secs_f64().max(1e-9)
    }
}

struct BenchStore {
    plan: Plan,
    dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    env: MailEnv,
    populate: Duration,
    sweeps: Vec<SweepFigures>,
    /// Outbox file names found after the last check.
    outbox_seen: HashSet<String>,
    /// Send records found after the last check.
    sends_seen: u64,
}

async fn build_store(options: &Options, shop: &ShopConfig, customers: u64) -> BenchResult<BenchStore> {
    let plan = Arc::new(Plan::new(options, customers, shop)?);
    let dir = tempfile::Builder::new().prefix("stammkunde-mail-").tempdir_in(&options.data_parent)?;
    let clock = Arc::new(FixedClock::new(plan.time(-2)));
    let env = Arc::new(MailEnv::open(dir.path(), clock.clone(), shop)?);
    println!("\n{} customers in {}:", thousands(customers), dir.path().display());
    let started = Instant::now();
    populate(&env, &plan, options.populate_tasks).await?;
    let populate = started.elapsed();
    println!(
        "  populated in {:.1} s, {} customers/s, each with an order, deliveries of {CUSTOMERS_PER_DELIVERY} customers and {} tasks (not part of the measured figure)",
        populate.as_secs_f64(),
        thousands((customers as f64 / populate.as_secs_f64().max(1e-9)) as u64),
        options.populate_tasks
    );
    check_populated(&env, &plan)?;
    // Closed and opened again, as a sweep process starting would: closing checkpoints the WAL,
    // so both stores start from the same state, whatever population left in the WAL.
    let env = Arc::into_inner(env).ok_or("the store is still in use after populating")?;
    drop(env);
    // Filling a million customers leaves a gigabyte in the page cache; written back during the
    // sweeps, it would stretch every fsync they make.
    sync_directory(dir.path())?;
    let env = MailEnv::open(dir.path(), clock.clone(), shop)?;
    let plan = Arc::into_inner(plan).ok_or("the plan is still in use after populating")?;
    Ok(BenchStore { plan, dir, clock, env, populate, sweeps: Vec::new(), outbox_seen: HashSet::new(), sends_seen: 0 })
}

/// Customers as the webhook stores them (a profile and an order each, `CUSTOMERS_PER_DELIVERY` to
/// a delivery), then the mail settings of those who confirmed, `tasks` deliveries at a time.
async fn populate(env: &Arc<MailEnv>, plan: &Arc<Plan>, tasks: usize) -> BenchResult<()> {
    let maker = Arc::new(OrderMaker::new(&env.shop)?);
    let deliveries = plan.customers.div_ceil(CUSTOMERS_PER_DELIVERY);
    let (env, plan) = (env.clone(), plan.clone());
    let label = format!("deliveries of {CUSTOMERS_PER_DELIVERY} customers");
    for_each(tasks, deliveries, Some(&label), move |n| {
        let (env, plan, maker) = (env.clone(), plan.clone(), maker.clone());
        async move { store_delivery(&env, &plan, &maker, n).await }
    })
    .await
}

async fn store_delivery(env: &MailEnv, plan: &Plan, maker: &OrderMaker, n: u64) -> BenchResult<()> {
    let customers = n * CUSTOMERS_PER_DELIVERY..((n + 1) * CUSTOMERS_PER_DELIVERY).min(plan.customers);
    let mut changes = Vec::new();
    for i in customers.clone() {
        changes.extend(customer_changes(plan, maker, i)?);
    }
    let now = env.sweep.clock.now();
    let record = DeliveryRecord {
        shop: env.shop.id.clone(),
        ids: vec![DeliveryId::parse(&format!("bench-mail-{n}"))?],
        topic: TOPIC.to_owned(),
        received_at: now,
        expires_at: now + Days::days(DELIVERY_RETENTION_DAYS),
    };
    let outcome = env.store.apply_delivery(&record, &changes).await?;
    if outcome.duplicate || outcome.applied.iter().any(|applied| !applied) {
        return Err(format!("delivery {n} was not applied whole: {:?}", outcome.applied).into());
    }
    let contact = MailContact { double_opt_in_at: Some(plan.entered_at), ..MailContact::default() };
    for i in customers.filter(|i| plan.has_contact(*i)) {
        env.store.put_contact(&env.shop.id, &customer_id(i)?, &contact).await?;
    }
    Ok(())
}

/// Customer `i`'s profile and order: the `orders_paid` fixture's, with the plan's birthday and
/// last order, a German address and a profile last updated a year before the first round.
fn customer_changes(plan: &Plan, maker: &OrderMaker, i: u64) -> BenchResult<Vec<Change>> {
    let mut changes = maker.order(i, &customer_id(i)?, None)?.changes;
    for change in &mut changes {
        match change {
            Change::UpsertCustomer(profile) => {
                profile.birthday = plan.birthday(i)?;
                profile.country = Some("DE".into());
                profile.source_updated_at = Some(plan.entered_at);
            }
            Change::RecordOrder(order) => order.placed_at = plan.last_order_at(i),
            _ => {}
        }
    }
    Ok(changes)
}

/// The file holds every customer with their order, the settings of those who confirmed, no mail
/// yet, and in the dates the sweeps read exactly the cohorts.
fn check_populated(env: &MailEnv, plan: &Plan) -> BenchResult<()> {
    let file = MailContents::open(&env.path)?;
    let contacts = (0..plan.customers).filter(|i| plan.has_contact(*i)).count() as u64;
    let counts = [
        ("customers", file.count("SELECT count(*) FROM customers")?, plan.customers),
        ("orders", file.count("SELECT count(*) FROM orders")?, plan.customers),
        ("mail settings", file.count("SELECT count(*) FROM mail_contacts")?, contacts),
        ("send records", file.count("SELECT count(*) FROM mail_sends")?, 0),
        ("codes", file.count("SELECT count(*) FROM codes")?, 0),
    ];
    let mut wrong: Vec<String> = counts
        .iter()
        .filter(|(_, n, want)| n != want)
        .map(|(what, n, want)| format!("{n} {what}, expected {want}"))
        .collect();
    let birthdays = file.birthdays()?;
    let orders = file.last_order_dates()?;
    let birthday_key = |(m, d): (u8, u8)| format!("{m:02}-{d:02}");
    let in_birthday_window: u64 =
        plan.birthday_window().into_iter().filter_map(|md| birthdays.get(&birthday_key(md))).sum();
    let in_order_window: u64 = plan.order_window().iter().filter_map(|d| orders.get(&d.to_string())).sum();
    for round in 0..plan.rounds as i64 {
        let on_day = birthdays.get(&birthday_key(month_day(plan.date(round)))).copied().unwrap_or(0);
        let ordered = orders.get(&plan.date(round - plan.after_days).to_string()).copied().unwrap_or(0);
        if on_day != plan.birthdays + plan.refused || ordered != plan.due - plan.birthdays {
            wrong.push(format!("round {}: {on_day} birthdays, {ordered} win-back last orders", round + 1));
        }
    }
    let birthday_cohorts = plan.rounds * (plan.birthdays + plan.refused);
    let order_cohorts = plan.rounds * (plan.due - plan.birthdays);
    if in_birthday_window != birthday_cohorts || in_order_window != order_cohorts {
        wrong
            .push(format!("{in_birthday_window} birthdays and {in_order_window} last orders on dates the sweeps read"));
    }
    if !wrong.is_empty() {
        return Err(format!("the store is not as populated: {}", wrong.join("; ")).into());
    }
    println!(
        "  checked: {} customers and orders, {} confirmed subscriptions; on the dates the sweeps read only the cohorts ({} birthdays, {} last orders); database {}",
        thousands(plan.customers),
        thousands(contacts),
        thousands(birthday_cohorts),
        thousands(order_cohorts),
        mib(database_bytes(&env.path))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The sweeps.

/// The sweep of the day before the first round: it reads the first cohorts (a birthday
/// tomorrow, a win-back due in a day) and must send nothing. It also brings both stores' caches
/// to the state an hourly sweep finds.
async fn warm_sweep(store: &BenchStore) -> BenchResult<()> {
    store.clock.set(store.plan.time(-1));
    let report = store.env.sweep.sweep_shop(&store.env.shop, PAGES_MAX).await?;
    let idle = MailSweepReport { candidates: report.candidates, ..MailSweepReport::default() };
    if report != idle || !store.env.outbox.list()?.is_empty() {
        return Err(format!("the sweep before anything was due did something: {report:?}").into());
    }
    Ok(())
}

async fn sweep_round(store: &mut BenchStore, round: u64) -> BenchResult<()> {
    store.clock.set(store.plan.time(round as i64));
    let pid = std::process::id();
    let writer_cpu = || procfs::thread_cpu_times(pid).get(WRITER_THREAD).copied().unwrap_or_default();
    let (stats, cpu, writer) = (store.env.write_stats(), procfs::own_cpu_time().unwrap_or_default(), writer_cpu());
    let started = Instant::now();
    let report = store.env.sweep.sweep_shop(&store.env.shop, PAGES_MAX).await?;
    let elapsed = started.elapsed();
    let figures = SweepFigures {
        elapsed,
        commits: store.env.write_stats().commits - stats.commits,
        cpu: procfs::own_cpu_time().unwrap_or_default().saturating_sub(cpu),
        writer_cpu: writer_cpu().saturating_sub(writer),
        report,
    };
    check_sweep(store, round, &figures.report)?;
    let r = &figures.report;
    println!(
        "  round {} on {} customers: sweep {}, {} mails/s ({} candidates: {} sent, {} refused, the rest not due or sent before; {} commits); checked: {} send records, codes and outbox files, one per due mail, none for anyone else",
        round + 1,
        thousands(store.plan.customers),
        ms(figures.elapsed),
        thousands(figures.mails_per_second() as u64),
        thousands(u64::from(r.candidates)),
        thousands(u64::from(r.sent)),
        thousands(u64::from(r.refused)),
        thousands(figures.commits),
        thousands(store.plan.due)
    );
    store.sweeps.push(figures);
    Ok(())
}

/// The report, the outbox and the SQLite file must all hold exactly the round's due mails: one
/// each, each with a code of its own issued to its customer, and nothing more.
fn check_sweep(store: &mut BenchStore, round: u64, report: &MailSweepReport) -> BenchResult<()> {
    let plan = &store.plan;
    let expected_report = MailSweepReport {
        candidates: report.candidates,
        sent: u32::try_from(plan.due)?,
        refused: u32::try_from(plan.refused)?,
        ..MailSweepReport::default()
    };
    if *report != expected_report {
        return Err(
            format!("round {}: the sweep's report is {report:?}, expected {expected_report:?}", round + 1).into()
        );
    }
    let file = MailContents::open(&store.env.path)?;
    let sends = file.sends_on(plan.date(round as i64))?;
    check_sends(plan, &store.env.shop, round, &sends)?;
    let total = store.sends_seen + plan.due;
    let all = file.count("SELECT count(*) FROM mail_sends")?;
    let codes = file.count("SELECT count(*) FROM codes")?;
    let with_code = file.sends_with_their_code()?;
    if all != total || codes != total || with_code != total {
        return Err(format!(
            "round {}: {all} send records, {codes} codes and {with_code} sent records with their own code; expected {total} of each",
            round + 1
        )
        .into());
    }
    store.sends_seen = total;
    check_outbox(store, round, &sends)
}

/// The round's send records are exactly its due mails, all sent, with distinct codes.
fn check_sends(plan: &Plan, shop: &ShopConfig, round: u64, sends: &[StoredSend]) -> BenchResult<()> {
    let expected: BTreeSet<(String, String)> = plan
        .due_in(round)
        .map(|(i, campaign)| Ok((customer_id(i)?.to_string(), campaign.as_str().to_owned())))
        .collect::<BenchResult<_>>()?;
    let found: BTreeSet<(String, String)> = sends.iter().map(|s| (s.customer_id.clone(), s.campaign.clone())).collect();
    let codes: HashSet<&str> = sends.iter().filter_map(|s| s.code.as_deref()).collect();
    let all_sent = sends.iter().all(|s| s.state == "sent" && s.message_id.is_some());
    if found != expected || sends.len() != expected.len() || codes.len() != sends.len() || !all_sent {
        let missing = expected.difference(&found).count();
        let extra = found.difference(&expected).count();
        return Err(format!(
            "round {} of shop {}: {} send records ({missing} due mails missing, {extra} not due), {} distinct codes, all sent: {all_sent}",
            round + 1,
            shop.id,
            sends.len(),
            codes.len()
        )
        .into());
    }
    Ok(())
}

/// The outbox gained one file per send record of the round, named by its message id, addressed
/// to its customer, and nothing else.
fn check_outbox(store: &mut BenchStore, round: u64, sends: &[StoredSend]) -> BenchResult<()> {
    let names: HashSet<String> = store.env.outbox.list()?.into_iter().map(|e| e.name).collect();
    let new: Vec<&String> = names.difference(&store.outbox_seen).collect();
    let by_message: HashMap<&str, &str> =
        sends.iter().filter_map(|s| Some((s.message_id.as_deref()?, s.customer_id.as_str()))).collect();
    let mut wrong = Vec::new();
    if new.len() != sends.len() || names.len() as u64 != store.sends_seen {
        wrong.push(format!("{} new files, {} in all", new.len(), names.len()));
    }
    for name in &new {
        let stem = name.strip_suffix(".eml").unwrap_or(name);
        let Some(customer) = by_message.get(stem) else {
            wrong.push(format!("{name} belongs to no send record of the round"));
            continue;
        };
        let raw = store.env.outbox.read(name)?.unwrap_or_default();
        let to = format!("c{customer}@example.com");
        let addressed = String::from_utf8_lossy(&raw).lines().any(|l| l.starts_with("To:") && l.contains(&to));
        if !addressed {
            wrong.push(format!("{name} is not addressed to {to}"));
        }
        if wrong.len() > 5 {
            break;
        }
    }
    if !wrong.is_empty() {
        return Err(format!("round {}: the outbox is wrong: {}", round + 1, wrong.join("; ")).into());
    }
    store.outbox_seen = names;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Printing.

fn print_sweeps(options: &Options, stores: &[BenchStore]) -> bool {
    let mut table = Table::new(&[
        "customers",
        "due",
        "population",
        "sweeps",
        "median",
        "mails/s",
        "per mail",
        "commits per mail",
        "CPU per mail",
        "of it SQLite writer",
    ]);
    for store in stores {
        let median = median(&store.sweeps.iter().map(|s| s.elapsed).collect::<Vec<_>>());
        let sent: u64 = store.sweeps.iter().map(|s| u64::from(s.report.sent)).sum::<u64>().max(1);
        let per = |total: u64| total as f64 / sent as f64;
        let cpu: Duration = store.sweeps.iter().map(|s| s.cpu).sum();
        let writer: Duration = store.sweeps.iter().map(|s| s.writer_cpu).sum();
        table.row(vec![
            thousands(store.plan.customers),
            thousands(options.due),
            format!("{:.1} s", store.populate.as_secs_f64()),
            store.sweeps.iter().map(|s| ms(s.elapsed)).collect::<Vec<_>>().join(", "),
            ms(median),
            thousands((options.due as f64 / median.as_secs_f64().max(1e-9)) as u64),
            format!("{:.0} µs", median.as_secs_f64() * 1e6 / options.due as f64),
            format!("{:.2}", per(store.sweeps.iter().map(|s| s.commits).sum())),
            format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / sent as f64),
            format!("{:.0} µs", writer.as_secs_f64() * 1e6 / sent as f64),
        ]);
    }
    println!();
    table.print();
    let medians: Vec<Duration> =
        stores.iter().map(|s| median(&s.sweeps.iter().map(|f| f.elapsed).collect::<Vec<_>>())).collect();
    let ratio = medians[1].as_secs_f64() / medians[0].as_secs_f64().max(1e-9);
    let verdict = if ratio < RATIO_MAX { "PASS" } else { "FAIL" };
    println!(
        "sweep time, median of {} rounds: {} customers {}, {} customers {}; ratio {ratio:.3} (must be < {RATIO_MAX}): {verdict}",
        options.rounds,
        thousands(stores[0].plan.customers),
        ms(medians[0]),
        thousands(stores[1].plan.customers),
        ms(medians[1])
    );
    let rates: Vec<f64> = medians.iter().map(|m| options.due as f64 / m.as_secs_f64().max(1e-9)).collect();
    let met = rates.iter().all(|r| *r >= TARGET_MAILS_PER_SECOND);
    println!(
        "mails rendered and written through the outbox per second of sweep (median round): {}/s and {}/s; target ≥ {}/s: {}",
        thousands(rates[0] as u64),
        thousands(rates[1] as u64),
        thousands(TARGET_MAILS_PER_SECOND as u64),
        if met { "meets" } else { "misses" }
    );
    ratio < RATIO_MAX
}

/// Each step of a mail alone, `due` times one after another on one task (the sweep overlaps them):
/// the reads of a candidate (on the smaller store, for round 1's due customers), the links and
/// the text (`MailRenderer::render`), the MIME message (`build_message`), the three writes of a
/// sent mail (claim, code, sent: into an empty scratch store) and the outbox write (into the
/// smaller store's own outbox, after its sweeps, and into a fresh directory: a file system may
/// make new files dearer where many were deleted lately, and every mail deletes its temp file).
/// What the sweep spends beyond their sum is its index pages, sweep marks and pacer, and the
/// steps' interplay.
async fn print_breakdown(store: &BenchStore, options: &Options, sweep_per_mail: Duration) -> BenchResult<()> {
    let reads = time_reads(store).await?;
    let (render, build, mails) = time_rendering(&store.env.shop, options.due, store.plan.time(0))?;
    let writes = time_store_writes(&store.plan, &store.env.shop, &options.data_parent).await?;
    let scratch = tempfile::Builder::new().prefix("stammkunde-mail-outbox-").tempdir_in(&options.data_parent)?;
    let fresh = time_outbox(&OutboxMailer::new(scratch.path())?, &mails).await?;
    scratch.close()?;
    let write = time_outbox(&store.env.outbox, &mails).await?;
    let bytes: usize = mails.iter().map(|m| m.raw.len()).sum();
    println!(
        "\nwhere a mail's time goes: each step alone, {} times one after another on one task (the sweep runs 16 customers at once, so the steps add up to more than its time per mail); messages {:.1} KB on average:",
        thousands(options.due),
        bytes as f64 / 1024.0 / mails.len().max(1) as f64
    );
    let steps = [
        ("5 reads (customer, settings, send record, suppression, sends in the cap's days)", reads),
        ("links and text (MailRenderer::render, German, minijinja)", render),
        ("MIME message (build_message: text and HTML parts, headers)", build),
        ("3 commits (create_send claim, code issued, replace_send sent)", writes),
        ("outbox write (OutboxMailer::send: temp file, fsync, hard link, unlink)", write),
    ];
    print_steps(options.due, sweep_per_mail, &steps);
    let per_mail = fresh.div_f64(options.due.max(1) as f64);
    println!(
        "(the outbox write above is into the smaller store's outbox after its sweeps, as the sweeps found it; into a fresh directory the same writes took {:.0} µs per mail, {}/s)",
        per_mail.as_secs_f64() * 1e6,
        thousands((1.0 / per_mail.as_secs_f64().max(1e-9)) as u64)
    );
    Ok(())
}

fn print_steps(count: u64, sweep_per_mail: Duration, steps: &[(&str, Duration)]) {
    let mut table = Table::new(&["step", "per mail", "mails/s", "of the sweep's time per mail"]);
    let sweep = sweep_per_mail.as_secs_f64().max(1e-9);
    let row = |step: &str, per_mail: Duration| {
        vec![
            step.to_owned(),
            format!("{:.0} µs", per_mail.as_secs_f64() * 1e6),
            thousands((1.0 / per_mail.as_secs_f64().max(1e-9)) as u64),
            format!("{:.0} %", 100.0 * per_mail.as_secs_f64() / sweep),
        ]
    };
    let per_mail = |total: Duration| total.div_f64(count.max(1) as f64);
    for (step, total) in steps {
        table.row(row(step, per_mail(*total)));
    }
    // Measured apart, the steps may add up to a little more than the sweep took (a warmer cache,
    // another moment on a shared disk): then nothing is left for the rest.
    let sum: Duration = steps.iter().map(|(_, total)| per_mail(*total)).sum();
    let rest = sweep_per_mail.saturating_sub(sum);
    let mut rest_row = row("the rest: index pages, sweep marks, pacer", rest);
    if rest.is_zero() {
        rest_row[1] = format!("≈ 0 (steps add up to {:.0} µs)", sum.as_secs_f64() * 1e6);
        rest_row[2] = String::new();
    }
    table.row(rest_row);
    table.row(row("the whole sweep, median round of the smaller store", sweep_per_mail));
    table.print();
}

/// What the sweep reads of each candidate before it claims a mail, for round 1's due customers
/// on the smaller store (warm, as the sweep found it).
async fn time_reads(store: &BenchStore) -> BenchResult<Duration> {
    let (env, shop) = (&store.env, &store.env.shop.id);
    let since = store.plan.time(0) - Days::days(i64::from(store.env.shop.mail.cap_days));
    let date = store.plan.date(0);
    let started = Instant::now();
    for (i, campaign) in store.plan.due_in(0) {
        let id = customer_id(i)?;
        let customer = env.store.customer(shop, &id).await?.ok_or("a due customer is missing")?;
        let email = customer.profile.email.as_ref().ok_or("a due customer has no address")?;
        env.store.contact(shop, &id).await?.ok_or("a due customer has no mail settings")?;
        env.store.send(shop, &id, campaign, date).await?.ok_or("a sent mail has no send record")?;
        env.store.suppression(shop, &AddressDigest::of(shop, email)).await?;
        env.store.sends_claimed_since(shop, &id, since).await?;
    }
    Ok(started.elapsed())
}

/// Renders and builds `count` mails; returns the time of each and the messages.
fn time_rendering(
    shop: &ShopConfig,
    count: u64,
    now: DateTime<Utc>,
) -> BenchResult<(Duration, Duration, Vec<OutgoingMail>)> {
    let renderer = MailRenderer::new()?;
    let started = Instant::now();
    let mut rendered = Vec::new();
    for i in 0..count {
        let links = mint_links(PUBLIC_URL);
        rendered.push((i, links.unsubscribe_url.clone(), renderer.render(&sample_view(shop, i, &links))?));
    }
    let render = started.elapsed();
    let started = Instant::now();
    let mut mails = Vec::new();
    for (i, unsubscribe_url, text) in rendered {
        mails.push(sample_mail(shop, i, &unsubscribe_url, &text, now)?);
    }
    Ok((render, started.elapsed(), mails))
}

/// The writes of one sent mail, `due` times, into an empty scratch store: the claim, the code
/// (generated and bound to the send's key), the confirmation.
async fn time_store_writes(plan: &Plan, shop: &ShopConfig, data_parent: &Path) -> BenchResult<Duration> {
    let scratch = tempfile::Builder::new().prefix("stammkunde-mail-writes-").tempdir_in(data_parent)?;
    let now = plan.time(0);
    let store = Arc::new(SqliteStore::open(&scratch.path().join(DATABASE_FILE), Arc::new(FixedClock::new(now)))?);
    let coupons = Coupons::new(store.clone());
    let reward = shop.mail.birthday.reward.as_ref().and_then(|id| shop.reward(id)).ok_or("no birthday reward")?;
    let started = Instant::now();
    for i in 0..plan.due {
        let claim = MailSend {
            shop: shop.id.clone(),
            customer_id: customer_id(i)?,
            campaign: Campaign::Birthday,
            date: plan.date(0),
            state: SendState::Claimed { at: now },
        };
        if store.create_send(&claim).await? != CreateOutcome::Created {
            return Err("a scratch claim was not created".into());
        }
        let issue = Issue {
            customer_id: claim.customer_id.clone(),
            redemption: claim.coupon_key()?,
            issued_at: now,
            expires_at: now + Days::days(i64::from(reward.valid_days)),
        };
        let request = IssueRequest {
            shop: shop.id.clone(),
            reward: reward.id.clone(),
            code_prefix: reward.code_prefix.clone(),
            issue,
        };
        let coupon = coupons.issuer(reward.codes).issue(&request).await?.ok_or("no scratch code")?;
        let state = SendState::Sent {
            at: now,
            claimed_at: now,
            message_id: format!("sk.scratch{i:012}"),
            code: Some(coupon.code),
            link_digest: None,
        };
        if !store.replace_send(&MailSend { state, ..claim }, SendStateKind::Claimed).await? {
            return Err("a scratch claim was not confirmed".into());
        }
    }
    let elapsed = started.elapsed();
    drop(coupons);
    drop(store);
    scratch.close()?;
    Ok(elapsed)
}

/// Writes the mails into `outbox`, one after another.
async fn time_outbox(outbox: &OutboxMailer, mails: &[OutgoingMail]) -> BenchResult<Duration> {
    let before = outbox.list()?.len();
    let started = Instant::now();
    for mail in mails {
        outbox.send(mail).await?;
    }
    let elapsed = started.elapsed();
    if outbox.list()?.len() != before + mails.len() {
        return Err("the outbox does not hold every mail written".into());
    }
    Ok(elapsed)
}

/// A birthday or win-back mail as the sweep's `prepare` builds its view.
fn sample_view(shop: &ShopConfig, i: u64, links: &stammkunde_services::mail::links::MailLinks) -> MailView {
    let rule = &shop.mail;
    let campaign = sample_campaign(i);
    MailView {
        campaign,
        locale: Locale::De,
        shop_name: rule.shop_name.clone(),
        shop_url: rule.shop_url.clone(),
        colour: rule.colour.clone(),
        logo_url: rule.logo_url.clone(),
        imprint: rule.imprint.clone(),
        first_name: Some("Lena".into()),
        points_available: 0,
        points_pending: 0,
        code: Some(format!(
            "{}-{:04X}-{:04X}-{:04X}",
            prefix(campaign),
            i % 65_536,
            (i / 7) % 65_536,
            (i / 13) % 65_536
        )),
        code_valid_until: NaiveDate::from_ymd_opt(2026, 9, 13),
        amount: None,
        amount_date: None,
        unsubscribe_url: links.unsubscribe_url.clone(),
        preferences_url: links.preferences_url.clone(),
        confirm_url: None,
        preferences_button: false,
        objection_notice: false,
    }
}

/// Samples alternate between the two campaigns, as the sweep's due mails are half each.
fn sample_campaign(i: u64) -> Campaign {
    match i % 2 {
        0 => Campaign::Birthday,
        _ => Campaign::WinBack,
    }
}

fn prefix(campaign: Campaign) -> &'static str {
    if campaign == Campaign::Birthday {
        "BDAY"
    } else {
        "BACK"
    }
}

fn sample_mail(
    shop: &ShopConfig,
    i: u64,
    unsubscribe_url: &str,
    text: &RenderedMail,
    now: DateTime<Utc>,
) -> BenchResult<OutgoingMail> {
    let rule = &shop.mail;
    let campaign = sample_campaign(i);
    let to = Email::parse(&format!("c{}@example.com", customer_id(i)?))?;
    let label = format!("{}-{}-{campaign}-sample", shop.id, customer_id(i)?);
    let raw = build_message(
        &Envelope {
            shop: &shop.id,
            campaign,
            from: &rule.from,
            reply_to: rule.reply_to.as_deref(),
            to: &to,
            to_name: Some("Lena"),
            unsubscribe_url,
            unsubscribe_mailto: rule.unsubscribe_mailto.as_deref(),
            shop_name: &rule.shop_name,
            date: now,
            message_id: &format!("sk.sample{i:012}"),
        },
        text,
    )?;
    let (_, from_address) = parse_sender(&rule.from)?;
    Ok(OutgoingMail {
        shop: shop.id.clone(),
        from_address,
        to,
        raw,
        configuration_set: rule.configuration_set.clone(),
        tags: vec![("shop".into(), ses_tag_value(shop.id.as_str())), ("campaign".into(), campaign.as_str().into())],
        label,
    })
}

fn print_resources(stores: &[BenchStore], rss: Option<u64>) {
    println!();
    for store in stores {
        println!(
            "{} customers: database {} (with WAL), outbox {} in {} files",
            thousands(store.plan.customers),
            mib(database_bytes(&store.env.path)),
            mib(directory_bytes(&store.env.outbox_dir)),
            thousands(store.outbox_seen.len() as u64)
        );
    }
    match rss {
        Some(bytes) => println!(
            "peak RSS (VmHWM of this process after the sweeps: population, both stores open, the sweeps and their checks): {}",
            mib(bytes)
        ),
        None => println!("peak RSS: not measurable here (no /proc/self/status)"),
    }
}
