//! The in-process event bus: `publish` hands each event to every subscriber and returns when all
//! have finished. That makes the local runner synchronous end to end — a webhook's 2xx means its
//! credit is already on disk — while on AWS the same events go through EventBridge asynchronously.

use async_trait::async_trait;
use std::sync::{Arc, RwLock};

use stammkunde_domain::error::BusError;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ports::EventBus;

/// A function that consumes events, as an EventBridge rule target would.
#[async_trait]
pub trait Subscriber: Send + Sync {
    /// Handles one event. Must be idempotent: the bus promises at-least-once, like EventBridge.
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String>;
}

#[derive(Default)]
pub struct InProcessBus {
    subscribers: RwLock<Vec<Arc<dyn Subscriber>>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        InProcessBus::default()
    }

    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        match self.subscribers.write() {
            Ok(mut subs) => subs.push(subscriber),
            Err(poisoned) => poisoned.into_inner().push(subscriber),
        }
    }

    fn snapshot(&self) -> Vec<Arc<dyn Subscriber>> {
        match self.subscribers.read() {
            Ok(subs) => subs.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), BusError> {
        let subscribers = self.snapshot();
        for event in events {
            for subscriber in &subscribers {
                subscriber.on_event(event).await.map_err(|e| {
                    tracing::warn!(detail_type = event.detail_type(), shop = %event.shop(), error = %e, "subscriber failed");
                    BusError::Subscriber(e)
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stammkunde_domain::ids::ShopId;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<String>>, bool);

    #[async_trait]
    impl Subscriber for Recorder {
        async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
            if self.1 {
                return Err("boom".into());
            }
            self.0.lock().map_err(|e| e.to_string())?.push(event.detail_type().to_owned());
            Ok(())
        }
    }

    fn uninstall() -> DomainEvent {
        DomainEvent::AppUninstalled { shop: ShopId::parse("s").unwrap_or_else(|e| panic!("{e}")), at: Utc::now() }
    }

    #[tokio::test]
    async fn every_subscriber_sees_every_event_before_publish_returns() {
        let bus = InProcessBus::new();
        let (a, b) = (Arc::new(Recorder(Mutex::default(), false)), Arc::new(Recorder(Mutex::default(), false)));
        bus.subscribe(a.clone());
        bus.subscribe(b.clone());
        bus.publish(&[uninstall(), uninstall()]).await.unwrap_or_else(|e| panic!("{e}"));
        for r in [a, b] {
            assert_eq!(r.0.lock().map(|v| v.len()).unwrap_or(0), 2);
        }
    }

    #[tokio::test]
    async fn a_failing_subscriber_fails_the_publish_so_the_sender_retries() {
        let bus = InProcessBus::new();
        bus.subscribe(Arc::new(Recorder(Mutex::default(), true)));
        assert!(matches!(bus.publish(&[uninstall()]).await, Err(BusError::Subscriber(_))));
    }
}
