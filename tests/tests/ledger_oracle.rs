//! The ledger oracle: thousands of random sequences of what platforms, merchants and time do to one
//! customer, applied to the real system (the points function and the ledger service over a real
//! store, the ledger sweep, the in-process bus, a fixed clock that the test moves) and, step by
//! step, to a plain model written here: a few maps of orders, lines, refunded quantities and lots,
//! and integer arithmetic. The model uses none of the domain's decision code (`Decision`,
//! `LedgerState`, `reversal`, `schedule`, `Lots`); it only reads the domain's data types.
//!
//! After every step both sides must agree on the available and pending balance, the number of
//! entries of each kind, the total shortfall, and for every order line the quantity, amount and
//! points reversed; requests must be refused alike. The real side is also checked against its own
//! invariants: the stored ledger replays, the replayed balance equals the sum of the entries and
//! the balance the store reports, `clamp` never leaves the balance below zero, no line gives back
//! more than it earned, every entry's event was published, and after a sweep nothing is left due.
//!
//! What the model covers: orders (1–3 lines, 1 point per euro, no tax, lines under a euro earning
//! nothing), paid at once or later, fulfilled (the return window's start), cancelled or refunded
//! in full; webhooks re-delivered under their id or as stale copies under a new one, and API
//! requests retried; partial refunds by line and quantity (also more than was bought, and before
//! their order arrives); reviews of bought and not bought products, published, unpublished and
//! released; manual adjustments of either sign; redemptions and their codes running out unused;
//! holds released with the keep bonus; lots expiring oldest first with a notice before; the
//! sweep's schedule (the timer must say exactly when the model next has something to do); both
//! reversal policies. What it leaves out on purpose: tiers, codes used on orders, amount-only
//! refunds (WooCommerce), the last-activity expiry basis, tax and shipping in the earn rule,
//! guest orders, several customers, and concurrent writers (the store conformance suite and the
//! pipeline tests own those).
//!
//! The DynamoDB test needs moto:
//!
//! ```sh
//! .ci/venv/bin/python scripts/moto_server.py 127.0.0.1 5044 &
//! export AWS_ENDPOINT_URL=http://127.0.0.1:5044 AWS_REGION=eu-central-1 \
//!        AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
//! cargo test -p stammkunde-e2e --test ledger_oracle -- --nocapture
//! ```

use async_trait::async_trait;
use chrono::{DateTime, Duration, Months, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};
use std::time::Instant;

use stammkunde_aws::dynamo::{create_table, DynamoStore};
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopConfig, ShopDirectory};
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::error::cause_chain;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{
    CustomerId, DeliveryId, IdempotencyKey, LineId, OrderId, ProductId, RefundId, ReviewId, RewardId, ShopId,
};
use stammkunde_domain::ingest::{Change, DeliveryRecord, DELIVERY_RETENTION_DAYS};
use stammkunde_domain::ledger::{
    AdjustmentRequest, Balance, Decision, DecisionError, EntryDetail, LedgerEntry, LedgerState, RedemptionRequest,
    Refusal, ReviewFact,
};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::Store;
use stammkunde_domain::refund::{Refund, RefundLine};
use stammkunde_local::{InProcessBus, Subscriber};
use stammkunde_points::PointsService;
use stammkunde_services::{LedgerError, LedgerService, LedgerSweep};
use stammkunde_store_sqlite::SqliteStore;

/// Cases on SQLite: each a fresh database in its own temporary directory. Fixed, so every run is
/// as thorough as the last (about 45 s in a debug build on two idle cores; a one-off run of 10 000
/// cases of up to 60 steps took 8 minutes).
const SQLITE_CASES: u32 = 2_000;
const SQLITE_STEPS_MAX: usize = 40;
/// Cases on DynamoDB (moto): each its own table. Fewer and shorter, as every step is a dozen HTTP
/// round trips to moto (about 12 s on two idle cores).
const DYNAMO_CASES: u32 = 25;
const DYNAMO_STEPS_MAX: usize = 16;

const SHOP: &str = "oracle-shop";
const CUSTOMER: &str = "c-oracle";
/// Orders per case the steps can name; each is paid when the platform first mentions it.
const ORDERS: usize = 5;
/// Products p0..p3 are sold; p4 only ever reviewed.
const PRODUCTS_SOLD: u8 = 4;
const PRODUCTS_REVIEWED: u8 = PRODUCTS_SOLD + 1;

// The shop's rules, as `shop_config` writes them and the model applies them.
const RETURN_WINDOW_DAYS: i64 = 14;
const SHIPPING_ALLOWANCE_DAYS: i64 = 5;
const KEEP_BONUS_PERCENT: i64 = 10;
const REVIEW_POINTS: i64 = 50;
const REVIEW_HOLD_DAYS: i64 = 14;
const EXPIRY_MONTHS: u32 = 2;
const EXPIRY_NOTICE_DAYS: i64 = 10;
const REWARD: &str = "five";
const REWARD_POINTS: i64 = 30;
const REWARD_VALID_DAYS: i64 = 30;
/// An unused code gives its points back this long after it expired (`schedule::CODE_EXPIRY_GRACE`).
const CODE_GRACE_DAYS: i64 = 1;
/// Every step happens a minute after the one before, so every platform change has its own time.
const STEP_MINUTES: i64 = 1;
/// Pages one sweep may take: far more than one customer needs.
const SWEEP_PAGES_MAX: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Clamp,
    Debt,
}

fn shop_config(policy: Policy) -> Result<AppConfig, String> {
    let policy = match policy {
        Policy::Clamp => "clamp",
        Policy::Debt => "debt",
    };
    let text = format!(
        r#"
[[shops]]
id = "{SHOP}"
platform = "shopify"
domain = "oracle-shop.myshopify.com"
webhook_secret = "oracle-secret-0123456789"
api_key = "oracle-api-key-0123456789"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"
[shops.earn]
points_per_unit = "1"
[shops.hold]
return_window_days = {RETURN_WINDOW_DAYS}
shipping_allowance_days = {SHIPPING_ALLOWANCE_DAYS}
keep_bonus_percent = {KEEP_BONUS_PERCENT}
[shops.reversals]
policy = "{policy}"
[shops.reviews]
points = {REVIEW_POINTS}
hold_days = {REVIEW_HOLD_DAYS}
[shops.expiry]
months = {EXPIRY_MONTHS}
notice_days = {EXPIRY_NOTICE_DAYS}
[[shops.rewards]]
id = "{REWARD}"
name = "5 €"
points = {REWARD_POINTS}
valid_days = {REWARD_VALID_DAYS}
codes = "generate"
"#
    );
    AppConfig::from_toml(&text).map_err(|e| format!("oracle shop config: {e}"))
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 20, 10, 0, 0).single().unwrap_or_default()
}

fn id<T>(parse: impl Fn(&str) -> Result<T, stammkunde_domain::error::InputError>, raw: &str) -> Result<T, String> {
    parse(raw).map_err(|e| format!("{raw}: {e}"))
}

// ------------------------------------------------------------------------------------------------
// Generated cases
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct LineSpec {
    product: u8,
    quantity: u32,
    /// What the whole line costs, in cents, without tax.
    amount_minor: i64,
}

#[derive(Clone, Debug)]
struct OrderSpec {
    lines: Vec<LineSpec>,
    /// Paid when it is placed; else it awaits payment until a `Pay` step.
    paid_at_once: bool,
}

#[derive(Clone, Debug)]
enum Step {
    /// The platform sends the order as it stands (paid or awaiting payment, fulfilled, cancelled or
    /// refunded in full if it was made so).
    Deliver {
        order: usize,
    },
    /// The goods ship: the order is sent with its fulfilment.
    Fulfil {
        order: usize,
    },
    Cancel {
        order: usize,
    },
    /// An order awaiting payment is paid.
    Pay {
        order: usize,
    },
    /// The platform reports the whole order refunded, without refund lines (`refunded`).
    RefundAll {
        order: usize,
    },
    /// A refund of (line, units) pairs: one or two lines, or one line twice, and possibly more
    /// units than the line had. Line indexes wrap around the order's lines.
    Refund {
        order: usize,
        lines: Vec<(usize, u32)>,
    },
    /// Something sent before is sent again: a webhook re-delivered under its id (or, `fresh_id`,
    /// a stale copy under a new one), an API request retried.
    Repeat {
        pick: Index,
        fresh_id: bool,
    },
    Review {
        product: u8,
        published: bool,
    },
    Redeem,
    Adjust {
        points: i64,
    },
    /// Time passes, then the ledger sweep runs.
    Advance {
        days: i64,
    },
}

#[derive(Clone, Debug)]
struct Case {
    policy: Policy,
    orders: Vec<OrderSpec>,
    steps: Vec<Step>,
}

fn line_strategy() -> impl Strategy<Value = LineSpec> {
    // 50..=4999 cents: some lines under a euro earn nothing, and amounts rarely divide evenly.
    (0..PRODUCTS_SOLD, 1_u32..=4, 50_i64..5_000).prop_map(|(product, quantity, amount_minor)| LineSpec {
        product,
        quantity,
        amount_minor,
    })
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let order = 0..ORDERS;
    prop_oneof![
        4 => order.clone().prop_map(|order| Step::Deliver { order }),
        2 => order.clone().prop_map(|order| Step::Fulfil { order }),
        1 => order.clone().prop_map(|order| Step::Cancel { order }),
        1 => order.clone().prop_map(|order| Step::RefundAll { order }),
        2 => order.clone().prop_map(|order| Step::Pay { order }),
        4 => (order, prop::collection::vec((0_usize..3, 1_u32..=4), 1..=2))
            .prop_map(|(order, lines)| Step::Refund { order, lines }),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(pick, fresh_id)| Step::Repeat { pick, fresh_id }),
        2 => (0..PRODUCTS_REVIEWED, any::<bool>()).prop_map(|(product, published)| Step::Review { product, published }),
        2 => Just(Step::Redeem),
        1 => (1_i64..=60, any::<bool>()).prop_map(|(p, credit)| Step::Adjust { points: if credit { p } else { -p } }),
        4 => (0_i64..=60).prop_map(|days| Step::Advance { days }),
    ]
}

fn case_strategy(steps_max: usize) -> impl Strategy<Value = Case> {
    let order = (prop::collection::vec(line_strategy(), 1..=3), prop::bool::weighted(0.75))
        .prop_map(|(lines, paid_at_once)| OrderSpec { lines, paid_at_once });
    (
        prop_oneof![Just(Policy::Clamp), Just(Policy::Debt)],
        prop::collection::vec(order, ORDERS),
        prop::collection::vec(step_strategy(), 1..=steps_max),
    )
        .prop_map(|(policy, orders, steps)| Case { policy, orders, steps })
}

// ------------------------------------------------------------------------------------------------
// The world: the platform's orders and the messages both sides receive
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Message {
    Webhook {
        delivery_id: String,
        change: Change,
    },
    Review(ReviewFact),
    Redeem(RedemptionRequest),
    Adjust(AdjustmentRequest),
    Sweep,
    /// A repeat with nothing sent before.
    Nothing,
}

/// An order as the platform holds it.
#[derive(Clone, Debug)]
struct PlatformOrder {
    placed_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    fulfilled_at: Option<DateTime<Utc>>,
    cancelled: bool,
    /// `Pending` until paid, then `Paid`; `Refunded` once the whole order was refunded (without
    /// refund lines).
    payment: PaymentState,
}

struct World {
    specs: Vec<OrderSpec>,
    orders: BTreeMap<usize, PlatformOrder>,
    /// Everything that can be sent again.
    sent: Vec<Message>,
    serial: u32,
}

fn order_id_of(index: usize) -> String {
    format!("o{index}")
}

fn line_id_of(order: usize, line: usize) -> String {
    format!("o{order}-l{line}")
}

fn product_of(product: u8) -> String {
    format!("p{product}")
}

impl World {
    fn new(specs: Vec<OrderSpec>) -> Self {
        World { specs, orders: BTreeMap::new(), sent: Vec::new(), serial: 0 }
    }

    fn next_serial(&mut self) -> u32 {
        self.serial += 1;
        self.serial
    }

    /// The platform's order, placed (and paid, if it is paid at once) the first time anything
    /// mentions it.
    fn platform_order(&mut self, index: usize, now: DateTime<Utc>) -> &mut PlatformOrder {
        let paid = self.specs.get(index).is_none_or(|spec| spec.paid_at_once);
        self.orders.entry(index).or_insert(PlatformOrder {
            placed_at: now,
            paid_at: paid.then_some(now),
            updated_at: now,
            fulfilled_at: None,
            cancelled: false,
            payment: if paid { PaymentState::Paid } else { PaymentState::Pending },
        })
    }

    fn order_value(&self, index: usize) -> Result<Order, String> {
        let (Some(spec), Some(state)) = (self.specs.get(index), self.orders.get(&index)) else {
            return Err(format!("order {index} is not on the platform"));
        };
        let lines = spec
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                Ok(OrderLine {
                    line_id: id(LineId::parse, &line_id_of(index, i))?,
                    product_id: Some(product_of(line.product)),
                    quantity: line.quantity,
                    amount_minor: line.amount_minor,
                    tax_minor: 0,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Order {
            shop: id(ShopId::parse, SHOP)?,
            platform: Platform::Shopify,
            order_id: id(OrderId::parse, &order_id_of(index))?,
            order_number: Some(format!("#{}", 1001 + index)),
            customer_id: Some(id(CustomerId::parse, CUSTOMER)?),
            currency: Currency::parse("EUR").map_err(|e| e.to_string())?,
            taxes_included: false,
            lines,
            shipping_minor: 0,
            payment: state.payment,
            cancelled: state.cancelled,
            discount_codes: vec![],
            placed_at: state.placed_at,
            version: OrderVersion::of(state.updated_at, state.payment, state.cancelled),
            paid_at: state.paid_at,
            fulfilled_at: state.fulfilled_at,
            total_minor: None,
        })
    }

    fn webhook(&mut self, change: Change) -> Message {
        let delivery_id = format!("d{:04}", self.next_serial());
        Message::Webhook { delivery_id, change }
    }

    fn order_webhook(&mut self, index: usize) -> Result<Message, String> {
        let order = self.order_value(index)?;
        Ok(self.webhook(Change::RecordOrder(order)))
    }

    fn refund_webhook(&mut self, index: usize, lines: &[(usize, u32)], now: DateTime<Utc>) -> Result<Message, String> {
        self.platform_order(index, now);
        let count = self.specs.get(index).map_or(1, |s| s.lines.len());
        let lines = lines
            .iter()
            .map(|(line, quantity)| {
                Ok(RefundLine { line_id: id(LineId::parse, &line_id_of(index, line % count))?, quantity: *quantity })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let serial = self.next_serial();
        let refund = Refund {
            shop: id(ShopId::parse, SHOP)?,
            order_id: id(OrderId::parse, &order_id_of(index))?,
            refund_id: id(RefundId::parse, &format!("r{serial:04}"))?,
            created_at: now,
            lines,
            amount_minor: None,
        };
        Ok(self.webhook(Change::RecordRefund(refund)))
    }

    fn repeat(&mut self, pick: &Index, fresh_id: bool) -> Message {
        if self.sent.is_empty() {
            return Message::Nothing;
        }
        match self.sent[pick.index(self.sent.len())].clone() {
            Message::Webhook { change, .. } if fresh_id => self.webhook(change),
            message => message,
        }
    }

    /// What the step sends, at `now`.
    fn message(&mut self, step: &Step, now: DateTime<Utc>) -> Result<Message, String> {
        let message = match step {
            Step::Deliver { order } => {
                self.platform_order(*order, now);
                self.order_webhook(*order)?
            }
            Step::Fulfil { order } => {
                let state = self.platform_order(*order, now);
                if state.fulfilled_at.is_none() {
                    state.fulfilled_at = Some(now);
                    state.updated_at = now;
                }
                self.order_webhook(*order)?
            }
            Step::Cancel { order } => {
                let state = self.platform_order(*order, now);
                if !state.cancelled {
                    state.cancelled = true;
                    state.updated_at = now;
                }
                self.order_webhook(*order)?
            }
            Step::Pay { order } => {
                let state = self.platform_order(*order, now);
                if state.payment == PaymentState::Pending {
                    state.payment = PaymentState::Paid;
                    state.paid_at = Some(now);
                    state.updated_at = now;
                }
                self.order_webhook(*order)?
            }
            Step::RefundAll { order } => {
                let state = self.platform_order(*order, now);
                if state.payment != PaymentState::Refunded {
                    state.payment = PaymentState::Refunded;
                    state.updated_at = now;
                }
                self.order_webhook(*order)?
            }
            Step::Refund { order, lines } => self.refund_webhook(*order, lines, now)?,
            Step::Repeat { pick, fresh_id } => return Ok(self.repeat(pick, *fresh_id)),
            Step::Review { product, published } => Message::Review(ReviewFact {
                product_id: id(ProductId::parse, &product_of(*product))?,
                review_id: id(ReviewId::parse, &format!("rev-{product}"))?,
                published: *published,
            }),
            Step::Redeem => {
                let serial = self.next_serial();
                Message::Redeem(RedemptionRequest {
                    key: id(IdempotencyKey::parse, &format!("k{serial:04}"))?,
                    reward: id(RewardId::parse, REWARD)?,
                    code: CouponCode::parse(&format!("SK-{serial:04}")).map_err(|e| e.to_string())?,
                    expires_at: now + Duration::days(REWARD_VALID_DAYS),
                })
            }
            Step::Adjust { points } => {
                let serial = self.next_serial();
                Message::Adjust(AdjustmentRequest {
                    key: id(IdempotencyKey::parse, &format!("a{serial:04}"))?,
                    points: *points,
                    reason: "oracle".into(),
                    customer_text: None,
                })
            }
            Step::Advance { .. } => return Ok(Message::Sweep),
        };
        self.sent.push(message.clone());
        Ok(message)
    }
}

// ------------------------------------------------------------------------------------------------
// What both sides are compared on
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    Refused(Refusal),
}

/// What a line has given back so far: units, cents and points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Given {
    quantity: u32,
    amount_minor: i64,
    points: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Observed {
    available: i64,
    pending: i64,
    /// Entries by kind (`EntryKind::as_str`).
    kinds: BTreeMap<String, u32>,
    /// Per (order, line), what its reversals took back, for lines that gave anything back.
    reversed: BTreeMap<(String, String), Given>,
    shortfall: i64,
    /// When the ledger next needs the sweep (the stored timer; the model's own reckoning).
    due: Option<DateTime<Utc>>,
}

/// The fields in which two observations differ, one per line.
fn differences(model: &Observed, system: &Observed) -> String {
    let mut out = Vec::new();
    if (model.available, model.pending) != (system.available, system.pending) {
        out.push(format!(
            "balance: model {}/{} (available/pending), system {}/{}",
            model.available, model.pending, system.available, system.pending
        ));
    }
    if model.kinds != system.kinds {
        out.push(format!("entries: model {:?}, system {:?}", model.kinds, system.kinds));
    }
    if model.reversed != system.reversed {
        out.push(format!("reversed per line: model {:?}, system {:?}", model.reversed, system.reversed));
    }
    if model.due != system.due {
        out.push(format!("next due: model {:?}, system {:?}", model.due, system.due));
    }
    if model.shortfall != system.shortfall {
        out.push(format!("shortfall: model {}, system {}", model.shortfall, system.shortfall));
    }
    out.join("\n  ")
}

// ------------------------------------------------------------------------------------------------
// The model
// ------------------------------------------------------------------------------------------------

/// One credited line of an order, and what it has given back so far.
#[derive(Clone, Debug)]
struct ModelLine {
    line_id: String,
    product: String,
    quantity: u32,
    amount_minor: i64,
    points: i64,
    given: Given,
}

#[derive(Clone, Debug)]
struct ModelOrder {
    lines: Vec<ModelLine>,
    /// What the order earned when it was credited.
    earned: i64,
    /// Points still held.
    pending: i64,
    paid_at: DateTime<Utc>,
    fulfilled_at: Option<DateTime<Utc>>,
    released: bool,
    /// Refunds that took something back.
    refunds_reversed: BTreeSet<String>,
    /// A cancellation or a refund in full took back what was left.
    fully_reversed: bool,
    /// Anything was taken back (no keep bonus then).
    returned: bool,
}

#[derive(Clone, Debug)]
struct ModelReview {
    credited_at: DateTime<Utc>,
    pending: i64,
    released: bool,
}

#[derive(Clone, Debug)]
struct ModelLot {
    credited_at: DateTime<Utc>,
    /// The order whose release credited it: its reversals take from it first.
    order: Option<String>,
    remaining: i64,
}

#[derive(Clone, Debug)]
struct ModelCode {
    expires_at: DateTime<Utc>,
    expired: bool,
}

/// What one line of a reversal takes back: the line's index and the units, cents and points.
type Take = (usize, Given);

struct Model {
    policy: Policy,
    now: DateTime<Utc>,
    available: i64,
    pending: i64,
    kinds: BTreeMap<String, u32>,
    shortfall: i64,
    /// The store's view: the newest version of each order received, and the refunds received.
    stored_orders: BTreeMap<String, Order>,
    stored_refunds: BTreeMap<String, Vec<Refund>>,
    /// The ledger's view.
    orders: BTreeMap<String, ModelOrder>,
    reviews: BTreeMap<String, ModelReview>,
    codes: BTreeMap<String, ModelCode>,
    /// Oldest first.
    lots: Vec<ModelLot>,
    /// Points taken that no lot held (`debt` policy); later credits pay it first.
    debt: i64,
    noticed: BTreeSet<NaiveDate>,
    /// Request keys booked, with their points.
    requests: BTreeMap<String, i64>,
    /// For the coverage report: the available balance went below zero; refunds that waited for
    /// their order.
    went_below_zero: bool,
    held_reversals: u32,
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

impl Model {
    fn new(policy: Policy, now: DateTime<Utc>) -> Self {
        Model {
            policy,
            now,
            available: 0,
            pending: 0,
            kinds: BTreeMap::new(),
            shortfall: 0,
            stored_orders: BTreeMap::new(),
            stored_refunds: BTreeMap::new(),
            orders: BTreeMap::new(),
            reviews: BTreeMap::new(),
            codes: BTreeMap::new(),
            lots: Vec::new(),
            debt: 0,
            noticed: BTreeSet::new(),
            requests: BTreeMap::new(),
            went_below_zero: false,
            held_reversals: 0,
        }
    }

    fn count(&mut self, kind: &str) {
        *self.kinds.entry(kind.to_owned()).or_insert(0) += 1;
    }

    /// Points into the available balance: they pay debt first, the rest is a new lot.
    fn credit(&mut self, points: i64, order: Option<&str>) {
        self.available += points;
        let paid = points.min(self.debt);
        self.debt -= paid;
        if points > paid {
            self.lots.push(ModelLot {
                credited_at: self.now,
                order: order.map(str::to_owned),
                remaining: points - paid,
            });
        }
    }

    /// Points out of the available balance: from the order's own lot first if it has one, then
    /// the oldest lots; what no lot holds becomes debt.
    fn debit(&mut self, points: i64, order: Option<&str>) {
        self.available -= points;
        self.went_below_zero |= self.available < 0;
        let mut wanted = points;
        let own = order.and_then(|o| self.lots.iter().position(|lot| lot.order.as_deref() == Some(o)));
        let mut from: Vec<usize> = own.into_iter().collect();
        from.extend(0..self.lots.len());
        for i in from {
            let taken = wanted.min(self.lots[i].remaining);
            self.lots[i].remaining -= taken;
            wanted -= taken;
        }
        self.lots.retain(|lot| lot.remaining > 0);
        self.debt += wanted;
    }

    fn apply(&mut self, message: &Message, now: DateTime<Utc>) -> Outcome {
        self.now = now;
        match message {
            Message::Webhook { change: Change::RecordOrder(order), .. } => {
                let key = order.order_id.as_str().to_owned();
                if self.stored_orders.get(&key).is_none_or(|stored| order.version > stored.version) {
                    self.stored_orders.insert(key.clone(), order.clone());
                }
                self.reconcile(&key);
                Outcome::Done
            }
            Message::Webhook { change: Change::RecordRefund(refund), .. } => {
                let key = refund.order_id.as_str().to_owned();
                let refunds = self.stored_refunds.entry(key.clone()).or_default();
                if !refunds.iter().any(|r| r.refund_id == refund.refund_id) {
                    refunds.push(refund.clone());
                }
                self.reconcile(&key);
                Outcome::Done
            }
            Message::Webhook { .. } | Message::Nothing => Outcome::Done,
            Message::Review(fact) => self.review(fact),
            Message::Redeem(request) => self.redeem(request),
            Message::Adjust(request) => self.adjust(request),
            Message::Sweep => {
                self.tick();
                Outcome::Done
            }
        }
    }

    /// The stored order and its stored refunds, brought onto the ledger.
    fn reconcile(&mut self, order_id: &str) {
        let Some(order) = self.stored_orders.get(order_id).cloned() else { return };
        // Credited once paid; a cancelled or wholly refunded order that was never credited nets
        // to nothing.
        let reversed_in_full = order.cancelled || order.payment == PaymentState::Refunded;
        let credited_before = self.orders.contains_key(order_id);
        if !credited_before && order.payment == PaymentState::Paid && !reversed_in_full {
            self.earn(&order);
        }
        let Some(mut account) = self.orders.remove(order_id) else { return };
        if let (Some(at), None, false) = (order.fulfilled_at, account.fulfilled_at, account.released) {
            account.fulfilled_at = Some(at);
            self.count("window");
        }
        let mut refunds = self.stored_refunds.get(order_id).cloned().unwrap_or_default();
        refunds.sort_by(|a, b| (a.created_at, a.refund_id.as_str()).cmp(&(b.created_at, b.refund_id.as_str())));
        for refund in &refunds {
            if account.fully_reversed || account.refunds_reversed.contains(refund.refund_id.as_str()) {
                continue;
            }
            let takes = refund_takes(&account, refund);
            if !takes.is_empty() {
                self.reverse(order_id, &mut account, &takes);
                account.refunds_reversed.insert(refund.refund_id.as_str().to_owned());
                self.held_reversals += u32::from(!credited_before);
            }
        }
        if reversed_in_full && !account.fully_reversed {
            let takes = rest_takes(&account);
            if !takes.is_empty() {
                self.reverse(order_id, &mut account, &takes);
                account.fully_reversed = true;
            }
        }
        self.orders.insert(order_id.to_owned(), account);
    }

    /// Points per line: 1 per whole euro, floored; a line that earns nothing is not credited.
    fn earn(&mut self, order: &Order) {
        let lines: Vec<ModelLine> = order
            .lines
            .iter()
            .map(|l| ModelLine {
                line_id: l.line_id.as_str().to_owned(),
                product: l.product_id.clone().unwrap_or_default(),
                quantity: l.quantity,
                amount_minor: l.amount_minor,
                points: l.amount_minor / 100,
                given: Given::default(),
            })
            .filter(|l| l.points > 0)
            .collect();
        if lines.is_empty() {
            return;
        }
        let earned: i64 = lines.iter().map(|l| l.points).sum();
        self.pending += earned;
        self.count("earn");
        let account = ModelOrder {
            lines,
            earned,
            pending: earned,
            paid_at: order.paid_at.unwrap_or(self.now),
            fulfilled_at: None,
            released: false,
            refunds_reversed: BTreeSet::new(),
            fully_reversed: false,
            returned: false,
        };
        self.orders.insert(order.order_id.as_str().to_owned(), account);
    }

    /// Takes back `takes`: from the order's pending points while it is held, else from the
    /// available balance (at most what is there under `clamp`, the rest recorded as shortfall).
    fn reverse(&mut self, order_id: &str, account: &mut ModelOrder, takes: &[Take]) {
        let mut points = 0;
        for (i, take) in takes {
            let given = &mut account.lines[*i].given;
            given.quantity += take.quantity;
            given.amount_minor += take.amount_minor;
            given.points += take.points;
            points += take.points;
        }
        account.returned = true;
        self.count("reversal");
        if !account.released && account.pending > 0 {
            account.pending -= points;
            self.pending -= points;
            return;
        }
        let taken = match self.policy {
            Policy::Clamp => points.min(self.available.max(0)),
            Policy::Debt => points,
        };
        self.shortfall += points - taken;
        self.debit(taken, Some(order_id));
    }

    fn review(&mut self, fact: &ReviewFact) -> Outcome {
        let product = fact.product_id.as_str().to_owned();
        if !fact.published {
            if let Some(review) = self.reviews.get_mut(&product).filter(|r| !r.released && r.pending > 0) {
                self.pending -= review.pending;
                review.pending = 0;
                self.count("review_reversal");
            }
            return Outcome::Done;
        }
        if self.reviews.contains_key(&product) {
            return Outcome::Done;
        }
        let bought = self.orders.values().any(|o| {
            !o.fully_reversed && o.lines.iter().any(|l| l.product == product && l.given.quantity < l.quantity)
        });
        if !bought {
            return Outcome::Refused(Refusal::NotBought);
        }
        self.reviews.insert(product, ModelReview { credited_at: self.now, pending: REVIEW_POINTS, released: false });
        self.pending += REVIEW_POINTS;
        self.count("review");
        Outcome::Done
    }

    fn redeem(&mut self, request: &RedemptionRequest) -> Outcome {
        let key = format!("redeem:{}", request.key.as_str());
        if self.requests.contains_key(&key) {
            return Outcome::Done;
        }
        if self.available < REWARD_POINTS {
            return Outcome::Refused(Refusal::InsufficientPoints { available: self.available, needed: REWARD_POINTS });
        }
        self.debit(REWARD_POINTS, None);
        self.requests.insert(key, -REWARD_POINTS);
        let code = ModelCode { expires_at: request.expires_at, expired: false };
        self.codes.insert(request.code.as_str().to_owned(), code);
        self.count("redemption");
        Outcome::Done
    }

    fn adjust(&mut self, request: &AdjustmentRequest) -> Outcome {
        let key = format!("adjust:{}", request.key.as_str());
        if let Some(points) = self.requests.get(&key) {
            return if *points == request.points { Outcome::Done } else { Outcome::Refused(Refusal::KeyReused) };
        }
        let points = request.points;
        if points < 0 && self.policy == Policy::Clamp && self.available + points < 0 {
            return Outcome::Refused(Refusal::InsufficientPoints { available: self.available, needed: -points });
        }
        if points > 0 {
            self.credit(points, None);
        } else {
            self.debit(-points, None);
        }
        self.requests.insert(key, points);
        self.count("adjustment");
        Outcome::Done
    }

    /// The sweep at `now`: holds that ended are released (with the keep bonus), reviews' holds
    /// too, unused codes give their points back, lots expire, and a notice goes out for each day
    /// on which points will expire within the notice period.
    fn tick(&mut self) {
        self.release_orders();
        let due: Vec<String> = self
            .reviews
            .iter()
            .filter(|(_, r)| !r.released && r.pending > 0 && r.credited_at + days(REVIEW_HOLD_DAYS) <= self.now)
            .map(|(product, _)| product.clone())
            .collect();
        for product in due {
            let Some(review) = self.reviews.get_mut(&product) else { continue };
            let points = std::mem::take(&mut review.pending);
            review.released = true;
            self.pending -= points;
            self.credit(points, None);
            self.count("release");
        }
        let now = self.now;
        let expired: Vec<String> = self
            .codes
            .iter()
            .filter(|(_, c)| !c.expired && c.expires_at + days(CODE_GRACE_DAYS) <= now)
            .map(|(code, _)| code.clone())
            .collect();
        for code in expired {
            if let Some(c) = self.codes.get_mut(&code) {
                c.expired = true;
            }
            self.credit(REWARD_POINTS, None);
            self.count("code_expired");
        }
        self.expire_lots();
    }

    fn release_orders(&mut self) {
        let now = self.now;
        let due: Vec<String> = self
            .orders
            .iter()
            .filter(|(_, o)| {
                let window_starts = o.fulfilled_at.unwrap_or(o.paid_at + days(SHIPPING_ALLOWANCE_DAYS));
                !o.released && o.pending > 0 && window_starts + days(RETURN_WINDOW_DAYS) <= now
            })
            .map(|(id, _)| id.clone())
            .collect();
        for order_id in due {
            let Some(account) = self.orders.get_mut(&order_id) else { continue };
            let points = std::mem::take(&mut account.pending);
            account.released = true;
            let bonus = if account.returned { 0 } else { account.earned * KEEP_BONUS_PERCENT / 100 };
            self.pending -= points;
            self.credit(points, Some(&order_id));
            self.count("release");
            if bonus > 0 {
                self.credit(bonus, None);
                self.count("keep_bonus");
            }
        }
    }

    fn expire_lots(&mut self) {
        let now = self.now;
        let expiry = |lot: &ModelLot| lot.credited_at.checked_add_months(Months::new(EXPIRY_MONTHS));
        let mut notices = BTreeSet::new();
        let mut expiring = 0;
        for lot in &self.lots {
            match expiry(lot) {
                Some(at) if at <= now => expiring += lot.remaining,
                Some(at) if at - days(EXPIRY_NOTICE_DAYS) <= now => {
                    notices.insert(at.date_naive());
                }
                _ => {}
            }
        }
        let before = self.lots.len();
        self.lots.retain(|lot| expiry(lot).is_none_or(|at| at > now));
        self.available -= expiring;
        for _ in self.lots.len()..before {
            self.count("expiry");
        }
        for day in notices {
            if self.noticed.insert(day) {
                self.count("expiry_notice");
            }
        }
    }

    /// The model's own invariants: if these fail, the model is wrong.
    fn check(&self) -> Result<(), String> {
        let lots: i64 = self.lots.iter().map(|l| l.remaining).sum();
        let held: i64 = self.orders.values().map(|o| o.pending).sum::<i64>()
            + self.reviews.values().map(|r| r.pending).sum::<i64>();
        let lines_ok = self.orders.values().flat_map(|o| &o.lines).all(|l| {
            l.given.quantity <= l.quantity && l.given.points <= l.points && l.given.amount_minor <= l.amount_minor
        });
        if lots - self.debt != self.available || held != self.pending || self.pending < 0 || !lines_ok {
            return Err(format!(
                "model broke its own invariants: lots {lots} − debt {} vs available {}, held {held} vs pending {}",
                self.debt, self.available, self.pending
            ));
        }
        Ok(())
    }

    /// The earliest time anything above falls due: a hold ending, an unused code's points coming
    /// back, a notice not yet given, a lot expiring.
    fn next_due(&self) -> Option<DateTime<Utc>> {
        let orders =
            self.orders.values().filter(|o| !o.released && o.pending > 0).map(|o| {
                o.fulfilled_at.unwrap_or(o.paid_at + days(SHIPPING_ALLOWANCE_DAYS)) + days(RETURN_WINDOW_DAYS)
            });
        let reviews = self
            .reviews
            .values()
            .filter(|r| !r.released && r.pending > 0)
            .map(|r| r.credited_at + days(REVIEW_HOLD_DAYS));
        let codes = self.codes.values().filter(|c| !c.expired).map(|c| c.expires_at + days(CODE_GRACE_DAYS));
        let lots = self.lots.iter().filter_map(|lot| {
            let expires_at = lot.credited_at.checked_add_months(Months::new(EXPIRY_MONTHS))?;
            let noticed = self.noticed.contains(&expires_at.date_naive());
            Some(if noticed { expires_at } else { expires_at - days(EXPIRY_NOTICE_DAYS) })
        });
        orders.chain(reviews).chain(codes).chain(lots).min()
    }

    fn observe(&self) -> Observed {
        let mut reversed = BTreeMap::new();
        for (order_id, account) in &self.orders {
            for line in account.lines.iter().filter(|l| l.given != Given::default()) {
                reversed.insert((order_id.clone(), line.line_id.clone()), line.given);
            }
        }
        Observed {
            available: self.available,
            pending: self.pending,
            kinds: self.kinds.clone(),
            reversed,
            shortfall: self.shortfall,
            due: self.next_due(),
        }
    }
}

/// A refund's lines, cumulatively: after `q` of a line's `n` units have gone back, the line has
/// given back `floor(points × q / n)` points and `floor(amount × q / n)` cents; `q` never passes
/// `n`. A line takes part if the refund moves any of the three.
fn refund_takes(account: &ModelOrder, refund: &Refund) -> Vec<Take> {
    let mut takes = Vec::new();
    for (i, line) in account.lines.iter().enumerate() {
        let refunded: u32 =
            refund.lines.iter().filter(|r| r.line_id.as_str() == line.line_id).map(|r| r.quantity).sum();
        if refunded == 0 {
            continue;
        }
        let q = (line.given.quantity + refunded).min(line.quantity);
        let (qi, n) = (i64::from(q), i64::from(line.quantity));
        let take = Given {
            quantity: q - line.given.quantity,
            amount_minor: line.amount_minor * qi / n - line.given.amount_minor,
            points: line.points * qi / n - line.given.points,
        };
        if take != Given::default() {
            takes.push((i, take));
        }
    }
    takes
}

/// Everything the lines have not given back yet (a cancellation or a refund in full).
fn rest_takes(account: &ModelOrder) -> Vec<Take> {
    account
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let take = Given {
                quantity: l.quantity - l.given.quantity,
                amount_minor: l.amount_minor - l.given.amount_minor,
                points: l.points - l.given.points,
            };
            (i, take)
        })
        .filter(|(_, take)| *take != Given::default())
        .collect()
}

// ------------------------------------------------------------------------------------------------
// The real system
// ------------------------------------------------------------------------------------------------

/// The points function behind the bus. Weak, so the bus (which the ledger service publishes on)
/// and the points function (which owns the ledger service) do not keep each other, and with them
/// the store and its threads, alive after the case.
struct PointsSubscriber(Weak<PointsService>);

#[async_trait]
impl Subscriber for PointsSubscriber {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        let Some(points) = self.0.upgrade() else { return Err("the points function is gone".into()) };
        points.handle_event(event).await.map(|_| ()).map_err(|e| cause_chain(&e))
    }
}

/// Where each case's database goes: memory-backed where the machine has it (`/dev/shm`), else the
/// temporary directory. Every commit fsyncs its WAL, which on a disk costs more than the rest of a
/// case; durability is the store conformance suite's subject, the rules are this test's.
fn scratch_dir() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

enum Backend {
    Sqlite,
    Dynamo(aws_sdk_dynamodb::Client),
}

struct System {
    shop: ShopConfig,
    customer: CustomerId,
    policy: Policy,
    clock: Arc<FixedClock>,
    store: Arc<dyn Store>,
    bus: Arc<InProcessBus>,
    ledger: Arc<LedgerService>,
    sweep: LedgerSweep,
    _points: Arc<PointsService>,
    // Last: the directory outlives the store that has it open.
    _dir: Option<tempfile::TempDir>,
}

impl System {
    async fn open(backend: &Backend, policy: Policy) -> Result<System, String> {
        let clock = Arc::new(FixedClock::new(start_time()));
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("ledger-oracle-")
                    .tempdir_in(scratch_dir())
                    .map_err(|e| format!("tempdir: {e}"))?;
                let store = SqliteStore::open(&dir.path().join("oracle.sqlite3"), clock.clone())
                    .map_err(|e| format!("opening SQLite: {}", cause_chain(&e)))?;
                System::wire(Arc::new(store), policy, clock, Some(dir))
            }
            Backend::Dynamo(client) => {
                let table = format!("stammkunde-oracle-{:016x}", rand::random::<u64>());
                create_table(client, &table).await.map_err(|e| format!("creating table {table}: {e:?}"))?;
                System::wire(Arc::new(DynamoStore::new(client.clone(), table)), policy, clock, None)
            }
        }
    }

    fn wire<S: Store + 'static>(
        store: Arc<S>,
        policy: Policy,
        clock: Arc<FixedClock>,
        dir: Option<tempfile::TempDir>,
    ) -> Result<System, String> {
        let shops = Arc::new(ShopDirectory::new(shop_config(policy)?));
        let shop = shops.by_id(&id(ShopId::parse, SHOP)?).cloned().ok_or("the oracle shop is not configured")?;
        let bus = Arc::new(InProcessBus::new());
        let ledger = Arc::new(LedgerService {
            ledger: store.clone(),
            timers: store.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
        });
        let points =
            Arc::new(PointsService { shops, ledger: ledger.clone(), customers: store.clone(), codes: store.clone() });
        bus.subscribe(Arc::new(PointsSubscriber(Arc::downgrade(&points))));
        let sweep = LedgerSweep {
            ledger: ledger.clone(),
            timers: store.clone(),
            customers: store.clone(),
            shops: store.clone(),
            clock: clock.clone(),
        };
        let customer = id(CustomerId::parse, CUSTOMER)?;
        Ok(System { shop, customer, policy, clock, store, bus, ledger, sweep, _points: points, _dir: dir })
    }

    async fn apply(&self, message: &Message) -> Result<Outcome, String> {
        match message {
            Message::Webhook { delivery_id, change } => self.deliver(delivery_id, change).await,
            Message::Review(fact) => self.request(|d| d.review(fact)).await,
            Message::Redeem(request) => self.request(|d| d.redeem(request)).await,
            Message::Adjust(request) => self.request(|d| d.adjust(request)).await,
            Message::Sweep => self.sweep().await,
            Message::Nothing => Ok(Outcome::Done),
        }
    }

    /// As the webhook function does it: a delivery seen before writes nothing and announces the
    /// stored state again; a new one is applied through the ingest port, then announced.
    async fn deliver(&self, delivery_id: &str, change: &Change) -> Result<Outcome, String> {
        let store_error = |e: stammkunde_domain::error::StoreError| format!("store: {}", cause_chain(&e));
        let ids = vec![id(DeliveryId::parse, delivery_id)?];
        let stored_orders = if self.store.delivery_seen(&self.shop.id, &ids).await.map_err(store_error)? {
            match change.order_id() {
                Some(order_id) => {
                    self.store.order(&self.shop.id, order_id).await.map_err(store_error)?.into_iter().collect()
                }
                None => Vec::new(),
            }
        } else {
            let now = stammkunde_domain::clock::Clock::now(self.clock.as_ref());
            let record = DeliveryRecord {
                shop: self.shop.id.clone(),
                ids,
                topic: "oracle".into(),
                received_at: now,
                expires_at: now + days(DELIVERY_RETENTION_DAYS),
            };
            let changes = std::slice::from_ref(change);
            self.store.apply_delivery(&record, changes).await.map_err(store_error)?.orders
        };
        let events: Vec<DomainEvent> = match change {
            Change::RecordOrder(_) => {
                stored_orders.into_iter().map(|order| DomainEvent::OrderRecorded { order }).collect()
            }
            Change::RecordRefund(refund) => vec![DomainEvent::RefundRecorded { refund: refund.clone() }],
            other => return Err(format!("the oracle sends no {other:?}")),
        };
        stammkunde_domain::ports::EventBus::publish(self.bus.as_ref(), &events)
            .await
            .map_err(|e| format!("publishing {events:?}: {}", cause_chain(&e)))?;
        Ok(Outcome::Done)
    }

    async fn request<F>(&self, decide: F) -> Result<Outcome, String>
    where
        F: FnMut(&mut Decision<'_>) -> Result<(), DecisionError> + Send,
    {
        match self.ledger.run(&self.shop, &self.customer, decide).await {
            Ok(_) => Ok(Outcome::Done),
            Err(LedgerError::Refused(refusal)) => Ok(Outcome::Refused(refusal)),
            Err(e) => Err(format!("ledger service: {}", cause_chain(&e))),
        }
    }

    async fn sweep(&self) -> Result<Outcome, String> {
        let report = self
            .sweep
            .sweep_shop(&self.shop, SWEEP_PAGES_MAX)
            .await
            .map_err(|e| format!("sweep: {}", cause_chain(&e)))?;
        if report.failed > 0 || report.more {
            return Err(format!("the sweep did not finish cleanly: {report:?}"));
        }
        Ok(Outcome::Done)
    }

    /// Reads the stored ledger, checks the invariants on it, and reports what it holds.
    async fn observe(&self, swept_at: Option<DateTime<Utc>>) -> Result<Observed, String> {
        let store_error = |e: stammkunde_domain::error::StoreError| format!("store: {}", cause_chain(&e));
        let entries = self.store.entries(&self.shop.id, &self.customer).await.map_err(store_error)?;
        let state = LedgerState::replay(&self.shop.id, &self.customer, &entries)
            .map_err(|v| format!("the stored ledger does not replay: {v}"))?;
        let sum = Balance::replay(&entries);
        let reported = self.store.customer(&self.shop.id, &self.customer).await.map_err(store_error)?;
        let reported = reported.map(|c| c.balance).unwrap_or_default();
        if state.balance() != sum || reported != sum {
            return Err(format!(
                "balances disagree: replayed {:?}, entries sum {sum:?}, store {reported:?}",
                state.balance()
            ));
        }
        if self.policy == Policy::Clamp && sum.available < 0 {
            return Err(format!("clamp left the available balance at {}", sum.available));
        }
        let timer = self.store.timer(&self.shop.id, &self.customer).await.map_err(store_error)?;
        let published = timer.as_ref().map_or(0, |t| t.ledger_len) as usize;
        if published != entries.len() {
            return Err(format!("{} entries but the timer says {published} were published", entries.len()));
        }
        let due = timer.and_then(|t| t.due);
        if let (Some(now), Some(due)) = (swept_at, due) {
            if due <= now {
                return Err(format!("after the sweep at {now} the ledger is still due at {due}"));
            }
        }
        Ok(Observed { due, ..observed(&entries, sum)? })
    }
}

/// Counts, reversals per line and shortfall straight from the entries, checking that no line gave
/// back more than it was credited.
fn observed(entries: &[LedgerEntry], balance: Balance) -> Result<Observed, String> {
    let mut seen = Observed { available: balance.available, pending: balance.pending, ..Observed::default() };
    let mut credited: BTreeMap<(String, String), Given> = BTreeMap::new();
    for entry in entries {
        *seen.kinds.entry(entry.kind.as_str().to_owned()).or_insert(0) += 1;
        let order = entry.order_id.as_ref().map(|o| o.as_str().to_owned()).unwrap_or_default();
        match &entry.detail {
            EntryDetail::Earn(basis) => {
                for line in &basis.lines {
                    let credit =
                        Given { quantity: line.quantity, amount_minor: line.amount_minor, points: line.points };
                    credited.insert((order.clone(), line.line_id.as_str().to_owned()), credit);
                }
            }
            EntryDetail::Reversal(reversal) => {
                seen.shortfall += reversal.shortfall;
                for line in &reversal.lines {
                    let given = seen.reversed.entry((order.clone(), line.line_id.as_str().to_owned())).or_default();
                    given.quantity += line.quantity;
                    given.amount_minor += line.amount_minor;
                    given.points += line.points;
                }
            }
            _ => {}
        }
    }
    for (line, given) in &seen.reversed {
        let credit = credited.get(line).copied().unwrap_or_default();
        if given.points > credit.points || given.quantity > credit.quantity || given.amount_minor > credit.amount_minor
        {
            return Err(format!("line {line:?} gave back {given:?} of its credit {credit:?}"));
        }
    }
    Ok(seen)
}

// ------------------------------------------------------------------------------------------------
// Running cases
// ------------------------------------------------------------------------------------------------

/// What the cases exercised, summed over all of them: shown with `--nocapture`, so a change that
/// made the generator stop reaching a rule is seen.
#[derive(Default)]
struct Coverage(std::sync::Mutex<Counts>);

#[derive(Debug, Default)]
struct Counts {
    cases: u64,
    steps: u64,
    entries: BTreeMap<String, u64>,
    refusals: BTreeMap<String, u64>,
    /// Cases that ended with a shortfall (`clamp`) or went below zero (`debt`).
    shortfall_cases: u64,
    debt_cases: u64,
    /// Refunds reversed only when their order arrived (or was paid).
    held_refunds: u64,
}

impl Coverage {
    fn add(&self, model: &Model, steps: usize, refusals: &[Refusal]) {
        let Ok(mut counts) = self.0.lock() else { return };
        counts.cases += 1;
        counts.steps += steps as u64;
        for (kind, n) in &model.kinds {
            *counts.entries.entry(kind.clone()).or_insert(0) += u64::from(*n);
        }
        for refusal in refusals {
            let name = format!("{refusal:?}");
            let name = name.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
            *counts.refusals.entry(name).or_insert(0) += 1;
        }
        counts.shortfall_cases += u64::from(model.shortfall > 0);
        counts.debt_cases += u64::from(model.went_below_zero);
        counts.held_refunds += u64::from(model.held_reversals);
    }
}

/// Closes each case's system on a thread of its own, one at a time: closing SQLite waits for its
/// checkpoint thread's next wake-up (up to 20 ms), which the next case need not wait for.
#[derive(Default)]
struct Closer(std::sync::Mutex<Option<std::thread::JoinHandle<()>>>);

impl Closer {
    fn close(&self, system: System) {
        let Ok(mut previous) = self.0.lock() else { return };
        if let Some(thread) = previous.take() {
            let _ = thread.join();
        }
        *previous = Some(std::thread::spawn(move || drop(system)));
    }

    fn finish(&self) {
        if let Some(thread) = self.0.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

async fn run_case(case: &Case, backend: &Backend, coverage: &Coverage, closer: &Closer) -> Result<(), String> {
    let system = System::open(backend, case.policy).await?;
    let result = run_steps(&system, case, coverage).await;
    closer.close(system);
    result
}

async fn run_steps(system: &System, case: &Case, coverage: &Coverage) -> Result<(), String> {
    let mut now = start_time();
    let mut model = Model::new(case.policy, now);
    let mut world = World::new(case.orders.clone());
    let mut refusals = Vec::new();
    for (number, step) in case.steps.iter().enumerate() {
        now += Duration::minutes(STEP_MINUTES);
        if let Step::Advance { days: n } = step {
            now += days(*n);
        }
        system.clock.set(now);
        let message = world.message(step, now)?;
        let expected = model.apply(&message, now);
        model.check().map_err(|e| format!("step {number} {step:?}: {e}"))?;
        let actual = system.apply(&message).await.map_err(|e| format!("step {number} {step:?}: {e}"))?;
        if expected != actual {
            return Err(format!(
                "step {number} {step:?}: model {expected:?}, system {actual:?}\n  message {message:?}"
            ));
        }
        if let Outcome::Refused(refusal) = actual {
            refusals.push(refusal);
        }
        let swept_at = matches!(message, Message::Sweep).then_some(now);
        let seen = system.observe(swept_at).await.map_err(|e| format!("step {number} {step:?}: {e}"))?;
        let wanted = model.observe();
        if seen != wanted {
            return Err(format!("step {number} {step:?} at {now}:\n  {}", differences(&wanted, &seen)));
        }
    }
    coverage.add(&model, case.steps.len(), &refusals);
    Ok(())
}

/// A case as a short listing: the policy, the orders' lines (product, units, cents) and the steps.
fn describe(case: &Case) -> String {
    let mut out = format!("  policy {:?}\n", case.policy);
    for (index, order) in case.orders.iter().enumerate() {
        let lines: Vec<String> = order
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{} p{} ×{} {}c", line_id_of(index, i), l.product, l.quantity, l.amount_minor))
            .collect();
        out.push_str(&format!("  {}: {}\n", order_id_of(index), lines.join(", ")));
    }
    for (number, step) in case.steps.iter().enumerate() {
        out.push_str(&format!("  step {number}: {step:?}\n"));
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("tokio runtime: {e}"))
}

fn run_cases(runtime: &tokio::runtime::Runtime, backend: &Backend, cases: u32, steps_max: usize, name: &str) {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let started = Instant::now();
    let (coverage, closer) = (Coverage::default(), Closer::default());
    let result = runner.run(&case_strategy(steps_max), |case| {
        runtime.block_on(run_case(&case, backend, &coverage, &closer)).map_err(TestCaseError::fail)
    });
    closer.finish();
    eprintln!("ledger oracle on {name}: {cases} cases of up to {steps_max} steps in {:.1?}", started.elapsed());
    if let Ok(counts) = coverage.0.lock() {
        eprintln!("  exercised: {counts:?}");
    }
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!("{name}: the system and the model disagree\n{reason}\nminimal case:\n{}", describe(&case))
        }
        Err(TestError::Abort(reason)) => panic!("{name}: aborted: {reason}"),
    }
}

#[test]
fn the_ledger_on_sqlite_agrees_with_a_plain_model_after_every_step() {
    run_cases(&runtime(), &Backend::Sqlite, SQLITE_CASES, SQLITE_STEPS_MAX, "SQLite");
}

/// Fails (never skips) without an endpoint: a CI that forgot moto must go red.
#[test]
fn the_ledger_on_dynamodb_agrees_with_a_plain_model_after_every_step() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        panic!(
            "AWS_ENDPOINT_URL is not set: this test runs against moto_server. Start it with \
             `python scripts/moto_server.py 127.0.0.1 5044` and export AWS_ENDPOINT_URL=http://127.0.0.1:5044 \
             AWS_REGION=eu-central-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
        );
    }
    // One runtime for the client and every case: the SDK's connections belong to the runtime.
    let runtime = runtime();
    let config = runtime.block_on(stammkunde_aws::load_sdk_config());
    let backend = Backend::Dynamo(aws_sdk_dynamodb::Client::new(&config));
    run_cases(&runtime, &backend, DYNAMO_CASES, DYNAMO_STEPS_MAX, "DynamoDB");
}
