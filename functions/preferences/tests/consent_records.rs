//! What the preference pages write to the consent ledger: an unsubscribe by a mail provider's
//! one-click request (no words shown) and by the page's button (the page's words), each once
//! however often it comes; and each topic a settings save switches on or off, with its label.

mod common;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use http::Request;

use common::{fixture, hidden, Fixture};
use stammkunde_domain::consent::{ConsentAction, ConsentMethod, ConsentRecord};
use stammkunde_domain::mail::campaign::Topic;
use stammkunde_domain::ports::ConsentStore;
use stammkunde_http::ClientIp;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn request(method: &str, path: &str, body: &str) -> Request<Bytes> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"));
    request.extensions_mut().insert(ClientIp([192, 0, 2, 44].into()));
    request
}

async fn records(f: &Fixture) -> Vec<ConsentRecord> {
    f.store.consents(&f.shop, &f.customer).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn wording(f: &Fixture, record: &ConsentRecord) -> Option<String> {
    let digest = record.wording.as_ref()?;
    let stored = f.store.wording(&f.shop, digest).await.unwrap_or_else(|e| panic!("{e}"));
    stored.map(|w| w.text)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).single().unwrap_or_default()
}

#[tokio::test]
async fn a_one_click_unsubscribe_is_recorded_once_without_words_and_with_who_sent_it() {
    let f = fixture(now());
    f.link(TOKEN).await;
    for _ in 0..3 {
        let response = f.service.handle(request("POST", &format!("/u/{TOKEN}"), "List-Unsubscribe=One-Click")).await;
        assert_eq!(response.status(), 200);
    }
    let recorded = records(&f).await;
    assert_eq!(recorded.len(), 1, "three requests, one unsubscribe: {recorded:?}");
    let r = &recorded[0];
    assert_eq!((r.action, r.method, r.topic, r.at), (ConsentAction::Withdrawn, ConsentMethod::OneClick, None, now()));
    assert_eq!(r.wording, None, "a one-click request shows no page");
    assert_eq!(r.actor.ip, Some([192, 0, 2, 44].into()));
    assert_eq!(r.actor.user_agent.as_deref(), Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"));
}

#[tokio::test]
async fn the_unsubscribe_pages_button_is_recorded_with_the_pages_words() {
    let f = fixture(now());
    f.link(TOKEN).await;
    let response = f.service.handle(request("POST", &format!("/u/{TOKEN}?lang=en"), "confirm=1")).await;
    assert_eq!(response.status(), 200);
    let recorded = records(&f).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!((recorded[0].action, recorded[0].method), (ConsentAction::Withdrawn, ConsentMethod::PreferenceCentre));
    let words = wording(&f, &recorded[0]).await.unwrap_or_default();
    assert!(words.starts_with("Unsubscribe from marketing mail\nOne click and you get no more"), "{words}");
    assert!(words.ends_with("[Unsubscribe]"), "{words}");
}

#[tokio::test]
async fn each_topic_a_save_switches_is_recorded_with_its_label_and_a_resent_form_adds_nothing() {
    let f = fixture(now());
    f.put_customer().await;
    f.link(TOKEN).await;
    let page = f.service.handle(request("GET", &format!("/p/{TOKEN}?lang=de"), "")).await;
    let csrf = hidden(page.body(), "csrf");
    // Everything was on; offers and points news go off, the rest stays.
    let form = format!("csrf={csrf}&revision=0&topic_newsletter=on&topic_birthday=on&frequency=as_it_comes");
    assert_eq!(f.service.handle(request("POST", &format!("/p/{TOKEN}"), &form)).await.status(), 303);
    assert_eq!(f.service.handle(request("POST", &format!("/p/{TOKEN}"), &form)).await.status(), 409, "stale");
    let recorded = records(&f).await;
    let topics: Vec<(Option<Topic>, ConsentAction, &str)> =
        recorded.iter().map(|r| (r.topic, r.action, r.key.as_str())).collect();
    assert_eq!(
        topics,
        [
            (Some(Topic::Offers), ConsentAction::Withdrawn, "topic:offers:1"),
            (Some(Topic::PointsNews), ConsentAction::Withdrawn, "topic:points_news:1"),
        ]
    );
    assert_eq!(wording(&f, &recorded[0]).await.as_deref(), Some("Angebote"));
    assert_eq!(wording(&f, &recorded[1]).await.as_deref(), Some("Neuigkeiten zu Ihren Punkten"));

    // Switching offers back on is its own record.
    let form = format!("csrf={csrf}&revision=1&topic_newsletter=on&topic_birthday=on&topic_offers=on");
    assert_eq!(f.service.handle(request("POST", &format!("/p/{TOKEN}"), &form)).await.status(), 303);
    let recorded = records(&f).await;
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    let back_on = recorded.iter().find(|r| r.key == "topic:offers:2").map(|r| (r.topic, r.action));
    assert_eq!(back_on, Some((Some(Topic::Offers), ConsentAction::Granted)));
}
