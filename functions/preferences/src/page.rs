//! The pages, rendered with minijinja (auto-escaped: every text from the shop's configuration is
//! escaped) in German or English, with the shop's name and colour. One stylesheet in the page's
//! `<style>`, allowed by its hash in the Content-Security-Policy; no script at all.

use base64::Engine;
use http::{header, Response, StatusCode};
use minijinja::{context, Environment};
use sha2::{Digest, Sha256};

use stammkunde_domain::config::Locale;

const LAYOUT: &str = include_str!("../templates/layout.html");
const PAGE: &str = include_str!("../templates/page.html");
const SETTINGS: &str = include_str!("../templates/settings.html");
const CONFIRM: &str = include_str!("../templates/confirm.html");
const NEW_LINK: &str = include_str!("../templates/new_link.html");
/// The default colour, as the shop's mail settings default it.
const COLOUR_DEFAULT: &str = "#1f6f5c";

/// Which page, and the words on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The unsubscribe link opened: one button.
    Ask,
    /// Unsubscribed.
    Done,
    /// Unknown, expired or another shop's token: all look alike.
    Invalid,
    /// Our fault (the store did not answer): try again later.
    Unavailable,
}

struct Words {
    title: &'static str,
    text: &'static str,
    button: Option<&'static str>,
}

fn words(page: Page, locale: Locale) -> Words {
    match (page, locale) {
        (Page::Ask, Locale::De) => Words {
            title: "Von Werbe-Mails abmelden",
            text: "Mit einem Klick erhalten Sie keine Werbe-Mails mehr von uns. Mails zu Ihren Bestellungen bekommen Sie weiterhin.",
            button: Some("Abmelden"),
        },
        (Page::Ask, Locale::En) => Words {
            title: "Unsubscribe from marketing mail",
            text: "One click and you get no more marketing mail from us. Mail about your orders still reaches you.",
            button: Some("Unsubscribe"),
        },
        (Page::Done, Locale::De) => Words {
            title: "Sie sind abgemeldet",
            text: "Sie erhalten keine Werbe-Mails mehr von uns. Mails zu Ihren Bestellungen bekommen Sie weiterhin.",
            button: None,
        },
        (Page::Done, Locale::En) => Words {
            title: "You are unsubscribed",
            text: "You get no more marketing mail from us. Mail about your orders still reaches you.",
            button: None,
        },
        (Page::Invalid, Locale::De) => Words {
            title: "Dieser Link gilt nicht mehr",
            text: "Der Link ist abgelaufen oder unbekannt. Jede Mail von uns enthält einen aktuellen Link zum Abmelden.",
            button: None,
        },
        (Page::Invalid, Locale::En) => Words {
            title: "This link no longer works",
            text: "The link has expired or is unknown. Every mail from us carries a current link to unsubscribe.",
            button: None,
        },
        (Page::Unavailable, Locale::De) => Words {
            title: "Das hat gerade nicht geklappt",
            text: "Bitte versuchen Sie es in ein paar Minuten noch einmal.",
            button: None,
        },
        (Page::Unavailable, Locale::En) => Words {
            title: "That did not work just now",
            text: "Please try again in a few minutes.",
            button: None,
        },
    }
}

/// A short page's words as the person saw them (title, text, button), for the consent ledger.
pub(crate) fn shown(page: Page, locale: Locale) -> String {
    let words = words(page, locale);
    let button = words.button.map(|b| format!("\n[{b}]")).unwrap_or_default();
    format!("{}\n{}{button}", words.title, words.text)
}

/// The stylesheet, in the shop's colour (a `#rrggbb` the configuration checked; anything else
/// falls back to the default, so no text of the configuration reaches the CSS unchecked).
fn style(colour: &str) -> String {
    let hex = colour.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let colour = if hex.is_some() { colour } else { COLOUR_DEFAULT };
    format!(
        "body{{margin:0;font:17px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1a1a1a;background:#f6f6f4}}\
         main{{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px}}\
         .shop{{margin:0;font-weight:600;color:{colour}}}h1{{font-size:1.5rem;line-height:1.25}}\
         button{{font:inherit;padding:.7rem 1.6rem;border:0;border-radius:6px;color:#fff;background:{colour};cursor:pointer}}\
         button:focus-visible,a:focus-visible{{outline:3px solid #1a1a1a;outline-offset:2px}}\
         nav{{margin-top:2rem;font-size:.9rem}}a{{color:#1a1a1a}}"
    )
}

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Result<Pages, minijinja::Error> {
        let mut env = Environment::new();
        env.add_template("layout.html", LAYOUT)?;
        env.add_template("page.html", PAGE)?;
        env.add_template("settings.html", SETTINGS)?;
        env.add_template("confirm.html", CONFIRM)?;
        env.add_template("new_link.html", NEW_LINK)?;
        Ok(Pages { env })
    }

    /// One of the short pages (`Page`) as a whole response.
    pub fn render(
        &self,
        status: StatusCode,
        page: Page,
        locale: Locale,
        shop_name: Option<&str>,
        colour: &str,
    ) -> Response<String> {
        let words = words(page, locale);
        let style = style(colour);
        let lang = locale.tag();
        let language = language(locale);
        let html = self.env.get_template("page.html").and_then(|t| {
            t.render(context! {
                lang, language, shop_name, style,
                title => words.title, text => words.text, button => words.button,
            })
        });
        respond(status, html, &style)
    }

    /// The confirmation page (`confirm.html`) with `context`, in the shop's name and colour.
    pub fn render_confirm(
        &self,
        status: StatusCode,
        locale: Locale,
        shop_name: &str,
        colour: &str,
        context: minijinja::Value,
    ) -> Response<String> {
        let style = format!("{}{CONFIRM_STYLE}", style(colour));
        let (lang, language) = (locale.tag(), language(locale));
        let html = self
            .env
            .get_template("confirm.html")
            .and_then(|t| t.render(context! { style => &style, lang, language, shop_name, ..context }));
        respond(status, html, &style)
    }

    /// The new-link form's pages (`new_link.html`) with `context`, in the shop's name and colour.
    pub fn render_new_link(
        &self,
        status: StatusCode,
        locale: Locale,
        shop_name: Option<&str>,
        colour: &str,
        context: minijinja::Value,
    ) -> Response<String> {
        let style = format!("{}{NEW_LINK_STYLE}", style(colour));
        let (lang, language) = (locale.tag(), language(locale));
        let html = self
            .env
            .get_template("new_link.html")
            .and_then(|t| t.render(context! { style => &style, lang, language, shop_name, ..context }));
        respond(status, html, &style)
    }

    /// The settings page (`settings.html`) with `context`, in the shop's colour.
    pub fn render_settings(&self, status: StatusCode, colour: &str, context: minijinja::Value) -> Response<String> {
        let style = format!("{}{SETTINGS_STYLE}", style(colour));
        let html =
            self.env.get_template("settings.html").and_then(|t| t.render(context! { style => &style, ..context }));
        respond(status, html, &style)
    }
}

/// The language switch's label.
fn language(locale: Locale) -> &'static str {
    match locale {
        Locale::De => "Sprache",
        Locale::En => "Language",
    }
}

/// What the confirmation page adds to the common stylesheet: the quoted wording.
const CONFIRM_STYLE: &str =
    "blockquote{margin:1rem 0;padding:.6rem 1rem;border-left:4px solid #ccc;background:#f6f6f4}";

/// What the new-link form adds to the common stylesheet: its one field and its refusals.
const NEW_LINK_STYLE: &str = "label{display:block;margin:1rem 0 .3rem}input{font:inherit;padding:.5rem;width:100%;max-width:22rem;box-sizing:border-box;margin-bottom:1rem;display:block}.error{padding:.6rem 1rem;background:#fbeaea}";

/// What the settings page adds to the common stylesheet: its form.
const SETTINGS_STYLE: &str = "fieldset{border:1px solid #ccc;border-radius:6px;margin:1.2rem 0;padding:.6rem 1rem}    legend{font-weight:600}label{display:block;margin:.35rem 0}input,select{font:inherit}    input[type=number]{width:5rem}.note{color:#555;font-size:.9rem}.saved{padding:.6rem 1rem;background:#e8f3ee}    .error{padding:.6rem 1rem;background:#fbeaea}table{border-collapse:collapse;width:100%}    td,th{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #eee}main{max-width:40rem}";

/// The rendered page as a whole response: status, HTML, and the headers that keep it private
/// (the token is in the URL: no referrer, no cache) and locked down (no script, no framing).
fn respond(status: StatusCode, html: Result<String, minijinja::Error>, style: &str) -> Response<String> {
    let html = match html {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "rendering a preference page failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    let response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_SECURITY_POLICY, policy)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CACHE_CONTROL, "no-store")
        .body(html);
    response.unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
}

/// A short text answer, for the one-click POST (mail providers read only the status) and errors.
pub fn plain(status: StatusCode, text: &str) -> Response<String> {
    let mut response = Response::new(format!("{text}\n"));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}
