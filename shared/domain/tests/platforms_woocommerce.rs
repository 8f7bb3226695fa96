//! The WooCommerce parser against our own fixtures (see fixtures/webhooks/README.md).

mod common;

use common::{at, received_at};
use serde_json::{json, Value};
use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::error::InputError;
use stammkunde_domain::ids::{CustomerId, OrderId, RefundId};
use stammkunde_domain::ingest::Change;
use stammkunde_domain::order::{Order, PaymentState, Platform};
use stammkunde_domain::platforms::woocommerce::{is_ping, parse};
use stammkunde_domain::platforms::ParseOutcome;
use stammkunde_domain::refund::Refund;

const ORDER_PROCESSING: &str = include_str!("../../../fixtures/webhooks/woocommerce/order_processing.json");
const ORDER_PENDING: &str = include_str!("../../../fixtures/webhooks/woocommerce/order_pending.json");
const ORDER_PARTIALLY_REFUNDED: &str =
    include_str!("../../../fixtures/webhooks/woocommerce/order_partially_refunded.json");
const CUSTOMER_UPDATED: &str = include_str!("../../../fixtures/webhooks/woocommerce/customer_updated.json");
const ORDER_DELETED: &str = include_str!("../../../fixtures/webhooks/woocommerce/order_deleted.json");

fn shop() -> ShopConfig {
    common::shop("kaffee-kontor", "woocommerce", "https://kaffee-kontor.example/")
}

fn changes(topic: &str, body: &[u8]) -> Vec<Change> {
    match parse(topic, body, &shop(), received_at()) {
        Ok(ParseOutcome::Changes(changes)) => changes,
        other => panic!("{topic}: expected changes, got {other:?}"),
    }
}

fn customer_and_order(body: &[u8]) -> (CustomerProfile, Order) {
    match changes("order.updated", body).as_slice() {
        [Change::UpsertCustomer(profile), Change::RecordOrder(order)] => (profile.clone(), order.clone()),
        other => panic!("expected a customer and an order, got {other:?}"),
    }
}

/// The order of an order body, whatever customer and refunds come with it.
fn only_order(body: &[u8]) -> Order {
    let changes = changes("order.updated", body);
    let mut orders = changes.iter().filter_map(|change| match change {
        Change::RecordOrder(order) => Some(order.clone()),
        _ => None,
    });
    match (orders.next(), orders.next()) {
        (Some(order), None) => order,
        _ => panic!("expected one order, got {changes:?}"),
    }
}

/// The refunds an order body carries (they follow its order).
fn refunds(body: &[u8]) -> Vec<Refund> {
    let changes = changes("order.updated", body);
    let first = changes.iter().position(|change| matches!(change, Change::RecordRefund(_))).unwrap_or(changes.len());
    assert!(matches!(changes[..first].last(), Some(Change::RecordOrder(_))), "{changes:?}");
    changes[first..]
        .iter()
        .map(|change| match change {
            Change::RecordRefund(refund) => refund.clone(),
            other => panic!("expected only refunds after the order, got {other:?}"),
        })
        .collect()
}

fn edited(fixture: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut json: Value = serde_json::from_str(fixture).unwrap_or_else(|e| panic!("{e}"));
    edit(&mut json);
    serde_json::to_vec(&json).unwrap_or_else(|e| panic!("{e}"))
}

fn remove(json: &mut Value, keys: &[&str]) {
    if let Some(object) = json.as_object_mut() {
        for key in keys {
            object.remove(*key);
        }
    }
}

fn order_error(body: &[u8]) -> InputError {
    match parse("order.updated", body, &shop(), received_at()) {
        Err(e) => e,
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
    }
}

#[test]
fn a_processing_woocommerce_order_becomes_a_customer_and_a_paid_order() {
    let (profile, order) = customer_and_order(ORDER_PROCESSING.as_bytes());

    assert_eq!(profile.customer_id.as_str(), "42");
    assert_eq!(profile.email.as_ref().map(|e| e.as_str()), Some("tobias.wagner@example.de"));
    assert_eq!(profile.first_name.as_deref(), Some("Tobias"));
    assert_eq!(profile.last_name.as_deref(), Some("Wagner"));
    assert_eq!(profile.country.as_deref(), Some("DE"));
    // A snapshot from an order: it never overwrites a stored profile.
    assert_eq!(profile.source_updated_at, None);

    assert_eq!(order.platform, Platform::Woocommerce);
    assert_eq!(order.order_id.as_str(), "1187");
    assert_eq!(order.order_number.as_deref(), Some("1187"));
    assert_eq!(order.customer_id.as_ref().map(|c| c.as_str()), Some("42"));
    assert_eq!(order.payment, PaymentState::Paid);
    assert!(!order.cancelled);
    assert_eq!(order.discount_codes, vec!["herbst10".to_owned()]);
    assert_eq!(order.shipping_minor, 412);
    assert_eq!(order.placed_at, at("2026-11-20T10:02:13Z"));
    assert_eq!(order.version.updated_at, at("2026-11-20T10:05:40Z"));
    assert_eq!(order.version.progress, PaymentState::Paid.rank());
}

#[test]
fn woocommerce_line_totals_are_after_coupons_and_without_tax_even_when_prices_include_tax() {
    let (_, order) = customer_and_order(ORDER_PROCESSING.as_bytes());
    assert_eq!(order.total_minor, Some(8914));
    // The shop enters gross prices (`prices_include_tax: true`), yet `total` is net of tax.
    assert!(!order.taxes_included);
    let amounts: Vec<i64> = order.lines.iter().map(|l| l.amount_minor).collect();
    let taxes: Vec<i64> = order.lines.iter().map(|l| l.tax_minor).collect();
    let quantities: Vec<u32> = order.lines.iter().map(|l| l.quantity).collect();
    assert_eq!(amounts, [3852, 2639, 976]);
    assert_eq!(taxes, [270, 502, 185]);
    assert_eq!(quantities, [2, 1, 1]);
    assert_eq!(order.lines[0].line_id.as_str(), "301");
    assert_eq!(order.lines[0].product_id.as_deref(), Some("118"));
    // Goods plus shipping plus all tax give the order total of 89.14.
    let gross: i64 = order.lines.iter().map(|l| l.gross_minor(order.taxes_included)).sum();
    assert_eq!(gross + order.shipping_minor + 78, 8914);
}

#[test]
fn a_pending_guest_order_is_recorded_without_a_customer() {
    match changes("order.created", ORDER_PENDING.as_bytes()).as_slice() {
        [Change::RecordOrder(order)] => {
            assert_eq!(order.customer_id, None);
            assert_eq!(order.payment, PaymentState::Pending);
            assert!(!order.cancelled);
            let amounts: Vec<i64> = order.lines.iter().map(|l| l.amount_minor).collect();
            let taxes: Vec<i64> = order.lines.iter().map(|l| l.tax_minor).collect();
            assert_eq!(amounts, [1260, 1849]);
            assert_eq!(taxes, [239, 351]);
            assert_eq!(order.shipping_minor, 590);
            assert!(order.discount_codes.is_empty());
            assert_eq!(order.version.updated_at, at("2026-11-21T18:45:03Z"));
        }
        other => panic!("expected one order, got {other:?}"),
    }
}

#[test]
fn a_partly_refunded_order_is_partially_refunded_and_ahead_of_paid() {
    let order = only_order(ORDER_PARTIALLY_REFUNDED.as_bytes());
    assert_eq!(order.payment, PaymentState::PartiallyRefunded);
    assert_eq!(order.version.progress, PaymentState::PartiallyRefunded.rank());
    assert_eq!(order.version.updated_at, at("2026-11-18T15:30:05Z"));
    assert_eq!(order.lines.iter().map(|l| l.amount_minor).sum::<i64>(), 4446);
}

#[test]
fn refunds_adding_up_to_the_total_make_the_order_refunded_whatever_its_status() {
    let body = edited(ORDER_PARTIALLY_REFUNDED, |json| {
        json["refunds"] =
            json!([{"id": 1190, "reason": "", "total": "-12.90"}, {"id": 1191, "reason": "", "total": "-40.01"}]);
    });
    assert_eq!(only_order(&body).payment, PaymentState::Refunded);
    let status = edited(ORDER_PARTIALLY_REFUNDED, |json| json["status"] = json!("refunded"));
    assert_eq!(only_order(&status).payment, PaymentState::Refunded);
}

#[test]
fn a_cancelled_or_failed_order_that_was_never_paid_is_voided() {
    for status in ["cancelled", "failed"] {
        let body = edited(ORDER_PENDING, |json| json["status"] = json!(status));
        let order = only_order(&body);
        assert_eq!(order.payment, PaymentState::Voided, "{status}");
        assert!(order.cancelled, "{status}");
        assert_eq!(order.version.progress, PaymentState::Voided.rank() + 8);
    }
}

#[test]
fn a_cancelled_order_that_was_paid_keeps_its_paid_state() {
    let body = edited(ORDER_PROCESSING, |json| json["status"] = json!("cancelled"));
    let order = only_order(&body);
    assert_eq!(order.payment, PaymentState::Paid);
    assert!(order.cancelled);
}

#[test]
fn a_payment_date_marks_a_plugin_status_as_paid() {
    let body = edited(ORDER_PENDING, |json| {
        json["status"] = json!("versandt");
        json["date_paid_gmt"] = json!("2026-11-22T09:00:00");
    });
    assert_eq!(only_order(&body).payment, PaymentState::Paid);
    let on_hold = edited(ORDER_PENDING, |json| json["status"] = json!("on-hold"));
    assert_eq!(only_order(&on_hold).payment, PaymentState::Pending);
}

#[test]
fn shop_local_dates_are_converted_with_the_shops_time_zone_when_no_gmt_twin_exists() {
    let body = edited(ORDER_PROCESSING, |json| {
        remove(json, &["date_created_gmt", "date_modified_gmt", "date_paid_gmt", "date_completed_gmt"]);
    });
    let order = only_order(&body);
    // Berlin is UTC+1 in November: 11:02:13 local is 10:02:13 UTC.
    assert_eq!(order.placed_at, at("2026-11-20T10:02:13Z"));
    assert_eq!(order.paid_at, Some(at("2026-11-20T10:02:20Z")));
    assert_eq!(order.version.updated_at, at("2026-11-20T10:05:40Z"));
    assert_eq!(order.payment, PaymentState::Paid);
}

#[test]
fn an_updated_woocommerce_customer_becomes_a_profile_guarded_by_its_modification_time() {
    for topic in ["customer.created", "customer.updated"] {
        match changes(topic, CUSTOMER_UPDATED.as_bytes()).as_slice() {
            [Change::UpsertCustomer(profile)] => {
                assert_eq!(profile.customer_id.as_str(), "42");
                assert_eq!(profile.email.as_ref().map(|e| e.as_str()), Some("tobias.wagner@example.de"));
                assert_eq!(profile.first_name.as_deref(), Some("Tobias"));
                assert_eq!(profile.last_name.as_deref(), Some("Wagner"));
                assert_eq!(profile.country.as_deref(), Some("DE"));
                assert_eq!(profile.birthday, None);
                assert_eq!(profile.source_updated_at, Some(at("2026-11-19T07:44:10Z")));
            }
            other => panic!("{topic}: expected one profile, got {other:?}"),
        }
    }
}

#[test]
fn a_never_modified_customer_is_stamped_with_its_creation_time() {
    let body = edited(CUSTOMER_UPDATED, |json| {
        json["date_modified"] = Value::Null;
        json["date_modified_gmt"] = Value::Null;
    });
    match changes("customer.created", &body).as_slice() {
        [Change::UpsertCustomer(profile)] => {
            assert_eq!(profile.source_updated_at, Some(at("2025-06-14T15:20:31Z")));
        }
        other => panic!("expected one profile, got {other:?}"),
    }
}

#[test]
fn deletions_are_stamped_with_the_receipt_time() {
    assert_eq!(
        changes("order.deleted", ORDER_DELETED.as_bytes()),
        vec![Change::DeleteOrder {
            shop: shop().id,
            order_id: OrderId::parse("1188").unwrap_or_else(|e| panic!("{e}")),
            at: received_at(),
        }]
    );
    assert_eq!(
        changes("customer.deleted", br#"{"id": 42}"#),
        vec![Change::DeleteCustomer {
            shop: shop().id,
            customer_id: CustomerId::parse("42").unwrap_or_else(|e| panic!("{e}")),
            at: received_at(),
        }]
    );
}

#[test]
fn a_restored_order_is_recorded_like_any_other() {
    assert_eq!(changes("order.restored", ORDER_PENDING.as_bytes()), changes("order.updated", ORDER_PENDING.as_bytes()));
}

#[test]
fn the_activation_ping_is_recognised_only_in_its_exact_shape() {
    assert!(is_ping(b"webhook_id=17"));
    assert!(!is_ping(ORDER_DELETED.as_bytes()));
    assert!(!is_ping(b"webhook_id=17x"));
    // A handler that forgot to ask `is_ping` gets a clean error, not a panic.
    assert!(matches!(order_error(b"webhook_id=17"), InputError::MalformedJson(_)));
}

#[test]
fn catalogue_and_custom_action_topics_are_ignored() {
    for topic in ["product.updated", "coupon.created", "action.woocommerce_order_status_changed", "order.exploded"] {
        let outcome = parse(topic, b"{\"action\":\"x\",\"arg\":1}", &shop(), received_at());
        assert!(matches!(outcome, Ok(ParseOutcome::Ignored { .. })), "{topic}: {outcome:?}");
    }
}

#[test]
fn an_order_without_id_currency_or_modification_date_is_refused_as_missing() {
    let without = |keys: &'static [&'static str]| edited(ORDER_PROCESSING, |json| remove(json, keys));
    assert_eq!(order_error(&without(&["id"])), InputError::Missing("id"));
    assert_eq!(order_error(&without(&["currency"])), InputError::Missing("currency"));
    assert_eq!(order_error(&without(&["status"])), InputError::Missing("status"));
    assert_eq!(
        order_error(&without(&["date_modified_gmt", "date_modified"])),
        InputError::Missing("date_modified_gmt")
    );
    let no_total = edited(ORDER_PROCESSING, |json| remove(&mut json["line_items"][1], &["total"]));
    assert_eq!(order_error(&no_total), InputError::Missing("line_items[].total"));
    assert!(matches!(parse("order.deleted", b"{}", &shop(), received_at()), Err(InputError::Missing("id"))));
}

#[test]
fn fields_of_the_wrong_type_are_invalid() {
    let cases: [(&str, Value, &str); 5] = [
        ("id", json!({"n": 1}), "id"),
        ("customer_id", json!(-3), "customer_id"),
        ("line_items", json!({}), "line_items"),
        ("date_modified_gmt", json!("gestern"), "date_modified_gmt"),
        ("refunds", json!("none"), "refunds"),
    ];
    for (key, value, field) in cases {
        let body = edited(ORDER_PROCESSING, |json| json[key] = value.clone());
        match order_error(&body) {
            InputError::Invalid { field: got, .. } => assert_eq!(got, field, "{key} = {value}"),
            other => panic!("{key} = {value}: expected Invalid, got {other:?}"),
        }
    }
    let object_total = edited(ORDER_PROCESSING, |json| json["line_items"][0]["total"] = json!({"amount": "1"}));
    assert!(matches!(order_error(&object_total), InputError::Invalid { field: "line_items[].total", .. }));
    assert!(matches!(order_error(b"\"just a string\""), InputError::Invalid { field: "body", .. }));
    assert!(matches!(order_error(b"<html>"), InputError::MalformedJson(_)));
}

#[test]
fn hostile_ids_are_refused_and_huge_names_are_cut() {
    let hostile_line = edited(ORDER_PROCESSING, |json| json["line_items"][0]["id"] = json!("301<script>"));
    assert!(matches!(order_error(&hostile_line), InputError::Invalid { field: "line id", .. }));
    let hostile_product = edited(ORDER_PROCESSING, |json| json["line_items"][0]["product_id"] = json!("1 OR 1=1"));
    assert!(matches!(order_error(&hostile_product), InputError::Invalid { field: "line_items[].product_id", .. }));
    let huge = edited(ORDER_PROCESSING, |json| {
        json["billing"]["last_name"] = json!("W".repeat(10_240));
        json["billing"]["country"] = json!("Deutschland");
    });
    let (profile, _) = customer_and_order(&huge);
    assert_eq!(profile.last_name.map(|n| n.len()), Some(200));
    assert_eq!(profile.country, None);
}

#[test]
fn more_lines_than_an_order_may_have_are_refused() {
    let body = edited(ORDER_PROCESSING, |json| {
        let line = json["line_items"][0].clone();
        json["line_items"] = Value::Array(vec![line; 1_001]);
    });
    assert!(matches!(order_error(&body), InputError::Invalid { field: "line_items", .. }));
}

#[test]
fn every_fixture_cut_short_is_an_error_and_never_a_panic() {
    let fixtures = [
        ("order.updated", ORDER_PROCESSING),
        ("order.created", ORDER_PENDING),
        ("order.updated", ORDER_PARTIALLY_REFUNDED),
        ("customer.updated", CUSTOMER_UPDATED),
        ("order.deleted", ORDER_DELETED),
    ];
    for (topic, fixture) in fixtures {
        let body = fixture.trim_end().as_bytes();
        for cut in (0..body.len()).step_by(97) {
            let outcome = parse(topic, &body[..cut], &shop(), received_at());
            assert!(outcome.is_err(), "{topic} cut at {cut} parsed: {outcome:?}");
        }
    }
}

#[test]
fn a_partly_refunded_order_carries_its_refund_as_money_dated_by_the_orders_last_change() {
    let order = only_order(ORDER_PARTIALLY_REFUNDED.as_bytes());
    assert_eq!(
        refunds(ORDER_PARTIALLY_REFUNDED.as_bytes()),
        vec![Refund {
            shop: shop().id,
            order_id: OrderId::parse("1175").unwrap_or_else(|e| panic!("{e}")),
            refund_id: RefundId::parse("1190").unwrap_or_else(|e| panic!("{e}")),
            // The order lists no refund dates: its modification, the refund's own write, stands in.
            created_at: at("2026-11-18T15:30:05Z"),
            // `total` "-12.90": WooCommerce names no lines, only the money.
            lines: vec![],
            amount_minor: Some(1290),
        }]
    );
    assert_eq!(order.total_minor, Some(5291));
}

#[test]
fn every_refund_of_an_order_is_recorded_with_its_own_amount() {
    let body = edited(ORDER_PARTIALLY_REFUNDED, |json| {
        json["refunds"] = json!([
            {"id": 1190, "reason": "", "total": "-12.90"},
            {"id": 1194, "reason": "Porto", "total": "-0.05"},
            {"id": 1195, "reason": "nur Rücklagerung", "total": "0.00"},
        ]);
    });
    let refunds = refunds(&body);
    let amounts: Vec<(&str, Option<i64>)> = refunds.iter().map(|r| (r.refund_id.as_str(), r.amount_minor)).collect();
    // A refund of nothing (a restock only) takes nothing back and is left out.
    assert_eq!(amounts, [("1190", Some(1290)), ("1194", Some(5))]);
    assert!(refunds.iter().all(|r| r.lines.is_empty()));
}

#[test]
fn paid_at_and_fulfilled_at_come_from_the_gmt_fields() {
    let completed = only_order(ORDER_PARTIALLY_REFUNDED.as_bytes());
    // `date_paid_gmt` 08:12:50 and `date_completed_gmt` 13:00:00 are UTC; the plain twins an hour later are Berlin time.
    assert_eq!(completed.paid_at, Some(at("2026-11-10T08:12:50Z")));
    assert_eq!(completed.fulfilled_at, Some(at("2026-11-11T13:00:00Z")));

    let processing = only_order(ORDER_PROCESSING.as_bytes());
    assert_eq!(processing.paid_at, Some(at("2026-11-20T10:02:20Z")));
    assert_eq!(processing.fulfilled_at, None);

    let pending = only_order(ORDER_PENDING.as_bytes());
    assert_eq!((pending.paid_at, pending.fulfilled_at), (None, None));
}

#[test]
fn a_completion_date_left_on_an_order_that_is_no_longer_completed_is_not_fulfilment() {
    let reopened = edited(ORDER_PARTIALLY_REFUNDED, |json| json["status"] = json!("processing"));
    assert_eq!(only_order(&reopened).fulfilled_at, None);
    let local_only = edited(ORDER_PARTIALLY_REFUNDED, |json| remove(json, &["date_completed_gmt"]));
    // Only the shop-local field left: Berlin 14:00 is 13:00 UTC.
    assert_eq!(only_order(&local_only).fulfilled_at, Some(at("2026-11-11T13:00:00Z")));
}

#[test]
fn a_refund_without_an_id_or_a_total_or_with_a_hostile_id_is_refused() {
    let with_refund = |refund: Value| edited(ORDER_PARTIALLY_REFUNDED, |json| json["refunds"] = json!([refund]));
    assert_eq!(order_error(&with_refund(json!({"reason": "", "total": "-1.00"}))), InputError::Missing("refunds[].id"));
    assert_eq!(order_error(&with_refund(json!({"id": 1190, "reason": ""}))), InputError::Missing("refunds[].total"));
    assert!(matches!(
        order_error(&with_refund(json!({"id": "1190'--", "total": "-1.00"}))),
        InputError::Invalid { field: "refund id", .. }
    ));
    assert!(matches!(
        order_error(&with_refund(json!({"id": 1190, "total": "zwölf"}))),
        InputError::Invalid { field: "refunds[].total", .. }
    ));
    assert!(matches!(
        order_error(&edited(ORDER_PARTIALLY_REFUNDED, |json| json["refunds"] = json!([7]))),
        InputError::Invalid { field: "refunds[]", .. }
    ));
}
