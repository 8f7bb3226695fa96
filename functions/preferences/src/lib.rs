//! The preference centre's pages behind the links in every mail:
//!
//! | route | what |
//! |---|---|
//! | `GET /p/{token}` | the settings page: topics, frequency, pause, birthday, time zone; points, tier, history, active codes (see `settings`) |
//! | `POST /p/{token}` | saves the settings form; 303 back to the page |
//! | `GET /u/{token}` | a page with one button; changes nothing |
//! | `GET /c/{token}` | a double opt-in's confirmation page: the words agreed to, one button; changes nothing (see `confirm`) |
//! | `POST /c/{token}` | confirms the subscription requested (a confirmation mail's link only) |
//! | `GET /d/{token}` | downloads everything held on the customer as JSON (see `rights`) |
//! | `GET /x/{token}` | asks once more before erasing all the customer's data; changes nothing |
//! | `POST /x/{token}` | erases the customer's personal data |
//! | `POST /u/{token}` | unsubscribes from all marketing mail: the page's button (`confirm=1`), or a mail provider's one-click request (`List-Unsubscribe=One-Click`, RFC 8058: no cookie, no confirmation) |
//! | `GET /l/{shop}`, `GET /l` | "send me a new link": an address field (see `new_link`) |
//! | `POST /l/{shop}`, `POST /l` | the same answer for every address; a known one gets a mail with a fresh link |
//!
//! A token is valid if its digest is stored, it has not expired, and its shop is still configured;
//! an unknown, expired or unconfigured shop's token all get the same 404 page, which offers the
//! new-link form. Unsubscribing
//! again changes nothing and answers the same. `?lang=de|en` switches the language; otherwise it
//! is the customer's, else the shop's.

mod confirm;
mod form;
mod link_form;
mod new_link;
mod page;
mod records;
mod rights;
mod settings;
mod words;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::{Locale, ShopConfig, ShopDirectory};
use stammkunde_domain::consent::{ConsentAction, ConsentMethod};
use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::{cause_chain, StoreError};
use stammkunde_domain::mail::link::{token_digest, LinkToken};
use stammkunde_domain::mail::MailContact;
use stammkunde_domain::ports::{ConsentStore, EventBus, MailStore, Store};
use stammkunde_services::privacy::Privacy;

pub use page::{Page, Pages};

/// The body of RFC 8058's one-click POST.
const ONE_CLICK_BODY: &str = "List-Unsubscribe=One-Click";
/// More than any form of these pages sends.
const BODY_BYTES_MAX: usize = 4096;
/// Reads-and-writes an unsubscribe or a confirmation tries before answering 503 (the mail
/// provider, or the person, tries again).
const CONTACT_ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("the settings changed {CONTACT_ATTEMPTS} times in a row")]
struct ContactContended;

pub struct PreferencesService {
    pub shops: Arc<ShopDirectory>,
    /// Customers, their ledgers and their birthdays.
    pub store: Arc<dyn Store>,
    pub mail: Arc<dyn MailStore>,
    /// The consent ledger: a double opt-in's request, and the click that confirms it.
    pub consent: Arc<dyn ConsentStore>,
    /// Export and erasure.
    pub privacy: Arc<Privacy>,
    /// A new link asked for (`LinkRequested`), for the mail sweep.
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub pages: Arc<Pages>,
}

/// A valid link: its token, its shop, its customer (read once per request), and the language to
/// answer in.
pub(crate) struct Visit<'a> {
    link: LinkToken,
    shop: &'a ShopConfig,
    locale: Locale,
    customer: Option<Customer>,
}

impl PreferencesService {
    pub async fn handle(&self, request: Request<Bytes>) -> Response<String> {
        let asked = asked_locale(&request);
        match self.route(&request, asked).await {
            Ok(response) => response,
            Err(error) => {
                tracing::error!(error = %cause_chain(&error), "preference page: the store failed");
                let locale = asked.unwrap_or(Locale::De);
                self.pages.render(StatusCode::SERVICE_UNAVAILABLE, Page::Unavailable, locale, None, "")
            }
        }
    }

    async fn route(&self, request: &Request<Bytes>, asked: Option<Locale>) -> Result<Response<String>, StoreError> {
        let path = request.uri().path();
        let new_link = match path {
            "/l" => Some(None),
            _ => path.strip_prefix("/l/").filter(|shop| !shop.contains('/')).map(Some),
        };
        let (kind, token) = match path.get(..3).zip(path.get(3..)) {
            _ if new_link.is_some() => (Kind::NewLink, ""),
            Some(("/u/", token)) if !token.contains('/') => (Kind::Unsubscribe, token),
            Some(("/p/", token)) if !token.contains('/') => (Kind::Settings, token),
            Some(("/c/", token)) if !token.contains('/') => (Kind::Confirm, token),
            Some(("/d/", token)) if !token.contains('/') => (Kind::Download, token),
            Some(("/x/", token)) if !token.contains('/') => (Kind::Erase, token),
            _ => return Ok(page::plain(StatusCode::NOT_FOUND, "no such page")),
        };
        let method = request.method();
        if method != Method::GET && method != Method::POST {
            let mut response = page::plain(StatusCode::METHOD_NOT_ALLOWED, "this page takes GET and POST");
            response.headers_mut().insert(header::ALLOW, http::HeaderValue::from_static("GET, POST"));
            return Ok(response);
        }
        if request.body().len() > BODY_BYTES_MAX {
            return Ok(page::plain(StatusCode::PAYLOAD_TOO_LARGE, "the form is larger than this page sends"));
        }
        if let Some(shop) = new_link {
            return self.new_link(shop, request, asked).await;
        }
        let Some(visit) = self.visit(token, asked).await? else {
            return Ok(self.invalid_link_page(asked));
        };
        match kind {
            Kind::Confirm => return self.confirm(&visit, token, request).await,
            Kind::Download if method == Method::GET => return self.download(&visit).await,
            Kind::Download => return Ok(page::plain(StatusCode::METHOD_NOT_ALLOWED, "this download takes GET")),
            Kind::Erase => return self.erase_page(&visit, token, request).await,
            Kind::Unsubscribe | Kind::Settings => {}
            Kind::NewLink => return Ok(page::plain(StatusCode::NOT_FOUND, "no such page")),
        }
        if kind == Kind::Settings {
            let post = (method == Method::POST).then_some(request);
            let saved = request.uri().query().is_some_and(|q| q.split('&').any(|pair| pair == "saved=1"));
            return self.settings(&visit, token, post, saved).await;
        }
        let (name, colour) = (Some(visit.shop.mail.shop_name.as_str()), visit.shop.mail.colour.as_str());
        if method == Method::GET {
            return Ok(self.pages.render(StatusCode::OK, Page::Ask, visit.locale, name, colour));
        }
        let one_click = String::from_utf8_lossy(request.body()).trim() == ONE_CLICK_BODY;
        let at = self.unsubscribe(&visit.link).await?;
        let fact = if one_click {
            records::Fact {
                key: records::unsubscribe_key(at),
                at,
                topic: None,
                action: ConsentAction::Withdrawn,
                method: ConsentMethod::OneClick,
                source: "mail header: List-Unsubscribe one-click (/u)",
                wording: None,
            }
        } else {
            records::Fact {
                key: records::unsubscribe_key(at),
                at,
                topic: None,
                action: ConsentAction::Withdrawn,
                method: ConsentMethod::PreferenceCentre,
                source: "preference centre: unsubscribe page (/u)",
                wording: Some(&page::shown(Page::Ask, visit.locale)),
            }
        };
        self.record(&visit, request, fact).await?;
        Ok(if one_click {
            page::plain(StatusCode::OK, "unsubscribed")
        } else {
            self.pages.render(StatusCode::OK, Page::Done, visit.locale, name, colour)
        })
    }

    /// The link behind a token, if it is valid now.
    async fn visit(&self, token: &str, asked: Option<Locale>) -> Result<Option<Visit<'_>>, StoreError> {
        let Some(digest) = token_digest(token) else { return Ok(None) };
        let Some(link) = self.mail.link(&digest).await? else { return Ok(None) };
        let Some(shop) = self.shops.by_id(&link.shop) else { return Ok(None) };
        if !link.is_valid_at(self.clock.now()) {
            return Ok(None);
        }
        let customer = self.store.customer(&link.shop, &link.customer_id).await?;
        // A deleted or erased customer's links lead nowhere: there is nothing left to show or set.
        if customer.as_ref().is_some_and(|c| c.deleted_at.is_some()) {
            return Ok(None);
        }
        let customer_tag = customer.as_ref().and_then(|c| c.profile.locale.as_deref());
        let locale = asked.unwrap_or_else(|| Locale::for_customer(customer_tag, shop.locale));
        Ok(Some(Visit { link, shop, locale, customer }))
    }

    /// Unsubscribed from all marketing mail, at the first time only: a second click keeps it.
    /// Guarded like every settings write, and tried again on a concurrent save: an unsubscribe
    /// must never be lost under another write. Returns when the unsubscribe took effect.
    async fn unsubscribe(&self, link: &LinkToken) -> Result<DateTime<Utc>, StoreError> {
        for _ in 0..CONTACT_ATTEMPTS {
            let contact = self.mail.contact(&link.shop, &link.customer_id).await?.unwrap_or_default();
            if let Some(at) = contact.unsubscribed_at {
                return Ok(at);
            }
            let now = self.clock.now();
            let next = MailContact { unsubscribed_at: Some(now), ..contact };
            if self.mail.update_contact(&link.shop, &link.customer_id, &next).await? {
                tracing::info!(shop = %link.shop, customer = %link.customer_id, "unsubscribed through a mail's link");
                return Ok(now);
            }
        }
        Err(StoreError::unavailable("unsubscribing", ContactContended))
    }
}

/// Which page a link opens.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unsubscribe,
    Settings,
    Confirm,
    Download,
    Erase,
    /// `/l`, `/l/{shop}`: no token.
    NewLink,
}

/// `?lang=de|en`, else nothing: then the customer's language decides.
fn asked_locale(request: &Request<Bytes>) -> Option<Locale> {
    let query = request.uri().query()?;
    query.split('&').find_map(|pair| pair.strip_prefix("lang=")).and_then(Locale::from_tag)
}
