//! The settings page's words, German and English.

use serde::Serialize;

use stammkunde_domain::config::Locale;
use stammkunde_domain::ledger::EntryKind;
use stammkunde_domain::mail::campaign::{Campaign, Topic};
use stammkunde_domain::mail::contact::Frequency;

use crate::form::FormError;

#[derive(Serialize)]
pub struct Words {
    pub title: &'static str,
    pub saved: &'static str,
    pub stale: &'static str,
    pub unsubscribed: &'static str,
    pub points: &'static str,
    pub available: &'static str,
    pub pending: &'static str,
    pub expiring: &'static str,
    pub tier: &'static str,
    pub codes: &'static str,
    pub valid_until: &'static str,
    pub history: &'static str,
    pub date: &'static str,
    pub what: &'static str,
    pub topics: &'static str,
    pub frequency: &'static str,
    pub pause: &'static str,
    pub pause_until: &'static str,
    pub pause_note: &'static str,
    pub birthday: &'static str,
    pub day: &'static str,
    pub month: &'static str,
    pub year: &'static str,
    pub birthday_note: &'static str,
    pub time_zone: &'static str,
    pub time_zone_label: &'static str,
    pub time_zone_auto: &'static str,
    pub save: &'static str,
    pub more: &'static str,
    pub unsubscribe_all: &'static str,
    pub download: &'static str,
    pub erase: &'static str,
    pub language: &'static str,
}

const DE: Words = Words {
    title: "Ihre Mail-Einstellungen",
    saved: "Gespeichert.",
    stale: "Ihre Einstellungen wurden inzwischen an anderer Stelle geändert. Bitte prüfen Sie sie und speichern Sie noch einmal.",
    unsubscribed: "Sie sind von allen Werbe-Mails abgemeldet. Ihre Auswahl hier gilt erst, wenn Sie sich wieder anmelden und das bestätigen.",
    points: "Punkte",
    available: "Verfügbar",
    pending: "Vorgemerkt (nach Ablauf der Rückgabefrist verfügbar)",
    expiring: "Verfallen demnächst",
    tier: "Stufe",
    codes: "Ihre Gutscheincodes",
    valid_until: "gültig bis",
    history: "Verlauf",
    date: "Datum",
    what: "Was",
    topics: "Worüber wir Ihnen schreiben dürfen",
    frequency: "Wie oft",
    pause: "Pause",
    pause_until: "Keine Werbe-Mails bis einschließlich",
    pause_note: "Leer lassen für keine Pause. Höchstens ein Jahr.",
    birthday: "Geburtstag",
    day: "Tag",
    month: "Monat",
    year: "Jahr (freiwillig)",
    birthday_note: "Zum Geburtstag schicken wir Ihnen einen Gutschein. Ein Geburtstag, der weniger als 30 Tage vorher eingetragen oder geändert wird, bekommt in diesem Jahr noch keinen: so bleibt der Gutschein ein Geschenk und kein Trick.",
    time_zone: "Zeitzone",
    time_zone_label: "Unsere Mails kommen zu einer angenehmen Uhrzeit in dieser Zone",
    time_zone_auto: "Automatisch (aus Ihrer Adresse)",
    save: "Speichern",
    more: "Mehr",
    unsubscribe_all: "Von allen Werbe-Mails abmelden",
    download: "Meine Daten herunterladen (JSON)",
    erase: "Alle meine Daten löschen",
    language: "Sprache",
};

const EN: Words = Words {
    title: "Your mail settings",
    saved: "Saved.",
    stale: "Your settings were changed elsewhere in the meantime. Please check them and save again.",
    unsubscribed: "You are unsubscribed from all marketing mail. The choices here apply only once you subscribe again and confirm it.",
    points: "Points",
    available: "Available",
    pending: "Pending (available once the return period ends)",
    expiring: "Expiring soon",
    tier: "Tier",
    codes: "Your coupon codes",
    valid_until: "valid until",
    history: "History",
    date: "Date",
    what: "What",
    topics: "What we may write to you about",
    frequency: "How often",
    pause: "Pause",
    pause_until: "No marketing mail up to and including",
    pause_note: "Leave empty for no pause. At most one year.",
    birthday: "Birthday",
    day: "Day",
    month: "Month",
    year: "Year (optional)",
    birthday_note: "On your birthday we send you a coupon. A birthday entered or changed less than 30 days before it gets none that year: that keeps the coupon a gift, not a trick.",
    time_zone: "Time zone",
    time_zone_label: "Our mails arrive at a civil hour in this zone",
    time_zone_auto: "Automatic (from your address)",
    save: "Save",
    more: "More",
    unsubscribe_all: "Unsubscribe from all marketing mail",
    download: "Download my data (JSON)",
    erase: "Erase all my data",
    language: "Language",
};

pub fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::De => &DE,
        Locale::En => &EN,
    }
}

pub fn topic(topic: Topic, locale: Locale) -> &'static str {
    match (topic, locale) {
        (Topic::Newsletter, Locale::De) => "Newsletter",
        (Topic::Newsletter, Locale::En) => "Newsletter",
        (Topic::Offers, Locale::De) => "Angebote",
        (Topic::Offers, Locale::En) => "Offers",
        (Topic::Birthday, Locale::De) => "Geburtstagsgruß mit Gutschein",
        (Topic::Birthday, Locale::En) => "Birthday greeting with a coupon",
        (Topic::PointsNews, Locale::De) => "Neuigkeiten zu Ihren Punkten",
        (Topic::PointsNews, Locale::En) => "News about your points",
    }
}

/// Where a mailed code came from, beside the code on the page.
pub fn code_source(campaign: Campaign, locale: Locale) -> &'static str {
    match (campaign, locale) {
        (Campaign::Birthday, Locale::De) => "Geburtstagsgeschenk",
        (Campaign::Birthday, Locale::En) => "birthday gift",
        (Campaign::WinBack | Campaign::WinBackReminder, Locale::De) => "Willkommen zurück",
        (Campaign::WinBack | Campaign::WinBackReminder, Locale::En) => "welcome back",
        (_, Locale::De) => "aus einer Mail",
        (_, Locale::En) => "from a mail",
    }
}

pub fn frequency(frequency: Frequency, locale: Locale) -> &'static str {
    match (frequency, locale) {
        (Frequency::AsItComes, Locale::De) => "Wie es kommt",
        (Frequency::AsItComes, Locale::En) => "As it comes",
        (Frequency::Weekly, Locale::De) => "Höchstens einmal pro Woche",
        (Frequency::Weekly, Locale::En) => "At most once a week",
        (Frequency::Monthly, Locale::De) => "Höchstens einmal im Monat",
        (Frequency::Monthly, Locale::En) => "At most once a month",
    }
}

/// What a ledger entry is, as the customer reads it; `None` for entries that move no points.
pub fn entry(kind: EntryKind, locale: Locale) -> &'static str {
    let de = locale == Locale::De;
    match kind {
        EntryKind::Earn => {
            if de {
                "Einkauf"
            } else {
                "Purchase"
            }
        }
        EntryKind::Release => {
            if de {
                "Punkte freigegeben"
            } else {
                "Points released"
            }
        }
        EntryKind::KeepBonus => {
            if de {
                "Bonus fürs Behalten"
            } else {
                "Bonus for keeping your order"
            }
        }
        EntryKind::Reversal => {
            if de {
                "Rückerstattung"
            } else {
                "Refund"
            }
        }
        EntryKind::Review => {
            if de {
                "Bewertung"
            } else {
                "Review"
            }
        }
        EntryKind::ReviewReversal => {
            if de {
                "Bewertung zurückgezogen"
            } else {
                "Review withdrawn"
            }
        }
        EntryKind::Adjustment => {
            if de {
                "Korrektur"
            } else {
                "Correction"
            }
        }
        EntryKind::Redemption => {
            if de {
                "Eingelöst"
            } else {
                "Redeemed"
            }
        }
        _ => {
            if de {
                "Punkte"
            } else {
                "Points"
            }
        }
    }
}

pub fn form_error(error: FormError, locale: Locale) -> &'static str {
    let de = locale == Locale::De;
    match error {
        FormError::Malformed => {
            if de {
                "Das Formular war unvollständig. Bitte laden Sie die Seite neu."
            } else {
                "The form was incomplete. Please reload the page."
            }
        }
        FormError::Frequency => {
            if de {
                "Bitte wählen Sie, wie oft."
            } else {
                "Please choose how often."
            }
        }
        FormError::Pause => {
            if de {
                "Die Pause muss heute oder später enden, höchstens in einem Jahr."
            } else {
                "The pause must end today or later, within a year."
            }
        }
        FormError::Birthday => {
            if de {
                "Bitte geben Sie Tag und Monat als Zahlen an (das Jahr nur zusammen mit beiden)."
            } else {
                "Please give day and month as numbers (the year only with both)."
            }
        }
        FormError::TimeZone => {
            if de {
                "Diese Zeitzone kennen wir nicht."
            } else {
                "We do not know that time zone."
            }
        }
    }
}

/// The "send me a new link" form's words: its own page, the answer (the same whether or not the
/// address is known), the invalid-link page that offers it, and its refusals.
#[derive(Serialize)]
pub struct LinkWords {
    pub title: &'static str,
    pub text: &'static str,
    pub invalid_title: &'static str,
    pub invalid_text: &'static str,
    pub email: &'static str,
    pub send: &'static str,
    pub sent_title: &'static str,
    pub sent_text: &'static str,
    pub bad_email: &'static str,
    pub too_many_title: &'static str,
    pub too_many_text: &'static str,
}

const LINK_DE: LinkWords = LinkWords {
    title: "Neuen Link anfordern",
    text: "Geben Sie die E-Mail-Adresse ein, unter der Sie bei uns Kundin oder Kunde sind. Wir schicken Ihnen einen neuen Link zu Ihren Einstellungen.",
    invalid_title: "Dieser Link gilt nicht mehr",
    invalid_text: "Der Link ist abgelaufen oder unbekannt. Wir schicken Ihnen gern einen neuen.",
    email: "E-Mail-Adresse",
    send: "Neuen Link schicken",
    sent_title: "Schauen Sie in Ihr Postfach",
    sent_text: "Wenn wir diese Adresse kennen, ist ein neuer Link zu Ihren Einstellungen unterwegs. Er gilt 180 Tage.",
    bad_email: "Das ist keine E-Mail-Adresse. Bitte prüfen Sie die Eingabe.",
    too_many_title: "Zu viele Anfragen",
    too_many_text: "Aus Ihrem Netz kamen in der letzten Stunde zu viele Anfragen. Bitte versuchen Sie es in einer Stunde noch einmal.",
};

const LINK_EN: LinkWords = LinkWords {
    title: "Ask for a new link",
    text: "Enter the email address you are our customer with. We will send you a new link to your preferences.",
    invalid_title: "This link no longer works",
    invalid_text: "The link has expired or is unknown. We are glad to send you a new one.",
    email: "Email address",
    send: "Send me a new link",
    sent_title: "Have a look in your inbox",
    sent_text: "If we know this address, a new link to your preferences is on its way. It works for 180 days.",
    bad_email: "That is not an email address. Please check what you entered.",
    too_many_title: "Too many requests",
    too_many_text: "Too many requests came from your network in the last hour. Please try again in an hour.",
};

pub fn link_words(locale: Locale) -> &'static LinkWords {
    match locale {
        Locale::De => &LINK_DE,
        Locale::En => &LINK_EN,
    }
}
