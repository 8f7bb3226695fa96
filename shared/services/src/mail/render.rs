//! Mail texts: a German and an English string table (every visible string is a key there) and one
//! HTML and one plain-text layout, rendered with minijinja. Strings are rendered per part, so
//! whatever a customer or merchant typed (a name, the shop's name) is HTML-escaped in the HTML
//! part and left as typed in the text part.

use chrono::NaiveDate;
use minijinja::{Environment, Value};
use std::collections::BTreeMap;
use thiserror::Error;

use stammkunde_domain::config::Locale;
use stammkunde_domain::mail::Campaign;

const DE: &str = include_str!("../../templates/mail/de.toml");
const EN: &str = include_str!("../../templates/mail/en.toml");
const HTML_LAYOUT: &str = include_str!("../../templates/mail/mail.html");
const TEXT_LAYOUT: &str = include_str!("../../templates/mail/mail.txt");

/// The string keys of a campaign's section and of `[common]`.
const CAMPAIGN_KEYS: [&str; 4] = ["subject", "heading", "body", "body_code"];
const COMMON_KEYS: [&str; 11] = [
    "greeting",
    "code_intro",
    "points",
    "cta",
    "confirm",
    "open_preferences",
    "why",
    "objection",
    "unsubscribe",
    "preferences",
    "imprint",
];

#[derive(Debug, Error)]
pub enum RenderError {
    #[error("the {0} string table is broken: {1}")]
    Strings(&'static str, String),
    #[error("string `{0}` is missing")]
    Missing(String),
    #[error("rendering failed: {0}")]
    Template(#[from] minijinja::Error),
}

/// What a mail shows, before it is put into words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailView {
    pub campaign: Campaign,
    pub locale: Locale,
    pub shop_name: String,
    pub shop_url: String,
    pub colour: String,
    pub logo_url: Option<String>,
    pub imprint: String,
    pub first_name: Option<String>,
    pub points_available: i64,
    pub points_pending: i64,
    pub code: Option<String>,
    pub code_valid_until: Option<NaiveDate>,
    /// The points the mail is about (expiring, taken back), and the day it concerns.
    pub amount: Option<i64>,
    pub amount_date: Option<NaiveDate>,
    pub unsubscribe_url: String,
    pub preferences_url: String,
    /// A double opt-in's confirmation link: the mail's button, instead of the shop's.
    pub confirm_url: Option<String>,
    /// The preference centre as the mail's button, instead of the shop (a new link asked for).
    pub preferences_button: bool,
    /// The existing-customer exception: every mail says the customer may object.
    pub objection_notice: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

type Strings = BTreeMap<String, BTreeMap<String, String>>;

/// Every string of both tables and the two layouts, compiled once per process: a mail only
/// renders them.
pub struct MailRenderer {
    env: Environment<'static>,
}

/// A string's template name: its language, table and key, and the extension that decides
/// escaping (`.html` escapes, `.txt` does not).
fn template_name(lang: &str, table: &str, key: &str, extension: &str) -> String {
    format!("{lang}/{table}/{key}.{extension}")
}

impl MailRenderer {
    pub fn new() -> Result<Self, RenderError> {
        let parse = |name: &'static str, text: &str| -> Result<Strings, RenderError> {
            let strings: Strings = toml::from_str(text).map_err(|e| RenderError::Strings(name, e.to_string()))?;
            for campaign in Campaign::ALL {
                for key in CAMPAIGN_KEYS {
                    lookup(&strings, campaign.as_str(), key)?;
                }
            }
            for key in COMMON_KEYS {
                lookup(&strings, "common", key)?;
            }
            Ok(strings)
        };
        let mut env = Environment::new();
        for (locale, name, text) in [(Locale::De, "German", DE), (Locale::En, "English", EN)] {
            let strings = parse(name, text)?;
            let tables =
                Campaign::ALL.iter().map(|c| (c.as_str(), &CAMPAIGN_KEYS[..])).chain([("common", &COMMON_KEYS[..])]);
            for (table, keys) in tables {
                for key in keys {
                    let source = lookup(&strings, table, key)?;
                    for extension in ["txt", "html"] {
                        env.add_template_owned(template_name(locale.tag(), table, key, extension), source.to_owned())?;
                    }
                }
            }
        }
        env.add_template("mail.txt", TEXT_LAYOUT)?;
        env.add_template("mail.html", HTML_LAYOUT)?;
        Ok(MailRenderer { env })
    }

    pub fn render(&self, view: &MailView) -> Result<RenderedMail, RenderError> {
        let data = data(view);
        let lang = view.locale.tag();
        let render = |name: String| self.env.get_template(&name).and_then(|t| t.render(&data));
        let section = view.campaign.as_str();
        let mut text_parts = BTreeMap::new();
        let mut html_parts = BTreeMap::new();
        for (table, keys) in [(section, &CAMPAIGN_KEYS[..]), ("common", &COMMON_KEYS[..])] {
            for key in keys {
                text_parts.insert(*key, render(template_name(lang, table, key, "txt"))?);
                let html = render(template_name(lang, table, key, "html"))?;
                html_parts.insert(*key, Value::from_safe_string(html));
            }
        }
        let subject = text_parts.get("subject").cloned().unwrap_or_default();
        let mut text_context = data.clone();
        text_context.extend(text_parts.iter().map(|(k, v)| (*k, Value::from(v.as_str()))));
        text_context.insert("imprint_label", Value::from(text_parts.get("imprint").map(String::as_str)));
        let mut html_context = data;
        html_context.insert("imprint_label", html_parts.get("imprint").cloned().unwrap_or_default());
        html_context.extend(html_parts);
        html_context.insert("lang", Value::from(lang));
        let text = self.env.get_template("mail.txt")?.render(&text_context)?;
        let html = self.env.get_template("mail.html")?.render(&html_context)?;
        Ok(RenderedMail { subject: one_line(&subject), text: normalise_blank_lines(&text), html })
    }
}

fn lookup<'a>(strings: &'a Strings, table: &str, key: &str) -> Result<&'a str, RenderError> {
    strings
        .get(table)
        .and_then(|t| t.get(key))
        .map(String::as_str)
        .ok_or_else(|| RenderError::Missing(format!("{table}.{key}")))
}

/// The mail's data by name, for the strings and the layouts.
fn data(view: &MailView) -> BTreeMap<&'static str, Value> {
    let format = |d: NaiveDate| d.format(view.locale.date_pattern()).to_string();
    let date = view.code_valid_until.map(format);
    BTreeMap::from([
        ("shop_name", Value::from(view.shop_name.as_str())),
        ("shop_url", Value::from(view.shop_url.as_str())),
        ("colour", Value::from(view.colour.as_str())),
        ("logo_url", Value::from(view.logo_url.as_deref())),
        (
            "imprint_lines",
            Value::from_serialize(view.imprint.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>()),
        ),
        ("first_name", Value::from(view.first_name.as_deref())),
        ("points_available", Value::from(view.points_available)),
        ("points_pending", Value::from(view.points_pending)),
        ("code", Value::from(view.code.as_deref())),
        ("code_valid_until", Value::from(date)),
        ("amount", Value::from(view.amount)),
        ("amount_date", Value::from(view.amount_date.map(format))),
        ("unsubscribe_url", Value::from(view.unsubscribe_url.as_str())),
        ("preferences_url", Value::from(view.preferences_url.as_str())),
        ("confirm_url", Value::from(view.confirm_url.as_deref())),
        ("preferences_button", Value::from(view.preferences_button)),
        ("objection_notice", Value::from(view.objection_notice)),
    ])
}

/// A subject is one line: a name with a line break in it must not add a header.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most one blank line in a row in the plain-text part.
fn normalise_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        blank = if line.is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(locale: Locale, campaign: Campaign) -> MailView {
        MailView {
            campaign,
            locale,
            shop_name: "Kaffee & Kuchen".into(),
            shop_url: "https://shop.example/".into(),
            colour: "#aa3300".into(),
            logo_url: None,
            imprint: "Kaffee & Kuchen GmbH\nHauptstraße 1, 10115 Berlin".into(),
            first_name: Some("Jürgen <b>".into()),
            points_available: 120,
            points_pending: 30,
            code: Some("BDAY-7K2M-9XQ4".into()),
            code_valid_until: NaiveDate::from_ymd_opt(2026, 7, 30),
            amount: None,
            amount_date: None,
            unsubscribe_url: "https://m.example/u/tok".into(),
            preferences_url: "https://m.example/p/tok".into(),
            confirm_url: None,
            preferences_button: false,
            objection_notice: true,
        }
    }

    fn renderer() -> MailRenderer {
        MailRenderer::new().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_german_birthday_mail_greets_by_name_and_shows_the_code_and_the_imprint() {
        let mail = renderer().render(&view(Locale::De, Campaign::Birthday)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mail.subject, "Alles Gute zum Geburtstag, Jürgen <b>!");
        assert!(mail.text.contains("Hallo Jürgen <b>,"), "{}", mail.text);
        assert!(mail.text.contains("    BDAY-7K2M-9XQ4"));
        assert!(mail.text.contains("einmal einlösbar bis 30.07.2026"));
        assert!(mail.text.contains("Hauptstraße 1, 10115 Berlin"));
        assert!(mail.text.contains("Sie können der Verwendung Ihrer E-Mail-Adresse"));
        assert!(mail.html.contains("Hallo Jürgen &lt;b&gt;,"), "names are escaped in HTML");
        assert!(!mail.html.contains("Jürgen <b>"));
        assert!(mail.html.contains("Kaffee &amp; Kuchen"));
        assert!(mail.html.contains("lang=\"de\""));
    }

    #[test]
    fn an_english_win_back_mail_without_a_name_or_code_reads_well() {
        let mut v = view(Locale::En, Campaign::WinBack);
        v.first_name = None;
        v.code = None;
        v.objection_notice = false;
        let mail = renderer().render(&v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mail.subject, "We miss you!");
        assert!(mail.text.starts_with("We miss you!\n\nHello,\n"), "{}", mail.text);
        assert!(!mail.text.contains("personal code"));
        assert!(!mail.text.contains("object"));
        assert!(mail.text.contains("Unsubscribe: https://m.example/u/tok"));
        assert!(!mail.text.contains("\n\n\n"));
    }
}

#[cfg(test)]
mod confirmation_tests {
    use super::*;

    #[test]
    fn a_confirmation_mail_has_the_confirm_link_as_its_button_and_no_shop_or_points_line() {
        let renderer = MailRenderer::new().unwrap_or_else(|e| panic!("{e}"));
        for (locale, button, subject) in [
            (Locale::De, "Anmeldung bestätigen", "Bitte bestätigen Sie Ihre Anmeldung bei Kaffee & Kuchen"),
            (Locale::En, "Confirm my subscription", "Please confirm your subscription to Kaffee & Kuchen"),
        ] {
            let mut view = tests_view(locale);
            view.confirm_url = Some("https://m.example/c/tok".into());
            let mail = renderer.render(&view).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(mail.subject, subject);
            assert!(mail.text.contains(&format!("{button}: https://m.example/c/tok")), "{}", mail.text);
            // minijinja escapes `/` in attributes, as in every other link of the mails.
            assert!(mail.html.contains(r#"<a href="https:&#x2f;&#x2f;m.example&#x2f;c&#x2f;tok""#), "{}", mail.html);
            assert!(!mail.text.contains("https://shop.example/") && !mail.text.contains("120"), "{}", mail.text);
            let mut plain = tests_view(locale);
            plain.campaign = Campaign::WinBack;
            let other = renderer.render(&plain).unwrap_or_else(|e| panic!("{e}"));
            assert!(!other.text.contains("/c/") && other.text.contains("https://shop.example/"));
        }
    }

    #[test]
    fn a_new_link_mail_has_the_preference_centre_as_its_button() {
        let renderer = MailRenderer::new().unwrap_or_else(|e| panic!("{e}"));
        for (locale, button) in
            [(Locale::De, "Zu Ihren E-Mail-Einstellungen"), (Locale::En, "Open my email preferences")]
        {
            let mut view = tests_view(locale);
            view.campaign = Campaign::NewLink;
            view.preferences_url = "https://m.example/p/fresh".into();
            view.preferences_button = true;
            let mail = renderer.render(&view).unwrap_or_else(|e| panic!("{e}"));
            assert!(mail.text.contains(&format!("{button}: https://m.example/p/fresh")), "{}", mail.text);
            assert!(mail.html.contains(button), "{}", mail.html);
            assert!(!mail.text.contains("https://shop.example/") && !mail.text.contains("120"), "{}", mail.text);
        }
    }

    fn tests_view(locale: Locale) -> MailView {
        MailView {
            campaign: Campaign::ConsentConfirmation,
            locale,
            shop_name: "Kaffee & Kuchen".into(),
            shop_url: "https://shop.example/".into(),
            colour: "#aa3300".into(),
            logo_url: None,
            imprint: "Kaffee & Kuchen GmbH".into(),
            first_name: Some("Jürgen".into()),
            points_available: 120,
            points_pending: 0,
            code: None,
            code_valid_until: None,
            amount: None,
            amount_date: None,
            unsubscribe_url: "https://m.example/u/tok".into(),
            preferences_url: "https://m.example/p/tok".into(),
            confirm_url: None,
            preferences_button: false,
            objection_notice: false,
        }
    }
}

#[cfg(test)]
mod ledger_mail_tests {
    use super::*;

    #[test]
    fn every_campaign_renders_in_both_languages_and_the_notices_name_amount_and_date() {
        let renderer = MailRenderer::new().unwrap_or_else(|e| panic!("{e}"));
        for campaign in Campaign::ALL {
            for locale in [Locale::De, Locale::En] {
                let view = MailView {
                    campaign,
                    locale,
                    shop_name: "Kaffee".into(),
                    shop_url: "https://shop.example/".into(),
                    colour: "#112233".into(),
                    logo_url: None,
                    imprint: "Kaffee GmbH".into(),
                    first_name: None,
                    points_available: 10,
                    points_pending: 0,
                    code: None,
                    code_valid_until: None,
                    amount: Some(40),
                    amount_date: NaiveDate::from_ymd_opt(2026, 9, 1),
                    unsubscribe_url: "https://m.example/u/t".into(),
                    preferences_url: "https://m.example/p/t".into(),
                    confirm_url: None,
                    preferences_button: campaign == Campaign::NewLink,
                    objection_notice: false,
                };
                let mail = renderer.render(&view).unwrap_or_else(|e| panic!("{campaign} {locale:?}: {e}"));
                assert!(!mail.subject.is_empty() && !mail.text.contains("{{"), "{campaign} {locale:?}");
                if campaign == Campaign::Reconsent {
                    let day = if locale == Locale::De { "bis zum 01.09.2026" } else { "by 1 September 2026" };
                    assert!(mail.text.contains(day), "the deadline: {locale:?}: {}", mail.text);
                }
                if matches!(campaign, Campaign::PointsExpiring | Campaign::RefundNotice) {
                    assert!(mail.text.contains("40"), "{campaign} {locale:?}: {}", mail.text);
                    let day = if locale == Locale::De { "01.09.2026" } else { "1 September 2026" };
                    assert!(mail.text.contains(day), "{campaign} {locale:?}: {}", mail.text);
                }
            }
        }
    }
}
