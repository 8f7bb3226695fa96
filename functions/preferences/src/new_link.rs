//! "Send me a new link": a person whose mail's link expired asks for a fresh one by address, on
//! `GET/POST /l/{shop}` (the shop's own page, in its name and colours, for a shop to link to) or
//! on the invalid-link page, whose form posts to `/l` and looks in every shop with mail on (that
//! page is the same for every invalid token, so it cannot know the shop). The answer is the same
//! page whether or not the address is known, suppressed or over its limit, so the form tells no
//! one which addresses are customers. A known, live, unsuppressed customer's address publishes
//! `LinkRequested`; the mail sweep sends the new-link mail (one per customer and day).
//!
//! Limits (`mail::link_request`, conditional counters in the store): per address and shop,
//! silently, the same page; per client IP, 429 with the reason, since an IP over its limit is one
//! client probing or flooding, not a person.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use minijinja::context;

use stammkunde_domain::config::{Locale, ShopConfig};
use stammkunde_domain::customer::Email;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::link_request::{
    address_key, counter_expires_at, ip_key, window_start, REQUESTS_PER_ADDRESS_MAX, REQUESTS_PER_IP_MAX,
    WINDOW_MINUTES,
};
use stammkunde_domain::ports::PageRequest;
use stammkunde_http::client_ip;

use crate::link_form::{csrf_field, csrf_valid};
use crate::settings::cross_site;
use crate::words::link_words;
use crate::{page, PreferencesService};

/// Customers one address may name in a shop (a platform can hold duplicates): each gets a link.
const CUSTOMERS_PER_ADDRESS_MAX: u32 = 10;
/// The counter of clients whose IP we were not given: they share one.
const IP_UNKNOWN_KEY: &str = "i-unknown";

/// Which of the form's pages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkPage {
    /// The form on its own.
    Form,
    /// The invalid-link page, with the form.
    Invalid,
    /// The form again, the address refused as not one.
    BadEmail,
    /// The answer to every accepted post.
    Sent,
    /// The client's IP is over its limit.
    TooMany,
}

/// The shops a form looks in, and the one whose page it is (`/l/{shop}`), if any.
pub(crate) struct Scope<'a> {
    shops: Vec<&'a ShopConfig>,
    brand: Option<&'a ShopConfig>,
}

impl PreferencesService {
    /// `/l/{shop}` for `Some(shop)`, `/l` for `None`.
    pub(crate) fn link_scope(&self, shop: Option<&str>) -> Option<Scope<'_>> {
        let mail_shops = || self.shops.shops().iter().filter(|s| s.mail.enabled);
        match shop {
            None => Some(Scope { shops: mail_shops().collect(), brand: None }).filter(|s| !s.shops.is_empty()),
            Some(raw) => {
                let id = ShopId::parse(raw).ok()?;
                let shop = mail_shops().find(|s| s.id == id)?;
                Some(Scope { shops: vec![shop], brand: Some(shop) })
            }
        }
    }

    pub(crate) async fn new_link(
        &self,
        shop: Option<&str>,
        request: &Request<Bytes>,
        asked: Option<Locale>,
    ) -> Result<Response<String>, StoreError> {
        let Some(scope) = self.link_scope(shop) else { return Ok(page::plain(StatusCode::NOT_FOUND, "no such page")) };
        let locale = asked.or(scope.brand.map(|s| s.locale)).unwrap_or(Locale::De);
        if request.method() == Method::GET {
            return Ok(self.render_link_page(&scope, locale, LinkPage::Form));
        }
        let fields: Vec<(String, String)> = form_urlencoded::parse(request.body()).into_owned().collect();
        let field = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        let now = self.clock.now();
        if cross_site(request.headers()) || !csrf_valid(&scope.shops, field("csrf").unwrap_or_default(), now) {
            return Ok(page::plain(StatusCode::FORBIDDEN, "this form is only taken from its own page"));
        }
        let Ok(email) = Email::parse(field("email").unwrap_or_default()) else {
            return Ok(self.render_link_page(&scope, locale, LinkPage::BadEmail));
        };
        let (window, expires) = (window_start(now), counter_expires_at(window_start(now)));
        for shop in &scope.shops {
            let ip = client_ip(request).map(|ip| ip_key(&shop.id, ip)).unwrap_or_else(|| IP_UNKNOWN_KEY.to_owned());
            if !self.mail.take_request(&shop.id, &ip, window, REQUESTS_PER_IP_MAX, expires).await? {
                tracing::warn!(shop = %shop.id, "new-link form: a client over its limit");
                return Ok(self.render_link_page(&scope, locale, LinkPage::TooMany));
            }
        }
        for shop in &scope.shops {
            let address = address_key(&shop.id, &email);
            if self.mail.take_request(&shop.id, &address, window, REQUESTS_PER_ADDRESS_MAX, expires).await? {
                self.request_links(shop, &email, now.date_naive()).await?;
            }
        }
        Ok(self.render_link_page(&scope, locale, LinkPage::Sent))
    }

    /// Asks for a link for every live customer with this address, unless it is suppressed. The
    /// index holds no deleted or erased customer.
    async fn request_links(&self, shop: &ShopConfig, email: &Email, date: chrono::NaiveDate) -> Result<(), StoreError> {
        if self.mail.suppression(&shop.id, &AddressDigest::of(&shop.id, email)).await?.is_some() {
            return Ok(());
        }
        let page = PageRequest::first(CUSTOMERS_PER_ADDRESS_MAX);
        let customers = self.store.customers_by_email(&shop.id, email, page).await?.items;
        let events: Vec<DomainEvent> = customers
            .into_iter()
            .map(|customer_id| DomainEvent::LinkRequested { shop: shop.id.clone(), customer_id, date })
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        self.bus.publish(&events).await.map_err(|e| StoreError::unavailable("publishing a link request", e))?;
        tracing::info!(shop = %shop.id, customers = events.len(), "new link requested");
        Ok(())
    }

    pub(crate) fn render_link_page(&self, scope: &Scope<'_>, locale: Locale, which: LinkPage) -> Response<String> {
        let w = link_words(locale);
        let (status, heading, text, error) = match which {
            LinkPage::Form => (StatusCode::OK, w.title, w.text, None),
            LinkPage::Invalid => (StatusCode::NOT_FOUND, w.invalid_title, w.invalid_text, None),
            LinkPage::BadEmail => (StatusCode::BAD_REQUEST, w.title, w.text, Some(w.bad_email)),
            LinkPage::Sent => (StatusCode::OK, w.sent_title, w.sent_text, None),
            LinkPage::TooMany => (StatusCode::TOO_MANY_REQUESTS, w.too_many_title, w.too_many_text, None),
        };
        let offers_form = matches!(which, LinkPage::Form | LinkPage::Invalid | LinkPage::BadEmail);
        let path = scope.brand.map(|s| format!("/l/{}", s.id)).unwrap_or_else(|| "/l".to_owned());
        let action = offers_form.then(|| format!("{path}?lang={}", locale.tag()));
        let context = context! {
            w, heading, text, error, action, csrf => csrf_field(&scope.shops, self.clock.now()),
        };
        let (name, colour) =
            scope.brand.map_or((None, ""), |s| (Some(s.mail.shop_name.as_str()), s.mail.colour.as_str()));
        let mut response = self.pages.render_new_link(status, locale, name, colour, context);
        if which == LinkPage::TooMany {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(WINDOW_MINUTES * 60));
        }
        response
    }

    /// The page of every invalid link: with the form when any shop sends mail.
    pub(crate) fn invalid_link_page(&self, asked: Option<Locale>) -> Response<String> {
        let locale = asked.unwrap_or(Locale::De);
        match self.link_scope(None) {
            Some(scope) => self.render_link_page(&scope, locale, LinkPage::Invalid),
            None => self.pages.render(StatusCode::NOT_FOUND, page::Page::Invalid, locale, None, ""),
        }
    }
}
