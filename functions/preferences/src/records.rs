//! What the preference pages write to the consent ledger besides the confirmation: an unsubscribe
//! (by the page's button or a mail provider's one-click request) and each topic switched on or
//! off on the settings page, with the words the page showed and who acted.
//!
//! Each record's key names its fact (the unsubscribe's time as stored, the settings revision a
//! topic changed in), so a retried request records once. A record is written after the settings
//! it explains: the effect (no more mail) must never wait for the proof.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::Request;

use stammkunde_domain::config::Locale;
use stammkunde_domain::consent::{
    Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord, ConsentWording, WordingDigest,
};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::mail::campaign::Topic;
use stammkunde_http::{client_ip, header};

use crate::{PreferencesService, Visit};

/// A record about to be written: what, by which means, where, on which words.
pub(crate) struct Fact<'a> {
    pub key: String,
    pub at: DateTime<Utc>,
    pub topic: Option<Topic>,
    pub action: ConsentAction,
    pub method: ConsentMethod,
    pub source: &'static str,
    /// The words the person saw, in the page's language; `None` where no page was shown.
    pub wording: Option<&'a str>,
}

/// The key of an unsubscribe that took effect at `at` (as the settings store it).
pub(crate) fn unsubscribe_key(at: DateTime<Utc>) -> String {
    format!("unsubscribed:{}", at.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

/// The key of a topic switched on or off by the settings write that made `revision`.
pub(crate) fn topic_key(topic: Topic, revision: u64) -> String {
    format!("topic:{}:{revision}", topic.as_str())
}

impl PreferencesService {
    pub(crate) async fn record(
        &self,
        visit: &Visit<'_>,
        request: &Request<Bytes>,
        fact: Fact<'_>,
    ) -> Result<(), StoreError> {
        let digest = match fact.wording {
            Some(text) => Some(self.keep_wording(visit, visit.locale, text).await?),
            None => None,
        };
        let record = ConsentRecord {
            shop: visit.shop.id.clone(),
            customer_id: visit.link.customer_id.clone(),
            key: fact.key,
            at: fact.at,
            topic: fact.topic,
            action: fact.action,
            method: fact.method,
            source: fact.source.to_owned(),
            wording: digest,
            actor: Actor::of_request(client_ip(request), header(request, "user-agent")),
            basis: ConsentBasis::Consent,
            claimed_at: None,
        };
        self.consent.record_consent(&record).await.map(|_| ())
    }

    async fn keep_wording(&self, visit: &Visit<'_>, locale: Locale, text: &str) -> Result<WordingDigest, StoreError> {
        let wording = ConsentWording::new(&visit.shop.id, locale, text)
            .map_err(|e| StoreError::Invariant(format!("a page's own words: {e}")))?;
        self.consent.put_wording(&wording).await?;
        Ok(wording.digest)
    }
}
