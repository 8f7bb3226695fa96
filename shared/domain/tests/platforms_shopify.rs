//! The Shopify parser against our own fixtures (see fixtures/webhooks/README.md).

mod common;

use common::{at, received_at};
use serde_json::{json, Value};
use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::error::InputError;
use stammkunde_domain::ingest::{Change, PrivacyRequest, PrivacyRequestKind};
use stammkunde_domain::order::{Order, PaymentState, Platform};
use stammkunde_domain::platforms::shopify::parse;
use stammkunde_domain::platforms::ParseOutcome;
use stammkunde_domain::refund::Refund;

const ORDERS_PAID: &str = include_str!("../../../fixtures/webhooks/shopify/orders_paid.json");
const ORDERS_CREATE_PENDING: &str = include_str!("../../../fixtures/webhooks/shopify/orders_create_pending.json");
const ORDERS_CANCELLED: &str = include_str!("../../../fixtures/webhooks/shopify/orders_cancelled.json");
const CUSTOMERS_CREATE: &str = include_str!("../../../fixtures/webhooks/shopify/customers_create.json");
const CUSTOMERS_DATA_REQUEST: &str = include_str!("../../../fixtures/webhooks/shopify/customers_data_request.json");
const CUSTOMERS_REDACT: &str = include_str!("../../../fixtures/webhooks/shopify/customers_redact.json");
const SHOP_REDACT: &str = include_str!("../../../fixtures/webhooks/shopify/shop_redact.json");
const REFUNDS_CREATE: &str = include_str!("../../../fixtures/webhooks/shopify/refunds_create.json");
const ORDERS_UPDATED_FULFILLED_REFUNDED: &str =
    include_str!("../../../fixtures/webhooks/shopify/orders_updated_fulfilled_refunded.json");

const DELIVERY: &str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";

fn shop() -> ShopConfig {
    common::shop("nordlicht", "shopify", "nordlicht-roesterei.myshopify.com")
}

fn changes(topic: &str, body: &[u8]) -> Vec<Change> {
    match parse(topic, body, &shop(), DELIVERY, received_at()) {
        Ok(ParseOutcome::Changes(changes)) => changes,
        other => panic!("{topic}: expected changes, got {other:?}"),
    }
}

fn customer_and_order(topic: &str, body: &[u8]) -> (CustomerProfile, Order) {
    match changes(topic, body).as_slice() {
        [Change::UpsertCustomer(profile), Change::RecordOrder(order)] => (profile.clone(), order.clone()),
        other => panic!("expected a customer and an order, got {other:?}"),
    }
}

fn privacy(topic: &str, body: &[u8]) -> PrivacyRequest {
    match changes(topic, body).as_slice() {
        [Change::RecordPrivacyRequest(request)] => request.clone(),
        other => panic!("expected one privacy request, got {other:?}"),
    }
}

/// A fixture with one edit applied, re-serialised.
fn edited(fixture: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut json: Value = serde_json::from_str(fixture).unwrap_or_else(|e| panic!("{e}"));
    edit(&mut json);
    serde_json::to_vec(&json).unwrap_or_else(|e| panic!("{e}"))
}

fn order_error(body: &[u8]) -> InputError {
    error("orders/paid", body)
}

fn error(topic: &str, body: &[u8]) -> InputError {
    match parse(topic, body, &shop(), DELIVERY, received_at()) {
        Err(e) => e,
        Ok(outcome) => panic!("{topic}: expected an error, got {outcome:?}"),
    }
}

fn refund(body: &[u8]) -> Refund {
    match changes("refunds/create", body).as_slice() {
        [Change::RecordRefund(refund)] => refund.clone(),
        other => panic!("expected one refund, got {other:?}"),
    }
}

/// The refunds an order body carries, after its customer and order.
fn embedded_refunds(topic: &str, body: &[u8]) -> (Order, Vec<Refund>) {
    match changes(topic, body).as_slice() {
        [Change::UpsertCustomer(_), Change::RecordOrder(order), rest @ ..] => {
            let refunds = rest
                .iter()
                .map(|change| match change {
                    Change::RecordRefund(refund) => refund.clone(),
                    other => panic!("expected only refunds after the order, got {other:?}"),
                })
                .collect();
            (order.clone(), refunds)
        }
        other => panic!("expected a customer, an order and refunds, got {other:?}"),
    }
}

/// `(line id, quantity)` of each refunded line.
fn refunded_lines(refund: &Refund) -> Vec<(&str, u32)> {
    refund.lines.iter().map(|line| (line.line_id.as_str(), line.quantity)).collect()
}

#[test]
fn a_paid_shopify_order_becomes_a_customer_and_an_order() {
    let (profile, order) = customer_and_order("orders/paid", ORDERS_PAID.as_bytes());

    assert_eq!(profile.shop.as_str(), "nordlicht");
    assert_eq!(profile.customer_id.as_str(), "7654321098765");
    assert_eq!(profile.email.as_ref().map(|e| e.as_str()), Some("lena.hoffmann@example.de"));
    assert_eq!(profile.first_name.as_deref(), Some("Lena"));
    assert_eq!(profile.last_name.as_deref(), Some("Hoffmann"));
    assert_eq!(profile.locale.as_deref(), Some("de"));
    assert_eq!(profile.country.as_deref(), Some("DE"));
    assert_eq!(profile.accepts_email_marketing, Some(true));
    assert_eq!(profile.birthday, None);
    assert_eq!(profile.source_updated_at, Some(at("2026-11-20T09:14:06Z")));

    assert_eq!(order.shop.as_str(), "nordlicht");
    assert_eq!(order.platform, Platform::Shopify);
    assert_eq!(order.order_id.as_str(), "5912345678901");
    assert_eq!(order.order_number.as_deref(), Some("#1042"));
    assert_eq!(order.customer_id.as_ref().map(|c| c.as_str()), Some("7654321098765"));
    assert_eq!(order.currency.code(), "EUR");
    assert!(order.taxes_included);
    assert_eq!(order.payment, PaymentState::Paid);
    assert!(!order.cancelled);
    assert_eq!(order.discount_codes, vec!["WILLKOMMEN10".to_owned()]);
    assert_eq!(order.shipping_minor, 490);
    assert_eq!(order.placed_at, at("2026-11-20T09:14:05Z"));
    assert_eq!(order.version.updated_at, at("2026-11-20T09:15:42Z"));
    assert_eq!(order.version.progress, PaymentState::Paid.rank());
}

#[test]
fn paid_shopify_lines_are_price_times_quantity_less_their_discounts_with_their_own_taxes() {
    let (_, order) = customer_and_order("orders/paid", ORDERS_PAID.as_bytes());
    let ids: Vec<&str> = order.lines.iter().map(|l| l.line_id.as_str()).collect();
    let quantities: Vec<u32> = order.lines.iter().map(|l| l.quantity).collect();
    let amounts: Vec<i64> = order.lines.iter().map(|l| l.amount_minor).collect();
    let taxes: Vec<i64> = order.lines.iter().map(|l| l.tax_minor).collect();
    // 2 × 24.90 − 4.98; 249.00 − 24.90; 3 × 9.90 − 2.97. The 25 € gift card line is not goods.
    assert_eq!(ids, ["14011223344551", "14011223344552", "14011223344554"]);
    assert_eq!(quantities, [2, 1, 3]);
    assert_eq!(amounts, [4482, 22410, 2673]);
    assert_eq!(taxes, [293, 3578, 427]);
    assert_eq!(order.lines[0].product_id.as_deref(), Some("8801234567001"));
}

#[test]
fn buying_a_gift_card_records_no_goods_line() {
    let body = edited(ORDERS_PAID, |json| {
        json["line_items"] = json!([json["line_items"][2].clone()]);
    });
    let (_, order) = customer_and_order("orders/paid", &body);
    assert!(order.lines.is_empty());
}

#[test]
fn a_pending_shopify_order_counts_in_shop_money_not_in_the_buyers_currency() {
    let (profile, order) = customer_and_order("orders/create", ORDERS_CREATE_PENDING.as_bytes());
    assert_eq!(order.payment, PaymentState::Pending);
    assert_eq!(order.version.progress, 0);
    assert_eq!(order.currency.code(), "EUR");
    let amounts: Vec<i64> = order.lines.iter().map(|l| l.amount_minor).collect();
    let taxes: Vec<i64> = order.lines.iter().map(|l| l.tax_minor).collect();
    assert_eq!(amounts, [2900, 1990]);
    assert_eq!(taxes, [190, 318]);
    assert_eq!(order.shipping_minor, 0);
    assert!(order.discount_codes.is_empty());
    // The customer record has no first name: the billing address supplies it.
    assert_eq!(profile.first_name.as_deref(), Some("Jonas"));
    assert_eq!(profile.accepts_email_marketing, Some(false));
    assert_eq!(profile.locale.as_deref(), Some("de-CH"));
    assert_eq!(profile.country.as_deref(), Some("CH"));
}

#[test]
fn a_guest_order_cancelled_before_payment_is_voided_and_has_no_customer() {
    match changes("orders/cancelled", ORDERS_CANCELLED.as_bytes()).as_slice() {
        [Change::RecordOrder(order)] => {
            assert_eq!(order.customer_id, None);
            assert_eq!(order.payment, PaymentState::Voided);
            assert!(order.cancelled);
            assert_eq!(order.version.updated_at, at("2026-11-20T08:05:31Z"));
            assert_eq!(order.version.progress, PaymentState::Voided.rank() + 8);
            assert_eq!(order.lines.iter().map(|l| l.amount_minor).sum::<i64>(), 3230);
            assert_eq!(order.shipping_minor, 390);
        }
        other => panic!("expected one order, got {other:?}"),
    }
}

#[test]
fn every_order_topic_reads_the_same_body_the_same_way() {
    let paid = changes("orders/paid", ORDERS_PAID.as_bytes());
    for topic in
        ["orders/create", "orders/updated", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled"]
    {
        assert_eq!(changes(topic, ORDERS_PAID.as_bytes()), paid, "{topic}");
    }
}

#[test]
fn a_newer_snapshot_of_an_order_has_a_greater_version() {
    let (_, paid) = customer_and_order("orders/paid", ORDERS_PAID.as_bytes());
    let refunded = edited(ORDERS_PAID, |json| {
        json["financial_status"] = json!("partially_refunded");
        json["updated_at"] = json!("2026-11-22T16:00:00+01:00");
    });
    let (_, later) = customer_and_order("orders/updated", &refunded);
    assert_eq!(later.payment, PaymentState::PartiallyRefunded);
    assert!(later.version > paid.version);
}

#[test]
fn a_created_shopify_customer_becomes_a_profile_guarded_by_its_update_time() {
    for topic in ["customers/create", "customers/update"] {
        match changes(topic, CUSTOMERS_CREATE.as_bytes()).as_slice() {
            [Change::UpsertCustomer(profile)] => {
                assert_eq!(profile.customer_id.as_str(), "7654321099001");
                assert_eq!(profile.email.as_ref().map(|e| e.as_str()), Some("anna.brunner@example.at"));
                assert_eq!(profile.first_name.as_deref(), Some("Anna"));
                assert_eq!(profile.last_name.as_deref(), Some("Brunner"));
                assert_eq!(profile.country.as_deref(), Some("AT"));
                assert_eq!(profile.accepts_email_marketing, Some(true));
                assert_eq!(profile.source_updated_at, Some(at("2026-11-22T13:03:52Z")));
            }
            other => panic!("{topic}: expected one profile, got {other:?}"),
        }
    }
}

#[test]
fn the_legacy_accepts_marketing_flag_is_read_when_consent_is_absent() {
    let body = edited(CUSTOMERS_CREATE, |json| {
        if let Some(customer) = json.as_object_mut() {
            customer.remove("email_marketing_consent");
            customer.insert("accepts_marketing".into(), json!(false));
        }
    });
    match changes("customers/update", &body).as_slice() {
        [Change::UpsertCustomer(profile)] => assert_eq!(profile.accepts_email_marketing, Some(false)),
        other => panic!("expected one profile, got {other:?}"),
    }
}

#[test]
fn a_deleted_customer_and_an_uninstall_are_stamped_with_the_receipt_time() {
    assert_eq!(
        changes("customers/delete", br#"{"id": 7654321099001}"#),
        vec![Change::DeleteCustomer {
            shop: shop().id,
            customer_id: stammkunde_domain::ids::CustomerId::parse("7654321099001").unwrap_or_else(|e| panic!("{e}")),
            at: received_at(),
        }]
    );
    let uninstall = br#"{"id": 71234567890, "name": "Nordlicht", "domain": "nordlicht-roesterei.myshopify.com"}"#;
    assert_eq!(
        changes("app/uninstalled", uninstall),
        vec![Change::RecordUninstall { shop: shop().id, at: received_at() }]
    );
}

#[test]
fn a_data_request_is_recorded_with_its_own_id_and_without_contact_details() {
    let request = privacy("customers/data_request", CUSTOMERS_DATA_REQUEST.as_bytes());
    assert_eq!(request.kind, PrivacyRequestKind::DataRequest);
    assert_eq!(request.request_ref, "48213");
    assert_eq!(request.customer_id.as_ref().map(|c| c.as_str()), Some("7654321098765"));
    let orders: Vec<&str> = request.order_ids.iter().map(|o| o.as_str()).collect();
    assert_eq!(orders, ["5912345678901", "5912345679999"]);
    assert_eq!(request.received_at, received_at());
    let stored = serde_json::to_string(&request).unwrap_or_else(|e| panic!("{e}"));
    assert!(!stored.contains("example.de") && !stored.contains("+49"), "{stored}");
}

#[test]
fn a_customer_redact_is_referenced_by_its_delivery() {
    let request = privacy("customers/redact", CUSTOMERS_REDACT.as_bytes());
    assert_eq!(request.kind, PrivacyRequestKind::CustomerRedact);
    assert_eq!(request.request_ref, DELIVERY);
    assert_eq!(request.customer_id.as_ref().map(|c| c.as_str()), Some("7654321098765"));
    assert_eq!(request.order_ids.len(), 3);
}

#[test]
fn a_shop_redact_names_no_customer_and_no_orders() {
    let request = privacy("shop/redact", SHOP_REDACT.as_bytes());
    assert_eq!(request.kind, PrivacyRequestKind::ShopRedact);
    assert_eq!(request.request_ref, DELIVERY);
    assert_eq!(request.customer_id, None);
    assert!(request.order_ids.is_empty());
}

#[test]
fn order_edits_and_unknown_topics_are_ignored_with_a_reason() {
    // The body of `orders/edited` is only the edit; `orders/updated` brings the edited order.
    let edit = br#"{"order_edit": {"id": 1, "order_id": 5912345678901}}"#;
    let edited = parse("orders/edited", edit, &shop(), DELIVERY, received_at());
    assert!(matches!(&edited, Ok(ParseOutcome::Ignored { reason }) if reason.contains("orders/updated")), "{edited:?}");
    let unknown = parse("carts/update", b"{}", &shop(), DELIVERY, received_at());
    assert_eq!(unknown, Ok(ParseOutcome::Ignored { reason: "topic `carts/update` is not handled".into() }));
}

#[test]
fn a_64_bit_id_keeps_every_digit() {
    let body = edited(ORDERS_PAID, |json| json["id"] = json!(9_007_199_254_740_993_u64));
    let text = String::from_utf8(body).unwrap_or_default().replace("9007199254740993", "18446744073709551615");
    let (_, order) = customer_and_order("orders/paid", text.as_bytes());
    assert_eq!(order.order_id.as_str(), "18446744073709551615");
}

#[test]
fn an_order_without_id_currency_or_update_time_is_refused_as_missing() {
    let without = |key: &'static str| {
        edited(ORDERS_PAID, |json| {
            if let Some(order) = json.as_object_mut() {
                order.remove(key);
            }
        })
    };
    assert_eq!(order_error(&without("id")), InputError::Missing("id"));
    assert_eq!(order_error(&without("currency")), InputError::Missing("currency"));
    assert_eq!(order_error(&without("updated_at")), InputError::Missing("updated_at"));
    assert_eq!(order_error(&without("financial_status")), InputError::Missing("financial_status"));
    let no_line_id = edited(ORDERS_PAID, |json| json["line_items"][0]["id"] = Value::Null);
    assert_eq!(order_error(&no_line_id), InputError::Missing("line_items[].id"));
}

#[test]
fn a_body_that_is_not_json_is_malformed() {
    assert!(matches!(order_error(b"id=1&total=5"), InputError::MalformedJson(_)));
    assert!(matches!(order_error(b"[1, 2, 3]"), InputError::Invalid { field: "body", .. }));
}

#[test]
fn fields_of_the_wrong_type_are_invalid() {
    let cases: [(&str, Value, &str); 6] = [
        ("id", json!(true), "id"),
        ("id", json!(12.5), "id"),
        ("line_items", json!("many"), "line_items"),
        ("taxes_included", json!("yes"), "taxes_included"),
        ("updated_at", json!("20.11.2026"), "updated_at"),
        ("currency", json!("EURO"), "currency"),
    ];
    for (key, value, field) in cases {
        let body = edited(ORDERS_PAID, |json| json[key] = value.clone());
        match order_error(&body) {
            InputError::Invalid { field: got, .. } => assert_eq!(got, field, "{key} = {value}"),
            other => panic!("{key} = {value}: expected Invalid, got {other:?}"),
        }
    }
    for quantity in [json!("2"), json!(-1), json!(2.5), json!(2_000_000)] {
        let body = edited(ORDERS_PAID, |json| json["line_items"][0]["quantity"] = quantity.clone());
        assert!(
            matches!(order_error(&body), InputError::Invalid { field: "line_items[].quantity", .. }),
            "quantity {quantity}"
        );
    }
    let bad_price =
        edited(ORDERS_PAID, |json| json["line_items"][0]["price_set"]["shop_money"]["amount"] = json!("2,50"));
    assert!(matches!(order_error(&bad_price), InputError::Invalid { field: "line_items[].price", .. }));
}

#[test]
fn hostile_ids_are_refused_and_huge_names_are_cut() {
    let hostile_order = edited(ORDERS_PAID, |json| json["id"] = json!("1'; DROP TABLE orders; --"));
    assert!(matches!(order_error(&hostile_order), InputError::Invalid { field: "order id", .. }));
    let long_line = edited(ORDERS_PAID, |json| json["line_items"][0]["id"] = json!("9".repeat(200)));
    assert!(matches!(order_error(&long_line), InputError::Invalid { field: "line id", .. }));
    let hostile_customer = edited(ORDERS_PAID, |json| json["customer"]["id"] = json!("a\u{0}b"));
    assert!(matches!(order_error(&hostile_customer), InputError::Invalid { field: "customer id", .. }));

    let huge = edited(ORDERS_PAID, |json| {
        json["customer"]["first_name"] = json!("Ä".repeat(10_000));
        json["customer"]["email"] = json!("not an email");
        json["customer_locale"] = json!("<script>");
    });
    let (profile, _) = customer_and_order("orders/paid", &huge);
    assert_eq!(profile.first_name.map(|n| n.chars().count()), Some(200));
    assert_eq!(profile.email, None);
    assert_eq!(profile.locale, None);

    let redact = parse("shop/redact", SHOP_REDACT.as_bytes(), &shop(), "x y", received_at());
    assert!(matches!(redact, Err(InputError::Invalid { field: "delivery id", .. })));
}

#[test]
fn more_lines_than_an_order_may_have_are_refused() {
    let body = edited(ORDERS_PAID, |json| {
        let line = json["line_items"][0].clone();
        json["line_items"] = Value::Array(vec![line; 1_001]);
    });
    assert!(matches!(order_error(&body), InputError::Invalid { field: "line_items", .. }));
}

#[test]
fn a_shop_of_another_platform_is_refused() {
    let mut other = shop();
    other.platform = Platform::Woocommerce;
    let outcome = parse("orders/paid", ORDERS_PAID.as_bytes(), &other, DELIVERY, received_at());
    assert!(matches!(outcome, Err(InputError::Invalid { field: "shop", .. })));
}

#[test]
fn every_fixture_cut_short_is_an_error_and_never_a_panic() {
    let fixtures = [
        ("orders/paid", ORDERS_PAID),
        ("orders/create", ORDERS_CREATE_PENDING),
        ("orders/cancelled", ORDERS_CANCELLED),
        ("customers/create", CUSTOMERS_CREATE),
        ("customers/data_request", CUSTOMERS_DATA_REQUEST),
        ("customers/redact", CUSTOMERS_REDACT),
        ("shop/redact", SHOP_REDACT),
        ("refunds/create", REFUNDS_CREATE),
        ("orders/updated", ORDERS_UPDATED_FULFILLED_REFUNDED),
    ];
    for (topic, fixture) in fixtures {
        let body = fixture.trim_end().as_bytes();
        for cut in (0..body.len()).step_by(97) {
            let outcome = parse(topic, &body[..cut], &shop(), DELIVERY, received_at());
            assert!(outcome.is_err(), "{topic} cut at {cut} parsed: {outcome:?}");
        }
    }
}

#[test]
fn a_shopify_refund_names_its_two_lines_with_their_exact_quantities() {
    let refund = refund(REFUNDS_CREATE.as_bytes());
    assert_eq!(refund.shop.as_str(), "nordlicht");
    assert_eq!(refund.refund_id.as_str(), "1023456789012");
    assert_eq!(refund.order_id.as_str(), "5912345678901");
    assert_eq!(refund.created_at, at("2026-11-22T13:05:31Z"));
    // One of two bags of beans and two of three bottles of descaler.
    assert_eq!(refunded_lines(&refund), [("14011223344551", 1), ("14011223344554", 2)]);
    // Shopify reports lines: the money (`subtotal`, `transactions`) is not what points go back by.
    assert_eq!(refund.amount_minor, None);
}

#[test]
fn a_refund_of_shipping_only_takes_back_no_lines() {
    let body = edited(REFUNDS_CREATE, |json| {
        json["refund_line_items"] = json!([]);
        json["order_adjustments"] =
            json!([{"id": 2301234567801_u64, "amount": "-4.90", "tax_amount": "-0.78", "kind": "shipping_refund"}]);
    });
    let refund = refund(&body);
    assert!(refund.lines.is_empty());
    assert_eq!(refund.amount_minor, None);
    assert_eq!(refund.refund_id.as_str(), "1023456789012");
}

#[test]
fn an_updated_order_carries_its_embedded_refunds_after_the_order() {
    let (order, refunds) = embedded_refunds("orders/updated", ORDERS_UPDATED_FULFILLED_REFUNDED.as_bytes());
    assert_eq!(order.payment, PaymentState::PartiallyRefunded);
    let ids: Vec<&str> = refunds.iter().map(|r| r.refund_id.as_str()).collect();
    assert_eq!(ids, ["1023456789012", "1023456789013"]);
    // The refund of goods is the very change its own `refunds/create` delivery makes.
    assert_eq!(refunds[0], refund(REFUNDS_CREATE.as_bytes()));
    // The second refund gave back the shipping costs (an order adjustment): no lines.
    assert!(refunds[1].lines.is_empty());
    assert_eq!(refunds[1].amount_minor, None);
    assert_eq!(refunds[1].order_id, order.order_id);
    assert_eq!(refunds[1].created_at, at("2026-11-22T13:19:48Z"));
}

#[test]
fn an_order_without_refunds_records_no_refund() {
    let changes = changes("orders/paid", ORDERS_PAID.as_bytes());
    assert!(!changes.iter().any(|change| matches!(change, Change::RecordRefund(_))), "{changes:?}");
}

#[test]
fn a_fulfilled_order_is_fulfilled_when_its_last_successful_fulfilment_was_created() {
    let (order, _) = embedded_refunds("orders/updated", ORDERS_UPDATED_FULFILLED_REFUNDED.as_bytes());
    // The gift card went out at payment (10:14), the parcel on the next day at 16:42:55 +01:00.
    assert_eq!(order.fulfilled_at, Some(at("2026-11-21T15:42:55Z")));
    // The order body has no payment time, whatever its state.
    assert_eq!(order.paid_at, None);

    // A fulfilment that was cancelled shipped nothing, however late it was made.
    let cancelled_later = edited(ORDERS_UPDATED_FULFILLED_REFUNDED, |json| {
        let mut cancelled = json["fulfillments"][1].clone();
        cancelled["id"] = json!(5301234567803_u64);
        cancelled["status"] = json!("cancelled");
        cancelled["created_at"] = json!("2026-11-22T09:00:00+01:00");
        if let Some(fulfillments) = json["fulfillments"].as_array_mut() {
            fulfillments.push(cancelled);
        }
    });
    let (order, _) = embedded_refunds("orders/updated", &cancelled_later);
    assert_eq!(order.fulfilled_at, Some(at("2026-11-21T15:42:55Z")));
}

#[test]
fn a_fulfilled_order_without_its_fulfilments_is_fulfilled_by_its_last_update() {
    let trimmed = edited(ORDERS_UPDATED_FULFILLED_REFUNDED, |json| {
        if let Some(order) = json.as_object_mut() {
            order.remove("fulfillments");
        }
    });
    let (order, _) = embedded_refunds("orders/updated", &trimmed);
    assert_eq!(order.fulfilled_at, Some(at("2026-11-22T13:19:49Z")));
}

#[test]
fn an_order_not_yet_fulfilled_in_full_has_no_fulfilment_time() {
    let partial = edited(ORDERS_UPDATED_FULFILLED_REFUNDED, |json| json["fulfillment_status"] = json!("partial"));
    let (order, _) = embedded_refunds("orders/partially_fulfilled", &partial);
    assert_eq!(order.fulfilled_at, None);
    let (_, unfulfilled) = customer_and_order("orders/paid", ORDERS_PAID.as_bytes());
    assert_eq!(unfulfilled.fulfilled_at, None);
}

#[test]
fn the_order_total_is_total_price_in_shop_money() {
    let (_, paid) = customer_and_order("orders/paid", ORDERS_PAID.as_bytes());
    // Goods 295.65, the gift card 25.00 and shipping 4.90, taxes included.
    assert_eq!(paid.total_minor, Some(32555));
    let goods: i64 = paid.lines.iter().map(|l| l.amount_minor).sum();
    assert_eq!(goods + 2500 + paid.shipping_minor, 32555);
    // The buyer paid 47.20 CHF; the shop books 48.90 EUR.
    let (_, pending) = customer_and_order("orders/create", ORDERS_CREATE_PENDING.as_bytes());
    assert_eq!(pending.total_minor, Some(4890));
    // Refunds lower `current_total_price`, not the total the order was placed with.
    let (refunded, _) = embedded_refunds("orders/updated", ORDERS_UPDATED_FULFILLED_REFUNDED.as_bytes());
    assert_eq!(refunded.total_minor, Some(32555));
}

#[test]
fn a_refund_with_a_hostile_id_is_refused_as_bad_input() {
    let hostile = edited(REFUNDS_CREATE, |json| json["id"] = json!("1023456789012<script>"));
    assert!(matches!(error("refunds/create", &hostile), InputError::Invalid { field: "refund id", .. }));
    let hostile_line = edited(REFUNDS_CREATE, |json| json["refund_line_items"][0]["line_item_id"] = json!("1 OR 1=1"));
    assert!(matches!(error("refunds/create", &hostile_line), InputError::Invalid { field: "line id", .. }));
    let embedded = edited(ORDERS_UPDATED_FULFILLED_REFUNDED, |json| json["refunds"][1]["id"] = json!("1023 OR 1=1"));
    assert!(matches!(error("orders/updated", &embedded), InputError::Invalid { field: "refund id", .. }));
    let fractional = edited(REFUNDS_CREATE, |json| json["id"] = json!(1.5));
    assert!(matches!(error("refunds/create", &fractional), InputError::Invalid { field: "id", .. }));
}

#[test]
fn a_refund_without_its_order_id_or_id_is_refused_as_missing() {
    let without = |path: &[&str], key: &'static str| {
        edited(REFUNDS_CREATE, |json| {
            let parent = path.iter().fold(json, |value, step| match step.parse::<usize>() {
                Ok(index) => &mut value[index],
                Err(_) => &mut value[*step],
            });
            if let Some(object) = parent.as_object_mut() {
                object.remove(key);
            }
        })
    };
    assert_eq!(error("refunds/create", &without(&[], "order_id")), InputError::Missing("order_id"));
    assert_eq!(error("refunds/create", &without(&[], "id")), InputError::Missing("id"));
    let undated = edited(REFUNDS_CREATE, |json| {
        json["created_at"] = Value::Null;
        json["processed_at"] = Value::Null;
    });
    assert_eq!(error("refunds/create", &undated), InputError::Missing("created_at"));
    assert_eq!(
        error("refunds/create", &without(&["refund_line_items", "0"], "line_item_id")),
        InputError::Missing("refund_line_items[].line_item_id")
    );
    assert_eq!(
        error("refunds/create", &without(&["refund_line_items", "1"], "quantity")),
        InputError::Missing("refund_line_items[].quantity")
    );
    assert!(matches!(error("refunds/create", b"[]"), InputError::Invalid { field: "body", .. }));
}

#[test]
fn an_embedded_refund_takes_its_order_from_the_body_and_must_not_name_another() {
    let unnamed = edited(ORDERS_UPDATED_FULFILLED_REFUNDED, |json| {
        if let Some(refund) = json["refunds"][0].as_object_mut() {
            refund.remove("order_id");
        }
    });
    let (order, refunds) = embedded_refunds("orders/updated", &unnamed);
    assert_eq!(refunds[0].order_id, order.order_id);
    let other =
        edited(ORDERS_UPDATED_FULFILLED_REFUNDED, |json| json["refunds"][0]["order_id"] = json!(5912345679999_u64));
    assert!(matches!(error("orders/updated", &other), InputError::Invalid { field: "refunds[].order_id", .. }));
}

#[test]
fn a_line_listed_once_per_restock_location_is_refunded_in_its_sum() {
    let split = edited(REFUNDS_CREATE, |json| {
        let mut second = json["refund_line_items"][1].clone();
        second["id"] = json!(8123456789013_u64);
        second["quantity"] = json!(1);
        second["location_id"] = json!(71234567002_u64);
        json["refund_line_items"][1]["quantity"] = json!(1);
        if let Some(items) = json["refund_line_items"].as_array_mut() {
            items.push(second);
        }
    });
    assert_eq!(refunded_lines(&refund(&split)), [("14011223344551", 1), ("14011223344554", 2)]);
}

#[test]
fn a_64_bit_refund_id_keeps_every_digit() {
    let text = REFUNDS_CREATE.replacen("\"id\": 1023456789012,", "\"id\": 18446744073709551615,", 1);
    assert_eq!(refund(text.as_bytes()).refund_id.as_str(), "18446744073709551615");
}

#[test]
fn more_lines_than_a_refund_may_have_are_refused() {
    let body = edited(REFUNDS_CREATE, |json| {
        let line = json["refund_line_items"][0].clone();
        json["refund_line_items"] = Value::Array(vec![line; 1_001]);
    });
    assert!(matches!(error("refunds/create", &body), InputError::Invalid { field: "refund_line_items", .. }));
}
