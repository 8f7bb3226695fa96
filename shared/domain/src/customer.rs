//! A shop's customer as we keep them: the profile the platform tells us, plus what we derive
//! (last order, balances).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::ids::{CustomerId, ShopId};
use crate::ledger::Balance;

/// An email address, trimmed and lower-cased so that one person has one index key.
/// Deliberately loose (RFC 5322 is wider than any check): one `@`, something on each side, no
/// spaces or control characters, at most 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let invalid = |reason: &str| InputError::Invalid { field: "email", reason: reason.into() };
        let email = raw.trim().to_lowercase();
        if email.len() > 254 {
            return Err(invalid("is longer than 254 bytes"));
        }
        let (local, domain) = email.split_once('@').ok_or_else(|| invalid("has no @"))?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(invalid("is not of the form local@domain"));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("contains spaces or control characters"));
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Email::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A birthday as a civil date; the year is optional because many customers do not give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Birthday {
    pub month: u8,
    pub day: u8,
    pub year: Option<u16>,
}

impl Birthday {
    pub fn new(month: u8, day: u8, year: Option<u16>) -> Result<Self, InputError> {
        // 2000 is a leap year, so 29 February is a valid birthday.
        let check_year = i32::from(year.unwrap_or(2000));
        if chrono::NaiveDate::from_ymd_opt(check_year, u32::from(month), u32::from(day)).is_none() {
            return Err(InputError::Invalid { field: "birthday", reason: "is not a calendar date".into() });
        }
        Ok(Birthday { month, day, year })
    }

    /// `MM-DD`, the key of the birthday index.
    pub fn month_day(&self) -> String {
        format!("{:02}-{:02}", self.month, self.day)
    }

    /// A birthday as people and shop exports write it: `1992-02-29` or `--02-29` (ISO 8601, the
    /// second without a year), `02-29`, or the German `29.02.1992` and `29.02.`. Years from 1900
    /// to 2100; anything else is refused rather than guessed (is `03-04` March or April?).
    pub fn parse_text(raw: &str) -> Result<Self, InputError> {
        let invalid = || InputError::Invalid {
            field: "birthday",
            reason: "is not a date as YYYY-MM-DD, --MM-DD, MM-DD, DD.MM.YYYY or DD.MM.".into(),
        };
        let number = |part: &str, width: usize| {
            (part.len() == width && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<u16>().ok())
                .flatten()
        };
        let text = raw.trim();
        let (year, month, day) = match text.split('.').collect::<Vec<_>>().as_slice() {
            [day, month, ""] => (None, number(month, 2), number(day, 2)),
            [day, month, year] => (Some(number(year, 4).ok_or_else(invalid)?), number(month, 2), number(day, 2)),
            _ => match text.trim_start_matches("--").split('-').collect::<Vec<_>>().as_slice() {
                [year, month, day] if !text.starts_with("--") => {
                    (Some(number(year, 4).ok_or_else(invalid)?), number(month, 2), number(day, 2))
                }
                [month, day] => (None, number(month, 2), number(day, 2)),
                _ => return Err(invalid()),
            },
        };
        let (Some(month), Some(day)) = (month, day) else { return Err(invalid()) };
        if year.is_some_and(|y| !(1900..=2100).contains(&y)) {
            return Err(InputError::Invalid {
                field: "birthday",
                reason: "the year is not between 1900 and 2100".into(),
            });
        }
        let small = |v: u16| u8::try_from(v).map_err(|_| invalid());
        Birthday::new(small(month)?, small(day)?, year)
    }

    /// `YYYY-MM-DD`, or `--MM-DD` without a year (ISO 8601): how the API writes it.
    pub fn to_text(&self) -> String {
        match self.year {
            Some(year) => format!("{year:04}-{}", self.month_day()),
            None => format!("--{}", self.month_day()),
        }
    }
}

/// What a platform tells us about a customer. Optional fields that arrive empty are left as they
/// were: a partial payload (e.g. an order's customer snippet) never erases what we know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerProfile {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// BCP 47 language, e.g. `de` or `en-US`, as the platform reports it.
    pub locale: Option<String>,
    /// ISO 3166-1 alpha-2 country of the default address; later decides the time zone.
    pub country: Option<String>,
    pub birthday: Option<Birthday>,
    /// The marketing flag as the platform reports it (Shopify `email_marketing_consent`, Shopware
    /// newsletter). Not proof of consent: provable double opt-in is kept separately.
    pub accepts_email_marketing: Option<bool>,
    /// The platform's own `updated_at` for this customer. Guards against stale updates: a profile
    /// with an older or equal stamp changes nothing, a newer one replaces the stored fields it
    /// carries (`None` fields keep what is stored). `None` (a snapshot taken from an order) only
    /// creates a customer we do not know yet and never changes a stored one.
    pub source_updated_at: Option<DateTime<Utc>>,
}

/// A customer as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub profile: CustomerProfile,
    pub last_order_at: Option<DateTime<Utc>>,
    pub balance: Balance,
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the stored birthday (month and day) was first stored, by the profile's
    /// `source_updated_at`: the birthday mail's anti-fraud guard. `None` without a birthday, or
    /// for a birthday from a snapshot without a stamp.
    #[serde(default)]
    pub birthday_since: Option<DateTime<Utc>>,
}

/// Longest free-text profile field we keep (names, locale). Longer values are cut, not refused:
/// a long name is no reason to lose an order.
pub const TEXT_FIELD_LENGTH_MAX: usize = 200;

/// Trims and bounds a free-text field; empty becomes `None`.
pub fn clean_text(raw: Option<&str>) -> Option<String> {
    let trimmed = raw?.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(trimmed.chars().filter(|c| !c.is_control()).take(TEXT_FIELD_LENGTH_MAX).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_loosely_checked() {
        assert_eq!(Email::parse("  Jon@Example.COM ").map(|e| e.as_str().to_owned()), Ok("jon@example.com".into()));
        assert!(Email::parse("no-at-sign").is_err());
        assert!(Email::parse("a@b@c").is_err());
        assert!(Email::parse("a b@c.de").is_err());
    }

    #[test]
    fn a_birthday_is_read_as_people_and_shop_exports_write_it_and_written_back_as_iso() {
        let read = |raw: &str| Birthday::parse_text(raw).map(|b| b.to_text()).map_err(|e| e.to_string());
        assert_eq!(read("1992-02-29"), Ok("1992-02-29".into()));
        assert_eq!(read("--02-29"), Ok("--02-29".into()));
        assert_eq!(read(" 02-29 "), Ok("--02-29".into()));
        assert_eq!(read("29.02.1992"), Ok("1992-02-29".into()));
        assert_eq!(read("29.02."), Ok("--02-29".into()));
        for wrong in ["", "1993-02-29", "2-9", "02/29", "29.2.1992", "1850-01-01", "01-02-03", "--1992-02-29", "31.04."]
        {
            assert!(read(wrong).is_err(), "{wrong:?} read as {:?}", read(wrong));
        }
    }

    #[test]
    fn a_leap_day_birthday_is_valid_and_30_february_is_not() {
        assert!(Birthday::new(2, 29, None).is_ok());
        assert!(Birthday::new(2, 29, Some(2001)).is_err());
        assert!(Birthday::new(2, 30, None).is_err());
        assert_eq!(Birthday::new(3, 7, None).map(|b| b.month_day()), Ok("03-07".into()));
    }

    #[test]
    fn free_text_is_trimmed_bounded_and_stripped_of_control_characters() {
        assert_eq!(clean_text(Some("  Jürgen\u{7} ")), Some("Jürgen".into()));
        assert_eq!(clean_text(Some("   ")), None);
        assert_eq!(clean_text(Some(&"x".repeat(500))).map(|s| s.len()), Some(TEXT_FIELD_LENGTH_MAX));
    }
}
