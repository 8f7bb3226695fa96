//! The Shopware parser against our own fixtures (see fixtures/webhooks/README.md).

mod common;

use common::{at, received_at};
use serde_json::{json, Value};
use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::customer::{Birthday, CustomerProfile};
use stammkunde_domain::error::InputError;
use stammkunde_domain::ids::{CustomerId, LineId, OrderId};
use stammkunde_domain::ingest::Change;
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, PaymentState, Platform};
use stammkunde_domain::platforms::shopware::{
    customer_search, fetched_customers, fetched_refunds, parse, parse_envelope, refund_search, Envelope, Parsed,
    RefundLookup, CUSTOMER_SEARCH_LIMIT, REFUND_ENTITY, REFUND_SEARCH_LIMIT,
};
use stammkunde_domain::platforms::ParseOutcome;
use stammkunde_domain::refund::{Refund, RefundLine};

const ORDER_PLACED: &str = include_str!("../../../fixtures/webhooks/shopware/checkout_order_placed.json");
const TRANSACTION_PAID: &str = include_str!("../../../fixtures/webhooks/shopware/state_order_transaction_paid.json");
const DELIVERY_SHIPPED: &str = include_str!("../../../fixtures/webhooks/shopware/state_order_delivery_shipped.json");
const CUSTOMER_REGISTER: &str = include_str!("../../../fixtures/webhooks/shopware/checkout_customer_register.json");
const CUSTOMER_WRITTEN: &str = include_str!("../../../fixtures/webhooks/shopware/customer_written.json");
const ADMIN_SEARCH_CUSTOMER: &str = include_str!("../../../fixtures/webhooks/shopware/admin_search_customer.json");
const ADMIN_SEARCH_REFUND: &str =
    include_str!("../../../fixtures/webhooks/shopware/admin_search_order_transaction_capture_refund.json");
/// The customer of the register, written and Admin API fixtures.
const REGISTERED: &str = "9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a";

const CUSTOMER: &str = "7c1e9b2a4d3f4e5a8b6c0d1e2f3a4b5c";

fn shop() -> ShopConfig {
    common::shop("kaffee-demo", "shopware", "Xk3v9QpL2mWn7RtY")
}

fn envelope(body: &[u8]) -> Envelope {
    parse_envelope(body).unwrap_or_else(|e| panic!("{e}"))
}

/// The changes the event itself makes (for a refund event: before its refunds are read).
fn changes(body: &[u8]) -> Vec<Change> {
    match parse(&envelope(body), &shop(), received_at()) {
        Ok(Parsed::Ready(ParseOutcome::Changes(changes))) => changes,
        Ok(Parsed::FetchRefunds { changes, .. }) => changes,
        other => panic!("expected changes, got {other:?}"),
    }
}

fn customer_and_order(body: &[u8]) -> (CustomerProfile, Order) {
    match changes(body).as_slice() {
        [Change::UpsertCustomer(profile), Change::RecordOrder(order)] => (profile.clone(), order.clone()),
        other => panic!("expected a customer and an order, got {other:?}"),
    }
}

fn edited(fixture: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut json: Value = serde_json::from_str(fixture).unwrap_or_else(|e| panic!("{e}"));
    edit(&mut json);
    serde_json::to_vec(&json).unwrap_or_else(|e| panic!("{e}"))
}

fn with_event(fixture: &str, event: &str) -> Vec<u8> {
    edited(fixture, |json| json["data"]["event"] = json!(event))
}

fn parse_error(body: &[u8]) -> InputError {
    match parse_envelope(body).and_then(|envelope| parse(&envelope, &shop(), received_at())) {
        Err(e) => e,
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
    }
}

#[test]
fn an_envelope_is_read_with_its_event_shop_event_id_and_time() {
    let envelope = envelope(ORDER_PLACED.as_bytes());
    assert_eq!(envelope.event, "checkout.order.placed");
    assert_eq!(envelope.shopware_shop_id, "Xk3v9QpL2mWn7RtY");
    assert_eq!(envelope.shop_url.as_deref(), Some("https://kaffee-demo.example"));
    assert_eq!(envelope.event_id.as_ref().map(|id| id.as_str()), Some("5f0c1d2e3a4b45c6978899aabbccdd01"));
    assert_eq!(envelope.timestamp, at("2026-11-20T09:31:08Z"));
    assert!(envelope.payload.get("order").is_some());
}

#[test]
fn a_placed_shopware_order_becomes_a_customer_and_an_open_order() {
    let (profile, order) = customer_and_order(ORDER_PLACED.as_bytes());

    assert_eq!(profile.customer_id.as_str(), CUSTOMER);
    assert_eq!(profile.email.as_ref().map(|e| e.as_str()), Some("katrin.lorenz@example.de"));
    assert_eq!(profile.first_name.as_deref(), Some("Katrin"));
    assert_eq!(profile.last_name.as_deref(), Some("Lorenz"));
    assert_eq!(profile.locale.as_deref(), Some("de-DE"));
    assert_eq!(profile.country.as_deref(), Some("DE"));
    assert_eq!(profile.birthday, None);
    assert_eq!(profile.source_updated_at, None);

    assert_eq!(order.platform, Platform::Shopware);
    assert_eq!(order.order_id.as_str(), "a3f1c2d4e5b6478899aabbccddeeff01");
    assert_eq!(order.order_number.as_deref(), Some("10458"));
    assert_eq!(order.customer_id.as_ref().map(|c| c.as_str()), Some(CUSTOMER));
    assert_eq!(order.currency.code(), "EUR");
    assert!(order.taxes_included);
    assert_eq!(order.payment, PaymentState::Pending);
    assert!(!order.cancelled);
    assert_eq!(order.shipping_minor, 499);
    assert_eq!(order.discount_codes, vec!["WILLKOMMEN10".to_owned()]);
    assert_eq!(order.placed_at, at("2026-11-20T09:31:07.398Z"));
    // Neither the order nor its transaction was updated yet: the time it was placed stands in.
    // Never the envelope's `timestamp`: Shopware sets that when it sends, again on each retry.
    assert_eq!(order.version.updated_at, at("2026-11-20T09:31:07.398Z"));
    assert_eq!(order.version.progress, 0);
}

#[test]
fn a_promotion_is_spread_over_the_goods_lines_exactly() {
    let (_, order) = customer_and_order(ORDER_PLACED.as_bytes());
    let ids: Vec<&str> = order.lines.iter().map(|l| l.line_id.as_str()).collect();
    let amounts: Vec<i64> = order.lines.iter().map(|l| l.amount_minor).collect();
    let taxes: Vec<i64> = order.lines.iter().map(|l| l.tax_minor).collect();
    // Goods 43.80 + 29.95 + 8.49 = 82.24 less the promotion's 8.22; taxes 2.87 + 4.78 + 1.36 less 0.90.
    assert_eq!(
        ids,
        ["11aa22bb33cc44dd55ee66ff77889901", "11aa22bb33cc44dd55ee66ff77889902", "11aa22bb33cc44dd55ee66ff77889903"]
    );
    assert_eq!(amounts, [3942, 2696, 764]);
    assert_eq!(taxes, [258, 430, 123]);
    assert_eq!(amounts.iter().sum::<i64>(), 8224 - 822);
    assert_eq!(taxes.iter().sum::<i64>(), 901 - 90);
    assert_eq!(order.lines[0].quantity, 2);
    assert_eq!(order.lines[0].product_id.as_deref(), Some("f1e2d3c4b5a697887766554433221100"));
}

#[test]
fn a_paid_transaction_makes_the_order_paid_and_newer_than_when_placed() {
    let (_, placed) = customer_and_order(ORDER_PLACED.as_bytes());
    let (profile, paid) = customer_and_order(TRANSACTION_PAID.as_bytes());
    assert_eq!(paid.payment, PaymentState::Paid);
    assert!(!paid.cancelled);
    // The transition changed the transaction, not the order: its stamp is the version.
    assert_eq!(paid.version.updated_at, at("2026-11-21T07:58:40.913Z"));
    assert!(paid.version > placed.version);
    assert_eq!(paid.lines, placed.lines);
    // This event loads the customer association, so the birthday is known.
    assert_eq!(profile.birthday, Birthday::new(4, 12, Some(1988)).ok());
}

#[test]
fn the_event_name_decides_the_payment_state() {
    let cases = [
        ("state_enter.order_transaction.state.refunded", PaymentState::Refunded),
        ("state_enter.order_transaction.state.refunded_partially", PaymentState::PartiallyRefunded),
        ("state_enter.order_transaction.state.paid", PaymentState::Paid),
    ];
    for (event, expected) in cases {
        // The payload still shows the transaction as open: the event wins.
        let (_, order) = customer_and_order(&with_event(ORDER_PLACED, event));
        assert_eq!(order.payment, expected, "{event}");
        assert!(!order.cancelled);
    }
}

#[test]
fn a_cancelled_transaction_on_an_unpaid_order_cancels_it() {
    let body = edited(TRANSACTION_PAID, |json| {
        json["data"]["event"] = json!("state_enter.order_transaction.state.cancelled");
        json["data"]["payload"]["order"]["transactions"][0]["stateMachineState"]["technicalName"] = json!("cancelled");
    });
    let (_, order) = customer_and_order(&body);
    assert_eq!(order.payment, PaymentState::Voided);
    assert!(order.cancelled);
    assert_eq!(order.version.progress, PaymentState::Voided.rank() + 8);
}

#[test]
fn a_cancelled_order_keeps_the_payment_its_transactions_show() {
    let (_, order) = customer_and_order(&with_event(TRANSACTION_PAID, "state_enter.order.state.cancelled"));
    assert_eq!(order.payment, PaymentState::Paid);
    assert!(order.cancelled);
}

#[test]
fn an_order_whose_customer_was_deleted_is_recorded_without_one() {
    let body = edited(ORDER_PLACED, |json| {
        json["data"]["payload"]["order"]["orderCustomer"]["customerId"] = Value::Null;
    });
    match changes(&body).as_slice() {
        [Change::RecordOrder(order)] => assert_eq!(order.customer_id, None),
        other => panic!("expected one order, got {other:?}"),
    }
}

#[test]
fn an_order_without_a_currency_entity_is_in_the_shops_currency() {
    let body = edited(ORDER_PLACED, |json| json["data"]["payload"]["order"]["currency"] = Value::Null);
    let (_, order) = customer_and_order(&body);
    assert_eq!(order.currency, shop().currency);
}

#[test]
fn a_registered_shopware_customer_becomes_a_profile_with_birthday_and_newsletter() {
    match changes(CUSTOMER_REGISTER.as_bytes()).as_slice() {
        [Change::UpsertCustomer(profile)] => {
            assert_eq!(profile.customer_id.as_str(), "9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a");
            assert_eq!(profile.email.as_ref().map(|e| e.as_str()), Some("felix.huber@example.at"));
            assert_eq!(profile.first_name.as_deref(), Some("Felix"));
            assert_eq!(profile.last_name.as_deref(), Some("Huber"));
            assert_eq!(profile.country.as_deref(), Some("AT"));
            assert_eq!(profile.birthday, Birthday::new(7, 29, Some(1993)).ok());
            assert_eq!(profile.accepts_email_marketing, Some(true));
            // Never updated since registration: the creation time guards it.
            assert_eq!(profile.source_updated_at, Some(at("2026-11-22T12:10:33.250Z")));
        }
        other => panic!("expected one profile, got {other:?}"),
    }
}

#[test]
fn other_customer_events_with_a_customer_entity_update_the_profile() {
    for event in ["checkout.customer.login", "checkout.customer.guest_register"] {
        let changes = changes(&with_event(CUSTOMER_REGISTER, event));
        assert!(matches!(changes.as_slice(), [Change::UpsertCustomer(_)]), "{event}");
    }
    assert_eq!(
        changes(&with_event(CUSTOMER_REGISTER, "checkout.customer.deleted")),
        vec![Change::DeleteCustomer {
            shop: shop().id,
            customer_id: CustomerId::parse("9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a").unwrap_or_else(|e| panic!("{e}")),
            at: received_at(),
        }]
    );
}

#[test]
fn entity_events_and_unhandled_states_are_ignored_with_a_reason() {
    let written = edited(ORDER_PLACED, |json| {
        json["data"]["event"] = json!("order.written");
        json["data"]["payload"] =
            json!([{"entity": "order", "operation": "update", "primaryKey": "a3f1", "updatedFields": ["updatedAt"]}]);
    });
    let outcome = parse(&envelope(&written), &shop(), received_at());
    assert!(
        matches!(&outcome, Ok(Parsed::Ready(ParseOutcome::Ignored { reason })) if reason.contains("order.written")),
        "{outcome:?}"
    );
    for event in
        ["state_enter.order_transaction.state.reminded", "checkout.customer.login.failure", "contact_form.send"]
    {
        let outcome = parse(&envelope(&with_event(ORDER_PLACED, event)), &shop(), received_at());
        assert!(matches!(outcome, Ok(Parsed::Ready(ParseOutcome::Ignored { .. }))), "{event}: {outcome:?}");
    }
}

#[test]
fn an_envelope_without_data_event_shop_or_time_is_refused_as_missing() {
    let without = |path: &[&str]| {
        edited(ORDER_PLACED, |json| {
            let (last, parents) = path.split_last().unwrap_or_else(|| panic!("a path"));
            let parent = parents.iter().fold(json, |value, key| &mut value[*key]);
            if let Some(object) = parent.as_object_mut() {
                object.remove(*last);
            }
        })
    };
    assert_eq!(parse_error(&without(&["data"])), InputError::Missing("data"));
    assert_eq!(parse_error(&without(&["data", "event"])), InputError::Missing("data.event"));
    assert_eq!(parse_error(&without(&["source"])), InputError::Missing("source.shopId"));
    assert_eq!(parse_error(&without(&["source", "shopId"])), InputError::Missing("source.shopId"));
    assert_eq!(parse_error(&without(&["timestamp"])), InputError::Missing("timestamp"));
    assert_eq!(parse_error(&without(&["data", "payload"])), InputError::Missing("data.payload.order"));
    assert_eq!(parse_error(&without(&["data", "payload", "order", "id"])), InputError::Missing("order.id"));
    let no_tax_status = edited(ORDER_PLACED, |json| {
        if let Some(order) = json["data"]["payload"]["order"].as_object_mut() {
            order.remove("price");
            order.remove("taxStatus");
        }
    });
    assert_eq!(parse_error(&no_tax_status), InputError::Missing("order.price.taxStatus"));
}

#[test]
fn fields_of_the_wrong_type_are_invalid() {
    let invalid_field = |edit: &dyn Fn(&mut Value)| match parse_error(&edited(ORDER_PLACED, edit)) {
        InputError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(invalid_field(&|j| j["timestamp"] = json!("yesterday")), "timestamp");
    assert_eq!(invalid_field(&|j| j["timestamp"] = json!(1.5)), "timestamp");
    assert_eq!(invalid_field(&|j| j["data"] = json!("order")), "data");
    assert_eq!(invalid_field(&|j| j["data"]["payload"]["order"]["lineItems"] = json!(7)), "order.lineItems");
    assert_eq!(
        invalid_field(&|j| j["data"]["payload"]["order"]["lineItems"][0]["price"]["totalPrice"] = json!("viel")),
        "order.lineItems[].price.totalPrice"
    );
    assert_eq!(
        invalid_field(&|j| j["data"]["payload"]["order"]["currency"]["isoCode"] = json!(978)),
        "order.currency.isoCode"
    );
    assert!(matches!(parse_error(b"data=1"), InputError::MalformedJson(_)));
}

#[test]
fn hostile_ids_and_names_are_refused_and_huge_names_are_cut() {
    let invalid_field = |edit: &dyn Fn(&mut Value)| match parse_error(&edited(ORDER_PLACED, edit)) {
        InputError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(invalid_field(&|j| j["source"]["eventId"] = json!("../../etc/passwd x")), "delivery id");
    assert_eq!(invalid_field(&|j| j["source"]["shopId"] = json!("shop\nid")), "source.shopId");
    assert_eq!(invalid_field(&|j| j["data"]["event"] = json!("x".repeat(129))), "data.event");
    assert_eq!(invalid_field(&|j| j["data"]["payload"]["order"]["id"] = json!("a3f1 OR 1=1")), "order id");
    assert_eq!(
        invalid_field(&|j| j["data"]["payload"]["order"]["orderCustomer"]["customerId"] = json!("é".repeat(64))),
        "customer id"
    );

    let huge = edited(ORDER_PLACED, |json| {
        json["data"]["payload"]["order"]["orderCustomer"]["firstName"] = json!("K".repeat(10_000));
    });
    let (profile, _) = customer_and_order(&huge);
    assert_eq!(profile.first_name.map(|n| n.len()), Some(200));
}

#[test]
fn more_lines_than_an_order_may_have_are_refused() {
    let body = edited(ORDER_PLACED, |json| {
        let line = json["data"]["payload"]["order"]["lineItems"][0].clone();
        json["data"]["payload"]["order"]["lineItems"] = Value::Array(vec![line; 1_001]);
    });
    assert!(matches!(parse_error(&body), InputError::Invalid { field: "order.lineItems", .. }));
}

#[test]
fn every_fixture_cut_short_is_an_error_and_never_a_panic() {
    for fixture in [ORDER_PLACED, TRANSACTION_PAID, DELIVERY_SHIPPED, CUSTOMER_REGISTER] {
        let body = fixture.trim_end().as_bytes();
        for cut in (0..body.len()).step_by(97) {
            let outcome = parse_envelope(&body[..cut]).and_then(|envelope| parse(&envelope, &shop(), received_at()));
            assert!(outcome.is_err(), "cut at {cut} parsed: {outcome:?}");
        }
    }
}

fn customer_id(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap_or_else(|e| panic!("{e}"))
}

fn with_rows(rows: Value) -> Vec<u8> {
    edited(CUSTOMER_WRITTEN, |json| json["data"]["payload"] = rows)
}

#[test]
fn a_written_customer_is_to_be_fetched_and_its_address_row_is_not() {
    let outcome = parse(&envelope(CUSTOMER_WRITTEN.as_bytes()), &shop(), received_at());
    assert_eq!(outcome, Ok(Parsed::FetchCustomers(vec![customer_id(REGISTERED)])));
}

#[test]
fn a_write_that_touched_no_profile_field_is_ignored_without_a_fetch() {
    let login = with_rows(json!([{"entity": "customer", "operation": "update", "primaryKey": REGISTERED,
        "updatedFields": ["id", "lastLogin", "updatedAt"]}]));
    let outcome = parse(&envelope(&login), &shop(), received_at());
    assert!(matches!(outcome, Ok(Parsed::Ready(ParseOutcome::Ignored { .. }))), "{outcome:?}");
}

#[test]
fn inserts_rows_without_field_names_and_repeated_keys_are_fetched_once_each() {
    let body = with_rows(json!([
        {"entity": "customer", "operation": "insert", "primaryKey": CUSTOMER, "updatedFields": ["id"]},
        {"entity": "customer", "operation": "update", "primaryKey": REGISTERED},
        {"entity": "customer", "operation": "update", "primaryKey": CUSTOMER, "updatedFields": ["email"]},
    ]));
    let outcome = parse(&envelope(&body), &shop(), received_at());
    assert_eq!(outcome, Ok(Parsed::FetchCustomers(vec![customer_id(CUSTOMER), customer_id(REGISTERED)])));
}

#[test]
fn a_customer_deleted_entity_event_deletes_each_customer_once() {
    let body = edited(CUSTOMER_WRITTEN, |json| {
        json["data"]["event"] = json!("customer.deleted");
        json["data"]["payload"] = json!([
            {"entity": "customer", "operation": "delete", "primaryKey": REGISTERED},
            {"entity": "customer", "operation": "delete", "primaryKey": REGISTERED},
        ]);
    });
    let deleted = Change::DeleteCustomer { shop: shop().id, customer_id: customer_id(REGISTERED), at: received_at() };
    assert_eq!(changes(&body), vec![deleted]);
}

#[test]
fn malformed_written_rows_are_refused() {
    let refused = |rows: Value| parse_error(&with_rows(rows));
    assert!(matches!(refused(json!({"entity": "customer"})), InputError::Invalid { field: "data.payload", .. }));
    assert_eq!(
        refused(json!([{"entity": "customer", "operation": "insert"}])),
        InputError::Missing("data.payload[].primaryKey")
    );
    assert!(matches!(
        refused(json!([{"entity": "customer", "operation": "insert", "primaryKey": {"id": "x"}}])),
        InputError::Invalid { field: "data.payload[].primaryKey", .. }
    ));
    assert!(matches!(
        refused(json!([{"entity": "customer", "operation": "insert", "primaryKey": "bad id\n"}])),
        InputError::Invalid { .. }
    ));
    assert!(matches!(
        refused(
            json!([{"entity": "customer", "operation": "update", "primaryKey": REGISTERED, "updatedFields": "email"}])
        ),
        InputError::Invalid { field: "data.payload[].updatedFields", .. }
    ));
}

#[test]
fn the_search_asks_for_exactly_the_ids_with_locale_and_billing_country() {
    let criteria = customer_search(&[customer_id(REGISTERED), customer_id(CUSTOMER)]);
    assert_eq!(criteria["ids"], json!([REGISTERED, CUSTOMER]));
    assert_eq!(criteria["limit"], 2);
    assert!(criteria["associations"]["language"]["associations"]["locale"].is_object());
    assert!(criteria["associations"]["defaultBillingAddress"]["associations"]["country"].is_object());
    let many: Vec<CustomerId> = (0..CUSTOMER_SEARCH_LIMIT + 5).map(|i| customer_id(&format!("c{i}"))).collect();
    assert_eq!(customer_search(&many)["ids"].as_array().map(Vec::len), Some(CUSTOMER_SEARCH_LIMIT));
}

#[test]
fn a_fetched_customer_becomes_a_profile_guarded_by_its_updated_at() {
    let changes = fetched_customers(ADMIN_SEARCH_CUSTOMER.as_bytes(), &shop(), &[customer_id(REGISTERED)]);
    match changes.as_deref() {
        Ok([Change::UpsertCustomer(profile)]) => {
            assert_eq!(profile.customer_id.as_str(), REGISTERED);
            assert_eq!(profile.last_name.as_deref(), Some("Huber-Lang"));
            assert_eq!(profile.birthday, Birthday::new(8, 2, Some(1993)).ok());
            assert_eq!(profile.country.as_deref(), Some("AT"));
            assert_eq!(profile.locale.as_deref(), Some("de-AT"));
            assert_eq!(profile.source_updated_at, Some(at("2026-11-23T07:36:02.118Z")));
        }
        other => panic!("expected one profile, got {other:?}"),
    }
}

#[test]
fn fetched_customers_that_were_not_asked_for_are_left_out() {
    let changes = fetched_customers(ADMIN_SEARCH_CUSTOMER.as_bytes(), &shop(), &[customer_id(CUSTOMER)]);
    assert_eq!(changes, Ok(vec![]));
}

#[test]
fn an_unreadable_admin_api_answer_is_an_error_not_an_empty_result() {
    assert!(fetched_customers(b"<html>", &shop(), &[]).is_err());
    assert_eq!(fetched_customers(b"{}", &shop(), &[]), Err(InputError::Missing("data")));
    assert!(fetched_customers(br#"{"data": {}}"#, &shop(), &[]).is_err());
    assert!(fetched_customers(br#"{"data": [{"email": "x@example.org"}]}"#, &shop(), &[]).is_err());
}

/// The envelope's `timestamp` of the shipped delivery: when Shopware sent it.
const SHIPPED_SENT_AT: &str = "2026-11-22T13:47:20Z";

#[test]
fn a_shipped_delivery_fulfils_the_order_when_the_delivery_was_shipped() {
    let (_, paid) = customer_and_order(TRANSACTION_PAID.as_bytes());
    let (_, shipped) = customer_and_order(DELIVERY_SHIPPED.as_bytes());
    // The transition wrote the delivery's `updatedAt`; neither the order's (13:45, taken into
    // work) nor the envelope's send time (13:47:20) is when it shipped.
    assert_eq!(shipped.fulfilled_at, Some(at("2026-11-22T13:47:19.227Z")));
    // The delivery's stamp is the order's version too: a shipment is a newer snapshot than the payment.
    assert_eq!(shipped.version.updated_at, at("2026-11-22T13:47:19.227Z"));
    assert!(shipped.version > paid.version);
    // The payment stays as the payload shows it, and so does when it was paid.
    assert_eq!(shipped.payment, PaymentState::Paid);
    assert!(!shipped.cancelled);
    assert_eq!(shipped.paid_at, Some(at("2026-11-21T07:58:40.913Z")));
    assert_eq!(shipped.lines, paid.lines);
}

#[test]
fn a_later_snapshot_still_shows_the_order_as_shipped() {
    // A refund after shipping reloads the order with its shipped delivery.
    let body = with_event(DELIVERY_SHIPPED, "state_enter.order_transaction.state.refunded_partially");
    let (_, order) = customer_and_order(&body);
    assert_eq!(order.payment, PaymentState::PartiallyRefunded);
    assert_eq!(order.fulfilled_at, Some(at("2026-11-22T13:47:19.227Z")));
}

#[test]
fn a_partly_shipped_delivery_is_no_fulfilment() {
    let body = edited(DELIVERY_SHIPPED, |json| {
        json["data"]["event"] = json!("state_enter.order_delivery.state.shipped_partially");
        json["data"]["payload"]["order"]["deliveries"][0]["stateMachineState"]["technicalName"] =
            json!("shipped_partially");
    });
    let (_, order) = customer_and_order(&body);
    assert_eq!(order.fulfilled_at, None);
    assert_eq!(order.version.updated_at, at("2026-11-22T13:47:19.227Z"));
    // Whatever the payload shows, the event says the goods are not all out.
    let (_, order) =
        customer_and_order(&with_event(DELIVERY_SHIPPED, "state_enter.order_delivery.state.shipped_partially"));
    assert_eq!(order.fulfilled_at, None);
}

#[test]
fn a_shipped_event_whose_payload_cannot_say_when_takes_the_send_time() {
    let without_deliveries =
        edited(DELIVERY_SHIPPED, |json| json["data"]["payload"]["order"]["deliveries"] = Value::Null);
    let (_, order) = customer_and_order(&without_deliveries);
    assert_eq!(order.fulfilled_at, Some(at(SHIPPED_SENT_AT)));
    // The send time is never a version: without the delivery the order's own stamp stands.
    assert_eq!(order.version.updated_at, at("2026-11-22T13:45:02.118Z"));
}

#[test]
fn an_order_with_an_open_delivery_is_not_fulfilled() {
    let open = edited(DELIVERY_SHIPPED, |json| {
        json["data"]["event"] = json!("state_enter.order_transaction.state.paid");
        json["data"]["payload"]["order"]["deliveries"][0]["stateMachineState"]["technicalName"] = json!("open");
    });
    assert_eq!(customer_and_order(&open).1.fulfilled_at, None);
    let (_, placed) = customer_and_order(ORDER_PLACED.as_bytes());
    assert_eq!(placed.fulfilled_at, None);
}

#[test]
fn other_delivery_states_are_ignored_with_a_reason() {
    let outcome = parse(
        &envelope(&with_event(DELIVERY_SHIPPED, "state_enter.order_delivery.state.returned")),
        &shop(),
        received_at(),
    );
    assert!(
        matches!(&outcome, Ok(Parsed::Ready(ParseOutcome::Ignored { reason })) if reason.contains("returned")),
        "{outcome:?}"
    );
}

#[test]
fn amount_total_is_the_order_total_read_from_its_exact_text() {
    let (_, order) = customer_and_order(ORDER_PLACED.as_bytes());
    // Goods 73.02 after the promotion, shipping 4.99 and nothing else: 79.01, gross.
    assert_eq!(order.total_minor, Some(7901));
    let goods: i64 = order.lines.iter().map(|l| l.amount_minor).sum();
    assert_eq!(goods + order.shipping_minor, 7901);
    let float_noise = edited(ORDER_PLACED, |json| json["data"]["payload"]["order"]["amountTotal"] = json!(0.1));
    assert_eq!(customer_and_order(&float_noise).1.total_minor, Some(10));
    let bad = edited(ORDER_PLACED, |json| json["data"]["payload"]["order"]["amountTotal"] = json!("viel"));
    assert!(matches!(parse_error(&bad), InputError::Invalid { field: "order.amountTotal", .. }));
}

#[test]
fn a_paid_transaction_dates_the_payment_by_the_transition_not_by_the_send_time() {
    let (_, paid) = customer_and_order(TRANSACTION_PAID.as_bytes());
    assert_eq!(paid.paid_at, Some(at("2026-11-21T07:58:40.913Z")));
    let (_, placed) = customer_and_order(ORDER_PLACED.as_bytes());
    assert_eq!(placed.paid_at, None);
    // The paid event over a payload that still shows the transaction open: the send time stands in.
    let (_, early) = customer_and_order(&with_event(ORDER_PLACED, "state_enter.order_transaction.state.paid"));
    assert_eq!(early.paid_at, Some(at("2026-11-20T09:31:08Z")));
    // After a refund the payload no longer says when it was paid.
    let (_, refunded) = customer_and_order(&edited(TRANSACTION_PAID, |json| {
        json["data"]["event"] = json!("state_enter.order_transaction.state.refunded");
        json["data"]["payload"]["order"]["transactions"][0]["stateMachineState"]["technicalName"] = json!("refunded");
    }));
    assert_eq!(refunded.paid_at, None);
}

// Refunds made through Shopware's refund handling, read from the Admin API after a refund event.

const ORDER: &str = "a3f1c2d4e5b6478899aabbccddeeff01";
/// The completed refund of `admin_search_order_transaction_capture_refund.json`; the other one there
/// is cancelled.
const COMPLETED_REFUND: &str = "44dd55ee66ff478899aabbccddeeff11";

fn lookup() -> RefundLookup {
    RefundLookup {
        shop: shop().id,
        order_id: OrderId::parse(ORDER).unwrap_or_else(|e| panic!("{e}")),
        currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
    }
}

fn line(id: &str, quantity: u32) -> RefundLine {
    RefundLine { line_id: LineId::parse(id).unwrap_or_else(|e| panic!("{e}")), quantity }
}

/// The fixture's refunds, each edited; the completed one is `data[1]`.
fn refund_answer(edit: impl Fn(&mut Value)) -> Vec<u8> {
    edited(ADMIN_SEARCH_REFUND, |json| {
        if let Some(refunds) = json["data"].as_array_mut() {
            refunds.iter_mut().for_each(&edit);
        }
    })
}

fn refunds(body: &[u8]) -> Vec<Refund> {
    match fetched_refunds(body, &lookup()) {
        Ok(changes) => changes
            .into_iter()
            .map(|change| match change {
                Change::RecordRefund(refund) => refund,
                other => panic!("expected refunds, got {other:?}"),
            })
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

fn refund_error(body: &[u8]) -> InputError {
    match fetched_refunds(body, &lookup()) {
        Err(e) => e,
        Ok(changes) => panic!("expected an error, got {changes:?}"),
    }
}

fn refund_event(state: &str) -> Vec<u8> {
    edited(TRANSACTION_PAID, |json| {
        json["data"]["event"] = json!(format!("state_enter.order_transaction.state.{state}"));
        json["data"]["payload"]["order"]["transactions"][0]["stateMachineState"]["technicalName"] = json!(state);
    })
}

#[test]
fn a_refund_event_is_the_order_change_with_the_orders_refunds_to_read() {
    for (state, payment) in
        [("refunded_partially", PaymentState::PartiallyRefunded), ("refunded", PaymentState::Refunded)]
    {
        match parse(&envelope(&refund_event(state)), &shop(), received_at()) {
            Ok(Parsed::FetchRefunds { changes, lookup: asked }) => {
                assert_eq!(asked, lookup(), "{state}");
                assert!(
                    matches!(changes.as_slice(), [Change::UpsertCustomer(_), Change::RecordOrder(o)] if o.payment == payment),
                    "{state}: {changes:?}"
                );
            }
            other => panic!("{state}: expected refunds to read, got {other:?}"),
        }
    }
    // Other payment events read nothing.
    let paid = parse(&envelope(TRANSACTION_PAID.as_bytes()), &shop(), received_at());
    assert!(matches!(paid, Ok(Parsed::Ready(ParseOutcome::Changes(_)))), "{paid:?}");
}

#[test]
fn the_refund_search_asks_for_the_orders_refunds_with_state_positions_and_order() {
    let criteria = refund_search(&lookup().order_id);
    assert_eq!(REFUND_ENTITY, "order_transaction_capture_refund");
    assert_eq!(
        criteria["filter"],
        json!([{"type": "equals", "field": "transactionCapture.transaction.orderId", "value": ORDER}])
    );
    assert_eq!(criteria["limit"], REFUND_SEARCH_LIMIT);
    assert!(criteria["associations"]["positions"].is_object());
    assert!(criteria["associations"]["stateMachineState"].is_object());
    assert!(criteria["associations"]["transactionCapture"]["associations"]["transaction"].is_object());
    assert_eq!(criteria["sort"][0]["field"], "createdAt");
}

#[test]
fn a_completed_refund_with_positions_refunds_those_lines_and_a_cancelled_one_is_skipped() {
    let refunds = refunds(ADMIN_SEARCH_REFUND.as_bytes());
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    let refund = &refunds[0];
    assert_eq!(refund.refund_id.as_str(), COMPLETED_REFUND);
    assert_eq!(refund.order_id.as_str(), ORDER);
    assert_eq!(refund.shop, shop().id);
    assert_eq!(refund.created_at, at("2026-11-23T08:14:58.402Z"));
    assert_eq!(
        refund.lines,
        [line("11aa22bb33cc44dd55ee66ff77889901", 1), line("11aa22bb33cc44dd55ee66ff77889903", 1)]
    );
    // Lines say what went back; the money is not used then.
    assert_eq!(refund.amount_minor, None);
}

#[test]
fn a_refund_without_positions_refunds_its_amount_read_from_the_exact_text() {
    let without_positions = refund_answer(|refund| refund["positions"] = json!([]));
    let refunds = refunds(&without_positions);
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!((refunds[0].lines.as_slice(), refunds[0].amount_minor), (&[][..], Some(2735)));
    // A float that is not exact in binary is read from its text, not through f64.
    let noisy = edited(ADMIN_SEARCH_REFUND, |json| {
        json["data"][1]["positions"] = Value::Null;
        json["data"][1]["amount"]["totalPrice"] = serde_json::from_str("27.349999999999998").unwrap_or_default();
    });
    assert_eq!(self::refunds(&noisy)[0].amount_minor, Some(2735));
    // A refund of nothing is no refund.
    let zero = edited(ADMIN_SEARCH_REFUND, |json| {
        json["data"][1]["positions"] = json!([]);
        json["data"][1]["amount"]["totalPrice"] = json!(0);
    });
    assert_eq!(self::refunds(&zero), []);
}

#[test]
fn refunds_that_are_not_completed_are_skipped() {
    for state in ["open", "in_progress", "failed", "cancelled"] {
        let body = refund_answer(|refund| refund["stateMachineState"]["technicalName"] = json!(state));
        assert_eq!(refunds(&body), [], "{state}");
    }
}

#[test]
fn positions_naming_a_line_twice_add_up_and_positions_without_units_are_left_out() {
    let body = edited(ADMIN_SEARCH_REFUND, |json| {
        let positions = &mut json["data"][1]["positions"];
        let mut again = positions[0].clone();
        again["quantity"] = json!(1);
        let mut money_only = positions[1].clone();
        money_only["orderLineItemId"] = json!("11aa22bb33cc44dd55ee66ff77889902");
        money_only["quantity"] = Value::Null;
        if let Some(list) = positions.as_array_mut() {
            list.push(again);
            list.push(money_only);
        }
    });
    assert_eq!(
        refunds(&body)[0].lines,
        [line("11aa22bb33cc44dd55ee66ff77889901", 2), line("11aa22bb33cc44dd55ee66ff77889903", 1)]
    );
}

#[test]
fn the_same_refund_twice_and_refunds_of_other_orders_are_left_out() {
    let body = edited(ADMIN_SEARCH_REFUND, |json| {
        let completed = json["data"][1].clone();
        let mut other = completed.clone();
        other["id"] = json!("44dd55ee66ff478899aabbccddeeff99");
        other["transactionCapture"]["transaction"]["orderId"] = json!("b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0");
        if let Some(data) = json["data"].as_array_mut() {
            data.push(completed);
            data.push(other);
        }
    });
    let refunds = refunds(&body);
    assert_eq!(refunds.iter().map(|r| r.refund_id.as_str()).collect::<Vec<_>>(), [COMPLETED_REFUND]);
}

#[test]
fn a_hostile_refund_or_line_id_is_refused() {
    let hostile_refund = refund_answer(|refund| refund["id"] = json!("44dd' OR 1=1 --"));
    assert!(matches!(refund_error(&hostile_refund), InputError::Invalid { field: "refund id", .. }));
    let hostile_line = edited(ADMIN_SEARCH_REFUND, |json| {
        json["data"][1]["positions"][0]["orderLineItemId"] = json!("../../".repeat(40));
    });
    assert!(matches!(refund_error(&hostile_line), InputError::Invalid { field: "line id", .. }));
}

/// An edit of one refund entity.
type Edit = dyn Fn(&mut Value);

#[test]
fn a_malformed_refund_answer_is_an_error_never_an_empty_result() {
    assert!(matches!(refund_error(b"<html>"), InputError::MalformedJson(_)));
    assert_eq!(refund_error(b"{}"), InputError::Missing("data"));
    assert!(matches!(refund_error(br#"{"data": {}}"#), InputError::Invalid { field: "data", .. }));
    assert!(matches!(refund_error(br#"{"data": [7]}"#), InputError::Invalid { .. }));
    let too_many = edited(ADMIN_SEARCH_REFUND, |json| {
        json["data"] = Value::Array(vec![json["data"][0].clone(); REFUND_SEARCH_LIMIT + 1]);
    });
    assert!(matches!(refund_error(&too_many), InputError::Invalid { field: "data", .. }));
    let cases: [(&str, &Edit); 7] = [
        ("order_transaction_capture_refund.stateMachineState.technicalName", &|r| r["stateMachineState"] = Value::Null),
        ("order_transaction_capture_refund.createdAt", &|r| r["createdAt"] = json!("gestern")),
        ("order_transaction_capture_refund.transactionCapture.transaction.orderId", &|r| {
            r["transactionCapture"] = Value::Null
        }),
        ("order_transaction_capture_refund.positions", &|r| r["positions"] = json!({"id": "x"})),
        ("order_transaction_capture_refund_position.quantity", &|r| r["positions"][0]["quantity"] = json!("1")),
        ("order_transaction_capture_refund.amount.totalPrice", &|r| {
            r["positions"] = json!([]);
            r["amount"]["totalPrice"] = json!("viel");
        }),
        ("order_transaction_capture_refund.amount.totalPrice", &|r| {
            r["positions"] = json!([]);
            r["amount"]["totalPrice"] = json!(-27.35);
        }),
    ];
    for (field, edit) in cases {
        let error = refund_error(&refund_answer(edit));
        let named = match &error {
            InputError::Missing(f) | InputError::Invalid { field: f, .. } => *f,
            other => panic!("{field}: {other:?}"),
        };
        assert_eq!(named, field, "{error:?}");
    }
}

#[test]
fn a_refund_answer_cut_short_is_an_error_and_never_a_panic() {
    let body = ADMIN_SEARCH_REFUND.trim_end().as_bytes();
    for cut in (0..body.len()).step_by(61) {
        assert!(fetched_refunds(&body[..cut], &lookup()).is_err(), "cut at {cut}");
    }
}
