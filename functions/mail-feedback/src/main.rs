//! The mail feedback Lambda: SES `Email Bounced` and `Email Complaint Received` events from the
//! default bus → `FeedbackFunction::handle`. Clients are built once, at cold start.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use stammkunde_aws::LambdaEnvironment;
use stammkunde_domain::clock::SystemClock;
use stammkunde_domain::error::cause_chain;
use stammkunde_mail_feedback::{FeedbackFunction, FeedbackOutcome};
use stammkunde_services::mail::feedback::MailFeedback;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnvironment::load().await?;
    let feedback = MailFeedback { shops: env.shops.clone(), mail: env.store.clone(), clock: Arc::new(SystemClock) };
    let function = Arc::new(FeedbackFunction { feedback });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent<Value>>| {
        let function = function.clone();
        async move {
            let outcome = function.handle(&event.payload).await.inspect_err(|e| {
                tracing::error!(error = %cause_chain(e), "mail feedback failed");
            })?;
            let status = match outcome {
                FeedbackOutcome::Handled(_) => "handled",
                FeedbackOutcome::Ignored => "ignored",
                FeedbackOutcome::Dropped(_) => "dropped",
            };
            Ok::<_, Error>(serde_json::json!({ "status": status }))
        }
    }))
    .await
}
