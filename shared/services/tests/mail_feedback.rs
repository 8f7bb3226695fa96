//! Bounces and complaints on the embedded store: what ends on the suppression list, when, and with
//! which reason; and that feedback for a shop this instance does not know writes nothing.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::customer::Email;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::feedback::{Feedback, FeedbackKind};
use stammkunde_domain::mail::{Suppression, SuppressionReason};
use stammkunde_domain::ports::MailStore;
use stammkunde_services::mail::feedback::{FeedbackError, MailFeedback, SOFT_BOUNCES_MAX};
use stammkunde_store_sqlite::SqliteStore;

const PERMANENT: &str = include_str!("../../../fixtures/ses/bounce_permanent.json");
const TRANSIENT: &str = include_str!("../../../fixtures/ses/bounce_transient.json");
const COMPLAINT: &str = include_str!("../../../fixtures/ses/complaint.json");

/// `mail-shop` (the fixtures' tag), and two shops whose ids differ only where SES tags cannot.
const CONFIG: &str = r#"
[[shops]]
id = "mail-shop"
platform = "shopify"
domain = "mail-shop.myshopify.com"
webhook_secret = "0123456789abcdef"
api_key = "0123456789abcdef"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[[shops]]
id = "other-shop"
platform = "shopify"
domain = "other-shop.myshopify.com"
webhook_secret = "0123456789abcdef"
api_key = "0123456789abcdef"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[[shops]]
id = "twin.shop"
platform = "shopify"
domain = "twin-1.myshopify.com"
webhook_secret = "0123456789abcdef"
api_key = "0123456789abcdef"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[[shops]]
id = "twin_shop"
platform = "shopify"
domain = "twin-2.myshopify.com"
webhook_secret = "0123456789abcdef"
api_key = "0123456789abcdef"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"
"#;

struct Harness {
    feedback: MailFeedback,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

fn at(raw: &str) -> DateTime<Utc> {
    raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
}

/// An hour after the fixtures' bounces.
fn now() -> DateTime<Utc> {
    at("2027-03-20T12:00:00Z")
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new(now()));
    let store = Arc::new(SqliteStore::open(&dir.path().join("db"), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
    let config = AppConfig::from_toml(CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let feedback = MailFeedback { shops: Arc::new(ShopDirectory::new(config)), mail: store.clone(), clock };
    Harness { feedback, store, _dir: dir }
}

fn shop(id: &str) -> ShopId {
    ShopId::parse(id).unwrap_or_else(|e| panic!("{e}"))
}

fn lena(shop_id: &str) -> AddressDigest {
    let email = Email::parse("lena.hoffmann@example.de").unwrap_or_else(|e| panic!("{e}"));
    AddressDigest::of(&shop(shop_id), &email)
}

fn fixture(raw: &str) -> Feedback {
    let detail: serde_json::Value = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    match Feedback::from_detail(&detail) {
        Ok(Some(feedback)) => feedback,
        other => panic!("the fixture is no feedback: {other:?}"),
    }
}

/// The transient fixture as a bounce of another message.
fn soft_bounce(message: &str) -> Feedback {
    Feedback { message_id: message.into(), ..fixture(TRANSIENT) }
}

impl Harness {
    async fn suppression(&self, shop_id: &str) -> Option<Suppression> {
        self.store.suppression(&shop(shop_id), &lena(shop_id)).await.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn handle(&self, feedback: &Feedback) {
        self.feedback.handle(feedback).await.unwrap_or_else(|e| panic!("{e:?}"));
    }
}

#[tokio::test]
async fn a_hard_bounce_suppresses_the_address_at_once() {
    let h = harness();
    let report = h.feedback.handle(&fixture(PERMANENT)).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((report.shop.as_str(), report.kind, report.suppressed), ("mail-shop", FeedbackKind::HardBounce, 1));
    // The fixture's address is `Lena.Hoffmann@…`: suppressed as the profile stores it.
    let expected = Suppression {
        shop: shop("mail-shop"),
        address: lena("mail-shop"),
        reason: SuppressionReason::HardBounce,
        at: at("2027-03-20T09:10:04.512Z"),
    };
    assert_eq!(h.suppression("mail-shop").await, Some(expected));
    assert_eq!(h.suppression("other-shop").await, None, "another shop's list is its own");
}

#[tokio::test]
async fn a_complaint_suppresses_the_address_at_once() {
    let h = harness();
    h.handle(&fixture(COMPLAINT)).await;
    let suppression = h.suppression("mail-shop").await.unwrap_or_else(|| panic!("not suppressed"));
    assert_eq!((suppression.reason, suppression.at), (SuppressionReason::Complaint, at("2027-03-20T11:42:17Z")));
}

#[tokio::test]
async fn two_soft_bounces_do_not_suppress_the_address_and_the_third_does() {
    let h = harness();
    assert_eq!(SOFT_BOUNCES_MAX, 3);
    for message in ["m-1", "m-2"] {
        let report = h.feedback.handle(&soft_bounce(message)).await.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((report.suppressed, report.soft_bounces_below_max), (0, 1));
        assert_eq!(h.suppression("mail-shop").await, None, "after {message}");
    }
    let report = h.feedback.handle(&soft_bounce("m-3")).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((report.suppressed, report.soft_bounces_below_max), (1, 0));
    let suppression = h.suppression("mail-shop").await.unwrap_or_else(|| panic!("not suppressed"));
    assert_eq!(suppression.reason, SuppressionReason::SoftBounces);
}

#[tokio::test]
async fn a_soft_bounce_delivered_again_counts_once() {
    let h = harness();
    for _ in 0..SOFT_BOUNCES_MAX + 1 {
        h.handle(&soft_bounce("m-1")).await;
    }
    assert_eq!(h.suppression("mail-shop").await, None);
    h.handle(&soft_bounce("m-2")).await;
    h.handle(&soft_bounce("m-3")).await;
    assert!(h.suppression("mail-shop").await.is_some(), "three messages bounced");
}

#[tokio::test]
async fn an_event_of_an_unknown_shop_is_refused_and_writes_nothing() {
    let h = harness();
    for feedback in [fixture(PERMANENT), fixture(COMPLAINT), soft_bounce("m-1")] {
        let unknown = Feedback { shop_tag: "gone-shop".into(), ..feedback };
        let refused = h.feedback.handle(&unknown).await;
        assert!(matches!(&refused, Err(FeedbackError::UnknownShop(tag)) if tag == "gone-shop"), "{refused:?}");
        assert!(!refused.as_ref().err().is_some_and(FeedbackError::is_retryable), "a retry cannot help");
    }
    for shop_id in ["mail-shop", "other-shop", "gone-shop"] {
        assert_eq!(h.suppression(shop_id).await, None, "{shop_id}");
    }
    // Nothing was counted either: the next soft bounce of the address is its first.
    let count = h.store.count_soft_bounce(&shop("mail-shop"), &lena("mail-shop"), "m-2", now()).await;
    assert_eq!(count.unwrap_or_else(|e| panic!("{e}")), 1);
}

#[tokio::test]
async fn a_tag_two_shops_share_is_refused_and_writes_nothing() {
    let h = harness();
    let twin = Feedback { shop_tag: "twin_shop".into(), ..fixture(PERMANENT) };
    let refused = h.feedback.handle(&twin).await;
    assert!(
        matches!(&refused, Err(FeedbackError::AmbiguousShop { shops, .. }) if shops == "twin.shop, twin_shop"),
        "{refused:?}"
    );
    assert_eq!((h.suppression("twin.shop").await, h.suppression("twin_shop").await), (None, None));
}

#[tokio::test]
async fn the_first_suppression_reason_stays() {
    let h = harness();
    h.handle(&fixture(PERMANENT)).await;
    let first = h.suppression("mail-shop").await;
    h.handle(&fixture(COMPLAINT)).await;
    for message in ["m-1", "m-2", "m-3", "m-4"] {
        h.handle(&soft_bounce(message)).await;
    }
    assert_eq!(h.suppression("mail-shop").await, first);
    assert_eq!(first.map(|s| s.reason), Some(SuppressionReason::HardBounce));
}

#[tokio::test]
async fn a_bounce_dated_after_now_is_suppressed_as_of_now() {
    let h = harness();
    let late = Feedback { at: now() + Duration::days(3), ..fixture(PERMANENT) };
    h.handle(&late).await;
    assert_eq!(h.suppression("mail-shop").await.map(|s| s.at), Some(now()));
}

#[tokio::test]
async fn every_recipient_of_a_bounce_is_suppressed() {
    let h = harness();
    let jon = Email::parse("jon@example.com").unwrap_or_else(|e| panic!("{e}"));
    let mut feedback = fixture(PERMANENT);
    feedback.recipients.push(jon.clone());
    let report = h.feedback.handle(&feedback).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(report.suppressed, 2);
    let jons = h.store.suppression(&shop("mail-shop"), &AddressDigest::of(&shop("mail-shop"), &jon)).await;
    assert!(jons.unwrap_or_else(|e| panic!("{e}")).is_some());
    assert!(h.suppression("mail-shop").await.is_some());
}
