//! The sample events in `events/` are what the mail sweep Lambda receives: the schedule's input
//! and a `MailSweepRequested` event; both must parse as the function's input, and the rest not.

use stammkunde_domain::events::DomainEvent;
use stammkunde_mail_sweep::SweepInput;

#[test]
fn the_schedules_input_asks_for_the_mail_sweep_of_every_shop() {
    let raw = include_str!("../../../events/mail-sweep-scheduled.json");
    let input: SweepInput = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(input, SweepInput::Scheduled { sweep } if sweep == "mail"));
}

#[test]
fn a_continuation_event_names_its_shop() {
    let raw = include_str!("../../../events/mail-sweep-continue.json");
    let input: SweepInput = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    let SweepInput::Continue { detail_type, detail } = input else { panic!("not a continuation") };
    let DomainEvent::MailSweepRequested { shop } = *detail else { panic!("not a mail sweep request") };
    assert_eq!((detail_type.as_str(), shop.as_str()), ("MailSweepRequested", "sample-shop"));
}

#[test]
fn a_subscription_request_names_its_customer_and_day() {
    let raw = include_str!("../../../events/mail-sweep-subscription-requested.json");
    let input: SweepInput = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    let SweepInput::Continue { detail_type, detail } = input else { panic!("not an event") };
    let DomainEvent::SubscriptionRequested { shop, customer_id, date } = *detail else {
        panic!("not a subscription request")
    };
    assert_eq!(detail_type, "SubscriptionRequested");
    assert_eq!(
        (shop.as_str(), customer_id.as_str(), date.to_string().as_str()),
        ("sample-shop", "7654321098765", "2026-12-02")
    );
}

#[test]
fn a_link_request_names_its_customer_and_day() {
    let raw = include_str!("../../../events/mail-sweep-link-requested.json");
    let input: SweepInput = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    let SweepInput::Continue { detail_type, detail } = input else { panic!("not an event") };
    let DomainEvent::LinkRequested { shop, customer_id, date } = *detail else { panic!("not a link request") };
    assert_eq!(detail_type, "LinkRequested");
    assert_eq!(
        (shop.as_str(), customer_id.as_str(), date.to_string().as_str()),
        ("sample-shop", "7654321098765", "2026-12-02")
    );
}

#[test]
fn anything_else_is_not_a_sweep_input() {
    assert!(serde_json::from_str::<SweepInput>(r#"{"hello": "world"}"#).is_err());
}
