//! EventBridgeBus on moto: events reach a rule's SQS target with their detail intact, only
//! matching detail-types are routed, and failures surface as BusError.

mod common;

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{TimeZone, Utc};
use stammkunde_aws::EventBridgeBus;
use stammkunde_domain::error::BusError;
use stammkunde_domain::events::{DomainEvent, EVENT_SOURCE};
use stammkunde_domain::ids::{CustomerId, LineId, OrderId, ShopId};
use stammkunde_domain::money::Currency;
use stammkunde_domain::order::{Order, OrderLine, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::EventBus;

use common::{chain, sdk_config, unique_name};

/// Most receive calls while waiting for the expected messages: moto routes synchronously, so the
/// messages are there at once; the bound only keeps a broken test from hanging.
const RECEIVES_MAX: usize = 10;

struct Routed {
    bus: EventBridgeBus,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// A fresh bus with one rule (our source, detail-type OrderRecorded) targeting a fresh queue.
async fn bus_routing_order_recorded_to_a_queue() -> Routed {
    let config = sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus_name = unique_name("bus");
    events.create_event_bus().name(&bus_name).send().await.unwrap_or_else(|e| panic!("{}", chain(&e)));

    let queue = sqs.create_queue().queue_name(unique_name("queue")).send().await;
    let queue_url = queue.unwrap_or_else(|e| panic!("{}", chain(&e))).queue_url.unwrap_or_default();
    let attributes = sqs.get_queue_attributes().queue_url(&queue_url).attribute_names(QueueAttributeName::QueueArn);
    let attributes = attributes.send().await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    let queue_arn = attributes.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).cloned();
    let queue_arn = queue_arn.unwrap_or_else(|| panic!("queue has no ARN"));
    // AWS needs the queue to allow EventBridge to send; moto does not check, but keep it real.
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        }]
    });
    let set_policy =
        sqs.set_queue_attributes().queue_url(&queue_url).attributes(QueueAttributeName::Policy, policy.to_string());
    set_policy.send().await.unwrap_or_else(|e| panic!("{}", chain(&e)));

    let pattern = serde_json::json!({"source": [EVENT_SOURCE], "detail-type": ["OrderRecorded"]});
    let rule = events.put_rule().name("order-recorded").event_bus_name(&bus_name).event_pattern(pattern.to_string());
    rule.send().await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    let target = Target::builder().id("queue").arn(queue_arn).build().unwrap_or_else(|e| panic!("{e}"));
    let targets = events.put_targets().rule("order-recorded").event_bus_name(&bus_name).targets(target);
    let targets = targets.send().await.unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(targets.failed_entry_count(), 0);

    Routed { bus: EventBridgeBus::new(events, bus_name), sqs, queue_url }
}

/// Every message currently in the queue, as the EventBridge envelopes they carry.
async fn drain(routed: &Routed, expected: usize) -> Vec<serde_json::Value> {
    let mut envelopes = Vec::new();
    for _ in 0..RECEIVES_MAX {
        let received = routed.sqs.receive_message().queue_url(&routed.queue_url).max_number_of_messages(10);
        let received = received.wait_time_seconds(if envelopes.len() < expected { 1 } else { 0 });
        let received = received.send().await.unwrap_or_else(|e| panic!("{}", chain(&e)));
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() && envelopes.len() >= expected {
            break;
        }
        for message in messages {
            let body = message.body().unwrap_or_default();
            envelopes.push(serde_json::from_str(body).unwrap_or_else(|e| panic!("envelope is not JSON: {e}: {body}")));
            let delete = routed.sqs.delete_message().queue_url(&routed.queue_url);
            let delete = delete.receipt_handle(message.receipt_handle().unwrap_or_default());
            delete.send().await.unwrap_or_else(|e| panic!("{}", chain(&e)));
        }
    }
    envelopes
}

fn shop() -> ShopId {
    ShopId::parse("demo-shop").unwrap_or_else(|e| panic!("{e}"))
}

fn order(id: usize, order_number: String) -> Order {
    let updated = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap_or_else(|| panic!("valid time"));
    Order {
        shop: shop(),
        platform: Platform::Woocommerce,
        order_id: OrderId::parse(&format!("{id}")).unwrap_or_else(|e| panic!("{e}")),
        order_number: Some(order_number),
        customer_id: CustomerId::parse("42").ok(),
        currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
        taxes_included: true,
        lines: vec![OrderLine {
            line_id: LineId::parse("1").unwrap_or_else(|e| panic!("{e}")),
            product_id: Some("sku-1".into()),
            quantity: 1,
            amount_minor: 1999,
            tax_minor: 319,
        }],
        shipping_minor: 0,
        payment: PaymentState::Paid,
        cancelled: false,
        discount_codes: Vec::new(),
        placed_at: updated,
        version: OrderVersion::of(updated, PaymentState::Paid, false),
        paid_at: Some(updated),
        fulfilled_at: None,
        total_minor: Some(1999),
    }
}

fn recorded(id: usize) -> DomainEvent {
    DomainEvent::OrderRecorded { order: order(id, format!("#{id}")) }
}

#[tokio::test]
async fn a_published_event_reaches_the_matching_rule_target_with_its_detail_intact() {
    let routed = bus_routing_order_recorded_to_a_queue().await;
    let event = recorded(1);
    let other = DomainEvent::CustomerUpdated {
        shop: shop(),
        customer_id: CustomerId::parse("42").unwrap_or_else(|e| panic!("{e}")),
    };

    routed.bus.publish(&[event.clone(), other]).await.unwrap_or_else(|e| panic!("{}", chain(&e)));

    let envelopes = drain(&routed, 1).await;
    assert_eq!(envelopes.len(), 1, "only the OrderRecorded event matches the rule: {envelopes:?}");
    assert_eq!(envelopes[0]["source"], EVENT_SOURCE);
    assert_eq!(envelopes[0]["detail-type"], "OrderRecorded");
    let detail: DomainEvent = serde_json::from_value(envelopes[0]["detail"].clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(detail, event);
}

#[tokio::test]
async fn more_than_ten_events_are_sent_in_chunks_and_all_arrive() {
    let routed = bus_routing_order_recorded_to_a_queue().await;
    let events: Vec<DomainEvent> = (1..=23).map(recorded).collect();

    routed.bus.publish(&events).await.unwrap_or_else(|e| panic!("{}", chain(&e)));

    let mut received: Vec<DomainEvent> = drain(&routed, events.len())
        .await
        .into_iter()
        .map(|envelope| serde_json::from_value(envelope["detail"].clone()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let id = |e: &DomainEvent| match e {
        DomainEvent::OrderRecorded { order } => order.order_id.to_string().parse::<usize>().unwrap_or(0),
        _ => 0,
    };
    received.sort_by_key(id);
    assert_eq!(received, events);
}

#[tokio::test]
async fn an_event_over_256_kb_is_rejected_and_nothing_is_published() {
    let routed = bus_routing_order_recorded_to_a_queue().await;
    let huge = DomainEvent::OrderRecorded { order: order(2, "x".repeat(300 * 1024)) };

    let result = routed.bus.publish(&[recorded(1), huge]).await;

    assert!(matches!(result, Err(BusError::Rejected(_))), "{result:?}");
    assert!(drain(&routed, 0).await.is_empty(), "the valid event in the same call must not go out either");
}

#[tokio::test]
async fn publishing_to_a_missing_bus_is_a_bus_error_that_keeps_its_cause() {
    let client = aws_sdk_eventbridge::Client::new(&sdk_config().await);
    let bus = EventBridgeBus::new(client, unique_name("no-such-bus"));

    let error = match bus.publish(&[recorded(1)]).await {
        Err(error) => error,
        Ok(()) => panic!("publishing to a missing bus must fail"),
    };

    assert!(matches!(error, BusError::Unavailable { .. }), "{error:?}");
    let cause = format!("{:?}", std::error::Error::source(&error));
    assert!(cause.contains("ResourceNotFoundException"), "the SDK error is kept as source: {cause}");
}

#[tokio::test]
async fn publishing_nothing_makes_no_call() {
    // A bus that does not exist would fail any call, so success shows no call was made.
    let client = aws_sdk_eventbridge::Client::new(&sdk_config().await);
    let bus = EventBridgeBus::new(client, unique_name("no-such-bus"));
    assert!(bus.publish(&[]).await.is_ok());
}
