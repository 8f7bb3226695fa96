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

const ORDERS_PAID: &str = include_str!("../../../fixtures/webhooks/shopify/orders_paid.json");
const ORDERS_CREATE_PENDING: &str = include_str!("../../../fixtures/webhooks/shopify/orders_create_pending.json");
const ORDERS_CANCELLED: &str = include_str!("../../../fixtures/webhooks/shopify/orders_cancelled.json");
const CUSTOMERS_CREATE: &str = include_str!("../../../fixtures/webhooks/shopify/customers_create.json");
const CUSTOMERS_DATA_REQUEST: &str = include_str!("../../../fixtures/webhooks/shopify/customers_data_request.json");
const CUSTOMERS_REDACT: &str = include_str!("../../../fixtures/webhooks/shopify/customers_redact.json");
const SHOP_REDACT: &str = include_str!("../../../fixtures/webhooks/shopify/shop_redact.json");

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
    match parse("orders/paid", body, &shop(), DELIVERY, received_at()) {
        Err(e) => e,
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
    }
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
    for topic in ["orders/create", "orders/updated", "orders/cancelled"] {
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
fn refunds_and_unknown_topics_are_ignored_with_a_reason() {
    let refund = parse("refunds/create", b"{}", &shop(), DELIVERY, received_at());
    assert_eq!(refund, Ok(ParseOutcome::Ignored { reason: "refunds are applied by the ledger (not yet)".into() }));
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
    ];
    for (topic, fixture) in fixtures {
        let body = fixture.trim_end().as_bytes();
        for cut in (0..body.len()).step_by(97) {
            let outcome = parse(topic, &body[..cut], &shop(), DELIVERY, received_at());
            assert!(outcome.is_err(), "{topic} cut at {cut} parsed: {outcome:?}");
        }
    }
}
