//! "Send me a new link": the same answer for a known and an unknown address, a link asked for
//! only for a known one, posts taken only with the form's own csrf field and from its own site,
//! the per-address limit silent and the per-IP limit a 429, and the invalid-link page offering
//! the form.

mod common;

use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use http::{Request, Response};
use std::net::IpAddr;

use common::{fixture_with, hidden, Fixture};
use stammkunde_domain::customer::{CustomerProfile, Email};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, DeliveryId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::{Suppression, SuppressionReason};
use stammkunde_domain::ports::{IngestStore, MailStore};
use stammkunde_http::ClientIp;

const KNOWN: &str = "lena@example.de";
const FORM: &str = "/l/sample-shop";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).single().unwrap_or_default()
}

/// The sample shop with its mail switched on.
fn config() -> String {
    let mail = r#"
[shops.mail]
enabled = true
from = "Kaffee & Kuchen <news@kaffee.example>"
shop_name = "Kaffee & Kuchen"
shop_url = "https://kaffee.example/"
imprint = "Kaffee & Kuchen GmbH, Hauptstraße 1, 10115 Berlin"
"#;
    format!("{}{mail}", include_str!("../../../events/sample-config.toml"))
}

async fn shop_with_lena(at: DateTime<Utc>) -> Fixture {
    let f = fixture_with(at, &config());
    let profile = CustomerProfile {
        shop: f.shop.clone(),
        customer_id: f.customer.clone(),
        email: Email::parse(KNOWN).ok(),
        first_name: Some("Lena".into()),
        last_name: None,
        locale: Some("de".into()),
        country: Some("DE".into()),
        birthday: None,
        accepts_email_marketing: None,
        source_updated_at: Some(at),
    };
    let delivery = DeliveryRecord {
        shop: f.shop.clone(),
        ids: vec![DeliveryId::parse("d-lena").unwrap_or_else(|e| panic!("{e}"))],
        topic: "customers/create".into(),
        received_at: at,
        expires_at: at + Duration::days(7),
    };
    f.store.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await.unwrap_or_else(|e| panic!("{e}"));
    f
}

fn request(method: &str, path: &str, body: &str, ip: &str) -> Request<Bytes> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"));
    let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{e}"));
    request.extensions_mut().insert(ClientIp(ip));
    request
}

async fn form(f: &Fixture, path: &str) -> String {
    let page = f.service.handle(request("GET", path, "", "198.51.100.1")).await;
    assert_eq!(page.status(), 200, "{}", page.body());
    hidden(page.body(), "csrf")
}

async fn post(f: &Fixture, path: &str, csrf: &str, email: &str, ip: &str) -> Response<String> {
    let body = format!("csrf={csrf}&email={}", email.replace('@', "%40"));
    f.service.handle(request("POST", path, &body, ip)).await
}

fn link_requests(f: &Fixture) -> Vec<CustomerId> {
    let events = f.published.take();
    events
        .into_iter()
        .filter_map(|e| match e {
            DomainEvent::LinkRequested { customer_id, date, .. } => {
                assert_eq!(date, now().date_naive());
                Some(customer_id)
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_known_and_an_unknown_address_get_the_same_page_and_only_the_known_one_asks_for_a_link() {
    let f = shop_with_lena(now()).await;
    let page = f.service.handle(request("GET", FORM, "", "198.51.100.1")).await;
    let policy = page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(policy.contains("default-src 'none'") && !policy.contains("unsafe-inline"), "{policy}");
    assert!(!page.body().contains("<script") && page.body().contains(r#"type="email""#), "{}", page.body());
    assert!(page.body().contains("Neuen Link schicken") && page.body().contains("Kaffee &amp; Kuchen"));
    let csrf = hidden(page.body(), "csrf");

    let known = post(&f, FORM, &csrf, "Lena@Example.de", "198.51.100.1").await;
    assert_eq!(known.status(), 200, "{}", known.body());
    assert_eq!(link_requests(&f), vec![f.customer.clone()], "the known address asks for a link");
    let unknown = post(&f, FORM, &csrf, "nobody@example.de", "198.51.100.1").await;
    assert_eq!((unknown.status(), unknown.body()), (known.status(), known.body()), "the same answer");
    assert!(known.body().contains("Wenn wir diese Adresse kennen"), "{}", known.body());
    assert!(link_requests(&f).is_empty(), "an unknown address asks for nothing");

    // A suppressed address gets the same page and no link.
    let address = AddressDigest::of(&f.shop, &Email::parse(KNOWN).unwrap_or_else(|e| panic!("{e}")));
    let suppression = Suppression { shop: f.shop.clone(), address, reason: SuppressionReason::Complaint, at: now() };
    f.store.suppress(&suppression).await.unwrap_or_else(|e| panic!("{e}"));
    let suppressed = post(&f, FORM, &csrf, KNOWN, "198.51.100.1").await;
    assert_eq!(suppressed.body(), known.body());
    assert!(link_requests(&f).is_empty(), "a suppressed address asks for nothing");

    let english = f.service.handle(request("GET", &format!("{FORM}?lang=en"), "", "198.51.100.1")).await;
    assert!(english.body().contains("Send me a new link"), "{}", english.body());
    let bad = post(&f, FORM, &csrf, "not-an-address", "198.51.100.1").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.body().contains("keine E-Mail-Adresse") && bad.body().contains(r#"name="email""#));
}

#[tokio::test]
async fn a_post_without_the_forms_own_csrf_field_or_from_another_site_is_refused_and_asks_for_nothing() {
    let f = shop_with_lena(now()).await;
    let csrf = form(&f, FORM).await;
    for forged in ["", "forged", "1764774000.00", &format!("{csrf}0")] {
        let refused = post(&f, FORM, forged, KNOWN, "198.51.100.1").await;
        assert_eq!(refused.status(), 403, "csrf {forged:?}");
    }
    // A form rendered three hours ago has expired.
    let earlier = shop_with_lena(now() - Duration::hours(3)).await;
    let stale = form(&earlier, FORM).await;
    assert_eq!(post(&f, FORM, &stale, KNOWN, "198.51.100.1").await.status(), 403, "an expired form");
    let mut cross = request("POST", FORM, &format!("csrf={csrf}&email=lena%40example.de"), "198.51.100.1");
    cross.headers_mut().insert("sec-fetch-site", http::HeaderValue::from_static("cross-site"));
    assert_eq!(f.service.handle(cross).await.status(), 403, "another site's copy of the form");
    assert!(link_requests(&f).is_empty(), "nothing was asked for");
    assert_eq!(f.service.handle(request("GET", "/l/no-such-shop", "", "198.51.100.1")).await.status(), 404);
}

#[tokio::test]
async fn the_address_limit_answers_the_same_page_and_the_ip_limit_answers_429() {
    let f = shop_with_lena(now()).await;
    let csrf = form(&f, FORM).await;
    let first = post(&f, FORM, &csrf, KNOWN, "198.51.100.1").await;
    for _ in 0..3 {
        let again = post(&f, FORM, &csrf, KNOWN, "198.51.100.1").await;
        assert_eq!((again.status(), again.body()), (first.status(), first.body()), "over the limit, the same page");
    }
    assert_eq!(link_requests(&f).len(), 3, "three links an hour per address");

    // Twenty posts an hour per IP, whatever they name; the 21st is refused with a reason.
    for n in 0..16 {
        let other = post(&f, FORM, &csrf, &format!("someone{n}@example.de"), "198.51.100.1").await;
        assert_eq!(other.status(), 200);
    }
    let refused = post(&f, FORM, &csrf, "one-more@example.de", "198.51.100.1").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.body().contains("zu viele Anfragen"), "{}", refused.body());
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("3600"));
    assert_eq!(post(&f, FORM, &csrf, "one-more@example.de", "203.0.113.9").await.status(), 200, "another IP");

    // The next hour starts afresh.
    let later = shop_with_lena(now() + Duration::hours(1)).await;
    let csrf = form(&later, FORM).await;
    assert_eq!(post(&later, FORM, &csrf, KNOWN, "198.51.100.1").await.status(), 200);
}

#[tokio::test]
async fn the_invalid_link_page_is_the_same_for_every_token_and_offers_the_form() {
    let f = shop_with_lena(now()).await;
    let unknown = f.service.handle(request("GET", &format!("/p/{}", "f".repeat(32)), "", "198.51.100.1")).await;
    let malformed = f.service.handle(request("GET", "/u/nope", "", "198.51.100.1")).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.body(), malformed.body(), "every invalid token looks alike");
    assert!(unknown.body().contains("Dieser Link gilt nicht mehr"), "{}", unknown.body());
    // minijinja escapes `/` in attributes.
    assert!(unknown.body().contains(r#"action="&#x2f;l?lang=de""#), "{}", unknown.body());
    let csrf = hidden(unknown.body(), "csrf");
    let sent = post(&f, "/l?lang=de", &csrf, KNOWN, "198.51.100.1").await;
    assert_eq!(sent.status(), 200, "{}", sent.body());
    assert_eq!(link_requests(&f), vec![f.customer.clone()]);
}
