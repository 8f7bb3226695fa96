//! `GET /c/{token}`: the double opt-in's confirmation page, the words the person agreed to and one
//! button. `POST /c/{token}`: the click that confirms.
//!
//! GET changes nothing: mail scanners open links, and a scanner must not subscribe anyone. The
//! POST is taken only from the page itself (its `csrf` field, and no other site in
//! `Sec-Fetch-Site` or `Origin`, as the settings form). Only the link of a confirmation mail
//! confirms, and only the request it was sent for: another mail's link gets the invalid-link page.
//!
//! The click is recorded in the consent ledger first (once per request: its key is the
//! request's), with the request's wording and the address and browser of the click; then the
//! mail settings are marked confirmed and any earlier unsubscribe is lifted, since this is a new
//! consent. A second click answers the same page and changes nothing, and a click on an old
//! confirmation link after a later unsubscribe does not undo that unsubscribe.
//!
//! A re-permission mail's link (`reconsent-request:{date}`) is confirmed the same way, with the
//! re-permission's words; the click is the proof the imported or older consent lacked, so it
//! also clears the settings' re-permission deadline and imported consent.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Request, Response, StatusCode};
use minijinja::context;
use subtle::ConstantTimeEq;

use stammkunde_domain::config::Locale;
use stammkunde_domain::consent::{
    confirmation_key, is_reconsent_request, Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord,
    ConsentWording,
};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::mail::MailContact;
use stammkunde_domain::ports::CreateOutcome;
use stammkunde_http::client_ip;

use crate::settings::{cross_site, csrf_field};
use crate::{page, ContactContended, PreferencesService, Visit, CONTACT_ATTEMPTS};

/// Where a confirmation is recorded as having happened.
const SOURCE: &str = "preference centre: confirmation page (/c)";

struct ConfirmWords {
    title: &'static str,
    text: &'static str,
    button: Option<&'static str>,
    settings: &'static str,
}

/// The page's words: a re-permission asks to keep what a double opt-in asks to start.
fn words(confirmed: bool, reconsent: bool, locale: Locale) -> ConfirmWords {
    match (confirmed, reconsent, locale) {
        (false, true, Locale::De) => ConfirmWords {
            title: "Weiterhin E-Mails erhalten",
            text: "Bitte bestätigen Sie mit einem Klick, dass Sie unsere E-Mails mit diesen Worten weiterhin erhalten möchten; Sie können sich jederzeit wieder abmelden.",
            button: Some("Ja, weiterhin E-Mails erhalten"),
            settings: "E-Mail-Einstellungen",
        },
        (false, true, Locale::En) => ConfirmWords {
            title: "Keep receiving our email",
            text: "Please confirm with one click that you want to keep receiving our email on these words; you can unsubscribe at any time.",
            button: Some("Yes, keep sending me email"),
            settings: "Email settings",
        },
        (confirmed, _, locale) => first_words(confirmed, locale),
    }
}

fn first_words(confirmed: bool, locale: Locale) -> ConfirmWords {
    match (confirmed, locale) {
        (false, Locale::De) => ConfirmWords {
            title: "Anmeldung bestätigen",
            text: "Sie haben sich mit diesen Worten für unsere E-Mails angemeldet. Mit einem Klick bestätigen Sie das; Sie können sich jederzeit wieder abmelden.",
            button: Some("Ja, Anmeldung bestätigen"),
            settings: "E-Mail-Einstellungen",
        },
        (false, Locale::En) => ConfirmWords {
            title: "Confirm your subscription",
            text: "You signed up for our email with these words. One click confirms it; you can unsubscribe at any time.",
            button: Some("Yes, confirm my subscription"),
            settings: "Email settings",
        },
        (true, Locale::De) => ConfirmWords {
            title: "Danke, Ihre Anmeldung ist bestätigt",
            text: "Ab jetzt erhalten Sie unsere E-Mails. Welche und wie oft, legen Sie in Ihren E-Mail-Einstellungen fest.",
            button: None,
            settings: "E-Mail-Einstellungen",
        },
        (true, Locale::En) => ConfirmWords {
            title: "Thank you, your subscription is confirmed",
            text: "From now on you get our email. Which and how often is up to you in your email settings.",
            button: None,
            settings: "Email settings",
        },
    }
}

impl PreferencesService {
    pub(crate) async fn confirm(
        &self,
        visit: &Visit<'_>,
        token: &str,
        request: &Request<Bytes>,
    ) -> Result<Response<String>, StoreError> {
        let invalid = || self.pages.render(StatusCode::NOT_FOUND, page::Page::Invalid, visit.locale, None, "");
        let (shop, customer) = (&visit.shop.id, &visit.link.customer_id);
        let Some(request_key) = visit.link.confirms.as_deref() else { return Ok(invalid()) };
        let records = self.consent.consents(shop, customer).await?;
        let Some(requested) = records.iter().find(|r| r.key == request_key && r.action == ConsentAction::Requested)
        else {
            return Ok(invalid());
        };
        let wording = match &requested.wording {
            Some(digest) => self.consent.wording(shop, digest).await?,
            None => None,
        };
        let confirmed = records.iter().find(|r| r.key == confirmation_key(request_key));
        if request.method() == http::Method::GET {
            return Ok(self.render_confirm(visit, token, confirmed.is_some(), request_key, wording.as_ref()));
        }
        if refused(request.headers(), request.body(), token) {
            return Ok(page::plain(StatusCode::FORBIDDEN, "this form is only taken from its own page"));
        }
        let now = self.clock.now();
        let record = ConsentRecord {
            shop: shop.clone(),
            customer_id: customer.clone(),
            key: confirmation_key(request_key),
            at: now,
            topic: None,
            action: ConsentAction::Granted,
            method: ConsentMethod::ConfirmationClick,
            source: SOURCE.to_owned(),
            wording: requested.wording.clone(),
            actor: Actor::of_request(client_ip(request), stammkunde_http::header(request, "user-agent")),
            basis: ConsentBasis::Consent,
            claimed_at: None,
        };
        let at = match self.consent.record_consent(&record).await? {
            CreateOutcome::Created => now,
            CreateOutcome::Exists(stored) => stored.at,
        };
        self.mark_confirmed(visit, at).await?;
        tracing::info!(%shop, %customer, "subscription confirmed");
        Ok(self.render_confirm(visit, token, true, request_key, wording.as_ref()))
    }

    /// The settings say confirmed at `at`, and an unsubscribe from before it is lifted. An
    /// unsubscribe after it stands: an old confirmation link clicked again cannot undo it.
    async fn mark_confirmed(&self, visit: &Visit<'_>, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (shop, customer) = (&visit.shop.id, &visit.link.customer_id);
        for _ in 0..CONTACT_ATTEMPTS {
            let contact = self.mail.contact(shop, customer).await?.unwrap_or_default();
            let unsubscribed_since = contact.unsubscribed_at.is_some_and(|u| u > at);
            // Proven now: a re-permission's deadline and an imported consent have done their part.
            let next = MailContact {
                double_opt_in_at: Some(at),
                imported_consent_at: None,
                reconsent_by: None,
                unsubscribed_at: if unsubscribed_since { contact.unsubscribed_at } else { None },
                ..contact.clone()
            };
            if unsubscribed_since || next == contact || self.mail.update_contact(shop, customer, &next).await? {
                return Ok(());
            }
        }
        Err(StoreError::unavailable("confirming a subscription", ContactContended))
    }

    fn render_confirm(
        &self,
        visit: &Visit<'_>,
        token: &str,
        confirmed: bool,
        request_key: &str,
        wording: Option<&ConsentWording>,
    ) -> Response<String> {
        let words = words(confirmed, is_reconsent_request(request_key), visit.locale);
        let settings_url = confirmed.then(|| format!("/p/{token}?lang={}", visit.locale.tag()));
        let context = context! {
            title => words.title, text => words.text, button => words.button, settings => words.settings,
            wording => wording.map(|w| w.text.as_str()), wording_lang => wording.map(|w| w.locale.tag()),
            csrf => csrf_field(token), settings_url,
        };
        let mail = &visit.shop.mail;
        self.pages.render_confirm(StatusCode::OK, visit.locale, &mail.shop_name, &mail.colour, context)
    }
}

/// A POST not from the page itself: another site named, or not the page's csrf field.
pub(crate) fn refused(headers: &HeaderMap, body: &Bytes, token: &str) -> bool {
    if cross_site(headers) {
        return true;
    }
    let csrf = form_urlencoded::parse(body).find(|(name, _)| name == "csrf").map(|(_, value)| value.into_owned());
    !csrf.is_some_and(|csrf| bool::from(csrf.as_bytes().ct_eq(csrf_field(token).as_bytes())))
}
