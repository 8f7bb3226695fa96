//! The points Lambda: EventBridge `OrderRecorded` and `RefundRecorded` events →
//! `PointsService::handle_event`. A failed reconciliation returns an error so Lambda retries it
//! and, after the retries, the event lands in the dead-letter queue rather than being lost.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use stammkunde_aws::LambdaEnvironment;
use stammkunde_domain::clock::SystemClock;
use stammkunde_domain::error::cause_chain;
use stammkunde_domain::events::DomainEvent;
use stammkunde_points::PointsService;
use stammkunde_services::LedgerService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let ledger = Arc::new(LedgerService {
        ledger: env.store.clone(),
        timers: env.store.clone(),
        bus: Arc::new(env.event_bus()?),
        clock: Arc::new(SystemClock),
    });
    let service = Arc::new(PointsService {
        shops: env.shops.clone(),
        ledger,
        customers: env.store.clone(),
        codes: env.store.clone(),
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent<DomainEvent>>| {
        let service = service.clone();
        async move {
            let outcome = service.handle_event(&event.payload.detail).await.inspect_err(|e| {
                tracing::error!(error = %cause_chain(e), retryable = e.is_retryable(), "reconciliation failed");
            })?;
            tracing::info!(?outcome, "event handled");
            Ok::<_, Error>(())
        }
    }))
    .await
}
