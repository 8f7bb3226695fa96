//! The webhooks Lambda: API Gateway HTTP API → `WebhookService::handle`. Clients and configuration
//! are built once per cold start; a missing setting fails the start, not a request.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use stammkunde_aws::LambdaEnvironment;
use stammkunde_domain::clock::SystemClock;
use stammkunde_http::from_lambda;
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_shopware_admin::HttpShopwareAdmin;
use stammkunde_webhooks::WebhookService;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let clock = Arc::new(SystemClock);
    let service = Arc::new(WebhookService {
        shops: env.shops.clone(),
        store: env.store.clone(),
        bus: Arc::new(env.event_bus()?),
        clock: clock.clone(),
        shopware_admin: Arc::new(HttpShopwareAdmin::new()),
        public_url: std::env::var("STAMMKUNDE_PUBLIC_URL").ok(),
        privacy: Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), clock)),
    });
    lambda_http::run(service_fn(move |request: Request| {
        let service = service.clone();
        async move { Ok::<_, Error>(service.handle(from_lambda(request)).await) }
    }))
    .await
}
