//! Shopify `orders/paid` bodies made from the real fixture: a new order (order id, customer id and
//! line ids) per number `n`, in seven shapes from 3.7 KB (compact, only the fields the parser
//! reads plus a few) to 14.3 KB (the fixture as Shopify pretty-prints it, 14,652 bytes; KB = 1024
//! bytes throughout). Every shape earns
//! `shop::POINTS_PER_ORDER`; `OrderBodies::new` checks that through the product's own parser.
//!
//! Bodies are rendered from templates (the serialised shape cut at every id) so that making one
//! costs a few microseconds of the load generator's CPU, not a JSON serialisation.

use chrono::Utc;
use serde_json::{Map, Value};
use std::io::Write;

use stammkunde_domain::ingest::Change;
use stammkunde_domain::platforms::{shopify, ParseOutcome};

use crate::shop::{shop_config, POINTS_PER_ORDER, TOPIC};
use crate::BenchResult;

/// The fixture: a realistic paid order of 14.6 KB worth 251 points.
pub const ORDERS_PAID: &str = include_str!("../../fixtures/webhooks/shopify/orders_paid.json");

const FIXTURE_ORDER_ID: &str = "5912345678901";
const FIXTURE_CUSTOMER_ID: &str = "7654321098765";
const FIXTURE_LINE_IDS: [&str; LINES] = ["14011223344551", "14011223344552", "14011223344553", "14011223344554"];
const LINES: usize = 4;

/// Ids keep the fixture's digit counts, so every order of a shape has the same size.
const ORDER_ID_BASE: u64 = 5_900_000_000_000;
const CUSTOMER_ID_BASE: u64 = 7_600_000_000_000;
const LINE_ID_BASE: u64 = 14_000_000_000_000;

pub const BODY_BYTES_MIN: usize = 3 * 1024;
pub const BODY_BYTES_MAX: usize = 15 * 1024;

/// Top-level fields the smaller shapes drop: none of them is read by the parser.
const BULKY_FIELDS: [&str; 8] = [
    "fulfillments",
    "refunds",
    "shipping_address",
    "discount_applications",
    "payment_terms",
    "note_attributes",
    "shipping_lines",
    "tax_lines",
];
/// What the smallest shapes keep of the order and of each line.
const LEAN_ORDER_FIELDS: [&str; 20] = [
    "id",
    "currency",
    "financial_status",
    "cancelled_at",
    "updated_at",
    "processed_at",
    "created_at",
    "name",
    "order_number",
    "taxes_included",
    "line_items",
    "total_shipping_price_set",
    "discount_codes",
    "customer",
    "billing_address",
    "customer_locale",
    "email",
    "total_price",
    "subtotal_price",
    "total_tax",
];
const LEAN_LINE_FIELDS: [&str; 11] = [
    "id",
    "quantity",
    "price",
    "price_set",
    "gift_card",
    "discount_allocations",
    "tax_lines",
    "product_id",
    "title",
    "sku",
    "variant_id",
];
const TINY_LINE_FIELDS: [&str; 8] =
    ["id", "quantity", "price", "price_set", "gift_card", "discount_allocations", "tax_lines", "product_id"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Order,
    Customer,
    Line(usize),
}

#[derive(Debug)]
enum Piece {
    Text(Vec<u8>),
    Slot(Slot),
}

/// One body shape, cut at every id.
#[derive(Debug)]
struct Template {
    pieces: Vec<Piece>,
    bytes: usize,
}

/// The ids of order number `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderIds {
    pub order: u64,
    pub customer: u64,
    pub lines: [u64; LINES],
}

pub struct OrderBodies {
    templates: Vec<Template>,
    customers: u64,
}

impl OrderBodies {
    /// Builds the shapes and checks each through `shopify::parse` and the earn rule. Orders are
    /// spread over `customers` customers (order `n` belongs to customer `n % customers`).
    pub fn new(customers: u64) -> BenchResult<OrderBodies> {
        let fixture: Value = serde_json::from_str(ORDERS_PAID)?;
        let mid = without(&fixture, &BULKY_FIELDS);
        let lean = lean(&fixture, &LEAN_LINE_FIELDS);
        let tiny = lean_tiny(&fixture);
        let shapes = [
            serde_json::to_string(&tiny)?,
            serde_json::to_string(&lean)?,
            serde_json::to_string_pretty(&lean)?,
            serde_json::to_string(&mid)?,
            serde_json::to_string(&fixture)?,
            serde_json::to_string_pretty(&mid)?,
            ORDERS_PAID.trim_end().to_owned(),
        ];
        let templates = shapes.iter().map(|text| Template::cut(text)).collect::<BenchResult<Vec<_>>>()?;
        let bodies = OrderBodies { templates, customers: customers.max(1) };
        bodies.check()?;
        Ok(bodies)
    }

    pub fn ids(&self, n: u64) -> OrderIds {
        let line = |k: u64| LINE_ID_BASE + n * LINES as u64 + k;
        OrderIds {
            order: ORDER_ID_BASE + n,
            customer: CUSTOMER_ID_BASE + n % self.customers,
            lines: [line(0), line(1), line(2), line(3)],
        }
    }

    /// How many customers the orders are spread over.
    pub fn customers(&self) -> u64 {
        self.customers
    }

    /// The body of order number `n`: the same `n` always gives the same bytes (so a duplicate
    /// delivery is byte-identical and carries the same signature).
    pub fn body(&self, n: u64) -> Vec<u8> {
        let template = &self.templates[(n % self.templates.len() as u64) as usize];
        let ids = self.ids(n);
        let mut out = Vec::with_capacity(template.bytes);
        for piece in &template.pieces {
            // Writing into a Vec cannot fail.
            let _ = match piece {
                Piece::Text(text) => out.write_all(text),
                Piece::Slot(Slot::Order) => write!(out, "{}", ids.order),
                Piece::Slot(Slot::Customer) => write!(out, "{}", ids.customer),
                Piece::Slot(Slot::Line(k)) => write!(out, "{}", ids.lines[*k]),
            };
        }
        out
    }

    /// Smallest, mean and largest body in bytes over the shapes (each used equally often).
    pub fn sizes(&self) -> (usize, usize, usize) {
        let sizes: Vec<usize> = (0..self.templates.len() as u64).map(|n| self.body(n).len()).collect();
        let min = sizes.iter().copied().min().unwrap_or(0);
        let max = sizes.iter().copied().max().unwrap_or(0);
        (min, sizes.iter().sum::<usize>() / sizes.len().max(1), max)
    }

    /// Every shape is 3–15 KB, parses, names the ids it was given and earns `POINTS_PER_ORDER`.
    fn check(&self) -> BenchResult<()> {
        let shop = shop_config()?;
        for n in 0..self.templates.len() as u64 {
            let body = self.body(n);
            if !(BODY_BYTES_MIN..=BODY_BYTES_MAX).contains(&body.len()) {
                return Err(format!("body shape {n} is {} bytes, outside 3–15 KB", body.len()).into());
            }
            let ParseOutcome::Changes(changes) = shopify::parse(TOPIC, &body, &shop, "check", Utc::now())? else {
                return Err(format!("body shape {n} was ignored by the parser").into());
            };
            let order = changes.iter().find_map(|c| match c {
                Change::RecordOrder(order) => Some(order),
                _ => None,
            });
            let ids = self.ids(n);
            let order = order.ok_or_else(|| format!("body shape {n} has no order"))?;
            let points: i64 = shop.earn.earn(order).map(|b| b.lines.iter().map(|l| l.points).sum()).unwrap_or(0);
            let customer = order.customer_id.as_ref().map(|c| c.as_str().to_owned());
            if points != POINTS_PER_ORDER
                || order.order_id.as_str() != ids.order.to_string()
                || customer != Some(ids.customer.to_string())
                || order.lines.first().map(|l| l.line_id.as_str().to_owned()) != Some(ids.lines[0].to_string())
            {
                return Err(format!("body shape {n} earns {points} points or lost its ids").into());
            }
        }
        Ok(())
    }
}

impl Template {
    /// Cuts `text` at every whole-number occurrence of a fixture id.
    fn cut(text: &str) -> BenchResult<Template> {
        let sentinels: Vec<(&str, Slot)> = [(FIXTURE_ORDER_ID, Slot::Order), (FIXTURE_CUSTOMER_ID, Slot::Customer)]
            .into_iter()
            .chain(FIXTURE_LINE_IDS.iter().enumerate().map(|(k, id)| (*id, Slot::Line(k))))
            .collect();
        let bytes = text.as_bytes();
        let (mut pieces, mut literal, mut at) = (Vec::new(), Vec::new(), 0);
        let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
        while at < bytes.len() {
            let whole = |id: &str| {
                bytes[at..].starts_with(id.as_bytes()) && (at == 0 || !digit_at(at - 1)) && !digit_at(at + id.len())
            };
            match sentinels.iter().find(|(id, _)| whole(id)) {
                Some((id, slot)) => {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    pieces.push(Piece::Slot(*slot));
                    at += id.len();
                }
                None => {
                    literal.push(bytes[at]);
                    at += 1;
                }
            }
        }
        pieces.push(Piece::Text(literal));
        if !pieces.iter().any(|p| matches!(p, Piece::Slot(Slot::Order))) {
            return Err("a body shape lost the order id".into());
        }
        Ok(Template { pieces, bytes: text.len() })
    }
}

fn without(order: &Value, fields: &[&str]) -> Value {
    match order {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(k, _)| !fields.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        other => other.clone(),
    }
}

fn only(value: &Value, fields: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| fields.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// The order's parsed fields, each line keeping `line_fields`.
fn lean(order: &Value, line_fields: &[&str]) -> Value {
    let mut lean = only(order, &LEAN_ORDER_FIELDS);
    if let Some(Value::Array(lines)) = lean.get_mut("line_items") {
        for line in lines.iter_mut() {
            *line = only(line, line_fields);
        }
    }
    lean
}

/// `lean` with the bare minimum per line and no presentment currency amounts.
fn lean_tiny(order: &Value) -> Value {
    let mut tiny = lean(order, &TINY_LINE_FIELDS);
    if let Some(Value::Array(lines)) = tiny.get_mut("line_items") {
        for line in lines.iter_mut() {
            if let Some(Value::Object(set)) = line.get_mut("price_set") {
                set.remove("presentment_money");
            }
        }
    }
    tiny
}
