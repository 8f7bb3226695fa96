//! The sample event in `events/` (used with `cargo lambda invoke --data-file`) is what the points
//! Lambda actually receives: it must deserialize as the function's input type.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use stammkunde_domain::events::DomainEvent;

#[test]
fn the_sample_eventbridge_event_is_an_order_recorded_event() {
    let raw = include_str!("../../../events/points-order-recorded.json");
    let event: EventBridgeEvent<DomainEvent> = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(event.detail_type, "OrderRecorded");
    let DomainEvent::OrderRecorded { order } = event.detail else { panic!("not an order event") };
    assert_eq!(order.lines.len(), 1);
    assert!(order.payment.is_paid());
}

#[test]
fn the_sample_refund_event_is_a_refund_recorded_event() {
    let raw = include_str!("../../../events/points-refund-recorded.json");
    let event: EventBridgeEvent<DomainEvent> = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(event.detail_type, "RefundRecorded");
    let DomainEvent::RefundRecorded { refund } = event.detail else { panic!("not a refund event") };
    assert_eq!((refund.refund_id.as_str(), refund.lines.len()), ("929361464", 1));
}
