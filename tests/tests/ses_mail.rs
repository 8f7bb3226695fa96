//! The mail sweep on AWS's adapters: DynamoDB for the records and SES v2 for sending, both on
//! moto through the real SDK. The messages SES accepted are read back from moto
//! (`/moto-api/data.json` → `ses` → `RawMessage`) and must carry the unsubscribe and list
//! headers, in German for a German customer and in English for an English one.
//!
//! Needs moto (see `dynamo_pipeline.rs`): `cargo test -p stammkunde-e2e --test ses_mail`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;

use stammkunde_aws::dynamo::{create_table, DynamoStore};
use stammkunde_aws::SesMailer;
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::mail::{Campaign, MailContact, SendState};
use stammkunde_domain::ports::{IngestStore, MailStore};
use stammkunde_e2e::mime::{header, readable};
use stammkunde_e2e::*;
use stammkunde_services::mail::{MailRenderer, MailSweep, Pacer};
use stammkunde_services::Coupons;

fn at(raw: &str) -> DateTime<Utc> {
    raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn parsed<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

async fn customer(store: &DynamoStore, shop: &ShopId, id: &str, locale: &str, country: &str) {
    let since = at("2025-01-01T10:00:00Z");
    let profile = CustomerProfile {
        shop: shop.clone(),
        customer_id: parsed(CustomerId::parse(id)),
        email: Some(parsed(Email::parse(&format!("{id}@example.de")))),
        first_name: Some(if locale == "de" { "Jürgen".into() } else { "George".into() }),
        last_name: None,
        locale: Some(locale.into()),
        country: Some(country.into()),
        birthday: Some(parsed(Birthday::new(6, 15, None))),
        accepts_email_marketing: None,
        source_updated_at: Some(since),
    };
    let delivery = DeliveryRecord {
        shop: shop.clone(),
        ids: vec![parsed(DeliveryId::parse(&format!("profile-{id}")))],
        topic: "customers/create".into(),
        received_at: since,
        expires_at: since + Duration::days(7),
    };
    parsed(store.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await);
    let contact = MailContact { double_opt_in_at: Some(since), ..MailContact::default() };
    parsed(store.put_contact(shop, &parsed(CustomerId::parse(id)), &contact).await);
}

/// The raw message moto stored under `message_id`.
async fn stored_raw(message_id: &str) -> String {
    let endpoint = parsed(std::env::var("AWS_ENDPOINT_URL"));
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let data: serde_json::Value = parsed(parsed(reqwest::get(&url).await).json().await);
    let messages = data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default();
    let message = messages.iter().find(|m| m["id"] == message_id).unwrap_or_else(|| panic!("moto has no {message_id}"));
    message["raw_data"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn birthday_mails_through_ses_carry_the_unsubscribe_and_list_headers_in_german_and_english() {
    let sdk = stammkunde_aws::load_sdk_config().await;
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "these tests run against moto_server");
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("stammkunde-ses-mail-{:016x}", rand::random::<u64>());
    parsed(create_table(&dynamo, &table).await);
    let store = Arc::new(DynamoStore::new(dynamo, table));
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    parsed(ses.create_email_identity().email_identity("kaffee.example").send().await);

    let config = test_config();
    let shop =
        config.shops.iter().find(|s| s.id.as_str() == "mail-shop").cloned().unwrap_or_else(|| panic!("mail-shop"));
    let suffix = format!("{:08x}", rand::random::<u32>());
    let (german, english) = (format!("de-{suffix}"), format!("en-{suffix}"));
    customer(&store, &shop.id, &german, "de", "DE").await;
    customer(&store, &shop.id, &english, "en-GB", "GB").await;

    let now = at("2026-06-15T10:05:00Z");
    let sweep = MailSweep {
        customers: store.clone(),
        mail: store.clone(),
        codes: store.clone(),
        ledger: store.clone(),
        marks: store.clone(),
        coupons: Arc::new(Coupons::new(store.clone())),
        mailer: Arc::new(SesMailer::new(ses)),
        clock: Arc::new(FixedClock::new(now)),
        renderer: Arc::new(parsed(MailRenderer::new())),
        public_url: "https://prefs.example".into(),
        pacer: Pacer::default(),
    };
    let report = parsed(sweep.sweep_shop(&shop, 100).await);
    assert_eq!(report.sent, 2, "{report:?}");

    let date = parsed(NaiveDate::parse_from_str("2026-06-15", "%Y-%m-%d"));
    for (id, subject, words) in [
        (&german, "=?utf-8?Q?Alles_Gute_zum_Geburtstag,_J=C3=BCrgen!?=", "das ganze Team von Kaffee & Kuchen"),
        (&english, "Happy birthday, George!", "everyone at Kaffee & Kuchen wishes you"),
    ] {
        let send = parsed(store.send(&shop.id, &parsed(CustomerId::parse(id)), Campaign::Birthday, date).await);
        let Some(SendState::Sent { message_id, .. }) = send.map(|s| s.state) else { panic!("{id} was not sent") };
        let raw = readable(&stored_raw(&message_id).await.replace("\r\n", "\n").replace('\n', "\r\n"));
        assert_eq!(header(&raw, "Subject").as_deref(), Some(subject), "{raw}");
        assert_eq!(header(&raw, "To").as_deref().map(|to| to.contains(&format!("{id}@example.de"))), Some(true));
        assert_eq!(header(&raw, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
        let unsubscribe = header(&raw, "List-Unsubscribe").unwrap_or_default();
        assert!(unsubscribe.starts_with("<https://prefs.example/u/"), "{unsubscribe}");
        assert!(unsubscribe.contains("<mailto:abmelden@kaffee.example?subject=unsubscribe>"), "{unsubscribe}");
        assert!(header(&raw, "List-Id").is_some_and(|l| l.contains("<birthday.mail-shop.stammkunde>")), "{raw}");
        assert!(raw.contains(words), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
    }
}
