//! The preference-centre Lambda: API Gateway HTTP API → `PreferencesService::handle`. Clients are
//! built once, at cold start.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use stammkunde_aws::LambdaEnvironment;
use stammkunde_domain::clock::SystemClock;
use stammkunde_http::from_lambda;
use stammkunde_preferences::{Pages, PreferencesService};
use stammkunde_services::privacy::{NoMailArchive, Privacy};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let clock = Arc::new(SystemClock);
    let service = Arc::new(PreferencesService {
        shops: env.shops.clone(),
        store: env.store.clone(),
        mail: env.store.clone(),
        consent: env.store.clone(),
        privacy: Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), clock.clone())),
        bus: Arc::new(env.event_bus()?),
        clock,
        pages: Arc::new(Pages::new()?),
    });
    lambda_http::run(service_fn(move |request: Request| {
        let service = service.clone();
        async move { Ok::<_, Error>(service.handle(from_lambda(request)).await) }
    }))
    .await
}
