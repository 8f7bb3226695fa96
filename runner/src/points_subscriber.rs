//! Wires the points function to the in-process bus, as the EventBridge rule does on AWS.

use async_trait::async_trait;
use std::sync::Arc;

use stammkunde_domain::events::DomainEvent;
use stammkunde_local::Subscriber;
use stammkunde_points::PointsService;

pub struct PointsSubscriber(pub Arc<PointsService>);

#[async_trait]
impl Subscriber for PointsSubscriber {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        self.0.handle_event(event).await.map(|_| ()).map_err(|e| stammkunde_domain::error::cause_chain(&e))
    }
}
