//! The sample events in `events/` are what the mail feedback Lambda receives from the default bus:
//! SES's bounce and complaint in their EventBridge envelopes. They must parse as the function's
//! input, and, handled against the sample configuration's shop, suppress the address; what is no
//! feedback of ours is dropped without an error (a retry could not change it).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::customer::Email;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::feedback::{Feedback, FeedbackKind};
use stammkunde_domain::mail::SuppressionReason;
use stammkunde_domain::ports::MailStore;
use stammkunde_mail_feedback::{FeedbackFunction, FeedbackOutcome};
use stammkunde_services::mail::feedback::MailFeedback;
use stammkunde_store_sqlite::SqliteStore;

const BOUNCE: &str = include_str!("../../../events/mail-feedback-bounce.json");
const COMPLAINT: &str = include_str!("../../../events/mail-feedback-complaint.json");
const SAMPLE_CONFIG: &str = include_str!("../../../events/sample-config.toml");

fn event(raw: &str) -> EventBridgeEvent<Value> {
    serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn feedback(event: &EventBridgeEvent<Value>) -> Feedback {
    match Feedback::from_detail(&event.detail) {
        Ok(Some(feedback)) => feedback,
        other => panic!("no feedback: {other:?}"),
    }
}

#[test]
fn the_sample_bounce_is_a_hard_bounce_of_the_sample_shop() {
    let event = event(BOUNCE);
    assert_eq!((event.source.as_str(), event.detail_type.as_str()), ("aws.ses", "Email Bounced"));
    let feedback = feedback(&event);
    assert_eq!((feedback.kind, feedback.shop_tag.as_str()), (FeedbackKind::HardBounce, "sample-shop"));
}

#[test]
fn the_sample_complaint_is_a_complaint_of_the_sample_shop() {
    let event = event(COMPLAINT);
    assert_eq!(event.detail_type, "Email Complaint Received");
    let feedback = feedback(&event);
    assert_eq!((feedback.kind, feedback.shop_tag.as_str()), (FeedbackKind::Complaint, "sample-shop"));
}

struct Harness {
    function: FeedbackFunction,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let now = "2027-03-20T12:00:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(FixedClock::new(now));
    let store = Arc::new(SqliteStore::open(&dir.path().join("db"), clock.clone()).unwrap_or_else(|e| panic!("{e}")));
    let config = AppConfig::from_toml(SAMPLE_CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let feedback = MailFeedback { shops: Arc::new(ShopDirectory::new(config)), mail: store.clone(), clock };
    Harness { function: FeedbackFunction { feedback }, store, _dir: dir }
}

async fn suppression_reason(store: &SqliteStore) -> Option<SuppressionReason> {
    let shop = ShopId::parse("sample-shop").unwrap_or_else(|e| panic!("{e}"));
    let email = Email::parse("lena.hoffmann@example.de").unwrap_or_else(|e| panic!("{e}"));
    let found = store.suppression(&shop, &AddressDigest::of(&shop, &email)).await;
    found.unwrap_or_else(|e| panic!("{e}")).map(|s| s.reason)
}

#[tokio::test]
async fn the_sample_events_suppress_the_address_in_the_sample_shop() {
    let h = harness();
    for (raw, reason) in [(BOUNCE, SuppressionReason::HardBounce), (COMPLAINT, SuppressionReason::HardBounce)] {
        let outcome = h.function.handle(&event(raw)).await.unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(outcome, FeedbackOutcome::Handled(ref r) if r.suppressed == 1), "{outcome:?}");
        // The complaint after the bounce leaves the first reason.
        assert_eq!(suppression_reason(&h.store).await, Some(reason));
    }
}

#[tokio::test]
async fn what_is_no_feedback_of_ours_is_dropped_without_an_error_and_writes_nothing() {
    let h = harness();
    let edits: [fn(&mut Value); 4] = [
        |e| e["source"] = "stammkunde".into(),
        |e| e["detail-type"] = "Email Delivered".into(),
        |e| e["detail"]["mail"]["tags"]["shop"] = Value::Null,
        |e| e["detail"]["mail"]["tags"]["shop"] = serde_json::json!(["another-shop"]),
    ];
    for edit in edits {
        let mut raw: Value = serde_json::from_str(BOUNCE).unwrap_or_else(|e| panic!("{e}"));
        edit(&mut raw);
        let event: EventBridgeEvent<Value> = serde_json::from_value(raw).unwrap_or_else(|e| panic!("{e}"));
        let outcome = h.function.handle(&event).await.unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(outcome, FeedbackOutcome::Dropped(_)), "{outcome:?}");
    }
    assert_eq!(suppression_reason(&h.store).await, None);
}

#[tokio::test]
async fn a_not_spam_report_is_ignored() {
    let h = harness();
    let mut raw: Value = serde_json::from_str(COMPLAINT).unwrap_or_else(|e| panic!("{e}"));
    raw["detail"]["complaint"]["complaintFeedbackType"] = "not-spam".into();
    let event: EventBridgeEvent<Value> = serde_json::from_value(raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.function.handle(&event).await.ok(), Some(FeedbackOutcome::Ignored));
    assert_eq!(suppression_reason(&h.store).await, None);
}
