//! The customer's data rights from the preference centre: `GET /d/{token}` downloads everything
//! we hold on them as JSON (GDPR Art. 15 and 20); `GET /x/{token}` asks once more, and `POST
//! /x/{token}` (the page's csrf field, same site only) erases them (Art. 17). Both by `Privacy`,
//! as the merchant API and Shopify's privacy webhooks do them.

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use minijinja::context;

use stammkunde_domain::config::Locale;
use stammkunde_domain::error::{cause_chain, StoreError};
use stammkunde_services::privacy::PrivacyError;

use crate::confirm::refused;
use crate::settings::csrf_field;
use crate::{page, PreferencesService, Visit};

struct EraseWords {
    title: &'static str,
    text: &'static str,
    button: Option<&'static str>,
}

fn words(erased: bool, locale: Locale) -> EraseWords {
    match (erased, locale) {
        (false, Locale::De) => EraseWords {
            title: "Alle Ihre Daten löschen",
            text: "Wir löschen Ihre Adresse, Ihren Namen, Ihren Geburtstag, Ihre Einstellungen und Einwilligungen. Sie bekommen keine Mails mehr von uns, und Ihre Punkte können Sie nicht mehr einlösen. Die Buchungen zu Ihren Bestellungen bleiben ohne Ihren Namen, weil die Buchhaltung des Shops sie braucht. Das lässt sich nicht rückgängig machen.",
            button: Some("Ja, alles löschen"),
        },
        (false, Locale::En) => EraseWords {
            title: "Erase all your data",
            text: "We erase your address, your name, your birthday, your settings and consents. You get no more mail from us, and your points can no longer be redeemed. The records of your orders stay, without your name, because the shop's accounting needs them. This cannot be undone.",
            button: Some("Yes, erase everything"),
        },
        (true, Locale::De) => EraseWords {
            title: "Ihre Daten sind gelöscht",
            text: "Wir haben Ihre persönlichen Daten gelöscht und schreiben Ihnen nicht mehr.",
            button: None,
        },
        (true, Locale::En) => EraseWords {
            title: "Your data is erased",
            text: "We erased your personal data and will not write to you again.",
            button: None,
        },
    }
}

impl PreferencesService {
    pub(crate) async fn download(&self, visit: &Visit<'_>) -> Result<Response<String>, StoreError> {
        let Some(export) = self.privacy.export(&visit.shop.id, &visit.link.customer_id).await? else {
            return Ok(self.pages.render(StatusCode::NOT_FOUND, page::Page::Invalid, visit.locale, None, ""));
        };
        let body = serde_json::to_string_pretty(&export).unwrap_or_default();
        let response = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header(header::CONTENT_DISPOSITION, "attachment; filename=\"my-data.json\"")
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .body(body);
        Ok(response.unwrap_or_else(|_| page::plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")))
    }

    pub(crate) async fn erase_page(
        &self,
        visit: &Visit<'_>,
        token: &str,
        request: &Request<Bytes>,
    ) -> Result<Response<String>, StoreError> {
        if request.method() == http::Method::GET {
            return Ok(self.render_erase(visit, token, false));
        }
        if refused(request.headers(), request.body(), token) {
            return Ok(page::plain(StatusCode::FORBIDDEN, "this form is only taken from its own page"));
        }
        match self.privacy.erase(&visit.shop.id, &visit.link.customer_id).await {
            Ok(_) => Ok(self.render_erase(visit, token, true)),
            Err(PrivacyError::Store(error)) => Err(error),
            Err(error) => {
                tracing::error!(shop = %visit.shop.id, customer = %visit.link.customer_id, error = %cause_chain(&error), "erasure from the preference page failed");
                Err(StoreError::unavailable("erasing", error))
            }
        }
    }

    fn render_erase(&self, visit: &Visit<'_>, token: &str, erased: bool) -> Response<String> {
        let words = words(erased, visit.locale);
        let context = context! {
            title => words.title, text => words.text, button => words.button, csrf => csrf_field(token),
        };
        let mail = &visit.shop.mail;
        self.pages.render_confirm(StatusCode::OK, visit.locale, &mail.shop_name, &mail.colour, context)
    }
}
