//! The ledger sweep Lambda: the hourly schedule, `LedgerSweepRequested` and `ShopErasureRequested` events →
//! `SweepFunction::handle`. Clients are built once, at cold start.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use stammkunde_aws::LambdaEnvironment;
use stammkunde_domain::clock::SystemClock;
use stammkunde_domain::error::cause_chain;
use stammkunde_ledger_sweep::{SweepFunction, SweepInput, ERASURE_BATCHES_PER_INVOCATION, PAGES_PER_INVOCATION};
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_services::{LedgerService, LedgerSweep};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let bus = Arc::new(env.event_bus()?);
    let clock = Arc::new(SystemClock);
    let ledger = Arc::new(LedgerService {
        ledger: env.store.clone(),
        timers: env.store.clone(),
        bus: bus.clone(),
        clock: clock.clone(),
    });
    let sweep = LedgerSweep {
        ledger,
        timers: env.store.clone(),
        customers: env.store.clone(),
        shops: env.store.clone(),
        clock,
    };
    // SES keeps no copies of ours to erase.
    let privacy = Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), Arc::new(SystemClock)));
    let function = Arc::new(SweepFunction {
        shops: env.shops.clone(),
        sweep,
        bus,
        pages_per_invocation: PAGES_PER_INVOCATION,
        privacy,
        erasure_batches_per_invocation: ERASURE_BATCHES_PER_INVOCATION,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SweepInput>| {
        let function = function.clone();
        async move {
            let reports = function.handle(&event.payload).await.inspect_err(|e| {
                tracing::error!(error = %cause_chain(e), "ledger sweep failed");
            })?;
            Ok::<_, Error>(serde_json::json!({ "shops": reports.len() }))
        }
    }))
    .await
}
