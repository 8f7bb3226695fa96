//! The sample events in `events/` are what the ledger sweep Lambda receives: the schedule's input,
//! a `LedgerSweepRequested` and a `ShopErasureRequested` event; all must parse as the function's
//! input, and the rest not.

use stammkunde_domain::events::DomainEvent;
use stammkunde_ledger_sweep::SweepInput;

#[test]
fn the_schedules_input_asks_for_the_ledger_sweep_of_every_shop() {
    let raw = include_str!("../../../events/ledger-sweep-scheduled.json");
    let input: SweepInput = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(input, SweepInput::Scheduled { sweep } if sweep == "ledger"));
}

#[test]
fn a_continuation_event_names_its_shop() {
    let raw = include_str!("../../../events/ledger-sweep-continue.json");
    let input: SweepInput = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    let SweepInput::Continue { detail_type, detail } = input else { panic!("not a continuation") };
    let DomainEvent::LedgerSweepRequested { shop } = *detail else { panic!("not a sweep request") };
    assert_eq!((detail_type.as_str(), shop.as_str()), ("LedgerSweepRequested", "sample-shop"));
}

#[test]
fn a_shop_erasure_event_names_its_shop() {
    let raw = include_str!("../../../events/ledger-sweep-shop-erasure.json");
    let input: SweepInput = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    let SweepInput::Continue { detail_type, detail } = input else { panic!("not an event") };
    let DomainEvent::ShopErasureRequested { shop } = *detail else { panic!("not a shop erasure") };
    assert_eq!((detail_type.as_str(), shop.as_str()), ("ShopErasureRequested", "sample-shop"));
}

#[test]
fn anything_else_is_not_a_sweep_input() {
    assert!(serde_json::from_str::<SweepInput>(r#"{"hello": "world"}"#).is_err());
}
