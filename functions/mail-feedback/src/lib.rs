//! The mail feedback function. SES publishes a bounce or complaint of a mail sent through a
//! configuration set with an EventBridge destination to the account's default bus (`source:
//! aws.ses`, `Email Bounced`, `Email Complaint Received`); a rule there invokes this function with
//! the event, and `MailFeedback` puts the addresses on the shop's suppression list.
//!
//! What a retry cannot fix is dropped with a warning and answered with success, so Lambda does not
//! retry it: a record that is no bounce or complaint of ours (malformed, or of a mail another
//! application of the account sent), or one of a shop this instance does not know. A store
//! failure is an error: Lambda retries the invocation, and every write is idempotent, so the retry
//! finishes the job; what keeps failing lands in the dead-letter queue, for a person to look at.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use thiserror::Error;

use stammkunde_domain::error::cause_chain;
use stammkunde_domain::mail::feedback::Feedback;
use stammkunde_services::mail::feedback::{FeedbackError, FeedbackReport, MailFeedback};

/// The events the function's rule sends it.
pub const SOURCE: &str = "aws.ses";
pub const DETAIL_TYPES: [&str; 2] = ["Email Bounced", "Email Complaint Received"];

/// What became of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedbackOutcome {
    Handled(FeedbackReport),
    /// A well-formed SES event that asks nothing of us (another event type, a `not-spam` report).
    Ignored,
    /// Refused for good: malformed, not our mail, or a shop this instance does not know.
    Dropped(String),
}

#[derive(Debug, Error)]
pub enum FeedbackFunctionError {
    #[error("handling the feedback failed, worth a retry")]
    Feedback(#[from] FeedbackError),
}

pub struct FeedbackFunction {
    pub feedback: MailFeedback,
}

impl FeedbackFunction {
    pub async fn handle(&self, event: &EventBridgeEvent<Value>) -> Result<FeedbackOutcome, FeedbackFunctionError> {
        // Ids only in every log line: the event's, SES's message id (in the service), never a
        // recipient's address, which the detail is full of.
        let event_id = event.id.as_deref().unwrap_or("");
        if event.source != SOURCE || !DETAIL_TYPES.contains(&event.detail_type.as_str()) {
            let reason = "not an SES bounce or complaint event".to_owned();
            tracing::warn!(event = event_id, source = %shown(&event.source), detail_type = %shown(&event.detail_type), "{reason}");
            return Ok(FeedbackOutcome::Dropped(reason));
        }
        let feedback = match Feedback::from_detail(&event.detail) {
            Ok(Some(feedback)) => feedback,
            Ok(None) => {
                tracing::info!(event = event_id, detail_type = %event.detail_type, "SES event without feedback to act on");
                return Ok(FeedbackOutcome::Ignored);
            }
            Err(error) => return Ok(dropped(event_id, &error)),
        };
        match self.feedback.handle(&feedback).await {
            Ok(report) => Ok(FeedbackOutcome::Handled(report)),
            Err(error) if !error.is_retryable() => Ok(dropped(event_id, &error)),
            Err(error) => Err(error.into()),
        }
    }
}

fn dropped(event_id: &str, error: &(dyn std::error::Error + 'static)) -> FeedbackOutcome {
    // InputError and FeedbackError name fields and tags, never values of the detail.
    let reason = cause_chain(error);
    tracing::warn!(event = event_id, reason = %reason, "SES feedback dropped");
    FeedbackOutcome::Dropped(reason)
}

/// An envelope field as logged: bounded, without control characters.
fn shown(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}
