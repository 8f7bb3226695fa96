//! `Mailer` on SES v2: one `SendEmail` call carrying the finished MIME message as `Content.Raw`
//! (SES keeps a raw message's headers, `List-Unsubscribe` among them, as they are).
//!
//! The SDK's own retries are off for this call. `SendEmail` has no idempotency token, so a retry
//! after a timeout could deliver the mail twice, and the error of a last attempt that was refused
//! would hide that an earlier one may have gone out. One attempt, classified precisely; the mail
//! sweep tries again what was certainly not sent.
//!
//! Errors carry ids (shop, label, error code, request id), never the recipient or the message:
//! a service error's message can quote addresses, so it is left out, and so is the SDK error of a
//! service error as `source` (its Display chain includes that message).

use async_trait::async_trait;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::operation::RequestId;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use aws_sdk_sesv2::Client;
use aws_smithy_runtime_api::client::dns::ResolveDnsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use stammkunde_domain::error::MailError;
use stammkunde_domain::ports::{Mailer, OutgoingMail};
use std::error::Error;

/// Error codes of requests refused before SES looked at them (credentials, signature, IAM) or
/// throttled at the front door: nothing was sent, and it may work later.
const NOT_SENT_CODES: &[&str] = &[
    "AccessDeniedException",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "SignatureDoesNotMatch",
    "ThrottlingException",
    "UnrecognizedClientException",
];

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        SesMailer { client }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let what = format!("SendEmail for shop {} ({})", mail.shop, mail.label);
        let raw = RawMessage::builder()
            .data(Blob::new(mail.raw.clone()))
            .build()
            .map_err(|e| MailError::Rejected(format!("{what}: {e}")))?;
        let tags = mail
            .tags
            .iter()
            .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MailError::Rejected(format!("{what}: {e}")))?;
        let request = self
            .client
            .send_email()
            .from_email_address(&mail.from_address)
            .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_email_tags(Some(tags))
            .set_configuration_set_name(mail.configuration_set.clone());
        let one_attempt = aws_sdk_sesv2::config::Builder::default().retry_config(RetryConfig::disabled());
        let output = request.customize().config_override(one_attempt).send().await.map_err(|e| mail_error(&what, e))?;
        match output.message_id() {
            Some(id) => Ok(id.to_owned()),
            // SES took the message: it will go out, we just cannot name it.
            None => Err(MailError::Unknown { message: format!("{what} returned no MessageId"), source: None }),
        }
    }
}

/// What an error of one `SendEmail` attempt says about the message.
fn mail_error(what: &str, err: SdkError<SendEmailError, HttpResponse>) -> MailError {
    match &err {
        SdkError::ServiceError(context) => {
            let error = context.err();
            let status = context.raw().status().as_u16();
            let code = error.code().unwrap_or("no error code");
            let request_id = error.request_id().unwrap_or("none");
            let message = format!("{what}: {code} (HTTP {status}, request id {request_id})");
            match error {
                SendEmailError::MessageRejected(_)
                | SendEmailError::MailFromDomainNotVerifiedException(_)
                | SendEmailError::AccountSuspendedException(_)
                | SendEmailError::SendingPausedException(_)
                | SendEmailError::BadRequestException(_)
                | SendEmailError::NotFoundException(_) => MailError::Rejected(message),
                SendEmailError::TooManyRequestsException(_) | SendEmailError::LimitExceededException(_) => {
                    MailError::NotSent { message, source: None }
                }
                _ if error.code().is_some_and(|code| NOT_SENT_CODES.contains(&code)) => {
                    MailError::NotSent { message, source: None }
                }
                // A 5xx or an error we do not know: SES may have queued the message.
                _ => MailError::Unknown { message, source: None },
            }
        }
        // Building or signing the request failed (e.g. no credentials): it never left.
        SdkError::ConstructionFailure(_) => MailError::NotSent {
            message: format!("{what}: the request could not be built"),
            source: Some(Box::new(err)),
        },
        SdkError::DispatchFailure(_) if never_connected(&err) => {
            MailError::NotSent { message: format!("{what}: SES could not be reached"), source: Some(Box::new(err)) }
        }
        // A timeout, a connection lost or an answer we could not read: the request may have
        // reached SES and the message may go out.
        _ => MailError::Unknown {
            message: format!("{what}: no answer from SES, the message may have been sent"),
            source: Some(Box::new(err)),
        },
    }
}

/// Whether the dispatch failed before a connection existed, so no byte of the request was
/// written: the name did not resolve, or the connection was refused. Other I/O errors (a reset,
/// a closed connection, a connect timeout the client cannot tell from a read timeout) may come
/// after the request went out.
fn never_connected(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(error) = next {
        // The default HTTPS client's resolver reports a failed lookup as a plain error whose text
        // is all that marks it ("dns error: …"); smithy's own resolvers use `ResolveDnsError`.
        if error.is::<ResolveDnsError>() || error.to_string().starts_with("dns error") {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
            // `io::Error::source` skips its payload; look at the payload itself too.
            if let Some(inner) = io.get_ref() {
                if never_connected(inner) {
                    return true;
                }
            }
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::error::ErrorMetadata;
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use std::io;

    fn dispatch(error: ConnectorError) -> SdkError<SendEmailError, HttpResponse> {
        SdkError::dispatch_failure(error)
    }

    #[test]
    fn a_refused_connection_means_not_sent() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        let err = dispatch(ConnectorError::io(Box::new(refused)));
        assert!(matches!(mail_error("SendEmail", err), MailError::NotSent { .. }));
    }

    #[test]
    fn a_reset_connection_or_a_timeout_means_unknown() {
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "connection reset");
        let err = dispatch(ConnectorError::io(Box::new(reset)));
        assert!(matches!(mail_error("SendEmail", err), MailError::Unknown { .. }));
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "read timed out");
        let err = dispatch(ConnectorError::timeout(Box::new(timeout)));
        assert!(matches!(mail_error("SendEmail", err), MailError::Unknown { .. }));
        let err = SdkError::<SendEmailError, HttpResponse>::timeout_error("operation timed out");
        assert!(matches!(mail_error("SendEmail", err), MailError::Unknown { .. }));
    }

    fn service(error: SendEmailError, status: u16) -> SdkError<SendEmailError, HttpResponse> {
        let status = status.try_into().unwrap_or_else(|e| panic!("{e}"));
        SdkError::service_error(error, HttpResponse::new(status, "".into()))
    }

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message("Email address is not verified: juergen@example.org").build()
    }

    #[test]
    fn a_rejected_message_is_refused_for_good_and_named_by_its_code_only() {
        let rejected = MessageRejected::builder().message("juergen@example.org").meta(meta("MessageRejected")).build();
        let error = mail_error("SendEmail", service(SendEmailError::MessageRejected(rejected), 400));
        let MailError::Rejected(message) = error else { panic!("{error:?}") };
        assert!(message.contains("MessageRejected"), "{message}");
        assert!(!message.contains("juergen"), "no address in errors: {message}");
    }

    #[test]
    fn throttling_and_refused_credentials_mean_not_sent() {
        let throttled = TooManyRequestsException::builder().meta(meta("TooManyRequestsException")).build();
        let error = mail_error("SendEmail", service(SendEmailError::TooManyRequestsException(throttled), 429));
        assert!(matches!(error, MailError::NotSent { source: None, .. }), "{error:?}");
        let denied = SendEmailError::generic(meta("AccessDeniedException"));
        assert!(matches!(mail_error("SendEmail", service(denied, 403)), MailError::NotSent { .. }));
    }

    #[test]
    fn a_server_error_means_unknown() {
        let failure = SendEmailError::generic(meta("InternalFailure"));
        let error = mail_error("SendEmail", service(failure, 500));
        let MailError::Unknown { message, .. } = error else { panic!("{error:?}") };
        assert!(!message.contains("juergen"), "no address in errors: {message}");
    }

    #[test]
    fn a_request_that_could_not_be_built_was_not_sent() {
        let err = SdkError::<SendEmailError, HttpResponse>::construction_failure("no credentials");
        assert!(matches!(mail_error("SendEmail", err), MailError::NotSent { .. }));
    }
}
