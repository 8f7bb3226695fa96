//! What the tests of `mail-shop` (the shop with mail switched on) share: its customers as a
//! platform profile stores them, its hourly sweep, and the outbox read back as MIME.

use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};

use crate::mime::{header, readable};
use crate::TestApp;

pub const SHOP: &str = "mail-shop";

/// The browser a person clicks with, as the consent proof records it.
pub const CLICK_BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

/// A page of the preference centre as that browser asks for it (a form body, if any): status and
/// body.
pub async fn page(app: &TestApp, method: reqwest::Method, path: &str, body: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .header("user-agent", CLICK_BROWSER)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

pub fn at(raw: &str) -> DateTime<Utc> {
    raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
}

pub fn shop() -> ShopId {
    ShopId::parse(SHOP).unwrap_or_else(|e| panic!("{e}"))
}

pub fn id(raw: &str) -> CustomerId {
    CustomerId::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

pub fn email_of(name: &str) -> Email {
    Email::parse(&format!("{name}@example.de")).unwrap_or_else(|e| panic!("{e}"))
}

/// A customer as a platform profile stamped `since` would store them: id and address from the
/// name (`{name}@example.de`), the name capitalised as first name.
pub struct Person<'a> {
    pub name: &'a str,
    pub country: &'a str,
    pub locale: &'a str,
    pub birthday: Option<(u8, u8)>,
    pub since: DateTime<Utc>,
}

pub async fn put_customer(app: &TestApp, person: Person<'_>) {
    let profile = CustomerProfile {
        shop: shop(),
        customer_id: id(person.name),
        email: Some(email_of(person.name)),
        first_name: Some(capitalised(person.name)),
        last_name: Some("Muster".into()),
        locale: Some(person.locale.into()),
        country: Some(person.country.into()),
        birthday: person.birthday.map(|(m, d)| Birthday::new(m, d, None).unwrap_or_else(|e| panic!("{e}"))),
        accepts_email_marketing: None,
        source_updated_at: Some(person.since),
    };
    let delivery = DeliveryRecord {
        shop: shop(),
        ids: vec![DeliveryId::parse(&format!("profile-{}-{}", person.name, person.since.timestamp()))
            .unwrap_or_else(|e| panic!("{e}"))],
        topic: "customers/update".into(),
        received_at: person.since,
        expires_at: person.since + Duration::days(7),
    };
    app.app
        .store
        .apply_delivery(&delivery, &[Change::UpsertCustomer(profile)])
        .await
        .unwrap_or_else(|e| panic!("storing {}: {e}", person.name));
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `POST /dev/sweeps/mail` at `now`; returns `mail-shop`'s report.
pub async fn mail_sweep_at(app: &TestApp, now: DateTime<Utc>) -> serde_json::Value {
    app.clock.set(now);
    let answer = app.post("/dev/sweeps/mail", &[], Vec::new()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let shops = answer.body["shops"].as_array().cloned().unwrap_or_default();
    let report = shops.into_iter().find(|s| s["shop"] == SHOP).unwrap_or_else(|| panic!("{:?}", answer.body));
    assert_eq!(
        (report["retry"].as_i64(), report["failed"].as_i64(), report["more"].as_bool()),
        (Some(0), Some(0), Some(false)),
        "{report}"
    );
    report
}

/// The outbox's mails by file name, raw.
pub fn outbox(app: &TestApp) -> Vec<(String, String)> {
    let entries = app.app.outbox.list().unwrap_or_else(|e| panic!("{e}"));
    entries
        .into_iter()
        .map(|entry| {
            let raw = app.app.outbox.read(&entry.name).unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
            (entry.name, readable(&String::from_utf8(raw).unwrap_or_else(|e| panic!("{e}"))))
        })
        .collect()
}

/// The recipient's local part and the mail, of each mail that is not in `seen`.
pub fn new_mails(app: &TestApp, seen: &mut BTreeSet<String>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (name, raw) in outbox(app) {
        if seen.insert(name) {
            found.push((recipient(&raw), raw));
        }
    }
    found
}

pub fn recipient(raw: &str) -> String {
    let to = header(raw, "To").unwrap_or_else(|| panic!("no To header:\n{raw}"));
    let address = to.rsplit('<').next().unwrap_or(&to).trim_end_matches('>');
    address.split('@').next().unwrap_or_default().to_owned()
}

/// The path of the first link in `mail` to one of the preference centre's pages (`prefix`, e.g.
/// `/p/`), checked to hold a whole token.
pub fn link_path(app: &TestApp, mail: &str, prefix: &str) -> String {
    let start = mail.find(&format!("{}{prefix}", app.base)).unwrap_or_else(|| panic!("no {prefix} link:\n{mail}"));
    let url: String = mail[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || ":/.".contains(*c)).collect();
    let path = url[app.base.len()..].to_owned();
    assert_eq!(path.len(), prefix.len() + 32, "{path}");
    path
}
