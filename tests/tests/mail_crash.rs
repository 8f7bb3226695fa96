//! Crash injection between claim and send: a birthday mail with a generated code, one with a code
//! from a pool, and a post-purchase mail waiting in the deferred index are each interrupted at
//! every port call the mail sweep makes (each store read and write, the code's issue, the mailer),
//! then the sweep runs again as the hourly schedule would: a minute later, after the claim's
//! 15-minute lease, after the hour a released deferred mail waits, and once more.
//!
//! The real system: `MailSweep` over a real `SqliteStore`, the real code issuers and the `.eml`
//! outbox, a `FixedClock`. Between the sweep and the store sits `stammkunde_e2e::faults`'
//! `FaultyStore`, between the sweep and the outbox a mailer wrapper on the same count; the
//! interrupted call fails before it reaches the backend (for the mailer: certainly not sent),
//! fails after it was carried out (for the mailer: the answer lost), or is carried out and the
//! process dies.
//!
//! Whatever the interruption: at most one mail in the outbox, at most one code bound to the
//! customer, and the code in the mail (and in the send record) is the one bound to the send's key.
//! Which end each case must reach follows from where the interruption falls, relative to the
//! claim (the send record's conditional create, or for a deferred mail its move from deferred to
//! claimed), the mailer's call and the confirmation after it:
//!
//! - before the claim, or a claim that failed before it was written: sent once by a later run;
//! - a claim written but its answer lost, or the process dead after it: the mail may be going out
//!   from somewhere, so it is never sent again; after the lease it is flagged for review;
//! - between the claim and the mailer: a failure releases the claim and a later run sends the mail
//!   once, with the same code; a death leaves the claim to be flagged, with no mail;
//! - at the mailer: certainly not sent, released and sent later; its answer lost or the process
//!   dead after it, one mail out and the claim flagged, never a second;
//! - at the confirmation: not written, the claim is flagged and stays at one mail; written, sent;
//! - after it: sent.
//!
//! A failed release (the handling of a failure between the claim and the mailer) is interrupted
//! too: a release that never happened leaves the claim to be flagged.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopConfig};
use stammkunde_domain::coupon::{Coupon, CouponCode};
use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::error::{cause_chain, MailError};
use stammkunde_domain::ids::{CustomerId, DeliveryId, RewardId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::mail::{Campaign, MailContact, MailSend, SendState};
use stammkunde_domain::ports::{CodeStore, IngestStore, MailStore, Mailer, OutgoingMail, PageRequest, PAGE_LIMIT_MAX};
use stammkunde_e2e::faults::{Closer, Fault, Faults, FaultySqlite, Mode, MODES};
use stammkunde_e2e::mime::readable;
use stammkunde_local::OutboxMailer;
use stammkunde_services::mail::{MailRenderer, MailSweep, Pacer};
use stammkunde_services::Coupons;
use stammkunde_store_sqlite::SqliteStore;

const CUSTOMER: &str = "c-crash";
const POOL_CODES: [&str; 2] = ["GEBURTSTAG-0001", "GEBURTSTAG-0002"];
/// Pages one sweep may take: far more than one customer needs.
const PAGES_MAX: u32 = 50;
/// More port calls than a sweep for one customer makes; a run past it is a loop.
const CALLS_MAX: usize = 96;

fn config() -> AppConfig {
    let shop = |id: &str, codes: &str| {
        format!(
            r#"
[[shops]]
id = "{id}"
platform = "shopify"
domain = "{id}.myshopify.com"
webhook_secret = "crash-secret-0123456789"
api_key = "crash-api-key-{id}-0123456789"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"
[[shops.rewards]]
id = "geburtstag"
name = "5 € zum Geburtstag"
points = 0
valid_days = 30
codes = "{codes}"
[shops.mail]
enabled = true
from = "Kaffee <news@kaffee.example>"
shop_name = "Kaffee"
shop_url = "https://kaffee.example/"
imprint = "Kaffee GmbH, Hauptstraße 1, 10115 Berlin"
sends_per_second_max = 1000
[shops.mail.birthday]
reward = "geburtstag"
"#
        )
    };
    let text = format!("{}{}", shop("crash-generated", "generate"), shop("crash-pool", "pool"));
    AppConfig::from_toml(&text).unwrap_or_else(|e| panic!("crash shop config: {e}"))
}

/// 10:05 in Berlin on the customer's birthday: within the send hours.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 8, 5, 0).single().unwrap_or_default()
}

fn today() -> NaiveDate {
    t0().date_naive()
}

/// When the sweep runs again after the interrupted one: a minute later; after the claim's lease
/// (a stale claim is flagged); after the hour a released deferred mail waits; and once more.
const RETRIES_MINUTES: [i64; 4] = [1, 20, 65, 130];

fn parsed<T, E: std::fmt::Display>(parse: impl Fn(&str) -> Result<T, E>, raw: &str) -> T {
    parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

// ------------------------------------------------------------------------------------------------
// The mailer's interruptions
// ------------------------------------------------------------------------------------------------

/// The outbox, its one call counted with the store's and possibly interrupted: failing before
/// is a mail certainly not sent (throttled), failing after one whose answer was lost (a timeout).
struct FaultyMailer {
    inner: OutboxMailer,
    faults: Arc<Faults>,
}

fn not_sent(message: String) -> MailError {
    MailError::NotSent { message, source: None }
}

fn answer_lost(message: String) -> MailError {
    MailError::Unknown { message, source: None }
}

#[async_trait]
impl Mailer for FaultyMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        self.faults.guard_with("Mailer::send", self.inner.send(mail), not_sent, answer_lost).await
    }
}

// ------------------------------------------------------------------------------------------------
// The system
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Found through the birthday index; the code generated.
    BirthdayGenerated,
    /// Found through the birthday index; the code taken from the shop's pool.
    BirthdayPool,
    /// A post-purchase mail the ledger scheduled, found in the deferred index; no code.
    DeferredPostPurchase,
}

impl Scenario {
    fn shop(self) -> &'static str {
        match self {
            Scenario::BirthdayPool => "crash-pool",
            Scenario::BirthdayGenerated | Scenario::DeferredPostPurchase => "crash-generated",
        }
    }

    fn campaign(self) -> Campaign {
        match self {
            Scenario::BirthdayGenerated | Scenario::BirthdayPool => Campaign::Birthday,
            Scenario::DeferredPostPurchase => Campaign::PostPurchase,
        }
    }

    /// The call that claims the send: a create for a mail found through an index, the move from
    /// deferred to claimed for one waiting in the deferred index.
    fn claim_call(self) -> &'static str {
        match self {
            Scenario::BirthdayGenerated | Scenario::BirthdayPool => "MailStore::create_send",
            Scenario::DeferredPostPurchase => "MailStore::replace_send",
        }
    }
}

struct System {
    scenario: Scenario,
    shop: ShopConfig,
    customer: CustomerId,
    clock: Arc<FixedClock>,
    faults: Arc<Faults>,
    sweep: MailSweep,
    outbox: Arc<OutboxMailer>,
    /// The store itself, for the test's own reads and the set-up: never counted or interrupted.
    sqlite: Arc<SqliteStore>,
    // Last: the directory outlives the store that has it open.
    _dir: tempfile::TempDir,
}

impl System {
    async fn open(scenario: Scenario) -> System {
        let clock = Arc::new(FixedClock::new(t0()));
        let FaultySqlite { sqlite, faults, store, dir } = FaultySqlite::open("mail-crash-", clock.clone());
        let outbox = Arc::new(OutboxMailer::new(dir.path().join("outbox")).unwrap_or_else(|e| panic!("outbox: {e}")));
        let mailer = Arc::new(FaultyMailer {
            inner: OutboxMailer::new(dir.path().join("outbox")).unwrap_or_else(|e| panic!("outbox: {e}")),
            faults: faults.clone(),
        });
        let config = config();
        let shop_id = parsed(ShopId::parse, scenario.shop());
        let shop = config.shops.iter().find(|s| s.id == shop_id).cloned().unwrap_or_else(|| panic!("no {shop_id}"));
        let sweep = MailSweep {
            customers: store.clone(),
            mail: store.clone(),
            codes: store.clone(),
            ledger: store.clone(),
            marks: store.clone(),
            coupons: Arc::new(Coupons::new(store)),
            mailer,
            clock: clock.clone(),
            renderer: Arc::new(MailRenderer::new().unwrap_or_else(|e| panic!("renderer: {e}"))),
            public_url: "https://prefs.kaffee.example".into(),
            pacer: Pacer::default(),
        };
        let customer = parsed(CustomerId::parse, CUSTOMER);
        let system = System { scenario, shop, customer, clock, faults, sweep, outbox, sqlite, _dir: dir };
        system.prepare().await;
        system
    }

    /// A customer with a confirmed subscription and today's birthday (set long ago, so the
    /// birthday earns its code); the pool filled; the post-purchase mail deferred until now.
    async fn prepare(&self) {
        let shop = &self.shop.id;
        let long_ago = t0() - Duration::days(365);
        let profile = CustomerProfile {
            shop: shop.clone(),
            customer_id: self.customer.clone(),
            email: Some(parsed(Email::parse, "kundin@example.de")),
            first_name: Some("Kim".into()),
            last_name: None,
            locale: Some("de".into()),
            country: Some("DE".into()),
            birthday: (self.scenario.campaign() == Campaign::Birthday)
                .then(|| Birthday::new(6, 15, None).unwrap_or_else(|e| panic!("{e}"))),
            accepts_email_marketing: None,
            source_updated_at: Some(long_ago),
        };
        let delivery = DeliveryRecord {
            shop: shop.clone(),
            ids: vec![parsed(DeliveryId::parse, "d-customer")],
            topic: "customers/create".into(),
            received_at: long_ago,
            expires_at: t0() + Duration::days(7),
        };
        let stored = self.sqlite.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await;
        stored.unwrap_or_else(|e| panic!("storing the customer: {}", cause_chain(&e)));
        let contact = MailContact { double_opt_in_at: Some(long_ago), ..MailContact::default() };
        let put = self.sqlite.put_contact(shop, &self.customer, &contact).await;
        put.unwrap_or_else(|e| panic!("{}", cause_chain(&e)));
        match self.scenario {
            Scenario::BirthdayGenerated => {}
            Scenario::BirthdayPool => {
                let codes: Vec<CouponCode> = POOL_CODES.iter().map(|c| parsed(CouponCode::parse, c)).collect();
                let reward = parsed(RewardId::parse, "geburtstag");
                let imported = self.sqlite.import_codes(shop, &reward, &codes, false).await;
                assert_eq!(imported.unwrap_or_else(|e| panic!("{}", cause_chain(&e))), 2);
            }
            Scenario::DeferredPostPurchase => {
                let send = MailSend {
                    shop: shop.clone(),
                    customer_id: self.customer.clone(),
                    campaign: Campaign::PostPurchase,
                    date: today(),
                    state: SendState::Deferred { due: t0() - Duration::minutes(5) },
                };
                let created = self.sqlite.create_send(&send).await;
                created.unwrap_or_else(|e| panic!("{}", cause_chain(&e)));
            }
        }
    }

    /// One sweep, counted from its first port call, interrupted as planned. A process that dies
    /// is no longer driven: the sweep's future is dropped where it stood.
    async fn attempt(&self, interrupt: &[Fault]) -> Vec<&'static str> {
        // The sweep's report does not matter: what it left in the store and the outbox does.
        let (_report, calls) =
            self.faults.attempt(interrupt, CALLS_MAX, self.sweep.sweep_shop(&self.shop, PAGES_MAX)).await;
        calls
    }

    /// The interrupted sweep, then the later runs, uninterrupted.
    async fn run(&self, interrupt: &[Fault]) -> Vec<&'static str> {
        let calls = self.attempt(interrupt).await;
        for minutes in RETRIES_MINUTES {
            self.clock.set(t0() + Duration::minutes(minutes));
            self.attempt(&[]).await;
        }
        calls
    }

    async fn observe(&self) -> Observed {
        let shop = &self.shop.id;
        let fail = |what: &str, e: &dyn std::error::Error| -> ! { panic!("reading {what}: {}", cause_chain(e)) };
        let send = self.sqlite.send(shop, &self.customer, self.scenario.campaign(), today()).await;
        let state = send.unwrap_or_else(|e| fail("the send", &e)).map(|s| s.state);
        let page = self.sqlite.codes(shop, None, PageRequest::first(PAGE_LIMIT_MAX)).await;
        let codes = page.unwrap_or_else(|e| fail("the codes", &e)).items;
        let bound: Vec<Coupon> = codes.into_iter().filter(|c| c.issue.is_some()).collect();
        let key = MailSend {
            shop: shop.clone(),
            customer_id: self.customer.clone(),
            campaign: self.scenario.campaign(),
            date: today(),
            state: SendState::Dropped { at: t0() },
        }
        .coupon_key()
        .unwrap_or_else(|e| panic!("{e}"));
        let for_key = self.sqlite.code_for_redemption(shop, &key).await;
        let for_key = for_key.unwrap_or_else(|e| fail("the send's code", &e)).map(|c| c.code);
        let mut mails = Vec::new();
        for entry in self.outbox.list().unwrap_or_else(|e| fail("the outbox", &e)) {
            let raw = self.outbox.read(&entry.name).unwrap_or_else(|e| fail("a mail", &e)).unwrap_or_default();
            mails.push(readable(&String::from_utf8_lossy(&raw)));
        }
        Observed { state, bound, for_key, mails }
    }
}

// ------------------------------------------------------------------------------------------------
// Outcomes
// ------------------------------------------------------------------------------------------------

struct Observed {
    state: Option<SendState>,
    /// Every code bound to a customer, in the whole shop.
    bound: Vec<Coupon>,
    /// The code bound to the send's key.
    for_key: Option<CouponCode>,
    /// The outbox, readable.
    mails: Vec<String>,
}

/// Where a case must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Sent once, confirmed.
    Sent,
    /// Flagged for review, with this many mails out (0 or 1), never sent again.
    Review { mails: usize },
}

impl Observed {
    fn end(&self) -> Option<End> {
        match (&self.state, self.mails.len()) {
            (Some(SendState::Sent { .. }), 1) => Some(End::Sent),
            (Some(SendState::Review { .. }), mails) => Some(End::Review { mails }),
            _ => None,
        }
    }

    /// What must hold whatever the interruption: one mail at most, one code at most, and the code
    /// the customer reads is the one bound to the send.
    fn problems(&self, scenario: Scenario) -> Vec<String> {
        let mut problems = Vec::new();
        if self.mails.len() > 1 {
            problems.push(format!("{} mails went out", self.mails.len()));
        }
        if self.bound.len() > 1 {
            let codes: Vec<&str> = self.bound.iter().map(|c| c.code.as_str()).collect();
            problems.push(format!("{} codes were issued: {codes:?}", codes.len()));
        }
        let bound = self.bound.first().map(|c| c.code.clone());
        if bound != self.for_key {
            problems.push(format!("the code issued ({bound:?}) is not the send's ({:?})", self.for_key));
        }
        if scenario == Scenario::BirthdayPool && bound.as_ref().is_some_and(|c| c.as_str() != POOL_CODES[0]) {
            problems.push(format!("the pool gave {bound:?}, not its first code"));
        }
        // A sent mail records its code; a flagged one the code the customer may hold.
        if let Some(SendState::Sent { code, .. } | SendState::Review { code, .. }) = &self.state {
            if *code != self.for_key {
                problems.push(format!("the send record holds {code:?}, the send's code is {:?}", self.for_key));
            }
        }
        for mail in &self.mails {
            match (&self.for_key, scenario) {
                (Some(code), _) if !mail.contains(code.as_str()) => {
                    problems.push(format!("the mail does not carry the send's code {code}"))
                }
                (None, Scenario::BirthdayGenerated | Scenario::BirthdayPool) => {
                    problems.push("a birthday mail went out without its code".into())
                }
                _ => {}
            }
        }
        problems
    }
}

/// The positions (counted from 1) of the claim, the mailer's call and the confirmation in the
/// uninterrupted sweep's calls.
struct Positions {
    claim: usize,
    mailer: usize,
    confirm: usize,
}

impl Positions {
    fn of(scenario: Scenario, calls: &[&'static str]) -> Positions {
        let at = |from: usize, name: &str| {
            calls.iter().skip(from).position(|c| *c == name).map(|i| from + i + 1).unwrap_or_else(|| {
                panic!("{scenario:?}: no {name} after call {from} in the uninterrupted sweep: {calls:?}")
            })
        };
        let claim = at(0, scenario.claim_call());
        let mailer = at(claim, "Mailer::send");
        let confirm = at(mailer, "MailStore::replace_send");
        Positions { claim, mailer, confirm }
    }

    /// Where one interruption of call `k` must leave the mail.
    fn expected(&self, k: usize, mode: Mode) -> End {
        let sent_unless_dead = if mode == Mode::DiesAfter { End::Review { mails: 0 } } else { End::Sent };
        match k {
            k if k < self.claim => End::Sent,
            k if k == self.claim => match mode {
                Mode::FailsBefore => End::Sent,
                Mode::FailsAfter | Mode::DiesAfter => End::Review { mails: 0 },
            },
            k if k < self.mailer => sent_unless_dead,
            k if k == self.mailer => match mode {
                Mode::FailsBefore => End::Sent,
                Mode::FailsAfter | Mode::DiesAfter => End::Review { mails: 1 },
            },
            k if k == self.confirm => match mode {
                Mode::FailsBefore => End::Review { mails: 1 },
                Mode::FailsAfter | Mode::DiesAfter => End::Sent,
            },
            _ => End::Sent,
        }
    }

    /// Whether a failure at `k` makes the sweep release the claim (the call after it).
    fn releases(&self, k: usize, mode: Mode) -> bool {
        mode != Mode::DiesAfter
            && k > self.claim
            && (k < self.mailer || (k == self.mailer && mode == Mode::FailsBefore))
    }
}

// ------------------------------------------------------------------------------------------------
// Running the cases
// ------------------------------------------------------------------------------------------------

fn describe(faults: &[Fault], calls: &[&'static str]) -> String {
    let named: Vec<String> =
        faults.iter().map(|(k, mode)| format!("{mode:?} at call {k} ({})", calls.get(k - 1).unwrap_or(&"?"))).collect();
    named.join(", then ")
}

async fn interrupted_at_every_call_sends_at_most_once(scenario: Scenario) {
    let closer = Closer::default();
    let reference = System::open(scenario).await;
    let calls = reference.run(&[]).await;
    let observed = reference.observe().await;
    assert_eq!(observed.end(), Some(End::Sent), "{scenario:?} uninterrupted: {:?}", observed.state);
    assert_eq!(observed.problems(scenario), Vec::<String>::new(), "{scenario:?} uninterrupted");
    let subject = observed.mails.first().and_then(|m| stammkunde_e2e::mime::header(m, "Subject"));
    closer.close(reference);
    let positions = Positions::of(scenario, &calls);

    let mut cases: Vec<(Vec<Fault>, End)> = Vec::new();
    for k in 1..=calls.len() {
        for mode in MODES {
            cases.push((vec![(k, mode)], positions.expected(k, mode)));
            if positions.releases(k, mode) {
                // The release is the next call; interrupted, the claim may stay.
                for second in MODES {
                    let end = if second == Mode::FailsBefore { End::Review { mails: 0 } } else { End::Sent };
                    cases.push((vec![(k, mode), (k + 1, second)], end));
                }
            }
        }
    }
    let mut wrong = Vec::new();
    let mut ends = std::collections::BTreeMap::<String, usize>::new();
    for (faults, expected) in &cases {
        let system = System::open(scenario).await;
        let attempt_calls = system.run(faults).await;
        let observed = system.observe().await;
        let case = describe(faults, &attempt_calls);
        let mut problems = observed.problems(scenario);
        let end = observed.end();
        if end != Some(*expected) {
            problems.push(format!("expected {expected:?}, ended {end:?} with {:?}", observed.state));
        }
        if end == Some(End::Sent) {
            let this = observed.mails.first().and_then(|m| stammkunde_e2e::mime::header(m, "Subject"));
            if this != subject {
                problems.push(format!("the mail's subject {this:?} is not the uninterrupted one's {subject:?}"));
            }
        }
        if let Some((k, _)) = faults.get(1) {
            let release = attempt_calls.get(k - 1).copied().unwrap_or("?");
            if !matches!(release, "MailStore::delete_send" | "MailStore::replace_send") {
                problems.push(format!("call {k} after the failure is {release}, not the release"));
            }
        }
        *ends.entry(format!("{expected:?}")).or_default() += 1;
        if !problems.is_empty() {
            wrong.push(format!("{case}: {}", problems.join("; ")));
        }
        closer.close(system);
    }
    closer.finish();
    assert!(wrong.is_empty(), "{scenario:?}, {} of {} cases wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    // Every kind of end was reached: the cases cover the claim, the mailer and the confirmation.
    assert_eq!(ends.len(), 3, "{scenario:?}: {ends:?}");
}

#[tokio::test]
async fn a_birthday_mail_with_a_generated_code_interrupted_at_any_call_goes_out_at_most_once_with_one_code() {
    interrupted_at_every_call_sends_at_most_once(Scenario::BirthdayGenerated).await;
}

#[tokio::test]
async fn a_birthday_mail_with_a_pool_code_interrupted_at_any_call_goes_out_at_most_once_with_one_code() {
    interrupted_at_every_call_sends_at_most_once(Scenario::BirthdayPool).await;
}

#[tokio::test]
async fn a_deferred_mail_interrupted_at_any_call_goes_out_at_most_once() {
    interrupted_at_every_call_sends_at_most_once(Scenario::DeferredPostPurchase).await;
}
