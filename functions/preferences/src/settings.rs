//! `GET /p/{token}`: the customer's settings, points and codes. `POST /p/{token}`: saves the
//! settings form, then answers 303 to the page again (so a reload never posts twice).
//!
//! GET changes nothing. A POST is taken only from the page itself: its hidden `csrf` field must
//! match the link's (a digest of the token, so only a page rendered from the link carries it), and
//! a browser's `Sec-Fetch-Site` or `Origin` naming another site is refused (403). The form carries
//! the revision of the settings it showed: if they changed since (an unsubscribe from a mail, a
//! second tab), nothing is written and the page shows the current settings with a note (409).
//! Saving never undoes an unsubscribe: subscribing again takes a confirmed opt-in.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use http::{header, HeaderMap, Request, Response, StatusCode};
use minijinja::context;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use stammkunde_domain::consent::{ConsentAction, ConsentMethod};
use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ledger::schedule::next_expiry;
use stammkunde_domain::ledger::{tiers, LedgerEntry, LedgerState};
use stammkunde_domain::mail::contact::Frequency;
use stammkunde_domain::mail::zone::customer_zone;
use stammkunde_domain::mail::MailContact;

use stammkunde_services::mailed_codes::{valid_mailed_codes, MailedCode};

use crate::form::{self, Settings, TOPICS};
use crate::records::{topic_key, Fact};
use crate::{page, words, PreferencesService, Visit};

/// Ledger entries the history shows, newest first.
const HISTORY_ROWS: usize = 20;

/// Zones the page offers besides "automatic"; a zone chosen otherwise (the API) is offered too.
const ZONES: [&str; 12] = [
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Amsterdam",
    "Europe/Paris",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Warsaw",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
];

/// The hidden form field that ties a POST to a page rendered from this link: a digest of the
/// token under its own label, so it reveals nothing of the token and no other page has it.
pub(crate) fn csrf_field(token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"stammkunde preference form\0");
    hasher.update(token.as_bytes());
    hex::encode(hasher.finalize())
}

/// A browser saying the form came from another site. Requests without these headers (older
/// browsers, tests) pass: the `csrf` field still has to match.
///
/// `Origin: null` says nothing about the site: it is what browsers send for our own form, because
/// the page's `Referrer-Policy: no-referrer` also withholds the origin of its POSTs (Fetch,
/// "serializing a request origin"; Chromium sends `null` with `Sec-Fetch-Site: same-origin`).
/// Only an origin that names another host is refused.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin" && site != "none") {
        return true;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => false,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) != Some(host),
        _ => false,
    }
}

/// The customer as the page shows them.
#[derive(Clone, Copy)]
struct Seen<'a> {
    customer: &'a Customer,
    contact: &'a MailContact,
    zone: Tz,
}

/// What the page says above the settings.
struct Note {
    saved: bool,
    error: Option<&'static str>,
}

/// Everything the page shows besides the words.
struct Shown<'a> {
    seen: Seen<'a>,
    note: Note,
    entries: &'a [LedgerEntry],
    state: &'a LedgerState,
    /// Personal codes from the customer's mails (birthday, win-back), still valid.
    mailed: &'a [MailedCode],
}

impl PreferencesService {
    pub(crate) async fn settings(
        &self,
        visit: &Visit<'_>,
        token: &str,
        post: Option<&Request<Bytes>>,
        saved: bool,
    ) -> Result<Response<String>, StoreError> {
        let (shop, link) = (visit.shop, &visit.link);
        let Some(customer) = &visit.customer else {
            return Ok(self.pages.render(StatusCode::NOT_FOUND, page::Page::Invalid, visit.locale, None, ""));
        };
        let contact = self.mail.contact(&shop.id, &link.customer_id).await?.unwrap_or_default();
        let zone = customer_zone(contact.time_zone, customer.profile.country.as_deref(), shop.time_zone);
        let now = self.clock.now();
        let seen = Seen { customer, contact: &contact, zone };
        let Some(request) = post else {
            return self.show(StatusCode::OK, visit, token, &seen, Note { saved, error: None }, now).await;
        };
        if cross_site(request.headers()) {
            return Ok(page::plain(StatusCode::FORBIDDEN, "this form is only taken from its own page"));
        }
        let settings = match form::parse(request.body(), zone, now.with_timezone(&zone).date_naive()) {
            Ok(settings) => settings,
            Err(error) => {
                let note = Note { saved: false, error: Some(words::form_error(error, visit.locale)) };
                return self.show(StatusCode::BAD_REQUEST, visit, token, &seen, note, now).await;
            }
        };
        if !bool::from(settings.csrf.as_bytes().ct_eq(csrf_field(token).as_bytes())) {
            return Ok(page::plain(StatusCode::FORBIDDEN, "this form is only taken from its own page"));
        }
        if settings.revision != contact.revision || !self.save(visit, &contact, customer, &settings, now).await? {
            // Show what is stored now, so the customer decides on that.
            let contact = self.mail.contact(&shop.id, &link.customer_id).await?.unwrap_or_default();
            let seen = Seen { contact: &contact, ..seen };
            let note = Note { saved: false, error: Some(words::words(visit.locale).stale) };
            return self.show(StatusCode::CONFLICT, visit, token, &seen, note, now).await;
        }
        self.record_topics(visit, request, &contact, &settings, now).await?;
        tracing::info!(shop = %shop.id, customer = %link.customer_id, "mail settings saved on the preference page");
        let mut response = page::plain(StatusCode::SEE_OTHER, "saved");
        let location = format!("/p/{token}?saved=1&lang={}", visit.locale.tag());
        if let Ok(location) = http::HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }

    /// Writes the settings under the revision the page showed, then the birthday if it changed.
    /// False if the settings changed in between: then nothing is written.
    async fn save(
        &self,
        visit: &Visit<'_>,
        contact: &MailContact,
        customer: &Customer,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (shop, id) = (&visit.shop.id, &visit.link.customer_id);
        let next = MailContact {
            topics_declined: settings.topics_declined.clone(),
            frequency: settings.frequency,
            paused_until: settings.paused_until,
            time_zone: settings.time_zone,
            ..contact.clone()
        };
        if next != *contact && !self.mail.update_contact(shop, id, &next).await? {
            return Ok(false);
        }
        if settings.birthday != customer.profile.birthday {
            self.store.set_birthday(shop, id, settings.birthday, now).await?;
        }
        Ok(true)
    }

    /// Each topic the save switched on or off, as a record with the topic's label as the page
    /// showed it. The key is the revision the save wrote, so a save is recorded once.
    async fn record_topics(
        &self,
        visit: &Visit<'_>,
        request: &Request<Bytes>,
        before: &MailContact,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (topic, _) in TOPICS {
            let declined = settings.topics_declined.contains(&topic);
            if declined == before.topics_declined.contains(&topic) {
                continue;
            }
            let fact = Fact {
                key: topic_key(topic, before.revision + 1),
                at: now,
                topic: Some(topic),
                action: if declined { ConsentAction::Withdrawn } else { ConsentAction::Granted },
                method: ConsentMethod::PreferenceCentre,
                source: "preference centre: settings page (/p)",
                wording: Some(words::topic(topic, visit.locale)),
            };
            self.record(visit, request, fact).await?;
        }
        Ok(())
    }

    async fn show(
        &self,
        status: StatusCode,
        visit: &Visit<'_>,
        token: &str,
        seen: &Seen<'_>,
        note: Note,
        now: DateTime<Utc>,
    ) -> Result<Response<String>, StoreError> {
        let (entries, state) = self.ledger(visit).await?;
        let (shop, customer) = (&visit.shop.id, &visit.link.customer_id);
        let mailed = valid_mailed_codes(self.mail.as_ref(), self.store.as_ref(), shop, customer, now).await?;
        let shown = Shown { seen: *seen, note, entries: &entries, state: &state, mailed: &mailed };
        Ok(self.render_settings(status, visit, token, &shown, now))
    }

    async fn ledger(&self, visit: &Visit<'_>) -> Result<(Vec<LedgerEntry>, LedgerState), StoreError> {
        let (shop, id) = (&visit.shop.id, &visit.link.customer_id);
        let entries = self.store.entries(shop, id).await?;
        let state = LedgerState::replay(shop, id, &entries).map_err(|e| StoreError::Invariant(e.to_string()))?;
        Ok((entries, state))
    }

    fn render_settings(
        &self,
        status: StatusCode,
        visit: &Visit<'_>,
        token: &str,
        shown: &Shown<'_>,
        now: DateTime<Utc>,
    ) -> Response<String> {
        let (shop, locale, contact) = (visit.shop, visit.locale, shown.seen.contact);
        let local_date =
            |at: DateTime<Utc>| at.with_timezone(&shown.seen.zone).format(locale.date_pattern()).to_string();
        let balance = shown.state.balance();
        let tier =
            tiers::current_level(shown.state, &shop.tiers, shop.currency, now, shop.time_zone).map(|t| t.name.clone());
        let expiring =
            next_expiry(shown.state, &shop.expiry).map(|(at, points)| context! { points, date => local_date(at) });
        let codes: Vec<minijinja::Value> = shown
            .state
            .codes
            .iter()
            .filter(|(_, account)| !account.used && !account.expired && account.expires_at > now)
            .map(|(code, account)| context! { code => code.as_str(), until => local_date(account.expires_at) })
            .chain(shown.mailed.iter().map(|mailed| {
                context! {
                    code => mailed.code.as_str(),
                    until => local_date(mailed.expires_at),
                    from => words::code_source(mailed.campaign, locale),
                }
            }))
            .collect();
        let history: Vec<minijinja::Value> = shown
            .entries
            .iter()
            .rev()
            .filter(|entry| entry.points() != 0)
            .take(HISTORY_ROWS)
            .map(|entry| {
                context! {
                    date => local_date(entry.created_at),
                    what => words::entry(entry.kind, locale),
                    points => format!("{:+}", entry.points()),
                }
            })
            .collect();
        let topics: Vec<minijinja::Value> = TOPICS
            .iter()
            .map(|(topic, name)| {
                context! { name, label => words::topic(*topic, locale), on => !contact.topics_declined.contains(topic) }
            })
            .collect();
        let frequencies: Vec<minijinja::Value> = Frequency::ALL
            .iter()
            .map(|f| context! { value => f.as_str(), label => words::frequency(*f, locale), on => *f == contact.frequency })
            .collect();
        let chosen_zone = contact.time_zone.map(|z| z.name().to_owned());
        let mut zones: Vec<String> = ZONES.iter().map(|z| (*z).to_owned()).collect();
        if let Some(zone) = chosen_zone.as_ref().filter(|z| !zones.contains(z)) {
            zones.push(zone.clone());
        }
        let birthday = shown.seen.customer.profile.birthday;
        let pause_until = contact.paused_until.filter(|until| *until > now).map(|until| {
            (until.with_timezone(&shown.seen.zone) - chrono::Duration::seconds(1)).format("%Y-%m-%d").to_string()
        });
        let context = context! {
            lang => locale.tag(),
            w => minijinja::Value::from_serialize(words::words(locale)),
            language => words::words(locale).language,
            shop_name => shop.mail.shop_name.as_str(),
            saved => shown.note.saved,
            error => shown.note.error,
            unsubscribed => contact.unsubscribed_at.is_some(),
            available => balance.available,
            pending => balance.pending,
            expiring, tier, codes, history, topics, frequencies, zones, token,
            time_zone => chosen_zone,
            csrf => csrf_field(token),
            revision => contact.revision,
            pause_until => pause_until.unwrap_or_default(),
            birthday_day => birthday.map(|b| b.day.to_string()).unwrap_or_default(),
            birthday_month => birthday.map(|b| b.month.to_string()).unwrap_or_default(),
            birthday_year => birthday.and_then(|b| b.year).map(|y| y.to_string()).unwrap_or_default(),
        };
        self.pages.render_settings(status, &shop.mail.colour, context)
    }
}
