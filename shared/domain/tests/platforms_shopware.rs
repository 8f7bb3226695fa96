//! The Shopware parser against our own fixtures (see fixtures/webhooks/README.md).

mod common;

use common::{at, received_at};
use serde_json::{json, Value};
use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::customer::{Birthday, CustomerProfile};
use stammkunde_domain::error::InputError;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::ingest::Change;
use stammkunde_domain::order::{Order, PaymentState, Platform};
use stammkunde_domain::platforms::shopware::{
    customer_search, fetched_customers, parse, parse_envelope, Envelope, Parsed, CUSTOMER_SEARCH_LIMIT,
};
use stammkunde_domain::platforms::ParseOutcome;

const ORDER_PLACED: &str = include_str!("../../../fixtures/webhooks/shopware/checkout_order_placed.json");
const TRANSACTION_PAID: &str = include_str!("../../../fixtures/webhooks/shopware/state_order_transaction_paid.json");
const CUSTOMER_REGISTER: &str = include_str!("../../../fixtures/webhooks/shopware/checkout_customer_register.json");
const CUSTOMER_WRITTEN: &str = include_str!("../../../fixtures/webhooks/shopware/customer_written.json");
const ADMIN_SEARCH_CUSTOMER: &str = include_str!("../../../fixtures/webhooks/shopware/admin_search_customer.json");
/// The customer of the register, written and Admin API fixtures.
const REGISTERED: &str = "9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a";

const CUSTOMER: &str = "7c1e9b2a4d3f4e5a8b6c0d1e2f3a4b5c";

fn shop() -> ShopConfig {
    common::shop("kaffee-demo", "shopware", "Xk3v9QpL2mWn7RtY")
}

fn envelope(body: &[u8]) -> Envelope {
    parse_envelope(body).unwrap_or_else(|e| panic!("{e}"))
}

fn changes(body: &[u8]) -> Vec<Change> {
    match parse(&envelope(body), &shop(), received_at()) {
        Ok(Parsed::Ready(ParseOutcome::Changes(changes))) => changes,
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
    for fixture in [ORDER_PLACED, TRANSACTION_PAID, CUSTOMER_REGISTER] {
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
