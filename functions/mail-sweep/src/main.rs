//! The mail sweep Lambda: the hourly schedule and `MailSweepRequested` events →
//! `SweepFunction::handle`. Clients are built once, at cold start.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use stammkunde_aws::ses::SesMailer;
use stammkunde_aws::LambdaEnvironment;
use stammkunde_domain::clock::SystemClock;
use stammkunde_domain::error::cause_chain;
use stammkunde_mail_sweep::{SweepFunction, SweepInput, PAGES_PER_INVOCATION};
use stammkunde_services::mail::{MailRenderer, MailSweep, Pacer};
use stammkunde_services::Coupons;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let bus = Arc::new(env.event_bus()?);
    let public_url = std::env::var("STAMMKUNDE_PUBLIC_URL")
        .map_err(|_| "STAMMKUNDE_PUBLIC_URL is not set: the preference-centre links need it")?;
    let sweep = MailSweep {
        customers: env.store.clone(),
        mail: env.store.clone(),
        codes: env.store.clone(),
        ledger: env.store.clone(),
        marks: env.store.clone(),
        coupons: Arc::new(Coupons::new(env.store.clone())),
        mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&env.sdk))),
        clock: Arc::new(SystemClock),
        renderer: Arc::new(MailRenderer::new()?),
        public_url,
        pacer: Pacer::default(),
    };
    let function =
        Arc::new(SweepFunction { shops: env.shops.clone(), sweep, bus, pages_per_invocation: PAGES_PER_INVOCATION });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SweepInput>| {
        let function = function.clone();
        async move {
            let reports = function.handle(&event.payload).await.inspect_err(|e| {
                tracing::error!(error = %cause_chain(e), "mail sweep failed");
            })?;
            let sent: u32 = reports.iter().map(|(_, r)| r.sent).sum();
            Ok::<_, Error>(serde_json::json!({ "shops": reports.len(), "sent": sent }))
        }
    }))
    .await
}
