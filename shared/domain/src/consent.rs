//! The consent ledger: the shop's proof (GDPR Art. 7(1)) of who agreed to or refused which mail,
//! when, how, where, on seeing which words, and on what legal ground.
//!
//! Append-only: a record is never changed or deleted while its customer exists (erasure removes
//! the customer's records with them). Each record has a business key, so a retried request or a
//! redelivered event records once. The words a person saw are stored once per shop under their
//! digest, and every record points at them: a shop changing its form's wording later cannot
//! change what an earlier record proves.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use thiserror::Error;

use crate::config::Locale;
use crate::ids::{CustomerId, ShopId};
use crate::mail::campaign::Topic;

/// Longest wording kept: a consent text is a sentence or a paragraph, not a document.
pub const WORDING_CHARS_MAX: usize = 4000;
/// Longest `source` (a form's name or URL) and record key.
pub const SOURCE_CHARS_MAX: usize = 300;
/// Longest user agent kept; longer ones are cut (they prove nothing more).
pub const USER_AGENT_CHARS_MAX: usize = 400;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConsentError {
    #[error("the consent wording is empty")]
    EmptyWording,
    #[error("the consent wording is longer than {WORDING_CHARS_MAX} characters")]
    WordingTooLong,
    #[error("{field} is empty or longer than {SOURCE_CHARS_MAX} characters, or holds control characters")]
    BadText { field: &'static str },
}

/// What a record changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    /// Asked for (a signup form, a checkout flag): not yet consent, a confirmation mail went out.
    Requested,
    /// Agreed to: the confirmation click of a double opt-in, or a topic switched on.
    Granted,
    /// Refused or taken back: an unsubscribe, an objection, a topic switched off.
    Withdrawn,
    /// Ended by the mail system, not the person: a hard bounce or a complaint.
    Suppressed,
}

/// How the record came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    CheckoutFlag,
    SignupForm,
    ConfirmationClick,
    PreferenceCentre,
    OneClick,
    Import,
    /// The re-permission mail: we asked a customer whose consent has no proof here to confirm.
    ReconsentMail,
    Merchant,
    Bounce,
    Complaint,
}

/// The ground marketing mail goes out on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentBasis {
    /// Consent given by double opt-in.
    Consent,
    /// UWG §7(3): an existing customer, own similar products, objection possible at any time.
    ExistingCustomer,
}

/// Who acted, as far as the request tells: kept where a person acted, for the proof.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Actor {
    /// The actor of a request: its address, and its user agent cut to a sane length with control
    /// characters dropped (it is shown on a printed proof).
    pub fn of_request(ip: Option<IpAddr>, user_agent: Option<&str>) -> Actor {
        let user_agent = user_agent
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(USER_AGENT_CHARS_MAX).collect::<String>())
            .filter(|ua| !ua.trim().is_empty());
        Actor { ip, user_agent }
    }
}

/// The exact words a person saw, in one language, kept once per shop under their digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentWording {
    pub shop: ShopId,
    pub digest: WordingDigest,
    pub locale: Locale,
    pub text: String,
}

impl ConsentWording {
    pub fn new(shop: &ShopId, locale: Locale, text: &str) -> Result<ConsentWording, ConsentError> {
        if text.trim().is_empty() {
            return Err(ConsentError::EmptyWording);
        }
        if text.chars().count() > WORDING_CHARS_MAX {
            return Err(ConsentError::WordingTooLong);
        }
        Ok(ConsentWording {
            shop: shop.clone(),
            digest: WordingDigest::of(locale, text),
            locale,
            text: text.to_owned(),
        })
    }
}

/// SHA-256 of a wording's language and text, hex: the same words in the same language are the
/// same wording, whoever stores them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WordingDigest(String);

impl WordingDigest {
    pub fn of(locale: Locale, text: &str) -> WordingDigest {
        let mut hasher = Sha256::new();
        hasher.update(b"stammkunde consent wording\0");
        hasher.update(locale.tag().as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        WordingDigest(hex::encode(hasher.finalize()))
    }

    /// A digest read back from a store or a URL (64 lower-case hex digits).
    pub fn parse(raw: &str) -> Option<WordingDigest> {
        (raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| WordingDigest(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One entry of a customer's consent ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    /// The business key: the same fact recorded again (a retry, a redelivery) has the same key
    /// and is recorded once.
    pub key: String,
    pub at: DateTime<Utc>,
    /// `None`: marketing mail as a whole; else the one topic.
    pub topic: Option<Topic>,
    pub action: ConsentAction,
    pub method: ConsentMethod,
    /// Where: the form or page (a name or URL the shop gave, or our own page's route).
    pub source: String,
    /// The words shown, where a person saw words.
    pub wording: Option<WordingDigest>,
    pub actor: Actor,
    pub basis: ConsentBasis,
    /// An import's claim of when the person consented (their previous tool's record), as the
    /// merchant says it: shown on the proof, proven by nothing here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<DateTime<Utc>>,
}

impl ConsentRecord {
    /// The checks a store makes before writing: a key and a source that fit and print.
    pub fn check(&self) -> Result<(), ConsentError> {
        check_text("key", &self.key)?;
        check_text("source", &self.source)
    }
}

fn check_text(field: &'static str, text: &str) -> Result<(), ConsentError> {
    let fits = !text.trim().is_empty() && text.chars().count() <= SOURCE_CHARS_MAX;
    if fits && !text.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(ConsentError::BadText { field })
    }
}

/// The key of the subscription request a customer made on `date` (UTC): one double opt-in request
/// per customer and day, so a form sent twice, or a retried request, mails one confirmation.
pub fn request_key(date: NaiveDate) -> String {
    format!("subscription-request:{date}")
}

/// The key of the confirmation of the request under `request_key`.
pub fn confirmation_key(request_key: &str) -> String {
    format!("confirmed:{request_key}")
}

/// The key of an import's record of a customer's consent: one per import (the merchant's
/// idempotency key), so the same import sent again records nothing twice.
pub fn import_key(idempotency_key: &str) -> String {
    format!("import:{idempotency_key}")
}

/// The key of the re-permission asked for on `date` (UTC); its confirmation is
/// `confirmation_key` of it, as a double opt-in's is.
pub fn reconsent_request_key(date: NaiveDate) -> String {
    format!("{RECONSENT_REQUEST_PREFIX}{date}")
}

const RECONSENT_REQUEST_PREFIX: &str = "reconsent-request:";

/// Whether a request key names a re-permission (not a double opt-in asked for on a form).
pub fn is_reconsent_request(key: &str) -> bool {
    key.starts_with(RECONSENT_REQUEST_PREFIX)
}

/// Where a re-permission request is recorded as made.
pub const RECONSENT_SOURCE: &str = "re-permission mail";

/// The words a re-permission asks the person to confirm, in their language, naming the shop: what
/// the confirmation page shows and the ledger keeps (once per shop and language, by digest).
pub fn reconsent_wording(locale: Locale, shop_name: &str) -> String {
    match locale {
        Locale::De => format!(
            "Ja, ich möchte weiterhin E-Mails von {shop_name} mit Angeboten und Neuigkeiten erhalten. \
             Diese Einwilligung kann ich jederzeit mit einem Klick widerrufen."
        ),
        Locale::En => format!(
            "Yes, I want to keep receiving email from {shop_name} with offers and news. \
             I can withdraw this consent at any time with one click."
        ),
    }
}

/// Whether the customer's latest record about marketing mail as a whole is a confirmed consent:
/// a double opt-in whose confirmation is on the ledger, not taken back since. An import's grant
/// is the merchant's word, not a confirmation: as the latest record it confirms nothing.
pub fn confirmed_at(records: &[ConsentRecord]) -> Option<DateTime<Utc>> {
    let mut whole: Vec<&ConsentRecord> =
        records.iter().filter(|r| r.topic.is_none() && r.action != ConsentAction::Requested).collect();
    whole.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
    whole
        .last()
        .filter(|r| {
            r.action == ConsentAction::Granted && r.basis == ConsentBasis::Consent && r.method != ConsentMethod::Import
        })
        .map(|r| r.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap_or_else(|e| panic!("{e}"))
    }

    fn record(key: &str, minute: u32, action: ConsentAction) -> ConsentRecord {
        ConsentRecord {
            shop: shop(),
            customer_id: CustomerId::parse("c1").unwrap_or_else(|e| panic!("{e}")),
            key: key.into(),
            at: Utc.with_ymd_and_hms(2026, 5, 1, 10, minute, 0).single().unwrap_or_else(|| panic!("time")),
            topic: None,
            action,
            method: ConsentMethod::ConfirmationClick,
            source: "/c".into(),
            wording: None,
            actor: Actor::default(),
            basis: ConsentBasis::Consent,
            claimed_at: None,
        }
    }

    #[test]
    fn the_same_words_in_the_same_language_have_one_digest() {
        let a = WordingDigest::of(Locale::De, "Ja, ich möchte den Newsletter.");
        assert_eq!(a, WordingDigest::of(Locale::De, "Ja, ich möchte den Newsletter."));
        assert_ne!(a, WordingDigest::of(Locale::En, "Ja, ich möchte den Newsletter."));
        assert_ne!(a, WordingDigest::of(Locale::De, "Ja, ich möchte den Newsletter!"));
        assert_eq!(WordingDigest::parse(a.as_str()), Some(a));
        assert_eq!(WordingDigest::parse("ABC"), None);
    }

    #[test]
    fn a_wording_must_be_words_of_a_sane_length() {
        assert_eq!(ConsentWording::new(&shop(), Locale::De, "  "), Err(ConsentError::EmptyWording));
        let long = "x".repeat(WORDING_CHARS_MAX + 1);
        assert_eq!(ConsentWording::new(&shop(), Locale::De, &long), Err(ConsentError::WordingTooLong));
        assert!(ConsentWording::new(&shop(), Locale::En, &"x".repeat(WORDING_CHARS_MAX)).is_ok());
    }

    #[test]
    fn a_record_refuses_an_empty_or_unprintable_source() {
        let mut r = record("k", 0, ConsentAction::Granted);
        assert_eq!(r.check(), Ok(()));
        r.source = "form\nX-Injected: yes".into();
        assert_eq!(r.check(), Err(ConsentError::BadText { field: "source" }));
        r.source = String::new();
        assert_eq!(r.check(), Err(ConsentError::BadText { field: "source" }));
    }

    #[test]
    fn the_user_agent_is_kept_printable_and_short() {
        let actor = Actor::of_request(None, Some(&format!("Mozilla\r\n{}", "a".repeat(1000))));
        let ua = actor.user_agent.unwrap_or_default();
        assert_eq!(ua.chars().count(), USER_AGENT_CHARS_MAX);
        assert!(ua.starts_with("Mozilla") && !ua.contains('\r'));
        assert_eq!(Actor::of_request(None, Some(" ")).user_agent, None);
    }

    #[test]
    fn consent_is_confirmed_by_the_latest_whole_record_only() {
        assert_eq!(confirmed_at(&[record("req", 0, ConsentAction::Requested)]), None);
        let granted = record("ok", 5, ConsentAction::Granted);
        assert_eq!(confirmed_at(&[record("req", 0, ConsentAction::Requested), granted.clone()]), Some(granted.at));
        let withdrawn = record("out", 9, ConsentAction::Withdrawn);
        // Order of the slice does not matter; time does.
        assert_eq!(confirmed_at(&[withdrawn.clone(), granted.clone()]), None);
        let mut topic_out = record("topic", 12, ConsentAction::Withdrawn);
        topic_out.topic = Some(Topic::Offers);
        assert_eq!(confirmed_at(&[granted.clone(), topic_out]), Some(granted.at), "a topic is not the whole");
        let mut existing = record("uwg", 14, ConsentAction::Granted);
        existing.basis = ConsentBasis::ExistingCustomer;
        assert_eq!(confirmed_at(&[granted.clone(), existing]), None, "the existing-customer ground is not consent");
    }

    #[test]
    fn an_imported_consent_confirms_nothing_until_the_person_clicks() {
        let mut imported = record("import:mc-1", 20, ConsentAction::Granted);
        imported.method = ConsentMethod::Import;
        assert_eq!(confirmed_at(&[imported.clone()]), None);
        let asked = record(&reconsent_request_key(NaiveDate::MIN), 21, ConsentAction::Requested);
        let clicked = record(&confirmation_key(&asked.key), 30, ConsentAction::Granted);
        assert!(is_reconsent_request(&asked.key) && !is_reconsent_request(&request_key(NaiveDate::MIN)));
        assert_eq!(confirmed_at(&[imported, asked, clicked.clone()]), Some(clicked.at));
    }

    #[test]
    fn a_stored_record_without_a_claimed_time_reads_as_before() {
        let stored = serde_json::to_value(record("k", 0, ConsentAction::Granted)).unwrap_or_default();
        assert!(stored.get("claimed_at").is_none(), "records without a claim are stored as they were");
        let read: Option<ConsentRecord> = serde_json::from_value(stored).ok();
        assert_eq!(read, Some(record("k", 0, ConsentAction::Granted)));
    }
}
