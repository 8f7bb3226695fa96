//! The merchant API Lambda: API Gateway HTTP API → `ApiService::handle`.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use stammkunde_api::ApiService;
use stammkunde_aws::LambdaEnvironment;
use stammkunde_http::from_lambda;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let service = Arc::new(ApiService { shops: env.shops.clone(), store: env.store.clone() });
    lambda_http::run(service_fn(move |request: Request| {
        let service = service.clone();
        async move { Ok::<_, Error>(service.handle(from_lambda(request)).await) }
    }))
    .await
}
