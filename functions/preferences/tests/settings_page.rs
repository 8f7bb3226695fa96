//! The settings page behind `/p/{token}` on the embedded store: GET shows and changes nothing, a
//! POST from the page saves and the reload shows what was saved, and every refused POST (no or a
//! wrong form field, another site, a bad field, a stale page) writes nothing.

mod common;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use http::Request;

use common::{fixture, hidden, Fixture};
use stammkunde_domain::customer::Birthday;
use stammkunde_domain::mail::campaign::Topic;
use stammkunde_domain::mail::contact::Frequency;
use stammkunde_domain::mail::MailContact;
use stammkunde_domain::ports::{CustomerStore, MailStore};

/// Extra request headers of a case.
type Headers = &'static [(&'static str, &'static str)];

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

async fn page() -> Fixture {
    let f = fixture(Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).single().unwrap_or_default());
    f.put_customer().await;
    f.link(TOKEN).await;
    f
}

fn get(path: &str) -> Request<Bytes> {
    Request::builder().method("GET").uri(path).body(Bytes::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn post(form: &str, headers: &[(&str, &str)]) -> Request<Bytes> {
    let mut request = Request::builder().method("POST").uri(format!("/p/{TOKEN}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(form.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What the tests read back.
trait Stored {
    async fn contact(&self) -> Option<MailContact>;
    async fn birthday(&self) -> Option<Birthday>;
    async fn show(&self, query: &str) -> (u16, String);
}

impl Stored for Fixture {
    async fn contact(&self) -> Option<MailContact> {
        self.store.contact(&self.shop, &self.customer).await.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn birthday(&self) -> Option<Birthday> {
        let customer = self.store.customer(&self.shop, &self.customer).await.unwrap_or_else(|e| panic!("{e}"));
        customer.and_then(|c| c.profile.birthday)
    }

    async fn show(&self, query: &str) -> (u16, String) {
        let response = self.service.handle(get(&format!("/p/{TOKEN}{query}"))).await;
        (response.status().as_u16(), response.body().clone())
    }
}

#[tokio::test]
async fn a_saved_form_is_kept_and_shown_on_reload_and_get_changes_nothing() {
    let page = page().await;
    let (status, html) = page.show("").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Ihre Mail-Einstellungen") && html.contains("lang=\"de\""), "German for a de-DE customer");
    assert!(!html.contains("<script"), "no script");
    assert_eq!(page.contact().await, None, "GET wrote nothing");

    let csrf = hidden(&html, "csrf");
    let form = format!(
        "csrf={csrf}&revision=0&topic_newsletter=on&topic_birthday=on&frequency=weekly&pause_until=2026-12-24\
         &birthday_day=14&birthday_month=7&birthday_year=1990&time_zone=Europe%2FVienna"
    );
    let saved = page.service.handle(post(&form, &[("sec-fetch-site", "same-origin")])).await;
    assert_eq!(saved.status(), 303, "{}", saved.body());
    let location = saved.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(location, format!("/p/{TOKEN}?saved=1&lang=de"));

    let contact = page.contact().await.unwrap_or_default();
    assert_eq!(contact.topics_declined, vec![Topic::Offers, Topic::PointsNews]);
    assert_eq!(contact.frequency, Frequency::Weekly);
    assert_eq!(contact.time_zone, Some(chrono_tz::Tz::Europe__Vienna));
    assert_eq!(contact.paused_until.map(|t| t.to_rfc3339()), Some("2026-12-24T23:00:00+00:00".into()));
    assert_eq!(contact.revision, 1);
    assert_eq!(page.birthday().await, Birthday::new(7, 14, Some(1990)).ok());

    let (status, html) = page.show("?saved=1&lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("Your mail settings") && html.contains("Saved."), "{html}");
    assert!(html.contains("name=\"topic_newsletter\" checked") && !html.contains("name=\"topic_offers\" checked"));
    assert!(html.contains("value=\"weekly\" checked"));
    assert!(html.contains("value=\"2026-12-24\""), "the pause shows its last day");
    // minijinja escapes `/` in attributes; a browser reads `&#x2f;` as `/`.
    assert!(html.contains("value=\"Europe&#x2f;Vienna\" selected"));
    assert!(html.contains("name=\"birthday_day\" min=\"1\" max=\"31\" value=\"14\""));
    assert_eq!(hidden(&html, "revision"), "1");
}

#[tokio::test]
async fn refused_posts_write_nothing() {
    let page = page().await;
    let (_, html) = page.show("").await;
    let csrf = hidden(&html, "csrf");
    let good = format!("csrf={csrf}&revision=0&frequency=monthly");
    let cases: [(String, Headers, u16); 7] = [
        ("revision=0&frequency=monthly".into(), &[], 403),
        (format!("csrf={}&revision=0", "0".repeat(64)), &[], 403),
        (good.clone(), &[("sec-fetch-site", "cross-site")], 403),
        (good.clone(), &[("sec-fetch-site", "same-site"), ("origin", "null")], 403),
        (good.clone(), &[("origin", "https://evil.example"), ("host", "prefs.example")], 403),
        (format!("csrf={csrf}&revision=0&birthday_day=31&birthday_month=2"), &[], 400),
        (format!("csrf={csrf}&revision=5&frequency=monthly"), &[], 409),
    ];
    for (form, headers, status) in cases {
        let response = page.service.handle(post(&form, headers)).await;
        assert_eq!(response.status().as_u16(), status, "{form} {headers:?}: {}", response.body());
        assert_eq!(page.contact().await, None, "{form}");
        assert_eq!(page.birthday().await, None, "{form}");
    }
    // What Chromium sends from the page itself: the page's `no-referrer` policy withholds the
    // origin too.
    let chromium = [("sec-fetch-site", "same-origin"), ("origin", "null"), ("host", "prefs.example")];
    let ok = page.service.handle(post(&good, &chromium)).await;
    assert_eq!(ok.status(), 303, "the page's own form is taken: {}", ok.body());
    let again = format!("csrf={csrf}&revision=1&frequency=weekly");
    let ok = page.service.handle(post(&again, &[("origin", "https://prefs.example"), ("host", "prefs.example")])).await;
    assert_eq!(ok.status(), 303, "same origin is taken");
    assert_eq!(page.contact().await.map(|c| (c.frequency, c.revision)), Some((Frequency::Weekly, 2)));
}

#[tokio::test]
async fn a_page_shown_before_an_unsubscribe_cannot_undo_it() {
    let page = page().await;
    let (_, html) = page.show("").await;
    let csrf = hidden(&html, "csrf");
    let one_click = Request::builder()
        .method("POST")
        .uri(format!("/u/{TOKEN}"))
        .body(Bytes::from_static(b"List-Unsubscribe=One-Click"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.service.handle(one_click).await.status(), 200);
    let stale =
        format!("csrf={csrf}&revision=0&topic_newsletter=on&topic_offers=on&topic_birthday=on&topic_points_news=on");
    let response = page.service.handle(post(&stale, &[])).await;
    assert_eq!(response.status(), 409);
    assert!(response.body().contains("inzwischen"), "the page says why");
    let contact = page.contact().await.unwrap_or_default();
    assert!(contact.unsubscribed_at.is_some(), "the unsubscribe stands");
    assert_eq!(contact.revision, 1);
}

#[tokio::test]
async fn an_unknown_token_gets_the_same_page_on_both_routes() {
    let page = page().await;
    let unknown = "ffffffffffffffffffffffffffffffff";
    let settings = page.service.handle(get(&format!("/p/{unknown}"))).await;
    let unsubscribe = page.service.handle(get(&format!("/u/{unknown}"))).await;
    assert_eq!((settings.status().as_u16(), unsubscribe.status().as_u16()), (404, 404));
    assert_eq!(settings.body(), unsubscribe.body());
}
