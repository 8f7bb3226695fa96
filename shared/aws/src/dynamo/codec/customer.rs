//! Customer profile items (`sk = C`): `e` email, `fn`/`ln` names, `lc` locale, `co` country,
//! `bd` birthday (`MM-DD` or `YYYY-MM-DD`), `mk` marketing flag, `su` source_updated_at, `lo`
//! last_order_at, `da` deleted_at, `bs` birthday_since (when the stored birthday's month and day
//! were first stored, by the stamp of the profile that stored them; see `customer_writes`), and
//! the index keys `g1`/`g2`/`g3` while not deleted. The balance is not stored: it is the replay
//! of the customer's ledger entries.

use aws_sdk_dynamodb::types::AttributeValue;
use stammkunde_domain::customer::{Birthday, Customer, CustomerProfile, Email};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{Balance, LedgerEntry};

use super::{s, time, Item, Reader};
use crate::dynamo::schema::{birthday_index_value, email_index_value, BY_BIRTHDAY, BY_EMAIL};

pub(crate) const EMAIL: &str = "e";
pub(crate) const FIRST_NAME: &str = "fn";
pub(crate) const LAST_NAME: &str = "ln";
pub(crate) const LOCALE: &str = "lc";
pub(crate) const COUNTRY: &str = "co";
pub(crate) const BIRTHDAY: &str = "bd";
pub(crate) const MARKETING: &str = "mk";
pub(crate) const SOURCE_UPDATED_AT: &str = "su";
pub(crate) const LAST_ORDER_AT: &str = "lo";
pub(crate) const DELETED_AT: &str = "da";
pub(crate) const BIRTHDAY_SINCE: &str = "bs";

/// The attributes a profile sets: only the fields it carries (a `None` keeps what is stored),
/// with the index keys that follow from them.
pub(crate) fn profile_attributes(profile: &CustomerProfile) -> Vec<(&'static str, AttributeValue)> {
    let shop = &profile.shop;
    let mut out = Vec::with_capacity(12);
    if let Some(email) = &profile.email {
        out.push((EMAIL, s(email.as_str())));
        out.push((BY_EMAIL.attribute, s(email_index_value(shop, email.as_str()))));
    }
    let texts = [
        (FIRST_NAME, &profile.first_name),
        (LAST_NAME, &profile.last_name),
        (LOCALE, &profile.locale),
        (COUNTRY, &profile.country),
    ];
    for (name, value) in texts {
        if let Some(value) = value {
            out.push((name, s(value)));
        }
    }
    if let Some(birthday) = &profile.birthday {
        out.extend(birthday_attributes(shop, birthday));
    }
    if let Some(flag) = profile.accepts_email_marketing {
        out.push((MARKETING, AttributeValue::Bool(flag)));
    }
    if let Some(at) = profile.source_updated_at {
        out.push((SOURCE_UPDATED_AT, time(at)));
    }
    out
}

/// The birthday and its `by_birthday` key.
pub(crate) fn birthday_attributes(shop: &ShopId, birthday: &Birthday) -> [(&'static str, AttributeValue); 2] {
    [
        (BIRTHDAY, s(encode_birthday(birthday))),
        (BY_BIRTHDAY.attribute, s(birthday_index_value(shop, &birthday.month_day()))),
    ]
}

fn encode_birthday(birthday: &Birthday) -> String {
    match birthday.year {
        Some(year) => format!("{year:04}-{}", birthday.month_day()),
        None => birthday.month_day(),
    }
}

/// The value is left out on purpose: a birthday is personal data and this message reaches logs.
const NOT_A_BIRTHDAY: &str = "the stored birthday is not a date";

fn decode_birthday(text: &str) -> Result<Birthday, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let number = |t: &str| t.parse::<u16>().map_err(|_| NOT_A_BIRTHDAY.to_owned());
    let (year, month, day) = match parts.as_slice() {
        [m, d] => (None, number(m)?, number(d)?),
        [y, m, d] => (Some(number(y)?), number(m)?, number(d)?),
        _ => return Err(NOT_A_BIRTHDAY.to_owned()),
    };
    let small = |v: u16| u8::try_from(v).map_err(|_| NOT_A_BIRTHDAY.to_owned());
    Birthday::new(small(month)?, small(day)?, year).map_err(|e| e.to_string())
}

/// The month and day (`MM-DD`) of the birthday stored in a profile item, if it has one.
pub(crate) fn stored_month_day(r: &Reader<'_>) -> Result<Option<String>, StoreError> {
    let birthday = r.opt_s(BIRTHDAY)?.map(|t| r.parse(BIRTHDAY, t, decode_birthday)).transpose()?;
    Ok(birthday.map(|b| b.month_day()))
}

/// A customer from their profile item and their ledger entries, whose replay is the balance;
/// `None` if there are neither. Entries without a profile (points credited before any profile
/// arrived) read as an empty profile.
pub(crate) fn decode_customer(
    shop: &ShopId,
    customer: &CustomerId,
    profile: Option<&Item>,
    entries: &[LedgerEntry],
) -> Result<Option<Customer>, StoreError> {
    if profile.is_none() && entries.is_empty() {
        return Ok(None);
    }
    let balance = Balance::replay(entries);
    let empty = Item::new();
    let r = Reader::new(profile.unwrap_or(&empty));
    let text = |name: &str| r.opt_s(name).map(|v| v.map(str::to_owned));
    let birthday = r.opt_s(BIRTHDAY)?.map(|t| r.parse(BIRTHDAY, t, decode_birthday)).transpose()?;
    // Only a stored birthday has a time it was stored since.
    let birthday_since = if birthday.is_some() { r.opt_time(BIRTHDAY_SINCE)? } else { None };
    let profile = CustomerProfile {
        shop: shop.clone(),
        customer_id: customer.clone(),
        email: r.opt_s(EMAIL)?.map(|t| r.parse(EMAIL, t, Email::parse)).transpose()?,
        first_name: text(FIRST_NAME)?,
        last_name: text(LAST_NAME)?,
        locale: text(LOCALE)?,
        country: text(COUNTRY)?,
        birthday,
        accepts_email_marketing: r.opt_bool(MARKETING)?,
        source_updated_at: r.opt_time(SOURCE_UPDATED_AT)?,
    };
    Ok(Some(Customer {
        profile,
        last_order_at: r.opt_time(LAST_ORDER_AT)?,
        balance,
        deleted_at: r.opt_time(DELETED_AT)?,
        birthday_since,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdays_with_and_without_year_round_trip() {
        for birthday in [Birthday::new(2, 29, None), Birthday::new(12, 1, Some(1990))] {
            let birthday = birthday.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(decode_birthday(&encode_birthday(&birthday)), Ok(birthday));
        }
        assert!(decode_birthday("13-01").is_err());
        assert!(decode_birthday("x").is_err());
        assert!(decode_birthday("1-2-3-4").is_err());
    }
}
