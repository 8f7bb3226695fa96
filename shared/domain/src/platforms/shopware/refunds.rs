//! Refunds made through Shopware's refund handling, read back from the shop's Admin API.
//!
//! The webhooks for `state_enter.order_transaction.state.refunded_partially` and `…refunded` carry
//! the order (`OrderStateMachineStateChangeEvent`) but no refund: which lines went back, or how
//! much money, is not in them. Since 6.4.12.0 Shopware records refunds made through its refund
//! handling (a payment handler implementing `RefundPaymentHandlerInterface`, triggered by the
//! Admin API's `/_action/order_transaction_capture_refund/{refundId}`) as entities, which the
//! handler reads after the order change:
//!
//! * `order_transaction_capture_refund`: `id`, `captureId`, `stateId` with its
//!   `stateMachineState`, `reason`, `externalReference`, `amount` (a `CalculatedPrice`:
//!   `unitPrice`, `quantity`, `totalPrice`, `calculatedTaxes`, … as JSON floats), `createdAt`,
//!   `transactionCapture` (→ `order_transaction_capture`, whose `transaction` is the
//!   `order_transaction` with the `orderId`) and `positions`.
//! * `order_transaction_capture_refund_position`: `orderLineItemId`, `quantity` (an optional
//!   integer), `amount` (a `CalculatedPrice`), `reason`. Positions are optional: "only there if a
//!   refund is position-specific" (the ADR).
//! * The refund state machine `order_transaction_capture_refund.state` has the states `open`
//!   (initial), `in_progress`, `completed`, `failed` and `cancelled`; `complete` leads from `open`
//!   or `in_progress` to `completed`, `fail` and `cancel` to the other two, and `reopen` back to
//!   `open`. `PaymentRefundProcessor` only hands `open` refunds to the payment handler and marks
//!   them `failed` when it throws; the handler (an app's answer, in `AppPaymentHandler::refund`)
//!   moves them on. So `completed` is the done state, and only completed refunds are recorded: an
//!   open or running refund can still fail or be cancelled, and a reversal is never taken back.
//!
//! (Sources: shopware/shopware
//! `src/Core/Checkout/Order/Aggregate/OrderTransactionCaptureRefund/OrderTransactionCaptureRefundDefinition.php`,
//! `…/OrderTransactionCaptureRefund/OrderTransactionCaptureRefundStates.php`,
//! `…/OrderTransactionCaptureRefundPosition/OrderTransactionCaptureRefundPositionDefinition.php`,
//! `…/OrderTransactionCapture/OrderTransactionCaptureDefinition.php`,
//! `…/OrderTransaction/OrderTransactionDefinition.php` (`orderId`),
//! `src/Core/Migration/V6_4/Migration1643878976AddCaptureRefundStateMachines.php`,
//! `src/Core/Checkout/Payment/Cart/PaymentRefundProcessor.php`,
//! `src/Core/Framework/App/Payment/Handler/AppPaymentHandler.php`,
//! `adr/2021-10-13-refund-handling.md`.)
//!
//! The search is `POST /api/search/order-transaction-capture-refund` (the adapter writes entity
//! names with dashes), filtered on `transactionCapture.transaction.orderId`, the path
//! `AppPaymentHandler::refund` itself loads the order by (`transactionCapture.transaction.order`).
//! Shopware's `AclCriteriaValidator` wants read access to every entity the criteria touch: the
//! refund, its positions, the state, and the capture and transaction the filter goes through.
//!
//! A refund with positions refunds those units of those lines (`Refund::lines`); one without
//! (an amount typed in, a goodwill payment) refunds its `amount.totalPrice` (`amount_minor`), in
//! the order's currency. A position without a quantity refunds money on a line, not units, and is
//! left out of the lines. The ledger keys reversals by refund id, so reading the same refunds again
//! on a later event takes nothing twice.
//!
//! A refund still open when the status event comes is not seen by that event; the order's next
//! refund event reads it again (a full refund reverses everything anyway). A status set by hand,
//! without the refund handling, leaves no refund entity: the order change stands alone, and a
//! partial refund then reverses nothing until the order is refunded in full.

use serde_json::{json, Value};

use super::Parsed;
use crate::error::InputError;
use crate::ids::{LineId, OrderId, RefundId, ShopId};
use crate::ingest::Change;
use crate::money::{minor_from_json, Currency};
use crate::platforms::{
    array, bounded_minor, expect_object, get, get_path, invalid, opt_rfc3339, parse_json, quantity, req_str,
    ParseOutcome,
};
use crate::refund::{Refund, RefundLine, REFUND_LINES_MAX};

/// The events after whose order change the order's refunds are read.
pub(super) const REFUND_EVENTS: [&str; 2] =
    ["state_enter.order_transaction.state.refunded", "state_enter.order_transaction.state.refunded_partially"];

/// The Admin API entity (`/api/search/order-transaction-capture-refund`).
pub const REFUND_ENTITY: &str = "order_transaction_capture_refund";

/// Most refunds one search asks for. Real orders have a handful; the oldest this many count.
pub const REFUND_SEARCH_LIMIT: usize = 50;

/// The refund state machine's done state (`OrderTransactionCaptureRefundStates::STATE_COMPLETED`).
const COMPLETED: &str = "completed";

/// Whose refunds to read, and in which currency their amounts are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundLookup {
    pub shop: ShopId,
    pub order_id: OrderId,
    pub currency: Currency,
}

/// A refund event's order change, to be completed with the order's refunds. An outcome without
/// an order (none is made for these events) stays as it is.
pub(super) fn with_refunds(outcome: ParseOutcome) -> Parsed {
    let ParseOutcome::Changes(changes) = outcome else { return Parsed::Ready(outcome) };
    let lookup = changes.iter().find_map(|change| match change {
        Change::RecordOrder(order) => {
            Some(RefundLookup { shop: order.shop.clone(), order_id: order.order_id.clone(), currency: order.currency })
        }
        _ => None,
    });
    match lookup {
        Some(lookup) => Parsed::FetchRefunds { changes, lookup },
        None => Parsed::Ready(ParseOutcome::Changes(changes)),
    }
}

/// The Admin API search criteria for an order's refunds: oldest first, at most
/// `REFUND_SEARCH_LIMIT`, with the state, the positions and the order they belong to.
pub fn refund_search(order_id: &OrderId) -> Value {
    json!({
        "limit": REFUND_SEARCH_LIMIT,
        "filter": [{"type": "equals", "field": "transactionCapture.transaction.orderId", "value": order_id.as_str()}],
        "associations": {
            "stateMachineState": {},
            "positions": {},
            "transactionCapture": {"associations": {"transaction": {}}},
        },
        "sort": [{"field": "createdAt", "order": "ASC", "naturalSorting": false}],
        "total-count-mode": 0,
    })
}

/// The Admin API's search answer as `RecordRefund` changes: one per completed refund of the
/// order, each once. Refunds of other orders are left out; an answer we cannot read is an error,
/// never an empty result.
pub fn fetched_refunds(body: &[u8], lookup: &RefundLookup) -> Result<Vec<Change>, InputError> {
    let json = parse_json(body)?;
    let data = match get(&json, "data") {
        Some(Value::Array(data)) if data.len() > REFUND_SEARCH_LIMIT => {
            return Err(invalid("data", "lists more refunds than were asked for"))
        }
        Some(Value::Array(data)) => data,
        Some(_) => return Err(invalid("data", "is not an array")),
        None => return Err(InputError::Missing("data")),
    };
    let mut refunds: Vec<Refund> = Vec::with_capacity(data.len());
    for entity in data {
        if let Some(refund) = refund(entity, lookup)? {
            if !refunds.iter().any(|r| r.refund_id == refund.refund_id) {
                refunds.push(refund);
            }
        }
    }
    Ok(refunds.into_iter().map(Change::RecordRefund).collect())
}

/// One refund entity: `None` if it is not a completed refund of this order, or refunds nothing.
fn refund(entity: &Value, lookup: &RefundLookup) -> Result<Option<Refund>, InputError> {
    expect_object(entity, "order_transaction_capture_refund")?;
    let refund_id = RefundId::parse(req_str(entity, "id", "order_transaction_capture_refund.id")?)?;
    let field = "order_transaction_capture_refund.transactionCapture.transaction.orderId";
    let order_id = match get_path(entity, &["transactionCapture", "transaction", "orderId"]) {
        Some(Value::String(id)) => OrderId::parse(id)?,
        Some(_) => return Err(invalid(field, "is not a string")),
        None => return Err(InputError::Missing(field)),
    };
    if order_id != lookup.order_id || state(entity)? != COMPLETED {
        return Ok(None);
    }
    let created_at = opt_rfc3339(entity, "createdAt", "order_transaction_capture_refund.createdAt")?
        .ok_or(InputError::Missing("order_transaction_capture_refund.createdAt"))?;
    let lines = lines(entity)?;
    let amount_minor = if lines.is_empty() { Some(amount_minor(entity, lookup.currency)?) } else { None };
    if amount_minor == Some(0) {
        return Ok(None);
    }
    Ok(Some(Refund { shop: lookup.shop.clone(), order_id, refund_id, created_at, lines, amount_minor }))
}

/// `stateMachineState.technicalName`, which the criteria load.
fn state(entity: &Value) -> Result<&str, InputError> {
    let field = "order_transaction_capture_refund.stateMachineState.technicalName";
    match get_path(entity, &["stateMachineState", "technicalName"]) {
        Some(Value::String(name)) => Ok(name.as_str()),
        Some(_) => Err(invalid(field, "is not a string")),
        None => Err(InputError::Missing(field)),
    }
}

/// `positions[]` as one line per order line item with the units refunded (a line named twice
/// counts with the sum). Positions without a quantity refund no units and are left out.
fn lines(entity: &Value) -> Result<Vec<RefundLine>, InputError> {
    let positions = array(entity, "positions", "order_transaction_capture_refund.positions", REFUND_LINES_MAX)?;
    let field = "order_transaction_capture_refund_position.quantity";
    let mut lines: Vec<RefundLine> = Vec::with_capacity(positions.len());
    for position in positions {
        expect_object(position, "order_transaction_capture_refund_position")?;
        let line_id = LineId::parse(req_str(
            position,
            "orderLineItemId",
            "order_transaction_capture_refund_position.orderLineItemId",
        )?)?;
        let units = match get(position, "quantity") {
            None => 0,
            Some(_) => quantity(position, "quantity", field)?,
        };
        if units == 0 {
            continue;
        }
        match lines.iter_mut().find(|line| line.line_id == line_id) {
            Some(line) => {
                line.quantity = line.quantity.checked_add(units).ok_or_else(|| invalid(field, "is out of range"))?
            }
            None => lines.push(RefundLine { line_id, quantity: units }),
        }
    }
    Ok(lines)
}

/// `amount.totalPrice`, the money refunded, from its exact JSON text.
fn amount_minor(entity: &Value, currency: Currency) -> Result<i64, InputError> {
    let field = "order_transaction_capture_refund.amount.totalPrice";
    let total = get_path(entity, &["amount", "totalPrice"]).ok_or(InputError::Missing(field))?;
    let minor = bounded_minor(field, minor_from_json(field, total, currency)?)?;
    if minor < 0 {
        return Err(invalid(field, "is negative"));
    }
    Ok(minor)
}
