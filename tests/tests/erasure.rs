//! Export and erasure (GDPR Art. 15, 17, 20) with a canary: a customer whose every personal field
//! holds a marker, with an order, ledger entries, consent records and mail. The export holds every
//! marker; after the erasure no table (SQLite through the runner, DynamoDB on moto), no outbox file
//! and no export holds one, the address stays suppressed, and a later platform delivery stores
//! nothing personal again.

use serde_json::{json, Value};

use stammkunde_aws::dynamo::{create_table, DynamoStore};
use stammkunde_domain::config::Locale;
use stammkunde_domain::consent::{Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord, WordingDigest};
use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::MailContact;
use stammkunde_domain::ports::{ConsentStore, CustomerEdits, IngestStore, MailStore};
use stammkunde_e2e::mail_shop::{at, link_path, outbox, shop, SHOP};
use stammkunde_e2e::*;

const MARKER: &str = "Zq7Kanarienvogel";
const CANARY: &str = "7650000000001";
const ORDER_PAID: &str = "../fixtures/webhooks/shopify/orders_paid.json";

fn canary_address() -> String {
    format!("{}@example.de", MARKER.to_lowercase())
}

/// The paid order fixture as the canary's: every personal field of its customer a marker.
fn canary_order() -> Vec<u8> {
    marked_order(CANARY, MARKER, 5912345678901)
}

/// The paid order fixture as order `order` of customer `customer`, every personal field of whom
/// holds `marker`.
fn marked_order(customer: &str, marker: &str, order: u64) -> Vec<u8> {
    let fixture = std::fs::read(ORDER_PAID).unwrap_or_else(|e| panic!("{ORDER_PAID}: {e}"));
    let address = format!("{}@example.de", marker.to_lowercase());
    edit_json(&fixture, |body| {
        body["id"] = json!(order);
        body["email"] = json!(address);
        body["contact_email"] = json!(address);
        let buyer = &mut body["customer"];
        buyer["id"] = json!(customer.parse::<u64>().unwrap_or_default());
        buyer["email"] = json!(address);
        buyer["first_name"] = json!(format!("{marker}-Vorname"));
        buyer["last_name"] = json!(format!("{marker}-Nachname"));
        buyer["updated_at"] = json!("2026-05-01T08:00:00Z");
    })
}

async fn api_get(app: &TestApp, path: &str) -> Answer {
    app.get(&format!("/api/shops/{SHOP}/customers/{CANARY}{path}"), &bearer(MAIL_API_KEY)).await
}

#[tokio::test]
async fn an_erased_customer_leaves_no_marker_in_any_table_outbox_or_export_and_stays_suppressed() {
    let app = spawn_app(at("2026-05-04T10:00:00Z")).await;
    let body = canary_order();
    let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", &body, "canary-1");
    let answer = app.post("/webhooks/shopify", &headers, body.clone()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let birthday = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/shops/{SHOP}/customers/{CANARY}/birthday"),
            &bearer(MAIL_API_KEY),
            json!({"birthday": "1990-07-14"}).to_string(),
        )
        .await;
    assert_eq!(birthday.status, 200, "{:?}", birthday.body);
    let request = json!({
        "customer_id": CANARY, "wording": "Ja, ich möchte den Newsletter.", "locale": "de",
        "source": "https://kaffee.example/newsletter", "ip": "198.51.100.77", "user_agent": format!("{MARKER}-Browser/1.0"),
    });
    let subscribed =
        app.post(&format!("/api/shops/{SHOP}/subscriptions"), &bearer(MAIL_API_KEY), request.to_string()).await;
    assert_eq!(subscribed.status, 202, "{:?}", subscribed.body);
    let (_, mail) = outbox(&app).into_iter().next().unwrap_or_else(|| panic!("no confirmation mail"));
    assert!(mail.contains(&canary_address()), "the mail went to the canary");
    let confirm = link_path(&app, &mail, "/c/");
    let client = reqwest::Client::new();
    let page = client.get(format!("{}{confirm}", app.base)).send().await.unwrap_or_else(|e| panic!("{e}"));
    let html = page.text().await.unwrap_or_default();
    let clicked = client
        .post(format!("{}{confirm}", app.base))
        .header("user-agent", format!("{MARKER}-Klick/2.0"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", hidden_field(&html, "csrf")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(clicked.status(), 200);

    // Before: the export holds every marker, and so does the database.
    let export = api_get(&app, "/export").await;
    assert_eq!(export.status, 200, "{:?}", export.body);
    let text = export.body.to_string();
    for field in [
        canary_address(),
        format!("{MARKER}-Vorname"),
        format!("{MARKER}-Nachname"),
        format!("{MARKER}-Browser/1.0"),
        format!("{MARKER}-Klick/2.0"),
    ] {
        assert!(text.contains(&field), "the export holds {field}: {text}");
    }
    let exported = &export.body;
    assert_eq!(exported["profile"]["birthday"], json!({"month": 7, "day": 14, "year": 1990}));
    assert_eq!(exported["orders"].as_array().map(Vec::len), Some(1), "{exported}");
    assert_eq!(exported["ledger"][0]["kind"], "earn");
    assert_eq!(exported["consents"].as_array().map(Vec::len), Some(2));
    assert_eq!(exported["mails"][0]["campaign"], "consent_confirmation");
    assert!(app.dump().contains(MARKER), "the canary is in the database before");

    let erased =
        app.post(&format!("/api/shops/{SHOP}/customers/{CANARY}/erasure"), &bearer(MAIL_API_KEY), Vec::new()).await;
    assert_eq!(erased.status, 200, "{:?}", erased.body);
    assert_eq!(erased.body, json!({"status": "erased", "suppressed": true, "mails_deleted": 1}));

    let dump = app.dump();
    assert!(!dump.contains(MARKER) && !dump.contains(&MARKER.to_lowercase()), "no marker in any table:\n{dump}");
    assert!(dump.contains("earn:order:"), "the ledger stays for the shop's accounting");
    for (name, raw) in outbox(&app) {
        assert!(!raw.to_lowercase().contains(&MARKER.to_lowercase()), "outbox {name} holds the marker");
    }
    let after = api_get(&app, "/export").await;
    assert_eq!(after.status, 200);
    assert!(!after.body.to_string().to_lowercase().contains(&MARKER.to_lowercase()), "{:?}", after.body);
    assert_eq!(after.body["profile"]["email"], Value::Null);
    let digest = AddressDigest::of(&shop(), &Email::parse(&canary_address()).unwrap_or_else(|e| panic!("{e}")));
    let suppressed = app.app.mail.suppression(&shop(), &digest).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(suppressed.is_some(), "the address stays on the suppression list, as a digest");

    // The shop sends the order again, and a profile update: nothing personal comes back.
    let again = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", &body, "canary-2");
    assert_eq!(app.post("/webhooks/shopify", &again, body).await.status, 200);
    let erased_twice =
        app.post(&format!("/api/shops/{SHOP}/customers/{CANARY}/erasure"), &bearer(MAIL_API_KEY), Vec::new()).await;
    assert_eq!(erased_twice.body["status"], "erased", "erasing again answers the same");
    assert!(!app.dump().contains(MARKER), "a later delivery stores nothing personal");
}

#[tokio::test]
async fn a_shopify_customers_redact_erases_the_customer_before_it_is_answered() {
    let app = spawn_app(at("2026-05-04T10:00:00Z")).await;
    let body = canary_order();
    let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", &body, "canary-1");
    assert_eq!(app.post("/webhooks/shopify", &headers, body).await.status, 200);
    assert!(app.dump().contains(MARKER));
    let redact = json!({
        "shop_id": 71234567890_u64, "shop_domain": MAIL_SHOPIFY_DOMAIN,
        "customer": {"id": CANARY.parse::<u64>().unwrap_or_default(), "email": canary_address(), "phone": "+49 40 1234567"},
        "orders_to_redact": [5912345678901_u64],
    });
    let raw = redact.to_string().into_bytes();
    let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "customers/redact", &raw, "canary-redact");
    let answer = app.post("/webhooks/shopify", &headers, raw).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);
    let dump = app.dump();
    assert!(!dump.contains(MARKER) && !dump.contains(&MARKER.to_lowercase()), "{dump}");
    assert!(dump.contains("customer_redact"), "the request itself is recorded");
}

const SECOND: &str = "7650000000002";
const SECOND_MARKER: &str = "Xw4Rotkehlchen";
const OTHER_SHOP_MARKER: &str = "Yv9Buchfink";

fn contains_marker(text: &str, marker: &str) -> bool {
    text.to_lowercase().contains(&marker.to_lowercase())
}

#[tokio::test]
async fn a_shopify_shop_redact_erases_every_customer_of_the_shop_and_no_other_shop() {
    let app = spawn_app(at("2026-05-04T10:00:00Z")).await;
    for (customer, marker, order) in [(CANARY, MARKER, 5912345678901), (SECOND, SECOND_MARKER, 5912345678902)] {
        let body = marked_order(customer, marker, order);
        let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", &body, &format!("paid-{customer}"));
        assert_eq!(app.post("/webhooks/shopify", &headers, body).await.status, 200);
    }
    // One of them asks for the newsletter: a consent record with a browser, and a mail.
    let request = json!({
        "customer_id": SECOND, "wording": "Ja, ich möchte den Newsletter.", "locale": "de",
        "source": "https://kaffee.example/newsletter", "ip": "198.51.100.78", "user_agent": format!("{SECOND_MARKER}-Browser/1.0"),
    });
    let subscribed =
        app.post(&format!("/api/shops/{SHOP}/subscriptions"), &bearer(MAIL_API_KEY), request.to_string()).await;
    assert_eq!(subscribed.status, 202, "{:?}", subscribed.body);
    assert_eq!(outbox(&app).len(), 1, "the confirmation mail is in the outbox");
    // A customer of another shop, who must keep everything.
    let other = marked_order("7650000000003", OTHER_SHOP_MARKER, 5912345678903);
    let headers = shopify_headers_for(SHOPIFY_DOMAIN, "orders/paid", &other, "paid-other");
    assert_eq!(app.post("/webhooks/shopify", &headers, other).await.status, 200);
    let before = app.dump();
    for marker in [MARKER, SECOND_MARKER, OTHER_SHOP_MARKER] {
        assert!(contains_marker(&before, marker), "{marker} is in the database before");
    }

    let redact = json!({"shop_id": 71234567890_u64, "shop_domain": MAIL_SHOPIFY_DOMAIN}).to_string().into_bytes();
    let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "shop/redact", &redact, "shop-redact-1");
    let answer = app.post("/webhooks/shopify", &headers, redact.clone()).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("accepted")), "{:?}", answer.body);

    let dump = app.dump();
    for marker in [MARKER, SECOND_MARKER] {
        assert!(!contains_marker(&dump, marker), "no {marker} in any table:\n{dump}");
    }
    assert!(!dump.contains("earn:order:5912345678901"), "the shop's ledger goes with it");
    assert!(contains_marker(&dump, OTHER_SHOP_MARKER), "the other shop's customer is untouched");
    assert!(outbox(&app).is_empty(), "the shop's mail is gone from the outbox");
    let shop_id = shop();
    let erased_at = app.app.store.shop_erased_at(&shop_id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(erased_at, Some(at("2026-05-04T10:00:00Z")), "the shop's tombstone stays");
    let export = api_get(&app, "/export").await;
    assert_eq!(export.status, 404, "the customer is no longer known: {:?}", export.body);

    // A late retry of an order, and the same redact again: nothing comes back, nothing breaks.
    let late = marked_order(CANARY, MARKER, 5912345678901);
    let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", &late, "paid-late");
    let ignored = app.post("/webhooks/shopify", &headers, late).await;
    assert_eq!((ignored.status, ignored.body["status"].as_str()), (200, Some("ignored")), "{:?}", ignored.body);
    let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "shop/redact", &redact, "shop-redact-1");
    assert_eq!(app.post("/webhooks/shopify", &headers, redact).await.status, 200);
    let after = app.dump();
    assert!(!contains_marker(&after, MARKER), "a late delivery stores nothing for an erased shop");
    assert!(contains_marker(&after, OTHER_SHOP_MARKER));
}

#[tokio::test]
async fn erasure_on_dynamodb_leaves_no_marker_in_any_item() {
    let client = dynamo_client().await;
    let table = format!("stammkunde-erasure-{:016x}", rand::random::<u64>());
    create_table(&client, &table).await.unwrap_or_else(|e| panic!("creating {table}: {e:?}"));
    let store = DynamoStore::new(client.clone(), table.clone());
    let shop = ShopId::parse(SHOP).unwrap_or_else(|e| panic!("{e}"));
    let customer = CustomerId::parse(CANARY).unwrap_or_else(|e| panic!("{e}"));
    let now = at("2026-05-04T10:00:00Z");
    store_marked(&store, &shop, CANARY, MARKER).await;
    let contact = MailContact { double_opt_in_at: Some(now), ..MailContact::default() };
    store.put_contact(&shop, &customer, &contact).await.unwrap_or_else(|e| panic!("{e:?}"));
    let scan = || async {
        let items = client.scan().table_name(&table).send().await.unwrap_or_else(|e| panic!("{e:?}")).items;
        format!("{:?}", items.unwrap_or_default()).to_lowercase()
    };
    assert!(scan().await.contains(&MARKER.to_lowercase()), "the canary is in the table before");
    store.erase_customer(&shop, &customer, now).await.unwrap_or_else(|e| panic!("{e:?}"));
    let after = scan().await;
    assert!(!after.contains(&MARKER.to_lowercase()), "no marker in any item:\n{after}");
    let _ = client.delete_table().table_name(&table).send().await;
}

/// A profile whose every personal field holds `marker`, stored through ingest with an order.
async fn store_marked(store: &DynamoStore, shop: &ShopId, customer: &str, marker: &str) {
    let now = at("2026-05-04T10:00:00Z");
    let customer = CustomerId::parse(customer).unwrap_or_else(|e| panic!("{e}"));
    let profile = CustomerProfile {
        shop: shop.clone(),
        customer_id: customer.clone(),
        email: Some(Email::parse(&format!("{}@example.de", marker.to_lowercase())).unwrap_or_else(|e| panic!("{e}"))),
        first_name: Some(format!("{marker}-Vorname")),
        last_name: Some(format!("{marker}-Nachname")),
        locale: Some("de".into()),
        country: Some("DE".into()),
        birthday: Birthday::new(7, 14, Some(1990)).ok(),
        accepts_email_marketing: Some(true),
        source_updated_at: Some(now),
    };
    let delivery = DeliveryRecord {
        shop: shop.clone(),
        ids: vec![DeliveryId::parse(&format!("profile-{customer}")).unwrap_or_else(|e| panic!("{e}"))],
        topic: "customers/create".into(),
        received_at: now,
        expires_at: now + chrono::Duration::days(7),
    };
    store.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await.unwrap_or_else(|e| panic!("{e:?}"));
    let record = ConsentRecord {
        shop: shop.clone(),
        customer_id: customer.clone(),
        key: "subscription-request:2026-05-04".into(),
        at: now,
        topic: None,
        action: ConsentAction::Requested,
        method: ConsentMethod::SignupForm,
        source: "https://kaffee.example/newsletter".into(),
        wording: Some(WordingDigest::of(Locale::De, "Ja.")),
        actor: Actor::of_request("198.51.100.77".parse().ok(), Some(&format!("{marker}-Browser/1.0"))),
        basis: ConsentBasis::Consent,
        claimed_at: None,
    };
    store.record_consent(&record).await.unwrap_or_else(|e| panic!("{e:?}"));
}

#[tokio::test]
async fn a_shop_erasure_on_dynamodb_leaves_no_marker_of_its_customers_and_keeps_another_shops() {
    let client = dynamo_client().await;
    let table = format!("stammkunde-shop-erasure-{:016x}", rand::random::<u64>());
    create_table(&client, &table).await.unwrap_or_else(|e| panic!("creating {table}: {e:?}"));
    let store = std::sync::Arc::new(DynamoStore::new(client.clone(), table.clone()));
    let (shop, other) = (shop(), ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}")));
    store_marked(&store, &shop, CANARY, MARKER).await;
    store_marked(&store, &shop, SECOND, SECOND_MARKER).await;
    store_marked(&store, &other, CANARY, OTHER_SHOP_MARKER).await;
    let scan = || async {
        let items = client.scan().table_name(&table).send().await.unwrap_or_else(|e| panic!("{e:?}")).items;
        format!("{:?}", items.unwrap_or_default())
    };
    assert!(contains_marker(&scan().await, SECOND_MARKER), "the canaries are in the table before");

    let clock = std::sync::Arc::new(stammkunde_domain::clock::FixedClock::new(at("2026-05-06T10:00:00Z")));
    let privacy = stammkunde_services::privacy::Privacy::over(
        store.clone(),
        std::sync::Arc::new(stammkunde_services::privacy::NoMailArchive),
        clock,
    );
    // One batch per run: the erasure goes on over several runs, as the continuation events do.
    let mut runs = 0;
    while !privacy.erase_shop(&shop, 1).await.unwrap_or_else(|e| panic!("{e:?}")).done {
        runs += 1;
        assert!(runs < 20, "a shop of two customers is erased in a few batches");
    }
    let after = scan().await;
    for marker in [MARKER, SECOND_MARKER] {
        assert!(!contains_marker(&after, marker), "no {marker} in any item:\n{after}");
    }
    assert!(contains_marker(&after, OTHER_SHOP_MARKER), "the other shop's customer is untouched");
    let _ = client.delete_table().table_name(&table).send().await;
}
