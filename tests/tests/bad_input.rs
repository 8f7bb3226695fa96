//! Bad input on every platform, with data already stored: each class is refused with its exact
//! status and error code and leaves the store byte for byte as it was. Hostile but well-formed
//! values are either refused or stored bounded, never a 5xx.
//!
//! Each test ends with a positive control: the valid body the bad requests were made from is
//! accepted and does change the store, so "nothing written" is not true by accident.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::order::Order;
use stammkunde_domain::secret::Secret;
use stammkunde_domain::signature::{sign, DigestEncoding};
use stammkunde_e2e::*;

const SHOPIFY_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
const SHOPIFY_PENDING: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_create_pending.json");
const WOO_PROCESSING: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_processing.json");
const WOO_PENDING: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_pending.json");
const SHOPWARE_PLACED: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/checkout_order_placed.json");
const SHOPWARE_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/state_order_transaction_paid.json");

/// The 1 MiB body limit from the README.
const BODY_BYTES_MAX: usize = 1024 * 1024;
/// The longest free-text field the product keeps (names, order numbers, discount codes).
const TEXT_CHARS_MAX: usize = 200;

/// Four minutes after the Shopware placed event was sent, so its timestamp is fresh.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 35, 0).single().unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Shopify,
    Woocommerce,
    Shopware,
}

const PLATFORMS: [Platform; 3] = [Platform::Shopify, Platform::Woocommerce, Platform::Shopware];

impl Platform {
    fn path(self) -> &'static str {
        match self {
            Platform::Shopify => "/webhooks/shopify",
            Platform::Woocommerce => "/webhooks/woocommerce",
            Platform::Shopware => "/webhooks/shopware",
        }
    }

    fn shop(self) -> ShopId {
        let id = match self {
            Platform::Shopify => "shopify-shop",
            Platform::Woocommerce => "woo-shop",
            Platform::Shopware => "shopware-shop",
        };
        ShopId::parse(id).unwrap_or_else(|e| panic!("{e}"))
    }

    fn encoding(self) -> DigestEncoding {
        match self {
            Platform::Shopware => DigestEncoding::Hex,
            _ => DigestEncoding::Base64,
        }
    }

    /// Where the order object sits in the body.
    fn order_pointer(self) -> &'static str {
        match self {
            Platform::Shopware => "/data/payload/order",
            _ => "",
        }
    }

    /// The line items array's key in the order object.
    fn lines_key(self) -> &'static str {
        match self {
            Platform::Shopware => "lineItems",
            _ => "line_items",
        }
    }

    /// The order number's key (display text, bounded when stored).
    fn number_key(self) -> &'static str {
        match self {
            Platform::Shopify => "name",
            Platform::Woocommerce => "number",
            Platform::Shopware => "orderNumber",
        }
    }

    /// The body stored before each test: an order other than the one the bad requests carry.
    fn seed_body(self) -> Vec<u8> {
        match self {
            Platform::Shopify => SHOPIFY_PENDING.to_vec(),
            Platform::Woocommerce => WOO_PENDING.to_vec(),
            Platform::Shopware => SHOPWARE_PLACED.to_vec(),
        }
    }

    /// A valid, new body that would be accepted and written.
    fn valid_body(self) -> Vec<u8> {
        match self {
            Platform::Shopify => SHOPIFY_PAID.to_vec(),
            Platform::Woocommerce => WOO_PROCESSING.to_vec(),
            Platform::Shopware => edit_json(SHOPWARE_PAID, |e| e["timestamp"] = now().timestamp().into()),
        }
    }

    /// The valid body with one edit to its order object.
    fn order_variant(self, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        edit_json(&self.valid_body(), |body| match body.pointer_mut(self.order_pointer()) {
            Some(order) => edit(order),
            None => panic!("no order at {}", self.order_pointer()),
        })
    }

    /// Makes the order's buyer a new customer with this id and first name.
    fn set_customer(self, order: &mut Value, customer_id: &str, first_name: &str) {
        match self {
            Platform::Shopify => {
                order["customer"]["id"] = customer_id.into();
                order["customer"]["first_name"] = first_name.into();
            }
            Platform::Woocommerce => {
                order["customer_id"] = customer_id.into();
                order["billing"]["first_name"] = first_name.into();
            }
            Platform::Shopware => {
                order["orderCustomer"]["customerId"] = customer_id.into();
                order["orderCustomer"]["firstName"] = first_name.into();
            }
        }
    }

    /// The first discount code's text.
    fn set_discount_code(self, order: &mut Value, code: &str) {
        match self {
            Platform::Shopify => order["discount_codes"][0]["code"] = code.into(),
            Platform::Woocommerce => order["coupon_lines"][0]["code"] = code.into(),
            Platform::Shopware => {
                let lines = order["lineItems"].as_array_mut().unwrap_or_else(|| panic!("lineItems"));
                for line in lines.iter_mut().filter(|l| l["type"] == "promotion") {
                    line["payload"]["code"] = code.into();
                }
            }
        }
    }
}

/// An app with one platform's shop set up (Shopware registered) and one order already accepted.
struct Target {
    platform: Platform,
    app: TestApp,
    /// The Shopware shop secret; unused for the other platforms.
    shop_secret: String,
}

impl Target {
    async fn new(platform: Platform) -> Target {
        let app = spawn_app(now()).await;
        let shop_secret =
            if platform == Platform::Shopware { app.shopware_register_and_confirm().await } else { String::new() };
        let target = Target { platform, app, shop_secret };
        let seeded = target.send_signed(&target.platform.seed_body()).await;
        assert_eq!(seeded.body["status"], "accepted", "{platform:?} seed: {:?}", seeded.body);
        target
    }

    /// Signed headers for an order delivery, with a delivery id no earlier request used.
    fn signed(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        let id = format!("bad-{:016x}", rand::random::<u64>());
        match self.platform {
            Platform::Shopify => shopify_headers("orders/paid", body, &id),
            Platform::Woocommerce => woo_headers("order.updated", body, &id),
            Platform::Shopware => shopware_headers(body, &self.shop_secret),
        }
    }

    async fn send(&self, headers: &[(&str, String)], body: impl Into<reqwest::Body>) -> Answer {
        self.app.post(self.platform.path(), headers, body).await
    }

    async fn send_signed(&self, body: &[u8]) -> Answer {
        self.send(&self.signed(body), body.to_vec()).await
    }

    /// Sends, asserts the refusal, and asserts the store is byte for byte unchanged.
    async fn assert_refused_unchanged(
        &self,
        case: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        status: u16,
        code: &str,
    ) {
        let before = self.app.dump();
        let answer = self.send(headers, body).await;
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (status, Some(code)),
            "{:?} {case}: {:?}",
            self.platform,
            answer.body
        );
        assert!(answer.body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{case}: {:?}", answer.body);
        assert!(self.app.dump() == before, "{:?} {case}: the store changed", self.platform);
    }

    /// A signed body that must be refused with 400 `bad_request`, writing nothing.
    async fn assert_bad_request(&self, case: &str, body: Vec<u8>) {
        let headers = self.signed(&body);
        self.assert_refused_unchanged(case, &headers, body, 400, "bad_request").await;
    }

    /// The positive control: the valid body is accepted and changes the store.
    async fn assert_valid_body_still_accepted(&self) {
        let before = self.app.dump();
        let answer = self.send_signed(&self.platform.valid_body()).await;
        assert_eq!(answer.body["status"], "accepted", "{:?}: {:?}", self.platform, answer.body);
        assert!(self.app.dump() != before, "{:?}: the valid body writes", self.platform);
    }

    async fn customer_first_name(&self, customer: &str) -> Option<String> {
        let id = CustomerId::parse(customer).unwrap_or_else(|e| panic!("{e}"));
        let found = self.app.app.store.customer(&self.platform.shop(), &id).await.unwrap_or_else(|e| panic!("{e}"));
        found.and_then(|c| c.profile.first_name)
    }

    async fn order(&self, order: &str) -> Option<Order> {
        let id = OrderId::parse(order).unwrap_or_else(|e| panic!("{e}"));
        self.app.app.store.order(&self.platform.shop(), &id).await.unwrap_or_else(|e| panic!("{e}"))
    }
}

type Headers = Vec<(&'static str, String)>;

fn replace_header(headers: &mut [(&'static str, String)], name: &str, value: String) {
    match headers.iter_mut().find(|(n, _)| *n == name) {
        Some((_, v)) => *v = value,
        None => panic!("no header {name}"),
    }
}

fn signature_header(platform: Platform) -> &'static str {
    match platform {
        Platform::Shopify => "x-shopify-hmac-sha256",
        Platform::Woocommerce => "x-wc-webhook-signature",
        Platform::Shopware => "shopware-shop-signature",
    }
}

#[tokio::test]
async fn a_bad_signature_is_401_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let body = platform.valid_body();
        let name = signature_header(platform);
        let other_body = edit_json(&body, |b| b["extra"] = "x".into());
        let own_secret = match platform {
            Platform::Shopify => SHOPIFY_SECRET.to_owned(),
            Platform::Woocommerce => WOO_SECRET.to_owned(),
            Platform::Shopware => target.shop_secret.clone(),
        };
        let other_encoding = match platform.encoding() {
            DigestEncoding::Base64 => DigestEncoding::Hex,
            DigestEncoding::Hex => DigestEncoding::Base64,
        };
        let wrong = [
            ("signed with another secret", sign(&body, &Secret::new("some-other-secret"), platform.encoding())),
            ("the signature of another body", sign(&other_body, &Secret::new(own_secret.clone()), platform.encoding())),
            ("the right digest in the wrong encoding", sign(&body, &Secret::new(own_secret), other_encoding)),
            ("not an encoding of anything", "!!!not-a-digest!!!".to_owned()),
            ("a bare word", "sha256".to_owned()),
        ];
        for (case, value) in wrong {
            let mut headers = target.signed(&body);
            replace_header(&mut headers, name, value);
            target.assert_refused_unchanged(case, &headers, body.clone(), 401, "bad_signature").await;
        }
        target.assert_valid_body_still_accepted().await;
    }
}

#[tokio::test]
async fn a_missing_signature_is_401_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let body = platform.valid_body();
        let name = signature_header(platform);
        let without: Vec<_> = target.signed(&body).into_iter().filter(|(n, _)| *n != name).collect();
        target.assert_refused_unchanged("no signature header", &without, body.clone(), 401, "bad_signature").await;
        let mut empty = target.signed(&body);
        replace_header(&mut empty, name, String::new());
        target.assert_refused_unchanged("an empty signature header", &empty, body.clone(), 401, "bad_signature").await;
        target.assert_valid_body_still_accepted().await;
    }
}

#[tokio::test]
async fn an_unknown_shop_is_401_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let body = platform.valid_body();
        match platform {
            Platform::Shopify | Platform::Woocommerce => {
                let (name, other) = if platform == Platform::Shopify {
                    ("x-shopify-shop-domain", "someone-else.myshopify.com")
                } else {
                    ("x-wc-webhook-source", "https://someone-else.example/")
                };
                let mut headers = target.signed(&body);
                replace_header(&mut headers, name, other.to_owned());
                target.assert_refused_unchanged("another shop", &headers, body.clone(), 401, "unknown_shop").await;
                let without: Vec<_> = target.signed(&body).into_iter().filter(|(n, _)| *n != name).collect();
                target.assert_refused_unchanged("no shop header", &without, body.clone(), 401, "unknown_shop").await;
            }
            Platform::Shopware => {
                let other = edit_json(&body, |b| b["source"]["shopId"] = "SomeoneElse42".into());
                let headers = target.signed(&other);
                target.assert_refused_unchanged("another shop id", &headers, other, 401, "unknown_shop").await;
            }
        }
        target.assert_valid_body_still_accepted().await;
    }
}

#[tokio::test]
async fn malformed_json_is_400_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let valid = platform.valid_body();
        let bodies: [(&str, Vec<u8>); 5] = [
            ("an unterminated object", br#"{"id": 1,"#.to_vec()),
            ("the valid body cut in half", valid[..valid.len() / 2].to_vec()),
            ("not JSON at all", b"hello, shop".to_vec()),
            ("an empty body", Vec::new()),
            ("invalid UTF-8", [b"{\"id\": \"".as_slice(), &[0xff, 0xfe], b"\"}"].concat()),
        ];
        for (case, body) in bodies {
            target.assert_bad_request(case, body).await;
        }
        target.assert_valid_body_still_accepted().await;
    }
}

#[tokio::test]
async fn valid_json_that_is_not_an_object_is_400_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        for (case, body) in [
            ("an array", "[]"),
            ("an array of the order", "[{\"id\": 1}]"),
            ("a number", "42"),
            ("null", "null"),
            ("a string", "\"order\""),
        ] {
            target.assert_bad_request(case, body.as_bytes().to_vec()).await;
        }
        target.assert_valid_body_still_accepted().await;
    }
}

#[tokio::test]
async fn an_order_missing_a_required_field_is_400_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let remove = |key: &'static str| {
            platform.order_variant(move |order| {
                order.as_object_mut().map(|o| o.remove(key));
            })
        };
        target.assert_bad_request("order without id", remove("id")).await;
        target.assert_bad_request("order with a null id", platform.order_variant(|o| o["id"] = Value::Null)).await;
        target.assert_bad_request("order with an empty id", platform.order_variant(|o| o["id"] = "".into())).await;
        let lines = platform.lines_key();
        let line_without_id = platform.order_variant(|o| {
            o[lines][0].as_object_mut().map(|l| l.remove("id"));
        });
        target.assert_bad_request("a line without id", line_without_id).await;
        let line_without_quantity = platform.order_variant(|o| {
            o[lines][0].as_object_mut().map(|l| l.remove("quantity"));
        });
        target.assert_bad_request("a line without quantity", line_without_quantity).await;
        match platform {
            Platform::Shopify => {
                target.assert_bad_request("without currency", remove("currency")).await;
                target.assert_bad_request("without updated_at", remove("updated_at")).await;
                target.assert_bad_request("without financial_status", remove("financial_status")).await;
            }
            Platform::Woocommerce => {
                target.assert_bad_request("without status", remove("status")).await;
                target.assert_bad_request("without currency", remove("currency")).await;
                let undated = platform.order_variant(|o| {
                    o.as_object_mut().map(|o| (o.remove("date_modified"), o.remove("date_modified_gmt")));
                });
                target.assert_bad_request("without a modification date", undated).await;
            }
            Platform::Shopware => {
                let valid = platform.valid_body();
                for (case, pointer, key) in [
                    ("without data.event", "/data", "event"),
                    ("without data.payload.order", "/data/payload", "order"),
                    ("without source.shopId", "/source", "shopId"),
                    ("without timestamp", "", "timestamp"),
                ] {
                    let body = edit_json(&valid, |b| {
                        b.pointer_mut(pointer).and_then(Value::as_object_mut).map(|o| o.remove(key));
                    });
                    target.assert_bad_request(case, body).await;
                }
            }
        }
        target.assert_valid_body_still_accepted().await;
    }
}

#[tokio::test]
async fn an_order_with_wrongly_typed_fields_is_400_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let lines = platform.lines_key();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("id as an object", platform.order_variant(|o| o["id"] = json!({"id": 1}))),
            ("id as a boolean", platform.order_variant(|o| o["id"] = true.into())),
            ("id as a fraction", platform.order_variant(|o| o["id"] = json!(1187.5))),
            ("id as an array", platform.order_variant(|o| o["id"] = json!([1187]))),
            ("lines as a string", platform.order_variant(|o| o[lines] = "three lines".into())),
            ("lines as an object", platform.order_variant(|o| o[lines] = json!({"0": {}}))),
            ("a line that is a number", platform.order_variant(|o| o[lines][0] = 7.into())),
            ("a quantity as text", platform.order_variant(|o| o[lines][0]["quantity"] = "2".into())),
            ("a negative quantity", platform.order_variant(|o| o[lines][0]["quantity"] = (-2).into())),
            ("a quantity of 10^30", platform.order_variant(|o| o[lines][0]["quantity"] = json!(1e30))),
            ("the currency as a number", platform.order_variant(|o| currency_as_number(platform, o))),
        ];
        for (case, body) in cases {
            target.assert_bad_request(case, body).await;
        }
        if platform == Platform::Shopware {
            let valid = platform.valid_body();
            let stamped_as_text = edit_json(&valid, |b| b["timestamp"] = now().to_rfc3339().into());
            target.assert_bad_request("timestamp as text", stamped_as_text).await;
            let event_as_number = edit_json(&valid, |b| b["data"]["event"] = 7.into());
            target.assert_bad_request("event as a number", event_as_number).await;
        }
        target.assert_valid_body_still_accepted().await;
    }
}

fn currency_as_number(platform: Platform, order: &mut Value) {
    match platform {
        Platform::Shopware => order["currency"]["isoCode"] = 978.into(),
        _ => order["currency"] = 978.into(),
    }
}

/// The valid body padded with trailing whitespace (still the same JSON) to exactly `bytes`.
fn padded_to(body: &[u8], bytes: usize) -> Vec<u8> {
    assert!(body.len() <= bytes);
    let mut padded = body.to_vec();
    padded.resize(bytes, b' ');
    padded
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let valid = platform.valid_body();
        for size in [BODY_BYTES_MAX + 1, 5 * BODY_BYTES_MAX] {
            let body = padded_to(&valid, size);
            let headers = target.signed(&body);
            target.assert_refused_unchanged(&format!("{size} bytes"), &headers, body, 413, "body_too_large").await;
        }
        // Exactly at the limit is still taken.
        let at_limit = padded_to(&valid, BODY_BYTES_MAX);
        let answer = target.send_signed(&at_limit).await;
        assert_eq!(answer.body["status"], "accepted", "{platform:?} at exactly 1 MiB: {:?}", answer.body);
    }
}

#[tokio::test]
async fn an_unknown_topic_is_200_ignored_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let body = platform.valid_body();
        let mut requests: Vec<(Headers, Vec<u8>)> = Vec::new();
        match platform {
            Platform::Shopify => {
                // `refunds/create` is handled now (it reverses points); `carts/update` never will be.
                for topic in ["products/update", "inventory_levels/update", "carts/update", &"x".repeat(10_240)] {
                    requests
                        .push((shopify_headers(topic, &body, &format!("t-{}", rand::random::<u64>())), body.clone()));
                }
            }
            Platform::Woocommerce => {
                for topic in ["product.updated", "coupon.created", "action.woocommerce_x", &"y".repeat(10_240)] {
                    requests.push((woo_headers(topic, &body, &format!("t-{}", rand::random::<u64>())), body.clone()));
                }
            }
            Platform::Shopware => {
                for event in [
                    "product.written",
                    "state_enter.order_transaction.state.authorized",
                    "checkout.order.payment_method.changed",
                ] {
                    let other = edit_json(&body, |b| b["data"]["event"] = event.into());
                    requests.push((target.signed(&other), other));
                }
            }
        }
        for (headers, body) in requests {
            let before = target.app.dump();
            let answer = target.send(&headers, body).await;
            assert_eq!(
                (answer.status, answer.body["status"].as_str()),
                (200, Some("ignored")),
                "{platform:?}: {:?}",
                answer.body
            );
            let reason = answer.body["reason"].as_str().unwrap_or_default();
            assert!(
                !reason.is_empty() && reason.len() <= 256,
                "{platform:?}: a bounded reason, got {} bytes",
                reason.len()
            );
            assert!(target.app.dump() == before, "{platform:?}: an ignored topic writes nothing");
        }
        target.assert_valid_body_still_accepted().await;
    }
}

/// Ids a platform never sends: each must be refused, not stored.
fn hostile_ids() -> Vec<(&'static str, Value)> {
    vec![
        ("quotes and SQL", "1187\"; DROP TABLE orders; --".into()),
        ("a single quote", "11'87".into()),
        ("a NUL", "11\u{0}87".into()),
        ("an emoji", "🛒1187".into()),
        ("a newline", "1187\nX-Injected: yes".into()),
        ("10 KB of letters", "a".repeat(10_240).into()),
        ("10 KB of digits as a number", serde_json::from_str::<Value>(&"9".repeat(10_240)).unwrap_or_default()),
        ("a negative number", (-1187).into()),
        ("only spaces", "   ".into()),
    ]
}

#[tokio::test]
async fn hostile_ids_are_400_and_write_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let lines = platform.lines_key();
        for (case, id) in hostile_ids() {
            let as_order_id = platform.order_variant(|o| o["id"] = id.clone());
            target.assert_bad_request(&format!("order id: {case}"), as_order_id).await;
            let as_line_id = platform.order_variant(|o| o[lines][0]["id"] = id.clone());
            target.assert_bad_request(&format!("line id: {case}"), as_line_id).await;
            let as_customer_id = platform.order_variant(|o| match platform {
                Platform::Shopify => o["customer"]["id"] = id.clone(),
                Platform::Woocommerce => o["customer_id"] = id.clone(),
                Platform::Shopware => o["orderCustomer"]["customerId"] = id.clone(),
            });
            target.assert_bad_request(&format!("customer id: {case}"), as_customer_id).await;
        }
        if platform == Platform::Shopware {
            let valid = platform.valid_body();
            for (case, id) in hostile_ids().into_iter().filter(|(_, id)| id.is_string()) {
                let event_id = edit_json(&valid, |b| b["source"]["eventId"] = id.clone());
                target.assert_bad_request(&format!("eventId: {case}"), event_id).await;
                let shop_id = edit_json(&valid, |b| b["source"]["shopId"] = id.clone());
                target.assert_bad_request(&format!("shopId: {case}"), shop_id).await;
                let event = edit_json(&valid, |b| b["data"]["event"] = id.clone());
                target.assert_bad_request(&format!("event: {case}"), event).await;
            }
        }
        target.assert_valid_body_still_accepted().await;
    }
}

/// A new order id and customer id per platform, so the hostile order is not the seeded one.
fn fresh_ids(platform: Platform) -> (&'static str, &'static str) {
    match platform {
        Platform::Shopify => ("5912345600001", "7654321000001"),
        Platform::Woocommerce => ("5001", "77"),
        Platform::Shopware => ("ffeeddccbbaa99887766554433221100", "00112233445566778899aabbccddeeff"),
    }
}

#[tokio::test]
async fn hostile_text_fields_are_stored_bounded_and_never_cause_a_server_error() {
    let long = "Ж".repeat(50_000); // 100 KB
    let controls = "Ann\u{0}\u{7}\u{1b}[31m\r\nmarie";
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let (order_id, customer_id) = fresh_ids(platform);
        let body = platform.order_variant(|o| {
            o["id"] = order_id.into();
            platform.set_customer(o, customer_id, &long);
            o[platform.number_key()] = format!("#{long}").into();
            platform.set_discount_code(o, &format!("{controls}{long}"));
        });
        let answer = target.send_signed(&body).await;
        assert!(matches!(answer.status, 200 | 400), "{platform:?}: never a 5xx: {} {:?}", answer.status, answer.body);
        if answer.status == 200 {
            let name = target.customer_first_name(customer_id).await.unwrap_or_default();
            assert!(
                name.chars().count() <= TEXT_CHARS_MAX,
                "{platform:?}: a first name of {} chars",
                name.chars().count()
            );
            let order = target.order(order_id).await.unwrap_or_else(|| panic!("{platform:?}: the order is stored"));
            let number = order.order_number.unwrap_or_default();
            assert!(
                number.chars().count() <= TEXT_CHARS_MAX,
                "{platform:?}: an order number of {} chars",
                number.chars().count()
            );
            for code in &order.discount_codes {
                assert!(
                    code.chars().count() <= TEXT_CHARS_MAX,
                    "{platform:?}: a code of {} chars",
                    code.chars().count()
                );
                assert!(!code.chars().any(char::is_control), "{platform:?}: control characters kept in {code:?}");
            }
            assert!(
                !target.app.dump().contains(&"Ж".repeat(TEXT_CHARS_MAX + 1)),
                "{platform:?}: an unbounded value is stored"
            );
        }

        let named = platform.order_variant(|o| {
            o["id"] = "4242".into();
            platform.set_customer(o, "4242", controls);
        });
        let answer = target.send_signed(&named).await;
        assert!(matches!(answer.status, 200 | 400), "{platform:?}: never a 5xx: {} {:?}", answer.status, answer.body);
        if answer.status == 200 {
            let name = target.customer_first_name("4242").await.unwrap_or_default();
            assert!(!name.chars().any(char::is_control), "{platform:?}: control characters kept in {name:?}");
        }
    }
}

#[tokio::test]
async fn a_date_outside_four_digit_years_is_refused_not_a_server_error_on_every_platform() {
    // Well-formed RFC 3339 whose instant in UTC falls outside the years 0000–9999.
    let dates =
        [("the year 10000 in UTC", "9999-12-31T23:30:00-01:00"), ("the year -1 in UTC", "0000-01-01T00:30:00+01:00")];
    let mut answers = Vec::new();
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        for (case, date) in dates {
            for field in ["modified", "created"] {
                let body = platform.order_variant(|o| set_order_date(platform, o, field, date));
                let before = target.app.dump();
                let answer = target.send_signed(&body).await;
                let unchanged = target.app.dump() == before;
                answers.push((
                    platform,
                    field,
                    case,
                    answer.status,
                    answer.body["error"].as_str().map(str::to_owned),
                    unchanged,
                ));
            }
        }
        target.assert_valid_body_still_accepted().await;
    }
    let expected: Vec<_> = answers
        .iter()
        .map(|(platform, field, case, ..)| (*platform, *field, *case, 400, Some("bad_request".to_owned()), true))
        .collect();
    assert_eq!(answers, expected, "(platform, date, case, status, error, store unchanged)");
}

/// Sets the order's modification date (its version) or its creation date.
fn set_order_date(platform: Platform, order: &mut Value, field: &str, date: &str) {
    let key = match (platform, field) {
        (Platform::Shopify, "modified") => "updated_at",
        (Platform::Shopify, _) => "processed_at",
        (Platform::Woocommerce, "modified") => "date_modified_gmt",
        (Platform::Woocommerce, _) => "date_created_gmt",
        (Platform::Shopware, "modified") => {
            order["transactions"][0]["updatedAt"] = date.into();
            return;
        }
        (Platform::Shopware, _) => "orderDateTime",
    };
    order[key] = date.into();
}

#[tokio::test]
async fn a_wrong_method_is_405_and_writes_nothing_on_every_platform() {
    for platform in PLATFORMS {
        let target = Target::new(platform).await;
        let body = platform.valid_body();
        for method in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
            let before = target.app.dump();
            let answer = target.app.request(method.clone(), platform.path(), &target.signed(&body), body.clone()).await;
            assert_refused(&answer, 405, "method_not_allowed");
            assert!(target.app.dump() == before, "{platform:?} {method}: the store changed");
        }
        target.assert_valid_body_still_accepted().await;
    }
}

#[tokio::test]
async fn an_unknown_webhook_route_is_404_and_writes_nothing() {
    let target = Target::new(Platform::Shopify).await;
    let body = SHOPIFY_PAID.to_vec();
    let before = target.app.dump();
    for path in ["/webhooks/magento", "/webhooks/shopify/orders", "/webhooks/shopifyx", "/webhooks/SHOPIFY"] {
        let answer = target.app.post(path, &target.signed(&body), body.clone()).await;
        assert_refused(&answer, 404, "not_found");
    }
    assert!(target.app.dump() == before);
    target.assert_valid_body_still_accepted().await;
}

#[tokio::test]
async fn a_path_outside_the_function_routes_is_a_json_404() {
    let app = spawn_app(now()).await;
    let before = app.dump();
    // A merchant's typo in the webhook URL must still get an answer that says what is wrong.
    let mut answers = Vec::new();
    for path in ["/webhook/shopify", "/webhooks", "/webhooks/", "/"] {
        let answer = app.post(path, &[("content-type", "application/json".to_owned())], "{}").await;
        answers.push((path, answer.status, answer.body["error"].as_str().map(str::to_owned)));
    }
    let expected: Vec<_> = answers.iter().map(|(path, _, _)| (*path, 404, Some("not_found".to_owned()))).collect();
    assert_eq!(answers, expected);
    assert!(app.dump() == before);
}
