//! Crash injection for the crash tests: the real SQLite store behind every store port, each call
//! of an attempt numbered, and the planned call interrupted: failing before it reaches the
//! backend, failing after it was carried out, or carried out and then the process dies.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::coupon::{Coupon, CouponCode, Issue};
use stammkunde_domain::customer::{Birthday, Customer, Email};
use stammkunde_domain::error::{cause_chain, StoreError};
use stammkunde_domain::ids::{CustomerId, DeliveryId, IdempotencyKey, OrderId, RewardId, ShopId};
use stammkunde_domain::ingest::{ApplyOutcome, Change, DeliveryRecord, PrivacyRequest};
use stammkunde_domain::ledger::{AppendOutcome, LedgerEntry};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::link::LinkToken;
use stammkunde_domain::mail::{Campaign, DueSend, MailContact, MailSend, SendStateKind, Suppression};
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::{
    CodeStore, CreateOutcome, CustomerEdits, CustomerStore, DueTimer, IngestStore, LedgerStore, MailStore, Page,
    PageRequest, ShopStore, Timer, TimerStore,
};
use stammkunde_domain::refund::Refund;
use stammkunde_domain::registration::ShopwareRegistration;
use stammkunde_domain::secret::Secret;
use stammkunde_store_sqlite::SqliteStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// (a) The call fails before it reaches the backend: nothing happened.
    FailsBefore,
    /// (b) The call is carried out, then fails: durable, but the caller sees an error.
    FailsAfter,
    /// The call is carried out, then the process dies: nothing after it runs.
    DiesAfter,
}

pub const MODES: [Mode; 3] = [Mode::FailsBefore, Mode::FailsAfter, Mode::DiesAfter];

#[derive(Default)]
struct Plan {
    /// The port calls of the current attempt, in order.
    calls: Vec<&'static str>,
    /// The calls (counted from 1) to interrupt, and how.
    interrupt: Vec<Fault>,
}

/// Call `k` of an attempt, interrupted by `mode`.
pub type Fault = (usize, Mode);

/// Numbers the port calls of one attempt and interrupts the planned one. Shared by the store and
/// the bus wrappers, so one count covers reads, writes and publishes alike.
#[derive(Default)]
pub struct Faults {
    plan: Mutex<Plan>,
    /// Told when the process "dies", so the test stops driving the attempt.
    pub died: Notify,
}

impl Faults {
    fn plan(&self) -> MutexGuard<'_, Plan> {
        match self.plan.lock() {
            Ok(plan) => plan,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Starts counting a new attempt, which interrupts the calls `interrupt` names.
    pub fn start(&self, interrupt: &[Fault]) {
        *self.plan() = Plan { calls: Vec::new(), interrupt: interrupt.to_vec() };
    }

    /// The calls the attempt made.
    pub fn calls(&self) -> Vec<&'static str> {
        self.plan().calls.clone()
    }

    fn count(&self, call: &'static str) -> Option<Mode> {
        let mut plan = self.plan();
        plan.calls.push(call);
        let n = plan.calls.len();
        plan.interrupt.iter().find(|(k, _)| *k == n).map(|(_, mode)| *mode)
    }

    /// Runs one port call, interrupted if it is the planned one.
    pub async fn guard<T, E>(
        &self,
        call: &'static str,
        work: impl Future<Output = Result<T, E>>,
        injected: fn(String) -> E,
    ) -> Result<T, E> {
        self.guard_with(call, work, injected, injected).await
    }

    /// As `guard`, for a port whose errors say whether the call took effect (a mailer: certainly
    /// not sent, or the answer lost): `before` makes the error of a call that never reached the
    /// backend, `after` that of one carried out.
    pub async fn guard_with<T, E>(
        &self,
        call: &'static str,
        work: impl Future<Output = Result<T, E>>,
        before: fn(String) -> E,
        after: fn(String) -> E,
    ) -> Result<T, E> {
        match self.count(call) {
            None => work.await,
            Some(Mode::FailsBefore) => Err(before(format!("injected: {call} failed before it reached the backend"))),
            Some(Mode::FailsAfter) => {
                work.await?;
                Err(after(format!("injected: {call} was carried out, then its answer was lost")))
            }
            Some(Mode::DiesAfter) => {
                let _carried_out = work.await;
                self.died.notify_one();
                std::future::pending().await
            }
        }
    }
}

pub fn store_unavailable(message: String) -> StoreError {
    StoreError::Unavailable { message, source: None }
}

/// The real store behind every port, each call counted and possibly interrupted.
pub struct FaultyStore {
    pub inner: Arc<SqliteStore>,
    pub faults: Arc<Faults>,
}

impl FaultyStore {
    async fn call<T>(
        &self,
        call: &'static str,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.faults.guard(call, work, store_unavailable).await
    }
}

#[async_trait]
impl IngestStore for FaultyStore {
    async fn delivery_seen(&self, shop: &ShopId, ids: &[DeliveryId]) -> Result<bool, StoreError> {
        self.call("IngestStore::delivery_seen", self.inner.delivery_seen(shop, ids)).await
    }

    async fn apply_delivery(&self, delivery: &DeliveryRecord, changes: &[Change]) -> Result<ApplyOutcome, StoreError> {
        self.call("IngestStore::apply_delivery", self.inner.apply_delivery(delivery, changes)).await
    }
}

#[async_trait]
impl CustomerStore for FaultyStore {
    async fn customer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Customer>, StoreError> {
        self.call("CustomerStore::customer", self.inner.customer(shop, customer)).await
    }

    async fn order(&self, shop: &ShopId, order: &OrderId) -> Result<Option<Order>, StoreError> {
        self.call("CustomerStore::order", self.inner.order(shop, order)).await
    }

    async fn privacy_requests(&self, shop: &ShopId) -> Result<Vec<PrivacyRequest>, StoreError> {
        self.call("CustomerStore::privacy_requests", self.inner.privacy_requests(shop)).await
    }

    async fn refunds(&self, shop: &ShopId, order: &OrderId) -> Result<Vec<Refund>, StoreError> {
        self.call("CustomerStore::refunds", self.inner.refunds(shop, order)).await
    }

    async fn customers(&self, shop: &ShopId, page: PageRequest) -> Result<Page<CustomerId>, StoreError> {
        self.call("CustomerStore::customers", self.inner.customers(shop, page)).await
    }

    async fn customers_by_email(
        &self,
        shop: &ShopId,
        email: &Email,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        self.call("CustomerStore::customers_by_email", self.inner.customers_by_email(shop, email, page)).await
    }

    async fn customers_by_birthday(
        &self,
        shop: &ShopId,
        month: u8,
        day: u8,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        self.call("CustomerStore::customers_by_birthday", self.inner.customers_by_birthday(shop, month, day, page))
            .await
    }

    async fn customers_by_last_order_date(
        &self,
        shop: &ShopId,
        date: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        let work = self.inner.customers_by_last_order_date(shop, date, page);
        self.call("CustomerStore::customers_by_last_order_date", work).await
    }
}

#[async_trait]
impl CustomerEdits for FaultyStore {
    async fn set_birthday(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        birthday: Option<Birthday>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.call("CustomerEdits::set_birthday", self.inner.set_birthday(shop, customer, birthday, at)).await
    }

    async fn erase_customer(&self, shop: &ShopId, customer: &CustomerId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.call("CustomerEdits::erase_customer", self.inner.erase_customer(shop, customer, at)).await
    }
}

#[async_trait]
impl LedgerStore for FaultyStore {
    async fn append_entries(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        entries: &[LedgerEntry],
    ) -> Result<AppendOutcome, StoreError> {
        self.call("LedgerStore::append_entries", self.inner.append_entries(shop, customer, entries)).await
    }

    async fn entries(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        self.call("LedgerStore::entries", self.inner.entries(shop, customer)).await
    }
}

#[async_trait]
impl TimerStore for FaultyStore {
    async fn set_timer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        due: Option<DateTime<Utc>>,
        ledger_len: u32,
    ) -> Result<(), StoreError> {
        self.call("TimerStore::set_timer", self.inner.set_timer(shop, customer, due, ledger_len)).await
    }

    async fn timer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Timer>, StoreError> {
        self.call("TimerStore::timer", self.inner.timer(shop, customer)).await
    }

    async fn due_timers(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueTimer>, StoreError> {
        self.call("TimerStore::due_timers", self.inner.due_timers(shop, now, page)).await
    }
}

#[async_trait]
impl CodeStore for FaultyStore {
    async fn import_codes(
        &self,
        shop: &ShopId,
        reward: &RewardId,
        codes: &[CouponCode],
        generated: bool,
    ) -> Result<u32, StoreError> {
        self.call("CodeStore::import_codes", self.inner.import_codes(shop, reward, codes, generated)).await
    }

    async fn claim_code(&self, shop: &ShopId, reward: &RewardId, issue: &Issue) -> Result<Option<Coupon>, StoreError> {
        self.call("CodeStore::claim_code", self.inner.claim_code(shop, reward, issue)).await
    }

    async fn insert_issued(&self, coupon: &Coupon) -> Result<Option<Coupon>, StoreError> {
        self.call("CodeStore::insert_issued", self.inner.insert_issued(coupon)).await
    }

    async fn return_code(
        &self,
        shop: &ShopId,
        code: &CouponCode,
        redemption: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        self.call("CodeStore::return_code", self.inner.return_code(shop, code, redemption)).await
    }

    async fn code(&self, shop: &ShopId, code: &CouponCode) -> Result<Option<Coupon>, StoreError> {
        self.call("CodeStore::code", self.inner.code(shop, code)).await
    }

    async fn code_for_redemption(
        &self,
        shop: &ShopId,
        redemption: &IdempotencyKey,
    ) -> Result<Option<Coupon>, StoreError> {
        self.call("CodeStore::code_for_redemption", self.inner.code_for_redemption(shop, redemption)).await
    }

    async fn codes(
        &self,
        shop: &ShopId,
        reward: Option<&RewardId>,
        page: PageRequest,
    ) -> Result<Page<Coupon>, StoreError> {
        self.call("CodeStore::codes", self.inner.codes(shop, reward, page)).await
    }
}

#[async_trait]
impl ShopStore for FaultyStore {
    async fn begin_registration(
        &self,
        shop: &ShopId,
        shop_url: &str,
        pending_secret: &Secret,
        requested_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let work = self.inner.begin_registration(shop, shop_url, pending_secret, requested_at, at);
        self.call("ShopStore::begin_registration", work).await
    }

    async fn confirm_registration(
        &self,
        shop: &ShopId,
        confirmed_secret: &Secret,
        api_key: &Secret,
        secret_key: &Secret,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let work = self.inner.confirm_registration(shop, confirmed_secret, api_key, secret_key, at);
        self.call("ShopStore::confirm_registration", work).await
    }

    async fn registration(&self, shop: &ShopId) -> Result<Option<ShopwareRegistration>, StoreError> {
        self.call("ShopStore::registration", self.inner.registration(shop)).await
    }

    async fn uninstalled_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.call("ShopStore::uninstalled_at", self.inner.uninstalled_at(shop)).await
    }

    async fn sweep_mark(&self, shop: &ShopId, name: &str) -> Result<Option<String>, StoreError> {
        self.call("ShopStore::sweep_mark", self.inner.sweep_mark(shop, name)).await
    }

    async fn set_sweep_mark(&self, shop: &ShopId, name: &str, value: &str) -> Result<(), StoreError> {
        self.call("ShopStore::set_sweep_mark", self.inner.set_sweep_mark(shop, name, value)).await
    }

    async fn mark_shop_erased(&self, shop: &ShopId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.call("ShopStore::mark_shop_erased", self.inner.mark_shop_erased(shop, at)).await
    }

    async fn shop_erased_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.call("ShopStore::shop_erased_at", self.inner.shop_erased_at(shop)).await
    }

    async fn erase_shop_batch(&self, shop: &ShopId, limit: u32) -> Result<bool, StoreError> {
        self.call("ShopStore::erase_shop_batch", self.inner.erase_shop_batch(shop, limit)).await
    }
}

#[async_trait]
impl MailStore for FaultyStore {
    async fn create_send(&self, send: &MailSend) -> Result<CreateOutcome<MailSend>, StoreError> {
        self.call("MailStore::create_send", self.inner.create_send(send)).await
    }

    async fn replace_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
        self.call("MailStore::replace_send", self.inner.replace_send(send, expected)).await
    }

    async fn delete_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
        self.call("MailStore::delete_send", self.inner.delete_send(send, expected)).await
    }

    async fn send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        campaign: Campaign,
        date: NaiveDate,
    ) -> Result<Option<MailSend>, StoreError> {
        self.call("MailStore::send", self.inner.send(shop, customer, campaign, date)).await
    }

    async fn sends_claimed_since(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Vec<MailSend>, StoreError> {
        self.call("MailStore::sends_claimed_since", self.inner.sends_claimed_since(shop, customer, since)).await
    }

    async fn due_sends(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueSend>, StoreError> {
        self.call("MailStore::due_sends", self.inner.due_sends(shop, now, page)).await
    }

    async fn flagged_sends(&self, shop: &ShopId, page: PageRequest) -> Result<Page<MailSend>, StoreError> {
        self.call("MailStore::flagged_sends", self.inner.flagged_sends(shop, page)).await
    }

    async fn contact(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<MailContact>, StoreError> {
        self.call("MailStore::contact", self.inner.contact(shop, customer)).await
    }

    async fn put_contact(&self, shop: &ShopId, customer: &CustomerId, contact: &MailContact) -> Result<(), StoreError> {
        self.call("MailStore::put_contact", self.inner.put_contact(shop, customer, contact)).await
    }

    async fn update_contact(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        contact: &MailContact,
    ) -> Result<bool, StoreError> {
        self.call("MailStore::update_contact", self.inner.update_contact(shop, customer, contact)).await
    }

    async fn put_link(&self, digest: &str, link: &LinkToken) -> Result<(), StoreError> {
        self.call("MailStore::put_link", self.inner.put_link(digest, link)).await
    }

    async fn link(&self, digest: &str) -> Result<Option<LinkToken>, StoreError> {
        self.call("MailStore::link", self.inner.link(digest)).await
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        self.call("MailStore::suppress", self.inner.suppress(suppression)).await
    }

    async fn suppression(&self, shop: &ShopId, address: &AddressDigest) -> Result<Option<Suppression>, StoreError> {
        self.call("MailStore::suppression", self.inner.suppression(shop, address)).await
    }

    async fn count_soft_bounce(
        &self,
        shop: &ShopId,
        address: &AddressDigest,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.call("MailStore::count_soft_bounce", self.inner.count_soft_bounce(shop, address, message_id, at)).await
    }

    async fn take_request(
        &self,
        shop: &ShopId,
        key: &str,
        window: DateTime<Utc>,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.call("MailStore::take_request", self.inner.take_request(shop, key, window, limit, expires_at)).await
    }
}

/// A case's store: a fresh SQLite database in its own scratch directory, and the same store
/// behind the fault wrapper.
pub struct FaultySqlite {
    /// The store itself, for the test's own reads and set-up: never counted or interrupted.
    pub sqlite: Arc<SqliteStore>,
    pub faults: Arc<Faults>,
    pub store: Arc<FaultyStore>,
    // Last: the directory outlives the store that has it open.
    pub dir: tempfile::TempDir,
}

impl FaultySqlite {
    pub fn open(prefix: &str, clock: Arc<dyn Clock>) -> FaultySqlite {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(scratch_dir())
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let sqlite = SqliteStore::open(&dir.path().join("crash.sqlite3"), clock)
            .unwrap_or_else(|e| panic!("opening SQLite: {}", cause_chain(&e)));
        let sqlite = Arc::new(sqlite);
        let faults = Arc::new(Faults::default());
        let store = Arc::new(FaultyStore { inner: sqlite.clone(), faults: faults.clone() });
        FaultySqlite { sqlite, faults, store, dir }
    }
}

impl Faults {
    /// Runs one attempt, counted from its first port call and interrupted as planned: `None` if
    /// the process died, whose future is then dropped where it stood (nothing after it runs).
    /// Also returns the calls the attempt made, at most `calls_max` (more would be a loop).
    pub async fn attempt<T>(
        &self,
        interrupt: &[Fault],
        calls_max: usize,
        work: impl Future<Output = T>,
    ) -> (Option<T>, Vec<&'static str>) {
        self.start(interrupt);
        let done = tokio::select! {
            done = work => Some(done),
            () = self.died.notified() => None,
        };
        let calls = self.calls();
        assert!(calls.len() <= calls_max, "an attempt made {} port calls: {calls:?}", calls.len());
        (done, calls)
    }
}

/// Where each case's database goes: memory-backed where the machine has it; durability is the
/// store conformance suite's subject, convergence this test's.
pub fn scratch_dir() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Closes each case's system on a thread of its own, one at a time: closing SQLite waits for its
/// checkpoint thread's next wake-up, which the next case need not wait for.
#[derive(Default)]
pub struct Closer(Mutex<Option<std::thread::JoinHandle<()>>>);

impl Closer {
    pub fn close<T: Send + 'static>(&self, system: T) {
        let Ok(mut previous) = self.0.lock() else { return };
        if let Some(thread) = previous.take() {
            let _ = thread.join();
        }
        *previous = Some(std::thread::spawn(move || drop(system)));
    }

    pub fn finish(&self) {
        if let Some(thread) = self.0.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}
