//! The merchant API Lambda: API Gateway HTTP API → `ApiService::handle`. Clients are built once,
//! at cold start.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use stammkunde_api::ApiService;
use stammkunde_aws::LambdaEnvironment;
use stammkunde_domain::clock::SystemClock;
use stammkunde_http::from_lambda;
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_services::reconsent::Reconsent;
use stammkunde_services::{Coupons, LedgerService};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let clock = Arc::new(SystemClock);
    let bus: Arc<dyn stammkunde_domain::ports::EventBus> = Arc::new(env.event_bus()?);
    let ledger = Arc::new(LedgerService {
        ledger: env.store.clone(),
        timers: env.store.clone(),
        bus: bus.clone(),
        clock: clock.clone(),
    });
    let service = Arc::new(ApiService {
        shops: env.shops.clone(),
        store: env.store.clone(),
        ledger,
        coupons: Arc::new(Coupons::new(env.store.clone())),
        clock: clock.clone(),
        mail: env.store.clone(),
        consent: env.store.clone(),
        bus,
        privacy: Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), clock.clone())),
        reconsent: Arc::new(Reconsent::over(env.store.clone(), clock)),
    });
    lambda_http::run(service_fn(move |request: Request| {
        let service = service.clone();
        async move { Ok::<_, Error>(service.handle(from_lambda(request)).await) }
    }))
    .await
}
