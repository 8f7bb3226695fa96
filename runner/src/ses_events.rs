//! `POST /dev/ses-events`: what SES's bounce and complaint events do on AWS, on demand. The body is
//! the EventBridge event the mail feedback function receives (see `events/mail-feedback-*.json`),
//! so a person can simulate a bounce of a mail from the outbox: tag it `shop: {shop id}` and name
//! the customer's address as the recipient.
//!
//! Answers 200 with what was done (`handled`, or `ignored` for an SES event that asks nothing of
//! us), 422 with the reason for what the function would drop on AWS (malformed, no mail of ours, an
//! unknown shop), 400 for a body that is no EventBridge event, 500 if the store failed.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use bytes::Bytes;
use http::{Request, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::error::cause_chain;
use stammkunde_domain::platforms::parse_json;
use stammkunde_domain::ports::MailStore;
use stammkunde_http::Reply;
use stammkunde_mail_feedback::{FeedbackFunction, FeedbackOutcome};
use stammkunde_services::mail::feedback::MailFeedback;

pub struct SesEvents {
    pub function: FeedbackFunction,
}

impl SesEvents {
    pub fn new(shops: Arc<ShopDirectory>, mail: Arc<dyn MailStore>, clock: Arc<dyn Clock>) -> SesEvents {
        SesEvents { function: FeedbackFunction { feedback: MailFeedback { shops, mail, clock } } }
    }

    pub async fn handle(&self, request: Request<Bytes>) -> Reply {
        let value = match parse_json(request.body()) {
            Ok(value) => value,
            Err(error) => return error.into(),
        };
        let event: EventBridgeEvent<Value> = match serde_json::from_value(value) {
            Ok(event) => event,
            // Not serde's message: it can quote a value of the body.
            Err(_) => return Reply::bad_request("not an EventBridge event (detail-type, source, detail)"),
        };
        match self.function.handle(&event).await {
            Ok(FeedbackOutcome::Handled(report)) => Reply::json(json!({
                "status": "handled",
                "shop": report.shop,
                "kind": report.kind,
                "suppressed": report.suppressed,
                "soft_bounces_below_max": report.soft_bounces_below_max,
            })),
            Ok(FeedbackOutcome::Ignored) => Reply::ok("ignored"),
            Ok(FeedbackOutcome::Dropped(reason)) => Reply::error(StatusCode::UNPROCESSABLE_ENTITY, "dropped", reason),
            Err(error) => {
                tracing::error!(error = %cause_chain(&error), "mail feedback failed");
                Reply::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "feedback_failed",
                    "the mail feedback failed; see the log",
                )
            }
        }
    }
}
