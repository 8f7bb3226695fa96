//! `POST /dev/ses-events` on the local runner: SES's bounce and complaint events, as the default
//! bus delivers them on AWS, put `mail-shop`'s addresses on its suppression list; what the
//! function would drop on AWS is refused with its reason and writes nothing.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use stammkunde_domain::customer::Email;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::SuppressionReason;
use stammkunde_e2e::*;

const PERMANENT: &str = include_str!("../../fixtures/ses/bounce_permanent.json");
const TRANSIENT: &str = include_str!("../../fixtures/ses/bounce_transient.json");

fn now() -> DateTime<Utc> {
    "2027-03-20T12:00:00Z".parse().unwrap_or_else(|e| panic!("{e}"))
}

/// The SES record in the EventBridge envelope, with `edit` applied to the record.
fn event(detail: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut detail: Value = serde_json::from_str(detail).unwrap_or_else(|e| panic!("{e}"));
    edit(&mut detail);
    json_body(&json!({
        "version": "0", "id": "e2e-ses", "detail-type": "Email Bounced", "source": "aws.ses",
        "account": "123456789012", "time": "2027-03-20T09:10:05Z", "region": "eu-central-1",
        "resources": [], "detail": detail,
    }))
}

async fn lenas_suppression(app: &TestApp) -> Option<SuppressionReason> {
    let shop = ShopId::parse("mail-shop").unwrap_or_else(|e| panic!("{e}"));
    let email = Email::parse("lena.hoffmann@example.de").unwrap_or_else(|e| panic!("{e}"));
    let found = app.app.mail.suppression(&shop, &AddressDigest::of(&shop, &email)).await;
    found.unwrap_or_else(|e| panic!("{e}")).map(|s| s.reason)
}

#[tokio::test]
async fn a_posted_hard_bounce_suppresses_the_address() {
    let app = spawn_app(now()).await;
    let answer = app.post("/dev/ses-events", &[], event(PERMANENT, |_| {})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["status"], "handled");
    assert_eq!((answer.body["shop"].as_str(), answer.body["suppressed"].as_u64()), (Some("mail-shop"), Some(1)));
    assert_eq!(lenas_suppression(&app).await, Some(SuppressionReason::HardBounce));
}

#[tokio::test]
async fn posted_soft_bounces_of_three_messages_suppress_the_address() {
    let app = spawn_app(now()).await;
    for (n, expected) in [(1, None), (2, None), (3, Some(SuppressionReason::SoftBounces))] {
        let body = event(TRANSIENT, |d| d["mail"]["messageId"] = format!("e2e-message-{n}").into());
        let answer = app.post("/dev/ses-events", &[], body).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(lenas_suppression(&app).await, expected, "after {n}");
    }
}

#[tokio::test]
async fn a_bounce_of_an_unknown_shop_or_no_event_at_all_is_refused_and_writes_nothing() {
    let app = spawn_app(now()).await;
    let before = app.dump();
    let unknown = event(PERMANENT, |d| d["mail"]["tags"]["shop"] = json!(["gone-shop"]));
    let answer = app.post("/dev/ses-events", &[], unknown).await;
    assert_refused(&answer, 422, "dropped");
    let answer = app.post("/dev/ses-events", &[], br#"{"hello": "world"}"#.to_vec()).await;
    assert_refused(&answer, 400, "bad_request");
    assert_eq!(app.dump(), before);
}
