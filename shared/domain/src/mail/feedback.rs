//! What SES tells us about a mail after it left: bounces and complaints, as its event publishing
//! delivers them (a configuration set with an EventBridge destination puts them on the account's
//! default bus, `source: aws.ses`, detail-types `Email Bounced` and `Email Complaint Received`).
//! The event's `detail` is SES's event record:
//!
//! ```json
//! { "eventType": "Bounce",
//!   "bounce": { "bounceType": "Permanent", "bounceSubType": "General", "timestamp": "…",
//!               "bouncedRecipients": [{ "emailAddress": "…", "status": "5.1.1", … }], … },
//!   "mail": { "messageId": "…", "timestamp": "…", "tags": { "shop": ["…"], "campaign": ["…"], … }, … } }
//! ```
//!
//! (a complaint has `complaint.complainedRecipients` instead). This module turns it into a typed
//! [`Feedback`]; what to do with it (suppress, count) is the mail feedback service's.
//!
//! How a bounce is classified:
//!
//! | `bounceType` | `bounceSubType` | kind | why |
//! |---|---|---|---|
//! | `Permanent` | `General`, `NoEmail` | hard | the address does not exist or takes no mail |
//! | `Permanent` | `Suppressed`, `OnAccountSuppressionList` | hard | SES did not even try: the address is on SES's global or the account's suppression list after an earlier hard bounce or complaint, and every later send ends the same way |
//! | `Permanent` | any other | hard | SES calls it permanent; a subtype we have not met does not make it less so |
//! | `Transient` | `General`, `MailboxFull`, `MessageTooLarge`, `ContentRejected`, `AttachmentRejected`, any other | soft | SES retried for hours and gave up; the address may work next time |
//! | `Undetermined` | `Undetermined` | soft | SES could not tell why: counted like a soft bounce, never trusted to suppress at once |
//! | anything else | | refused | a type we do not know must not suppress anyone, nor be silently dropped as soft |
//!
//! A complaint is a complaint whatever its `complaintFeedbackType` (`abuse`, `fraud`, `virus`,
//! `other`, or none, which most mailbox providers send), except `not-spam`: a recipient who said
//! the mail is *not* spam has complained about nothing, so that record is not feedback at all.
//!
//! Our mails carry two SES tags: `shop` (the shop id, characters outside `[A-Za-z0-9_-]` replaced
//! by `_`, see [`ses_tag_value`]) and `campaign`. A record without a `shop` tag was not sent by us
//! (another application of the account shares the default bus) and is refused like malformed
//! input.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::customer::Email;
use crate::error::InputError;
use crate::platforms::{array, expect_object, get, invalid, opt_str, req_str, rfc3339};

/// SES sends one message to at most 50 recipients; a record naming more is not SES's.
pub const RECIPIENTS_MAX: usize = 50;
/// SES tag values are at most 256 characters.
const TAG_VALUE_LENGTH_MAX: usize = 256;
/// SES message ids are about 60 characters; the bound keeps a hostile one out of the stores.
const MESSAGE_ID_LENGTH_MAX: usize = 128;

/// What a bounce or complaint means for its recipients' addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// Suppress at once.
    HardBounce,
    /// Count; suppress after repeats.
    SoftBounce,
    /// Suppress at once: the recipient marked the mail as spam.
    Complaint,
}

impl FeedbackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::HardBounce => "hard_bounce",
            FeedbackKind::SoftBounce => "soft_bounce",
            FeedbackKind::Complaint => "complaint",
        }
    }
}

/// One bounce or complaint of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feedback {
    pub kind: FeedbackKind,
    /// The addresses it is about, normalised as profiles store them (trimmed, lower case), each
    /// once. Never empty.
    pub recipients: Vec<Email>,
    /// The message's `shop` tag: the shop id as [`ses_tag_value`] wrote it.
    pub shop_tag: String,
    /// The message's `campaign` tag, if it has one (for logs).
    pub campaign_tag: Option<String>,
    /// SES's id of the message (`mail.messageId`): a redelivered record names the same message,
    /// so a soft bounce is counted once per message.
    pub message_id: String,
    /// When the bounce or complaint happened (`bounce.timestamp` / `complaint.timestamp`; if SES
    /// left it out, `mail.timestamp`, when the message was sent).
    pub at: DateTime<Utc>,
    /// SES's `bounceSubType` or `complaintFeedbackType` as sent (no PII), for logs.
    pub subtype: Option<String>,
}

impl Feedback {
    /// Parses the `detail` of an SES event. `Ok(None)` for a record that is well-formed but no
    /// bounce or complaint to act on (another event type, a `not-spam` report).
    pub fn from_detail(detail: &Value) -> Result<Option<Feedback>, InputError> {
        expect_object(detail, "detail")?;
        let mail = get(detail, "mail").ok_or(InputError::Missing("mail"))?;
        expect_object(mail, "mail")?;
        let (kind, body, (list, list_field), subtype) = match req_str(detail, "eventType", "eventType")? {
            "Bounce" => {
                let bounce = get(detail, "bounce").ok_or(InputError::Missing("bounce"))?;
                expect_object(bounce, "bounce")?;
                let subtype = opt_str(bounce, "bounceSubType", "bounce.bounceSubType")?;
                let kind = match req_str(bounce, "bounceType", "bounce.bounceType")? {
                    "Permanent" => FeedbackKind::HardBounce,
                    "Transient" | "Undetermined" => FeedbackKind::SoftBounce,
                    _ => return Err(invalid("bounce.bounceType", "is not Permanent, Transient or Undetermined")),
                };
                (kind, bounce, ("bouncedRecipients", "bounce.bouncedRecipients"), subtype)
            }
            "Complaint" => {
                let complaint = get(detail, "complaint").ok_or(InputError::Missing("complaint"))?;
                expect_object(complaint, "complaint")?;
                let subtype = opt_str(complaint, "complaintFeedbackType", "complaint.complaintFeedbackType")?;
                if subtype.is_some_and(|t| t.eq_ignore_ascii_case("not-spam")) {
                    return Ok(None);
                }
                (
                    FeedbackKind::Complaint,
                    complaint,
                    ("complainedRecipients", "complaint.complainedRecipients"),
                    subtype,
                )
            }
            _ => return Ok(None),
        };
        let recipients = recipients(body, list, list_field)?;
        let message_id = message_id(req_str(mail, "messageId", "mail.messageId")?)?;
        let (shop_tag, campaign_tag) = tags(mail)?;
        let at = match opt_str(body, "timestamp", "timestamp")? {
            Some(text) => rfc3339("timestamp", text)?,
            None => rfc3339("mail.timestamp", req_str(mail, "timestamp", "mail.timestamp")?)?,
        };
        let subtype = subtype.map(|t| t.chars().filter(|c| !c.is_control()).take(64).collect());
        Ok(Some(Feedback { kind, recipients, shop_tag, campaign_tag, message_id, at, subtype }))
    }
}

/// An SES tag value for `raw`: SES allows only `[A-Za-z0-9_-]` in tag values, so every other
/// character becomes `_`. This is how the mail sweep tags a mail with its shop, and how the shop of
/// a bounce is found again.
pub fn ses_tag_value(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

fn recipients(body: &Value, key: &str, field: &'static str) -> Result<Vec<Email>, InputError> {
    let items = array(body, key, field, RECIPIENTS_MAX)?;
    let mut recipients: Vec<Email> = Vec::with_capacity(items.len());
    for item in items {
        expect_object(item, field)?;
        let raw = req_str(item, "emailAddress", "emailAddress")?;
        let email = Email::parse(bare_address(raw))?;
        if !recipients.contains(&email) {
            recipients.push(email);
        }
    }
    if recipients.is_empty() {
        return Err(InputError::Missing(field));
    }
    Ok(recipients)
}

/// The address inside `Name <address>`: a DSN's `Final-Recipient` is the bare address, but a
/// reporting server may send the display form.
fn bare_address(raw: &str) -> &str {
    let trimmed = raw.trim();
    match (trimmed.rfind('<'), trimmed.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => trimmed,
    }
}

fn message_id(raw: &str) -> Result<String, InputError> {
    let id = raw.trim();
    if id.len() > MESSAGE_ID_LENGTH_MAX || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("mail.messageId", "is not an SES message id"));
    }
    Ok(id.to_owned())
}

/// The `shop` tag (required) and the `campaign` tag of the message. The campaign is only logged,
/// so a campaign tag that is not one of ours is left out rather than refused.
fn tags(mail: &Value) -> Result<(String, Option<String>), InputError> {
    let tags = get(mail, "tags");
    if let Some(tags) = tags {
        expect_object(tags, "mail.tags")?;
    }
    let shop = tags.map(|t| tag(t, "shop", "mail.tags.shop")).transpose()?.flatten();
    let shop = shop.ok_or(InputError::Missing("mail.tags.shop"))?;
    let campaign = tags.and_then(|t| tag(t, "campaign", "mail.tags.campaign").ok().flatten());
    Ok((shop, campaign))
}

/// One tag's value: SES reports every tag as a list of values, and ours have exactly one.
fn tag(tags: &Value, name: &str, field: &'static str) -> Result<Option<String>, InputError> {
    let values = array(tags, name, field, 1)?;
    let Some(value) = values.first() else { return Ok(None) };
    let Value::String(text) = value else { return Err(invalid(field, "is not a string")) };
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if text.is_empty() || text.len() > TAG_VALUE_LENGTH_MAX || !text.chars().all(allowed) {
        return Err(invalid(field, "is not an SES tag value"));
    }
    Ok(Some(text.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERMANENT: &str = include_str!("../../../../fixtures/ses/bounce_permanent.json");
    const TRANSIENT: &str = include_str!("../../../../fixtures/ses/bounce_transient.json");
    const UNDETERMINED: &str = include_str!("../../../../fixtures/ses/bounce_undetermined.json");
    const SUPPRESSION_LIST: &str = include_str!("../../../../fixtures/ses/bounce_on_account_suppression_list.json");
    const COMPLAINT: &str = include_str!("../../../../fixtures/ses/complaint.json");

    /// The value at a nested path of a record, to edit it.
    fn path_mut<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Value {
        path.iter().fold(value, |current, key| &mut current[*key])
    }

    fn json(raw: &str) -> Value {
        serde_json::from_str(raw).unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    fn parsed(detail: &Value) -> Feedback {
        match Feedback::from_detail(detail) {
            Ok(Some(feedback)) => feedback,
            other => panic!("not feedback: {other:?}"),
        }
    }

    fn refused(detail: &Value) -> InputError {
        match Feedback::from_detail(detail) {
            Err(e) => e,
            other => panic!("accepted: {other:?}"),
        }
    }

    fn email(raw: &str) -> Email {
        Email::parse(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn a_permanent_bounce_is_a_hard_bounce_of_the_normalised_address_with_the_shop_tag() {
        let feedback = parsed(&json(PERMANENT));
        assert_eq!(
            feedback,
            Feedback {
                kind: FeedbackKind::HardBounce,
                recipients: vec![email("lena.hoffmann@example.de")],
                shop_tag: "mail-shop".into(),
                campaign_tag: Some("birthday".into()),
                message_id: "0107018e5f3a2a1c-3b6a9f0e-1d2c-4e5f-a6b7-c8d9e0f1a2b3-000000".into(),
                at: at("2027-03-20T09:10:04.512Z"),
                subtype: Some("General".into()),
            }
        );
    }

    #[test]
    fn an_address_on_the_accounts_suppression_list_is_a_hard_bounce() {
        let feedback = parsed(&json(SUPPRESSION_LIST));
        assert_eq!(feedback.kind, FeedbackKind::HardBounce);
        assert_eq!(feedback.subtype.as_deref(), Some("OnAccountSuppressionList"));
    }

    #[test]
    fn transient_and_undetermined_bounces_are_soft() {
        for raw in [TRANSIENT, UNDETERMINED] {
            let feedback = parsed(&json(raw));
            assert_eq!(feedback.kind, FeedbackKind::SoftBounce);
            assert_eq!(feedback.recipients, vec![email("lena.hoffmann@example.de")]);
        }
        assert_ne!(parsed(&json(TRANSIENT)).message_id, parsed(&json(UNDETERMINED)).message_id);
    }

    #[test]
    fn a_complaint_names_its_recipients_and_its_time() {
        let feedback = parsed(&json(COMPLAINT));
        assert_eq!(feedback.kind, FeedbackKind::Complaint);
        assert_eq!(feedback.recipients, vec![email("lena.hoffmann@example.de")]);
        assert_eq!((feedback.at, feedback.subtype.as_deref()), (at("2027-03-20T11:42:17Z"), Some("abuse")));
        assert_eq!(feedback.campaign_tag.as_deref(), Some("win_back"));
    }

    #[test]
    fn a_complaint_without_a_feedback_type_is_still_a_complaint_but_not_spam_is_none() {
        let mut detail = json(COMPLAINT);
        path_mut(&mut detail, &["complaint"])["complaintFeedbackType"] = Value::Null;
        assert_eq!(parsed(&detail).kind, FeedbackKind::Complaint);
        path_mut(&mut detail, &["complaint"])["complaintFeedbackType"] = "not-spam".into();
        assert_eq!(Feedback::from_detail(&detail), Ok(None));
    }

    #[test]
    fn other_event_types_are_no_feedback() {
        let mut detail = json(PERMANENT);
        detail["eventType"] = "Delivery".into();
        assert_eq!(Feedback::from_detail(&detail), Ok(None));
    }

    #[test]
    fn recipients_are_unwrapped_deduplicated_and_bounded() {
        let mut detail = json(PERMANENT);
        path_mut(&mut detail, &["bounce"])["bouncedRecipients"] = serde_json::json!([
            {"emailAddress": "Lena <Lena.Hoffmann@example.de>"},
            {"emailAddress": "lena.hoffmann@example.de"},
            {"emailAddress": "jon@example.com"},
        ]);
        assert_eq!(parsed(&detail).recipients, vec![email("lena.hoffmann@example.de"), email("jon@example.com")]);
        let many: Vec<Value> =
            (0..=RECIPIENTS_MAX).map(|i| serde_json::json!({"emailAddress": format!("r{i}@example.com")})).collect();
        path_mut(&mut detail, &["bounce"])["bouncedRecipients"] = Value::Array(many);
        assert!(matches!(refused(&detail), InputError::Invalid { field: "bounce.bouncedRecipients", .. }));
    }

    #[test]
    fn a_bounce_without_its_timestamp_takes_the_mails() {
        let mut detail = json(PERMANENT);
        path_mut(&mut detail, &["bounce"])["timestamp"] = Value::Null;
        assert_eq!(parsed(&detail).at, at("2027-03-20T09:10:02.140Z"));
    }

    #[test]
    fn a_mail_without_our_shop_tag_is_refused() {
        let mut detail = json(PERMANENT);
        let tags = path_mut(&mut detail, &["mail", "tags"]);
        if let Value::Object(map) = tags {
            map.remove("shop");
        }
        assert_eq!(refused(&detail), InputError::Missing("mail.tags.shop"));
        path_mut(&mut detail, &["mail"])["tags"] = Value::Null;
        assert_eq!(refused(&detail), InputError::Missing("mail.tags.shop"));
    }

    #[test]
    fn a_campaign_tag_that_is_not_ours_is_left_out() {
        for campaign in [serde_json::json!(["a", "b"]), serde_json::json!(["win back!"]), serde_json::json!(7)] {
            let mut detail = json(PERMANENT);
            path_mut(&mut detail, &["mail", "tags"])["campaign"] = campaign;
            assert_eq!(parsed(&detail).campaign_tag, None);
        }
    }

    #[test]
    fn malformed_records_are_refused_naming_the_field() {
        let cases: Vec<(&[&str], &str, Value, &str)> = vec![
            (&[], "eventType", Value::Null, "eventType"),
            (&[], "mail", Value::Null, "mail"),
            (&[], "bounce", "text".into(), "bounce"),
            (&["bounce"], "bounceType", "Sometimes".into(), "bounce.bounceType"),
            (&["bounce"], "bounceType", Value::Null, "bounce.bounceType"),
            (&["bounce"], "bouncedRecipients", serde_json::json!([]), "bounce.bouncedRecipients"),
            (&["bounce"], "bouncedRecipients", serde_json::json!([{"emailAddress": "no-at-sign"}]), "email"),
            (&["bounce"], "bouncedRecipients", serde_json::json!(["a@example.com"]), "bounce.bouncedRecipients"),
            (&["bounce"], "timestamp", "yesterday".into(), "timestamp"),
            (&["mail"], "messageId", Value::Null, "mail.messageId"),
            (&["mail"], "messageId", "an id with spaces".into(), "mail.messageId"),
            (&["mail", "tags"], "shop", serde_json::json!(["a", "b"]), "mail.tags.shop"),
            (&["mail", "tags"], "shop", serde_json::json!(["mail.shop"]), "mail.tags.shop"),
            (&["mail", "tags"], "shop", "mail-shop".into(), "mail.tags.shop"),
        ];
        for (path, key, value, field) in cases {
            let mut detail = json(PERMANENT);
            path_mut(&mut detail, path)[key] = value.clone();
            let error = refused(&detail);
            let named = match &error {
                InputError::Missing(f) | InputError::Invalid { field: f, .. } => *f,
                other => panic!("{other:?}"),
            };
            assert_eq!(named, field, "{path:?}.{key} = {value}: {error}");
        }
        assert!(matches!(refused(&serde_json::json!([1])), InputError::Invalid { field: "detail", .. }));
    }

    #[test]
    fn tag_values_replace_what_ses_does_not_allow() {
        assert_eq!(ses_tag_value("mail-shop"), "mail-shop");
        assert_eq!(ses_tag_value("shop.example/de@1+2:x_y"), "shop_example_de_1_2_x_y");
    }
}
