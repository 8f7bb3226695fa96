//! A ledger kept in memory for the decision tests: replay, decide at a time, append. The stores
//! do the same through their ports; here the rules are tested without any I/O.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};

use stammkunde_domain::config::{AppConfig, ShopConfig};
use stammkunde_domain::ids::{CustomerId, LineId, OrderId, RefundId, ShopId};
use stammkunde_domain::ledger::schedule::next_due;
use stammkunde_domain::ledger::{Balance, Decision, DecisionError, EntryKind, LedgerEntry, LedgerState};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::refund::{Refund, RefundLine};

/// A shop with the defaults plus `extra` TOML lines (sections like `[shops.hold]`).
pub fn shop(extra: &str) -> ShopConfig {
    let toml = format!(
        r#"
        [[shops]]
        id = "shop"
        platform = "shopify"
        domain = "shop.myshopify.com"
        webhook_secret = "0123456789abcdef"
        api_key = "fedcba9876543210"
        currency = "EUR"
        time_zone = "Europe/Berlin"
        locale = "de"
        {extra}
    "#
    );
    let config = AppConfig::from_toml(&toml).unwrap_or_else(|e| panic!("{e}"));
    config.shops.into_iter().next().unwrap_or_else(|| panic!("one shop"))
}

/// Day `d` of 2026 at 10:00 UTC (day 1 is 1 January), plus `hours`.
pub fn day(d: i64) -> DateTime<Utc> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).single().unwrap_or_default();
    start + Duration::days(d - 1)
}

pub fn customer() -> CustomerId {
    CustomerId::parse("c1").unwrap_or_else(|e| panic!("{e}"))
}

pub fn order_id(raw: &str) -> OrderId {
    OrderId::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

/// A paid order of net lines `(line id, product, quantity, amount in cents)`, prices without tax.
pub fn order(id: &str, lines: &[(&str, &str, u32, i64)], paid_at: DateTime<Utc>) -> Order {
    Order {
        shop: ShopId::parse("shop").unwrap_or_else(|e| panic!("{e}")),
        platform: Platform::Shopify,
        order_id: order_id(id),
        order_number: Some(format!("#{id}")),
        customer_id: Some(customer()),
        currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
        taxes_included: false,
        lines: lines
            .iter()
            .map(|(line, product, quantity, amount)| OrderLine {
                line_id: LineId::parse(line).unwrap_or_else(|e| panic!("{e}")),
                product_id: Some((*product).to_owned()),
                quantity: *quantity,
                amount_minor: *amount,
                tax_minor: amount * 19 / 100,
            })
            .collect(),
        shipping_minor: 495,
        payment: PaymentState::Paid,
        cancelled: false,
        discount_codes: vec![],
        placed_at: paid_at,
        version: OrderVersion::of(paid_at, PaymentState::Paid, false),
        paid_at: Some(paid_at),
        fulfilled_at: None,
        total_minor: None,
    }
}

/// A refund of `(line id, quantity)`.
pub fn refund(order: &str, id: &str, lines: &[(&str, u32)], at: DateTime<Utc>) -> Refund {
    Refund {
        shop: ShopId::parse("shop").unwrap_or_else(|e| panic!("{e}")),
        order_id: order_id(order),
        refund_id: RefundId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        created_at: at,
        lines: lines
            .iter()
            .map(|(line, quantity)| RefundLine {
                line_id: LineId::parse(line).unwrap_or_else(|e| panic!("{e}")),
                quantity: *quantity,
            })
            .collect(),
        amount_minor: None,
    }
}

pub struct Book {
    pub shop: ShopConfig,
    pub entries: Vec<LedgerEntry>,
}

impl Book {
    pub fn new(shop: ShopConfig) -> Self {
        Book { shop, entries: Vec::new() }
    }

    pub fn state(&self) -> LedgerState {
        LedgerState::replay(&self.shop.id, &customer(), &self.entries).unwrap_or_else(|v| panic!("{v}"))
    }

    /// Decides at `now` and appends; returns the kinds appended.
    pub fn try_at(
        &mut self,
        now: DateTime<Utc>,
        decide: impl FnOnce(&mut Decision<'_>) -> Result<(), DecisionError>,
    ) -> Result<Vec<EntryKind>, DecisionError> {
        let mut decision = Decision::new(&self.shop, self.state(), now);
        decide(&mut decision)?;
        let decided = decision.finish()?;
        let kinds = decided.entries.iter().map(|e| e.kind).collect();
        self.entries.extend(decided.entries);
        // Every appended ledger must replay: the invariants hold after each step.
        let _ = self.state();
        Ok(kinds)
    }

    pub fn at(
        &mut self,
        now: DateTime<Utc>,
        decide: impl FnOnce(&mut Decision<'_>) -> Result<(), DecisionError>,
    ) -> Vec<EntryKind> {
        self.try_at(now, decide).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn reconcile(&mut self, now: DateTime<Utc>, order: &Order, refunds: &[Refund]) -> Vec<EntryKind> {
        self.at(now, |d| Ok(d.reconcile_order(order, refunds)?))
    }

    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<EntryKind> {
        self.at(now, |d| Ok(d.tick()?))
    }

    pub fn balance(&self) -> Balance {
        self.state().balance()
    }

    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        next_due(&self.state(), &self.shop, now)
    }

    pub fn last(&self) -> &LedgerEntry {
        self.entries.last().unwrap_or_else(|| panic!("an entry"))
    }

    pub fn of_kind(&self, kind: EntryKind) -> Vec<&LedgerEntry> {
        self.entries.iter().filter(|e| e.kind == kind).collect()
    }
}
