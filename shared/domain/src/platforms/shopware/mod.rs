//! Shopware 6 app webhooks.
//!
//! Every body is an envelope
//! `{"data":{"payload":{..},"event":".."},"source":{"url","appVersion","shopId","eventId"},"timestamp":unix_secs}`.
//! Business events put their entities into `data.payload` as Store-API JSON
//! (`BusinessEventEncoder` encodes each key of the event's `getAvailableData()`):
//!
//! * `checkout.order.placed`: `{"order": <order>}` (`CheckoutOrderPlacedEvent`).
//! * `state_enter.order_transaction.state.<state>`, `state_enter.order_delivery.state.<state>` and
//!   `state_enter.order.state.<state>`: `{"order": <order>}` as well.
//!   `OrderStateChangeEventListener::onOrderTransactionStateChange` (and
//!   `onOrderDeliveryStateChange`) looks up the transaction's (delivery's) order after the
//!   transition and dispatches an `OrderStateMachineStateChangeEvent`, whose only available data
//!   is `order`; there is no `orderTransaction` or `orderDelivery` key. The order is loaded with
//!   `orderCustomer.customer`, `transactions`, `deliveries` (each with its `stateMachineState`,
//!   which Shopware always loads), `lineItems`, `currency`, `language.locale`,
//!   `addresses.country` and `stateMachineState`.
//! * `checkout.customer.register` and the other customer events: `{"customer": <customer>}`.
//! * `customer.written` / `customer.deleted` entity events carry only ids and changed field names
//!   (`entity_events`); other entities' events are ignored.
//!
//! (Sources: shopware/shopware `src/Core/Checkout/Order/Listener/OrderStateChangeEventListener.php`,
//! `src/Core/Checkout/Order/Event/OrderStateMachineStateChangeEvent.php`,
//! `src/Core/Framework/Webhook/BusinessEventEncoder.php`,
//! `src/Core/Checkout/Customer/Event/CustomerRegisterEvent.php`, `CustomerDeletedEvent.php`.)
//!
//! All amounts are JSON floats; they are read from their exact text (`money::minor_from_json`).
//!
//! Versions and times. A transition writes the transaction or the delivery, not the order, so an
//! order's version is the newest `updatedAt` of the order, its transactions and its deliveries;
//! never the envelope's `timestamp`, which is when Shopware *sent* the event and is set again on
//! every retry. `paid_at` and `fulfilled_at` are only times, not versions: they come from the
//! payload (the paid transaction's, the shipped deliveries' `updatedAt`), and only where the
//! event says the transition happened but the payload cannot say when does the send time stand in.
//!
//! Refunds. The transaction's `refunded` and `refunded_partially` events carry the order, never a
//! refund with lines or an amount: they become the order change (`Parsed::FetchRefunds`), which the
//! handler completes with the refunds Shopware's refund handling recorded, read from the shop's
//! Admin API (`refunds`).

mod entity_events;
mod refunds;

pub use entity_events::{customer_search, fetched_customers, CUSTOMER_SEARCH_LIMIT};
pub use refunds::{fetched_refunds, refund_search, RefundLookup, REFUND_ENTITY, REFUND_SEARCH_LIMIT};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::Value;

use super::{
    add_minor, allocate_proportionally, array, bounded_minor, country_code, email, expect_object, get, get_path,
    invalid, locale, opt_bool, opt_rfc3339, opt_str, parse_json, product_id_text, quantity, req_str, shown,
    ParseOutcome,
};
use crate::config::ShopConfig;
use crate::customer::{clean_text, Birthday, CustomerProfile};
use crate::error::InputError;
use crate::ids::{CustomerId, DeliveryId, LineId, OrderId};
use crate::ingest::Change;
use crate::money::{minor_from_json, minor_or_zero, Currency};
use crate::order::{Order, OrderLine, OrderVersion, PaymentState, Platform, ORDER_LINES_MAX};

/// Most entries read from an order's transactions or a line's calculated taxes.
const SUB_LIST_MAX: usize = 100;

/// Longest event name or shop id we accept; real ones are a few dozen characters.
const NAME_LENGTH_MAX: usize = 128;

/// Longest shop URL we keep.
const URL_LENGTH_MAX: usize = 2_048;

const TRANSACTION_EVENT_PREFIX: &str = "state_enter.order_transaction.state.";

const DELIVERY_EVENT_PREFIX: &str = "state_enter.order_delivery.state.";

/// Customer business events whose payload is `{"customer": <customer>}` and that mean "this is
/// the customer now". Guest registrations count: Shopware guests have a customer id.
const CUSTOMER_EVENTS: [&str; 5] = [
    "checkout.customer.register",
    "checkout.customer.guest_register",
    "checkout.customer.double_opt_in_registration",
    "checkout.customer.login",
    "checkout.customer.changed-payment-method",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub event: String,
    pub shopware_shop_id: String,
    pub shop_url: Option<String>,
    pub event_id: Option<DeliveryId>,
    pub timestamp: DateTime<Utc>,
    pub payload: serde_json::Value,
}

/// Reads the envelope {"data":{"payload":{..},"event":".."},"source":{"url","appVersion","shopId","eventId"},"timestamp":unix_secs}. Missing data/event/source.shopId/timestamp → InputError.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, InputError> {
    let mut json = parse_json(body)?;
    expect_object(&json, "body")?;
    let data = get(&json, "data").ok_or(InputError::Missing("data"))?;
    expect_object(data, "data")?;
    let event = name("data.event", req_str(data, "event", "data.event")?, |c| c == '.' || c == '_' || c == '-')?;
    let source = get(&json, "source").ok_or(InputError::Missing("source.shopId"))?;
    expect_object(source, "source")?;
    let shopware_shop_id =
        name("source.shopId", req_str(source, "shopId", "source.shopId")?, |c| c == '_' || c == '-')?;
    let shop_url = opt_str(source, "url", "source.url")?.map(shop_url).transpose()?;
    let event_id = opt_str(source, "eventId", "source.eventId")?.map(DeliveryId::parse).transpose()?;
    let timestamp = timestamp(&json)?;
    // Moved out, not cloned: an order payload is tens of kilobytes.
    let payload = json.get_mut("data").and_then(|d| d.get_mut("payload")).map(Value::take).unwrap_or(Value::Null);
    Ok(Envelope { event, shopware_shop_id, shop_url, event_id, timestamp, payload })
}

/// An event name or shop id: ASCII letters, digits and the given punctuation, bounded in length,
/// so it is safe in logs, keys and reasons.
fn name(field: &'static str, raw: &str, punctuation: fn(char) -> bool) -> Result<String, InputError> {
    if raw.len() > NAME_LENGTH_MAX {
        return Err(InputError::Invalid { field, reason: format!("is longer than {NAME_LENGTH_MAX} bytes") });
    }
    if !raw.chars().all(|c| c.is_ascii_alphanumeric() || punctuation(c)) {
        return Err(invalid(field, "contains unexpected characters"));
    }
    Ok(raw.to_owned())
}

fn shop_url(raw: &str) -> Result<String, InputError> {
    let url = raw.trim();
    if url.len() > URL_LENGTH_MAX || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("source.url", "is not a plausible URL"));
    }
    Ok(url.to_owned())
}

/// `timestamp`: unix seconds as a JSON integer.
fn timestamp(json: &Value) -> Result<DateTime<Utc>, InputError> {
    let field = "timestamp";
    match get(json, "timestamp") {
        None => Err(InputError::Missing(field)),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .ok_or_else(|| invalid(field, "is not a unix time in seconds")),
        Some(_) => Err(invalid(field, "is not a number")),
    }
}

/// What an event says about the payment, which wins over the states inside the payload (the
/// event is the transition that just happened).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventState {
    /// `checkout.order.placed`: the payload is all we know.
    FromPayload,
    /// A transaction entered this state.
    Payment(PaymentState),
    /// A transaction was cancelled.
    TransactionCancelled,
    /// The order itself was cancelled.
    OrderCancelled,
    /// A delivery entered `shipped` (in full) or `shipped_partially`. The payment is as the
    /// payload shows it.
    Delivery { shipped_in_full: bool },
}

/// What a Shopware event means. Most events carry their entities; customer entity events only
/// name the customers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Ready(ParseOutcome),
    /// Customers to read from the shop's Admin API (`customer_search`), whose answer
    /// `fetched_customers` turns into changes.
    FetchCustomers(Vec<CustomerId>),
    /// A refund event's order change, to be stored with the order's refunds read from the shop's
    /// Admin API (`refund_search`), whose answer `fetched_refunds` turns into `RecordRefund`s.
    FetchRefunds {
        changes: Vec<Change>,
        lookup: RefundLookup,
    },
}

pub fn parse(envelope: &Envelope, shop: &ShopConfig, received_at: DateTime<Utc>) -> Result<Parsed, InputError> {
    if envelope.event == "customer.written" {
        return entity_events::customer_written(envelope);
    }
    let outcome = parse_ready(envelope, shop, received_at)?;
    if refunds::REFUND_EVENTS.contains(&envelope.event.as_str()) {
        return Ok(refunds::with_refunds(outcome));
    }
    Ok(Parsed::Ready(outcome))
}

fn parse_ready(envelope: &Envelope, shop: &ShopConfig, received_at: DateTime<Utc>) -> Result<ParseOutcome, InputError> {
    if shop.platform != Platform::Shopware {
        return Err(invalid("shop", "is not a Shopware shop"));
    }
    let event = envelope.event.as_str();
    let order_event = |state| order_changes(envelope, shop, state).map(ParseOutcome::Changes);
    match event {
        "checkout.order.placed" => order_event(EventState::FromPayload),
        "state_enter.order.state.cancelled" => order_event(EventState::OrderCancelled),
        "checkout.customer.deleted" => {
            let customer = payload_entity(envelope, "customer", "data.payload.customer")?;
            let customer_id = CustomerId::parse(req_str(customer, "id", "customer.id")?)?;
            Ok(ParseOutcome::Changes(vec![Change::DeleteCustomer {
                shop: shop.id.clone(),
                customer_id,
                at: received_at,
            }]))
        }
        "customer.deleted" => entity_events::customer_deleted(envelope, shop, received_at),
        _ if CUSTOMER_EVENTS.contains(&event) => {
            let profile = customer_profile(payload_entity(envelope, "customer", "data.payload.customer")?, shop)?;
            Ok(ParseOutcome::Changes(vec![Change::UpsertCustomer(profile)]))
        }
        _ => state_event(envelope, shop, event),
    }
}

/// A transaction's or a delivery's state event: the order as it is after the transition, read
/// with what the transition says.
fn state_event(envelope: &Envelope, shop: &ShopConfig, event: &str) -> Result<ParseOutcome, InputError> {
    let order_event = |state| order_changes(envelope, shop, state).map(ParseOutcome::Changes);
    if let Some(state) = event.strip_prefix(TRANSACTION_EVENT_PREFIX) {
        return match state {
            "paid" => order_event(EventState::Payment(PaymentState::Paid)),
            "refunded" => order_event(EventState::Payment(PaymentState::Refunded)),
            "refunded_partially" => order_event(EventState::Payment(PaymentState::PartiallyRefunded)),
            "cancelled" => order_event(EventState::TransactionCancelled),
            other => Ok(ParseOutcome::Ignored { reason: format!("payment state `{}` is not acted on", shown(other)) }),
        };
    }
    match event.strip_prefix(DELIVERY_EVENT_PREFIX) {
        Some("shipped") => order_event(EventState::Delivery { shipped_in_full: true }),
        Some("shipped_partially") => order_event(EventState::Delivery { shipped_in_full: false }),
        Some(other) => {
            Ok(ParseOutcome::Ignored { reason: format!("delivery state `{}` is not acted on", shown(other)) })
        }
        None => Ok(ParseOutcome::Ignored { reason: ignore_reason(event) }),
    }
}

fn ignore_reason(event: &str) -> String {
    let shown = shown(event);
    if event.ends_with(".written") || event.ends_with(".deleted") {
        format!("entity event `{shown}` is not acted on (only `customer.written` and `customer.deleted` are)")
    } else {
        format!("event `{shown}` is not handled")
    }
}

/// `data.payload.<key>`, which must be an object.
fn payload_entity<'a>(envelope: &'a Envelope, key: &str, field: &'static str) -> Result<&'a Value, InputError> {
    let entity = get(&envelope.payload, key).ok_or(InputError::Missing(field))?;
    expect_object(entity, field)?;
    Ok(entity)
}

/// `[UpsertCustomer, RecordOrder]`, or `[RecordOrder]` when the order has no customer id (the
/// customer was deleted since). Guest orders do have one and count as customers.
fn order_changes(envelope: &Envelope, shop: &ShopConfig, state: EventState) -> Result<Vec<Change>, InputError> {
    let entity = payload_entity(envelope, "order", "data.payload.order")?;
    let profile = order_customer(entity, shop)?;
    let event = Event { state, sent_at: envelope.timestamp };
    let order = order(entity, shop, event, profile.as_ref().map(|p| p.customer_id.clone()))?;
    let mut changes = Vec::with_capacity(2);
    if let Some(profile) = profile {
        changes.push(Change::UpsertCustomer(profile));
    }
    changes.push(Change::RecordOrder(order));
    Ok(changes)
}

/// What the event tells about the order besides its payload.
#[derive(Clone, Copy, Debug)]
struct Event {
    state: EventState,
    /// The envelope's `timestamp`: when Shopware sent this delivery (see the module documentation).
    sent_at: DateTime<Utc>,
}

fn order(
    entity: &Value,
    shop: &ShopConfig,
    event: Event,
    customer_id: Option<CustomerId>,
) -> Result<Order, InputError> {
    let order_id = OrderId::parse(req_str(entity, "id", "order.id")?)?;
    let currency = match get_path(entity, &["currency", "isoCode"]) {
        Some(Value::String(code)) => Currency::parse(code)?,
        Some(_) => return Err(invalid("order.currency.isoCode", "is not a string")),
        None => shop.currency,
    };
    let transactions = array(entity, "transactions", "order.transactions", SUB_LIST_MAX)?;
    let deliveries = array(entity, "deliveries", "order.deliveries", SUB_LIST_MAX)?;
    let (payment, cancelled) = payment_and_cancellation(entity, transactions, event.state)?;
    let (lines, discount_codes) = lines(entity, currency)?;
    // The envelope's `timestamp` is when Shopware *sent* this (it is set again on every retry), not
    // when the order changed, so it must never version the order: an order never updated (as in
    // checkout.order.placed) is versioned by when it was placed.
    let placed_at = placed_at(entity)?;
    let updated_at = latest_update(entity, transactions, deliveries)?.unwrap_or(placed_at);
    Ok(Order {
        shop: shop.id.clone(),
        platform: Platform::Shopware,
        order_id,
        order_number: clean_text(opt_str(entity, "orderNumber", "order.orderNumber")?),
        customer_id,
        currency,
        taxes_included: tax_status(entity)? == "gross",
        lines,
        shipping_minor: shipping_minor(entity, currency)?,
        payment,
        cancelled,
        discount_codes,
        placed_at,
        version: OrderVersion::of(updated_at, payment, cancelled),
        paid_at: paid_at(transactions, event)?,
        fulfilled_at: fulfilled_at(deliveries, event)?,
        total_minor: total_minor(entity, currency)?,
    })
}

/// `amountTotal` (goods, shipping and tax), else `price.totalPrice`, from which Shopware copies it.
fn total_minor(entity: &Value, currency: Currency) -> Result<Option<i64>, InputError> {
    if let Some(total) = get(entity, "amountTotal") {
        return minor_from_json("order.amountTotal", total, currency).map(Some);
    }
    get_path(entity, &["price", "totalPrice"])
        .map(|total| minor_from_json("order.price.totalPrice", total, currency))
        .transpose()
}

/// When the order was paid: the newest transaction's `updatedAt` while it is `paid` (the
/// transition to `paid` wrote it; `createdAt` for a transaction created paid). On the `paid`
/// event a payload that does not show it paid yet falls back to the send time.
fn paid_at(transactions: &[Value], event: Event) -> Result<Option<DateTime<Utc>>, InputError> {
    let from_payload = match newest_transaction(transactions)? {
        Some((transaction, "paid")) => match opt_rfc3339(transaction, "updatedAt", "order.transactions[].updatedAt")? {
            Some(at) => Some(at),
            None => opt_rfc3339(transaction, "createdAt", "order.transactions[].createdAt")?,
        },
        _ => None,
    };
    Ok(match event.state {
        EventState::Payment(PaymentState::Paid) => from_payload.or(Some(event.sent_at)),
        _ => from_payload,
    })
}

/// Where an order's deliveries stand.
enum Shipping {
    /// The payload lists no deliveries.
    NoDeliveries,
    /// A delivery that is not cancelled is not `shipped`: open, partly shipped or returned.
    NotInFull,
    /// Every delivery that is not cancelled is `shipped`, the last of them at this `updatedAt`
    /// (which the transition to `shipped` wrote), if the payload has it.
    InFull(Option<DateTime<Utc>>),
}

fn shipping(deliveries: &[Value]) -> Result<Shipping, InputError> {
    if deliveries.is_empty() {
        return Ok(Shipping::NoDeliveries);
    }
    let (mut shipped, mut shipped_at) = (false, None);
    for delivery in deliveries {
        match state_name(delivery, "order.deliveries[].stateMachineState")? {
            Some("cancelled") => {}
            Some("shipped") => {
                shipped = true;
                shipped_at = shipped_at.max(opt_rfc3339(delivery, "updatedAt", "order.deliveries[].updatedAt")?);
            }
            _ => return Ok(Shipping::NotInFull),
        }
    }
    Ok(if shipped { Shipping::InFull(shipped_at) } else { Shipping::NotInFull })
}

/// When the goods were shipped in full (the return window runs from here). On the `shipped`
/// event a payload that cannot say when (no deliveries, or no time on them) falls back to the
/// send time; `shipped_partially` is not fulfilment, whatever the payload shows.
fn fulfilled_at(deliveries: &[Value], event: Event) -> Result<Option<DateTime<Utc>>, InputError> {
    let on_shipped_event = event.state == EventState::Delivery { shipped_in_full: true };
    Ok(match (event.state, shipping(deliveries)?) {
        (EventState::Delivery { shipped_in_full: false }, _) => None,
        (_, Shipping::InFull(Some(at))) => Some(at),
        (_, Shipping::InFull(None) | Shipping::NoDeliveries) if on_shipped_event => Some(event.sent_at),
        _ => None,
    })
}

fn placed_at(entity: &Value) -> Result<DateTime<Utc>, InputError> {
    match opt_rfc3339(entity, "orderDateTime", "order.orderDateTime")? {
        Some(at) => Ok(at),
        None => opt_rfc3339(entity, "createdAt", "order.createdAt")?.ok_or(InputError::Missing("order.orderDateTime")),
    }
}

/// The newest `updatedAt` of the order and of its transactions and deliveries: a payment or
/// delivery transition changes the transaction or the delivery, not the order, so the order's
/// own stamp alone would not move. `None` when none was ever updated; the caller then takes the
/// time the order was placed.
fn latest_update(
    entity: &Value,
    transactions: &[Value],
    deliveries: &[Value],
) -> Result<Option<DateTime<Utc>>, InputError> {
    let mut latest = opt_rfc3339(entity, "updatedAt", "order.updatedAt")?;
    let children = [(transactions, "order.transactions[].updatedAt"), (deliveries, "order.deliveries[].updatedAt")];
    for (entities, field) in children {
        for child in entities {
            latest = latest.max(opt_rfc3339(child, "updatedAt", field)?);
        }
    }
    Ok(latest)
}

/// `price.taxStatus` (`gross`, `net` or `tax-free`), else the order's own `taxStatus`.
fn tax_status(entity: &Value) -> Result<&str, InputError> {
    if let Some(price) = get(entity, "price") {
        if let Some(status) = opt_str(price, "taxStatus", "order.price.taxStatus")? {
            return Ok(status);
        }
    }
    opt_str(entity, "taxStatus", "order.taxStatus")?.ok_or(InputError::Missing("order.price.taxStatus"))
}

fn shipping_minor(entity: &Value, currency: Currency) -> Result<i64, InputError> {
    match get_path(entity, &["shippingCosts", "totalPrice"]) {
        Some(total) => minor_from_json("order.shippingCosts.totalPrice", total, currency),
        None => minor_or_zero("order.shippingTotal", get(entity, "shippingTotal"), currency),
    }
}

/// The payment state and cancellation, the event's word first:
///
/// * `paid`, `refunded`, `refunded_partially`: that state.
/// * transaction `cancelled`: if the order's newest transaction is the cancelled (or failed) one,
///   the order was never paid: `Voided` and cancelled. If a newer transaction exists (the buyer
///   switched payment method, which cancels the old transaction), the order lives on with the
///   newer transaction's state.
/// * order `cancelled`: cancelled, with the payment as the transactions show it.
/// * order placed, delivery shipped: from the newest transaction; cancelled if the order's state
///   says so.
fn payment_and_cancellation(
    entity: &Value,
    transactions: &[Value],
    state: EventState,
) -> Result<(PaymentState, bool), InputError> {
    let order_state = get_path(entity, &["stateMachineState", "technicalName"]).and_then(Value::as_str);
    let order_cancelled = order_state == Some("cancelled");
    let newest = newest_transaction_state(transactions)?;
    let from_payload = newest.map(transaction_payment).unwrap_or(PaymentState::Pending);
    Ok(match state {
        EventState::FromPayload | EventState::Delivery { .. } => (from_payload, order_cancelled),
        EventState::Payment(payment) => (payment, order_cancelled),
        EventState::OrderCancelled => (from_payload, true),
        EventState::TransactionCancelled => match newest {
            None | Some("cancelled") | Some("failed") => (PaymentState::Voided, true),
            Some(_) => (from_payload, order_cancelled),
        },
    })
}

/// The technical state name of the most recently created transaction (Shopware adds a
/// transaction when the buyer retries or changes the payment method; the newest one counts).
fn newest_transaction_state(transactions: &[Value]) -> Result<Option<&str>, InputError> {
    Ok(newest_transaction(transactions)?.map(|(_, state)| state))
}

/// The most recently created transaction that has a state, with that state's technical name.
fn newest_transaction(transactions: &[Value]) -> Result<Option<(&Value, &str)>, InputError> {
    let mut newest: Option<(Option<DateTime<Utc>>, &Value, &str)> = None;
    for transaction in transactions {
        let created_at = opt_rfc3339(transaction, "createdAt", "order.transactions[].createdAt")?;
        let Some(state) = state_name(transaction, "order.transactions[].stateMachineState")? else { continue };
        // Later entries win ties, as Shopware lists transactions in creation order.
        if newest.is_none_or(|(seen, _, _)| created_at >= seen) {
            newest = Some((created_at, transaction, state));
        }
    }
    Ok(newest.map(|(_, transaction, state)| (transaction, state)))
}

/// `stateMachineState.technicalName` of an order's transaction or delivery, if loaded.
fn state_name<'a>(entity: &'a Value, field: &'static str) -> Result<Option<&'a str>, InputError> {
    match get_path(entity, &["stateMachineState", "technicalName"]) {
        None => Ok(None),
        Some(name) => name.as_str().map(Some).ok_or_else(|| invalid(field, "is not a string")),
    }
}

/// A transaction state (Shopware's `order_transaction` state machine) as our payment state.
/// `paid_partially` is not paid in full, so it waits like Shopify's `partially_paid`;
/// `chargeback` means the money went back, like a refund.
fn transaction_payment(state: &str) -> PaymentState {
    match state {
        "paid" => PaymentState::Paid,
        "refunded" | "chargeback" => PaymentState::Refunded,
        "refunded_partially" => PaymentState::PartiallyRefunded,
        "cancelled" | "failed" => PaymentState::Voided,
        _ => PaymentState::Pending,
    }
}

/// A line's amount (`price.totalPrice`, else `totalPrice`) and tax (`price.calculatedTaxes[].tax`).
fn line_amount_and_tax(item: &Value, currency: Currency) -> Result<(i64, i64), InputError> {
    let total = get_path(item, &["price", "totalPrice"])
        .or_else(|| get(item, "totalPrice"))
        .ok_or(InputError::Missing("order.lineItems[].price.totalPrice"))?;
    let amount = minor_from_json("order.lineItems[].price.totalPrice", total, currency)?;
    let mut tax = 0;
    if let Some(price) = get(item, "price") {
        for calculated in array(price, "calculatedTaxes", "order.lineItems[].price.calculatedTaxes", SUB_LIST_MAX)? {
            let amount = minor_or_zero("calculatedTaxes[].tax", get(calculated, "tax"), currency)?;
            tax = add_minor("calculatedTaxes[].tax", tax, amount)?;
        }
    }
    Ok((amount, bounded_minor("calculatedTaxes[].tax", tax)?))
}

/// Goods lines with the promotions spread over them, and the promotion codes used.
///
/// Only `product` lines are goods. `promotion` lines carry negative amounts and taxes; their sum
/// is allocated to the goods lines in proportion (largest remainder, so the sums are exact):
/// the amount in proportion to each line's amount, the tax in proportion to each line's tax. The
/// latter is what a proportional discount means per line (each line's share of the discount
/// times its own tax rate), and it keeps tax-free lines at zero tax. A discount larger than the
/// goods is capped, so no line goes below zero. Other line types (`custom`, `credit`,
/// `container`, …) are neither goods nor promotions and are left out.
fn lines(entity: &Value, currency: Currency) -> Result<(Vec<OrderLine>, Vec<String>), InputError> {
    let mut goods = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    let (mut discount_minor, mut discount_tax_minor) = (0_i64, 0_i64);
    for item in array(entity, "lineItems", "order.lineItems", ORDER_LINES_MAX)? {
        expect_object(item, "order.lineItems[]")?;
        match req_str(item, "type", "order.lineItems[].type")? {
            "product" => goods.push(product_line(item, currency)?),
            "promotion" => {
                let (amount, tax) = line_amount_and_tax(item, currency)?;
                discount_minor = add_minor("order.lineItems[].price.totalPrice", discount_minor, (-amount).max(0))?;
                discount_tax_minor = add_minor("calculatedTaxes[].tax", discount_tax_minor, (-tax).max(0))?;
                if let Some(code) = promotion_code(item)? {
                    if !codes.contains(&code) {
                        codes.push(code);
                    }
                }
            }
            _ => {}
        }
    }
    spread_discount(&mut goods, discount_minor, discount_tax_minor);
    Ok((goods, codes))
}

fn product_line(item: &Value, currency: Currency) -> Result<OrderLine, InputError> {
    let (amount_minor, tax_minor) = line_amount_and_tax(item, currency)?;
    let product_id = match opt_str(item, "productId", "order.lineItems[].productId")? {
        Some(id) => Some(id),
        None => opt_str(item, "referencedId", "order.lineItems[].referencedId")?,
    };
    Ok(OrderLine {
        line_id: LineId::parse(req_str(item, "id", "order.lineItems[].id")?)?,
        product_id: product_id.map(|id| product_id_text("order.lineItems[].productId", id)).transpose()?,
        quantity: quantity(item, "quantity", "order.lineItems[].quantity")?,
        amount_minor,
        tax_minor,
    })
}

/// The code a promotion was redeemed with (`payload.code`, empty for automatic promotions), else
/// its `referencedId`, which Shopware sets to the code as well.
fn promotion_code(item: &Value) -> Result<Option<String>, InputError> {
    if let Some(payload) = get(item, "payload") {
        if let Some(code) = clean_text(opt_str(payload, "code", "order.lineItems[].payload.code")?) {
            return Ok(Some(code));
        }
    }
    Ok(clean_text(opt_str(item, "referencedId", "order.lineItems[].referencedId")?))
}

fn spread_discount(goods: &mut [OrderLine], discount_minor: i64, discount_tax_minor: i64) {
    let amounts: Vec<i64> = goods.iter().map(|l| l.amount_minor.max(0)).collect();
    let taxes: Vec<i64> = goods.iter().map(|l| l.tax_minor.max(0)).collect();
    let amount_shares = allocate_proportionally(discount_minor.min(amounts.iter().sum()), &amounts);
    let tax_shares = allocate_proportionally(discount_tax_minor.min(taxes.iter().sum()), &taxes);
    for ((line, amount_share), tax_share) in goods.iter_mut().zip(amount_shares).zip(tax_shares) {
        line.amount_minor = (line.amount_minor - amount_share).max(0);
        line.tax_minor = (line.tax_minor - tax_share).max(0);
    }
}

/// The order's customer as a snapshot profile (`source_updated_at` `None`: it creates a customer
/// we do not know and never overwrites a stored one). `None` when `orderCustomer.customerId` is
/// null, which Shopware sets when the customer account was deleted.
fn order_customer(entity: &Value, shop: &ShopConfig) -> Result<Option<CustomerProfile>, InputError> {
    let Some(order_customer) = get(entity, "orderCustomer") else { return Ok(None) };
    let Some(id) = opt_str(order_customer, "customerId", "order.orderCustomer.customerId")? else { return Ok(None) };
    let customer = get(order_customer, "customer");
    let order_locale = get_path(entity, &["language", "locale", "code"]).and_then(Value::as_str);
    let (birthday, newsletter) = match customer {
        Some(c) => (birthday(c)?, opt_bool(c, "newsletter", "order.orderCustomer.customer.newsletter")?),
        None => (None, None),
    };
    Ok(Some(CustomerProfile {
        shop: shop.id.clone(),
        customer_id: CustomerId::parse(id)?,
        email: email(opt_str(order_customer, "email", "order.orderCustomer.email")?),
        first_name: clean_text(opt_str(order_customer, "firstName", "order.orderCustomer.firstName")?),
        last_name: clean_text(opt_str(order_customer, "lastName", "order.orderCustomer.lastName")?),
        locale: locale(order_locale),
        country: country_code(get_path(entity, &["billingAddress", "country", "iso"]).and_then(Value::as_str)),
        birthday,
        accepts_email_marketing: newsletter,
        source_updated_at: None,
    }))
}

/// A customer entity from a customer business event. Its `updatedAt` (or, for a customer never
/// updated, `createdAt`) guards against stale deliveries.
fn customer_profile(customer: &Value, shop: &ShopConfig) -> Result<CustomerProfile, InputError> {
    let customer_id = CustomerId::parse(req_str(customer, "id", "customer.id")?)?;
    let updated_at = match opt_rfc3339(customer, "updatedAt", "customer.updatedAt")? {
        Some(at) => at,
        None => opt_rfc3339(customer, "createdAt", "customer.createdAt")?
            .ok_or(InputError::Missing("customer.updatedAt"))?,
    };
    let country = ["defaultBillingAddress", "activeBillingAddress"]
        .iter()
        .find_map(|address| get_path(customer, &[address, "country", "iso"]).and_then(Value::as_str));
    Ok(CustomerProfile {
        shop: shop.id.clone(),
        customer_id,
        email: email(opt_str(customer, "email", "customer.email")?),
        first_name: clean_text(opt_str(customer, "firstName", "customer.firstName")?),
        last_name: clean_text(opt_str(customer, "lastName", "customer.lastName")?),
        locale: locale(get_path(customer, &["language", "locale", "code"]).and_then(Value::as_str)),
        country: country_code(country),
        birthday: birthday(customer)?,
        accepts_email_marketing: opt_bool(customer, "newsletter", "customer.newsletter")?,
        source_updated_at: Some(updated_at),
    })
}

/// `birthday`: a date, written `YYYY-MM-DD` or as a date-time starting with it; nullable.
fn birthday(customer: &Value) -> Result<Option<Birthday>, InputError> {
    let field = "customer.birthday";
    let Some(text) = opt_str(customer, "birthday", field)? else { return Ok(None) };
    let date = text
        .get(..10)
        .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .ok_or_else(|| invalid(field, "is not a date (YYYY-MM-DD)"))?;
    let year = u16::try_from(date.year()).map_err(|_| invalid(field, "has a year out of range"))?;
    // Month (1–12) and day (1–31) always fit in a u8.
    let month = u8::try_from(date.month()).map_err(|_| invalid(field, "has a month out of range"))?;
    let day = u8::try_from(date.day()).map_err(|_| invalid(field, "has a day out of range"))?;
    Birthday::new(month, day, Some(year)).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transaction(created_at: &str, state: &str) -> Value {
        serde_json::json!({"createdAt": created_at, "stateMachineState": {"technicalName": state}})
    }

    #[test]
    fn a_cancelled_old_transaction_does_not_cancel_an_order_paid_by_a_newer_one() {
        let order = serde_json::json!({});
        let transactions = [
            transaction("2026-11-23T08:00:00.000+00:00", "cancelled"),
            transaction("2026-11-23T08:05:00.000+00:00", "paid"),
        ];
        let outcome = payment_and_cancellation(&order, &transactions, EventState::TransactionCancelled);
        assert_eq!(outcome, Ok((PaymentState::Paid, false)));
    }

    #[test]
    fn a_cancelled_only_transaction_voids_and_cancels_the_order() {
        let order = serde_json::json!({});
        let transactions = [transaction("2026-11-23T08:00:00.000+00:00", "cancelled")];
        let outcome = payment_and_cancellation(&order, &transactions, EventState::TransactionCancelled);
        assert_eq!(outcome, Ok((PaymentState::Voided, true)));
    }

    #[test]
    fn the_event_state_wins_over_the_payload() {
        let order = serde_json::json!({});
        let transactions = [transaction("2026-11-23T08:00:00.000+00:00", "open")];
        let outcome = payment_and_cancellation(&order, &transactions, EventState::Payment(PaymentState::Paid));
        assert_eq!(outcome, Ok((PaymentState::Paid, false)));
    }

    #[test]
    fn birthdays_are_read_from_dates_and_date_times() {
        let read = |v: Value| birthday(&serde_json::json!({ "birthday": v }));
        assert_eq!(read(Value::Null), Ok(None));
        assert_eq!(read("1990-05-17".into()), Birthday::new(5, 17, Some(1990)).map(Some));
        assert_eq!(read("1990-05-17T00:00:00.000+00:00".into()), Birthday::new(5, 17, Some(1990)).map(Some));
        assert!(read("17.05.1990".into()).is_err());
        assert!(read("1990-02-30".into()).is_err());
        assert!(read(42.into()).is_err());
    }

    #[test]
    fn a_discount_larger_than_the_goods_leaves_every_line_at_zero() {
        let line = |amount_minor, tax_minor| OrderLine {
            line_id: LineId::parse("l").unwrap_or_else(|e| panic!("{e}")),
            product_id: None,
            quantity: 1,
            amount_minor,
            tax_minor,
        };
        let mut goods = vec![line(100, 16), line(50, 8)];
        spread_discount(&mut goods, 1_000, 1_000);
        assert!(goods.iter().all(|l| l.amount_minor == 0 && l.tax_minor == 0));
    }
}
