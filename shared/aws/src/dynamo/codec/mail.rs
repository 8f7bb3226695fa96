//! Mail items.
//!
//! Send records (`pk = {shop}#C#{customer}`, `sk = M#{campaign}#{YYYY-MM-DD}`): the key is the
//! record's business key, so shop, customer, campaign and date are read back from it. `st` the
//! state's name (what `replace_send` and `delete_send` are conditional on), `ca` when the mail was
//! claimed (handed to the mailer: Claimed, Sent, Review; what the frequency cap filters on), `at`
//! the time of the state (Sent, Review, Failed, Dropped), `cd` the coupon code (Claimed, Sent,
//! Review, if any), `mi` the mailer's message id and `ld` the digest of the mail's
//! preference-centre link token, if any (Sent), `rs` the reason (Failed). A deferred
//! record carries the keys of the sparse `by_deferred` index instead: `g8` (`{shop}#M`) and `g9`
//! (`{due}#{customer}#{campaign}#{date}`), which is also where its due time is kept, so an index
//! entry (KEYS_ONLY) is the whole deferred record. A record flagged for review carries `g7`
//! (`{shop}#V`), its place in the shop's listing of them in `by_shop`. Every write puts the whole
//! item, so a record that moves on drops the index keys of its former state.
//!
//! Mail settings (`sk = MC` in the customer's partition): `oi` double opt-in, `ic` consent
//! imported (claimed, unproven), `rb` the re-permission deadline, `td` topics declined (a list),
//! `ua` unsubscribed, `pu` paused until, `tz` the chosen time zone (IANA name). An item
//! with none of them is a customer who saved the defaults.
//!
//! Suppressions (`pk = {shop}#X`, `sk = {address digest}`): `rs` the reason, `at` when.
//!
//! Soft bounces (`pk = {shop}#X`, `sk = B#{address digest}`): `n` how many, `bm` the SES message
//! ids counted (a string set: what makes a redelivered bounce count once; an address is
//! suppressed after a few, so it stays small), `at` when the latest was counted.
//!
//! Names of enum values (topics, reasons) are their serde names, as the SQLite store writes them.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::contact::{AddressDigest, Frequency};
use stammkunde_domain::mail::link::LinkToken;
use stammkunde_domain::mail::{Campaign, DueSend, MailContact, MailSend, SendState, SendStateKind, Suppression};

use super::{key_item, n, s, strings, time, Item, Reader};
use crate::dynamo::schema::{
    customer_from_pk, deferred_index_value, deferred_order_value, link_key, mail_contact_key, mail_send_from_sk,
    mail_send_key, shop_flagged_sends_index_value, shop_links_index_value, suppression_key, BY_SHOP,
    DEFERRED_INDEX_ATTRIBUTE, DEFERRED_ORDER, PK, SK, TTL_ATTRIBUTE,
};

pub(crate) const STATE: &str = "st";
pub(crate) const CLAIMED_AT: &str = "ca";
pub(crate) const AT: &str = "at";
const CODE: &str = "cd";
const MESSAGE_ID: &str = "mi";
const LINK_DIGEST: &str = "ld";
const REASON: &str = "rs";

pub(crate) const SOFT_BOUNCES: &str = "n";
pub(crate) const BOUNCED_MESSAGES: &str = "bm";

const DOUBLE_OPT_IN_AT: &str = "oi";
const TOPICS_DECLINED: &str = "td";
const UNSUBSCRIBED_AT: &str = "ua";
const PAUSED_UNTIL: &str = "pu";
const TIME_ZONE: &str = "tz";
const FREQUENCY: &str = "fq";
const IMPORTED_CONSENT_AT: &str = "ic";
const RECONSENT_BY: &str = "rb";
/// The contact's revision (`MailContact::revision`): guarded writes condition on it.
pub(crate) const REVISION: &str = "rv";

const LINK_SHOP: &str = "sh";
const LINK_CUSTOMER: &str = "cu";
const LINK_ISSUED_AT: &str = "is";
const LINK_CONFIRMS: &str = "cf";

/// Whole seconds in a fixed-width due time: eleven digits reach the year 5138.
const DUE_SECONDS_MAX: i64 = 99_999_999_999;
/// `{seconds:011}.{nanos:09}`.
const DUE_WIDTH: usize = 21;

/// A due time as the fixed-width text that starts `g9`: sorts like the instant it names and keeps
/// every nanosecond. `None` before 1970 or after 5138, which no text of this width can order.
pub(crate) fn due_text(due: DateTime<Utc>) -> Option<String> {
    let seconds = due.timestamp();
    (0..=DUE_SECONDS_MAX).contains(&seconds).then(|| format!("{seconds:011}.{:09}", due.timestamp_subsec_nanos()))
}

fn parse_due_text(text: &str) -> Option<DateTime<Utc>> {
    let (seconds, nanos) = text.split_once('.')?;
    let digits = |t: &str, width: usize| t.len() == width && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(seconds, 11) || !digits(nanos, 9) {
        return None;
    }
    DateTime::from_timestamp(seconds.parse().ok()?, nanos.parse().ok()?)
}

/// The `g9` bound that takes every record due at or before `now`: a due text is followed by `#`
/// in `g9`, and `$` sorts right after `#`, so `g9 <= bound` is `due <= now` exactly. `None` if
/// nothing can be due yet (before 1970).
pub(crate) fn due_bound(now: DateTime<Utc>) -> Option<String> {
    if now.timestamp() < 0 {
        return None;
    }
    // After 5138 every stored due time is past: `~` sorts after every digit.
    Some(due_text(now).map_or_else(|| "~".to_owned(), |text| format!("{text}$")))
}

fn kind_from(text: &str) -> Option<SendStateKind> {
    use SendStateKind::*;
    [Deferred, Claimed, Sent, Review, Failed, Dropped].into_iter().find(|k| k.as_str() == text)
}

/// The whole send record item, as `create_send` and `replace_send` put it.
pub(crate) fn encode_send(send: &MailSend) -> Result<Item, StoreError> {
    let key = mail_send_key(&send.shop, &send.customer_id, send.campaign, send.date);
    let mut item = key_item(&key);
    item.insert(STATE.into(), s(send.state.kind().as_str()));
    if let Some(claimed_at) = send.state.claimed_at() {
        item.insert(CLAIMED_AT.into(), time(claimed_at));
    }
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_owned(), value);
    };
    // In the due index while a sweep must look at the record again: a deferred mail (whose due
    // time is only here) and a claim until its lease runs out.
    if let Some(due) = send.state.sweep_due() {
        let Some(due) = due_text(due) else {
            return Err(StoreError::Backend {
                message: format!("send record {}: due time {due} is outside 1970..5138", key.label()),
                source: None,
            });
        };
        put(DEFERRED_INDEX_ATTRIBUTE, s(deferred_index_value(&send.shop)));
        put(DEFERRED_ORDER, s(deferred_order_value(&due, &send.customer_id, send.campaign, send.date)));
    }
    match &send.state {
        SendState::Deferred { .. } => {}
        SendState::Claimed { at: _ } => {}
        SendState::Sent { at, claimed_at: _, message_id, code, link_digest } => {
            put(AT, time(*at));
            put(MESSAGE_ID, s(message_id));
            put_code(&mut put, code.as_ref());
            if let Some(digest) = link_digest {
                put(LINK_DIGEST, s(digest));
            }
        }
        SendState::Review { at, claimed_at: _, code } => {
            put(AT, time(*at));
            put_code(&mut put, code.as_ref());
            put(BY_SHOP.attribute, s(shop_flagged_sends_index_value(&send.shop)));
        }
        SendState::Failed { at, reason } => {
            put(AT, time(*at));
            put(REASON, s(reason));
        }
        SendState::Dropped { at } => put(AT, time(*at)),
    }
    Ok(item)
}

fn put_code(put: &mut impl FnMut(&str, AttributeValue), code: Option<&CouponCode>) {
    if let Some(code) = code {
        put(CODE, s(code.as_str()));
    }
}

/// A send record of `shop` from its item.
pub(crate) fn decode_send(shop: &ShopId, item: &Item) -> Result<MailSend, StoreError> {
    let r = Reader::new(item);
    let kind = r.parse(STATE, r.s(STATE)?, |t| kind_from(t).ok_or("not a send state"))?;
    let code = || r.opt_s(CODE)?.map(|t| r.parse(CODE, t, CouponCode::parse)).transpose();
    let state = match kind {
        SendStateKind::Deferred => SendState::Deferred { due: decode_due(shop, item)?.due },
        SendStateKind::Claimed => SendState::Claimed { at: r.time(CLAIMED_AT)? },
        SendStateKind::Sent => SendState::Sent {
            at: r.time(AT)?,
            claimed_at: r.time(CLAIMED_AT)?,
            message_id: r.s(MESSAGE_ID)?.to_owned(),
            code: code()?,
            link_digest: r.opt_s(LINK_DIGEST)?.map(str::to_owned),
        },
        SendStateKind::Review => SendState::Review { at: r.time(AT)?, claimed_at: r.time(CLAIMED_AT)?, code: code()? },
        SendStateKind::Failed => SendState::Failed { at: r.time(AT)?, reason: r.s(REASON)?.to_owned() },
        SendStateKind::Dropped => SendState::Dropped { at: r.time(AT)? },
    };
    let (customer_id, campaign, date) = send_key(shop, &r)?;
    Ok(MailSend { shop: shop.clone(), customer_id, campaign, date, state })
}

/// A record's key and due time from its item or its `by_deferred` entry (both hold its keys and
/// `g9`).
pub(crate) fn decode_due(shop: &ShopId, item: &Item) -> Result<DueSend, StoreError> {
    let r = Reader::new(item);
    let (customer_id, campaign, date) = send_key(shop, &r)?;
    let order = r.s(DEFERRED_ORDER)?;
    let due = order
        .get(..DUE_WIDTH)
        .and_then(parse_due_text)
        .ok_or_else(|| r.corrupt("`g9` does not start with a due time"))?;
    let expected = due_text(due).map(|text| deferred_order_value(&text, &customer_id, campaign, date));
    if expected.as_deref() != Some(order) {
        return Err(r.corrupt("`g9` is not this record's place in the deferred index"));
    }
    if r.opt_s(DEFERRED_INDEX_ATTRIBUTE)? != Some(deferred_index_value(shop).as_str()) {
        return Err(r.corrupt("`g8` is not this shop's deferred index"));
    }
    Ok(DueSend { customer_id, campaign, date, due })
}

/// Customer, campaign and date from a send record's key.
fn send_key(shop: &ShopId, r: &Reader<'_>) -> Result<(CustomerId, Campaign, NaiveDate), StoreError> {
    let customer =
        customer_from_pk(shop, r.s(PK)?).ok_or_else(|| r.corrupt("not a send record of a customer of this shop"))?;
    let (campaign, date) = mail_send_from_sk(r.s(SK)?).ok_or_else(|| r.corrupt("not a send record's sort key"))?;
    Ok((customer, campaign, date))
}

/// An enum value's serde name (a unit variant serialises as a JSON string).
fn serde_name<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        Ok(other) => {
            Err(StoreError::Backend { message: format!("encoding {what}: not a name but {other}"), source: None })
        }
        Err(e) => Err(StoreError::backend(format!("encoding {what}"), e)),
    }
}

fn from_serde_name<T: DeserializeOwned>(r: &Reader<'_>, name: &str, text: &str) -> Result<T, StoreError> {
    r.parse(name, text, |t| serde_json::from_value(serde_json::Value::String(t.to_owned())))
}

pub(crate) fn encode_contact(shop: &ShopId, customer: &CustomerId, contact: &MailContact) -> Result<Item, StoreError> {
    let mut item = key_item(&mail_contact_key(shop, customer));
    let times = [
        (DOUBLE_OPT_IN_AT, contact.double_opt_in_at),
        (IMPORTED_CONSENT_AT, contact.imported_consent_at),
        (RECONSENT_BY, contact.reconsent_by),
        (UNSUBSCRIBED_AT, contact.unsubscribed_at),
        (PAUSED_UNTIL, contact.paused_until),
    ];
    for (name, at) in times {
        if let Some(at) = at {
            item.insert(name.into(), time(at));
        }
    }
    if !contact.topics_declined.is_empty() {
        let topics = contact.topics_declined.iter().map(|t| serde_name("a topic", t)).collect::<Result<Vec<_>, _>>()?;
        item.insert(TOPICS_DECLINED.into(), strings(topics.iter().map(String::as_str)));
    }
    if let Some(zone) = contact.time_zone {
        item.insert(TIME_ZONE.into(), s(serde_name("a time zone", &zone)?));
    }
    if contact.frequency != Frequency::default() {
        item.insert(FREQUENCY.into(), s(contact.frequency.as_str()));
    }
    if contact.revision > 0 {
        item.insert(REVISION.into(), n(i64::try_from(contact.revision).unwrap_or(i64::MAX)));
    }
    Ok(item)
}

pub(crate) fn decode_contact(item: &Item) -> Result<MailContact, StoreError> {
    let r = Reader::new(item);
    Ok(MailContact {
        double_opt_in_at: r.opt_time(DOUBLE_OPT_IN_AT)?,
        imported_consent_at: r.opt_time(IMPORTED_CONSENT_AT)?,
        reconsent_by: r.opt_time(RECONSENT_BY)?,
        topics_declined: r
            .opt_strings(TOPICS_DECLINED)?
            .into_iter()
            .map(|t| from_serde_name(&r, TOPICS_DECLINED, t))
            .collect::<Result<_, _>>()?,
        unsubscribed_at: r.opt_time(UNSUBSCRIBED_AT)?,
        paused_until: r.opt_time(PAUSED_UNTIL)?,
        time_zone: r.opt_s(TIME_ZONE)?.map(|t| from_serde_name(&r, TIME_ZONE, t)).transpose()?,
        frequency: match r.opt_s(FREQUENCY)? {
            Some(raw) => Frequency::parse(raw).ok_or_else(|| r.corrupt("not a mail frequency"))?,
            None => Frequency::default(),
        },
        revision: match r.opt_i64(REVISION)? {
            Some(revision) => u64::try_from(revision).map_err(|_| r.corrupt("a negative revision"))?,
            None => 0,
        },
    })
}

/// A link token's item; its expiry is the TTL attribute, so DynamoDB deletes it some time after.
pub(crate) fn encode_link(digest: &str, link: &LinkToken) -> Item {
    let mut item = key_item(&link_key(digest));
    item.insert(LINK_SHOP.into(), s(link.shop.as_str()));
    // Listed for a shop-wide erasure: the link's key names no shop.
    item.insert(BY_SHOP.attribute.into(), s(shop_links_index_value(&link.shop)));
    item.insert(LINK_CUSTOMER.into(), s(link.customer_id.as_str()));
    item.insert(LINK_ISSUED_AT.into(), time(link.issued_at));
    item.insert(TTL_ATTRIBUTE.into(), time(link.expires_at));
    if let Some(request) = &link.confirms {
        item.insert(LINK_CONFIRMS.into(), s(request));
    }
    item
}

pub(crate) fn decode_link(item: &Item) -> Result<LinkToken, StoreError> {
    let r = Reader::new(item);
    Ok(LinkToken {
        shop: r.parse(LINK_SHOP, r.s(LINK_SHOP)?, ShopId::parse)?,
        customer_id: r.parse(LINK_CUSTOMER, r.s(LINK_CUSTOMER)?, CustomerId::parse)?,
        issued_at: r.time(LINK_ISSUED_AT)?,
        expires_at: r.time(TTL_ATTRIBUTE)?,
        confirms: r.opt_s(LINK_CONFIRMS)?.map(str::to_owned),
    })
}

pub(crate) fn encode_suppression(suppression: &Suppression) -> Result<Item, StoreError> {
    let mut item = key_item(&suppression_key(&suppression.shop, &suppression.address));
    item.insert(REASON.into(), s(serde_name("a suppression reason", &suppression.reason)?));
    item.insert(AT.into(), time(suppression.at));
    Ok(item)
}

pub(crate) fn decode_suppression(
    shop: &ShopId,
    address: &AddressDigest,
    item: &Item,
) -> Result<Suppression, StoreError> {
    let r = Reader::new(item);
    if r.s(SK)? != address.as_str() {
        return Err(r.corrupt("not the suppression of this address"));
    }
    Ok(Suppression {
        shop: shop.clone(),
        address: address.clone(),
        reason: from_serde_name(&r, REASON, r.s(REASON)?)?,
        at: r.time(AT)?,
    })
}

/// The count of a soft-bounce item, or of the attributes an update of it returned.
pub(crate) fn decode_soft_bounces(item: &Item) -> Result<u32, StoreError> {
    let r = Reader::new(item);
    let count = r.i64(SOFT_BOUNCES)?;
    u32::try_from(count).map_err(|_| r.corrupt(format!("attribute `{SOFT_BOUNCES}` is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stammkunde_domain::mail::SuppressionReason;

    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, nanos).unwrap_or_else(|| panic!("valid timestamp"))
    }

    fn send(state: SendState) -> MailSend {
        MailSend {
            shop: shop(),
            customer_id: CustomerId::parse("gid://shopify/Customer/1").unwrap_or_else(|e| panic!("{e}")),
            campaign: Campaign::WinBackReminder,
            date: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_else(|| panic!("valid date")),
            state,
        }
    }

    #[test]
    fn due_texts_have_one_width_sort_like_time_and_round_trip() {
        let times = [at(0, 0), at(0, 1), at(9, 999_999_999), at(10, 0), at(1_772_442_000, 500), at(DUE_SECONDS_MAX, 0)];
        let texts: Vec<String> = times.iter().map(|t| due_text(*t).unwrap_or_default()).collect();
        assert!(texts.iter().all(|t| t.len() == DUE_WIDTH), "{texts:?}");
        assert!(texts.windows(2).all(|w| w[0] < w[1]), "{texts:?}");
        for (t, text) in times.iter().zip(&texts) {
            assert_eq!(parse_due_text(text), Some(*t));
        }
        assert_eq!(due_text(at(-1, 0)), None);
        assert_eq!(due_text(at(DUE_SECONDS_MAX + 1, 0)), None);
        for bad in ["", "1.5", "0000000000a.000000000", "00000000001.00000000", "00000000001000000000"] {
            assert_eq!(parse_due_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_due_bound_takes_exactly_the_records_due_by_now() {
        let now = at(1_772_442_000, 0);
        let bound = due_bound(now).unwrap_or_default();
        let order =
            |due: DateTime<Utc>| due_text(due).map(|d| format!("{d}#+#birthday#2026-06-30")).unwrap_or_default();
        assert!(order(now) <= bound);
        assert!(order(at(1_772_441_999, 999_999_999)) <= bound);
        assert!(order(at(1_772_442_000, 1)) > bound);
        assert_eq!(due_bound(at(-1, 0)), None);
        assert!(order(at(DUE_SECONDS_MAX, 0)) <= due_bound(at(DUE_SECONDS_MAX + 5, 0)).unwrap_or_default());
    }

    #[test]
    fn every_send_state_round_trips_and_only_a_deferred_one_is_indexed() {
        let code = CouponCode::parse("BDAY-1234").ok();
        let states = [
            SendState::Deferred { due: at(1_772_442_000, 123) },
            SendState::Claimed { at: at(1, 0) },
            SendState::Sent {
                at: at(2, 0),
                claimed_at: at(1, 0),
                message_id: "m-1".into(),
                code: code.clone(),
                link_digest: Some("ab".repeat(32)),
            },
            SendState::Sent {
                at: at(2, 0),
                claimed_at: at(1, 0),
                message_id: String::new(),
                code: None,
                link_digest: None,
            },
            SendState::Review { at: at(3, 0), claimed_at: at(1, 0), code: code.clone() },
            SendState::Review { at: at(3, 0), claimed_at: at(1, 0), code: None },
            SendState::Failed { at: at(4, 0), reason: "rejected".into() },
            SendState::Dropped { at: at(5, 0) },
        ];
        for state in states {
            let record = send(state);
            let item = encode_send(&record).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(decode_send(&shop(), &item).ok(), Some(record.clone()), "{item:?}");
            let due = record.state.sweep_due();
            assert_eq!(item.contains_key(DEFERRED_INDEX_ATTRIBUTE), due.is_some());
            assert_eq!(item.contains_key(DEFERRED_ORDER), due.is_some());
            assert_eq!(item.contains_key(CLAIMED_AT), record.state.claimed_at().is_some());
            if let Some(due) = due {
                // The index entry (keys only) is the record's key and due time.
                let entry: Item = item
                    .iter()
                    .filter(|(name, _)| [PK, SK, DEFERRED_INDEX_ATTRIBUTE, DEFERRED_ORDER].contains(&name.as_str()))
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect();
                let listed = DueSend {
                    customer_id: record.customer_id.clone(),
                    campaign: record.campaign,
                    date: record.date,
                    due,
                };
                assert_eq!(decode_due(&shop(), &entry).ok(), Some(listed));
            }
        }
        let ancient = send(SendState::Deferred { due: at(-5, 0) });
        assert!(matches!(encode_send(&ancient), Err(StoreError::Backend { .. })));
    }

    #[test]
    fn mail_settings_and_suppressions_round_trip() {
        let customer = CustomerId::parse("1").unwrap_or_else(|e| panic!("{e}"));
        let full = MailContact {
            double_opt_in_at: Some(at(1, 0)),
            imported_consent_at: Some(at(0, 30)),
            reconsent_by: Some(at(30, 0)),
            topics_declined: serde_json::from_str(r#"["offers","points_news"]"#).unwrap_or_default(),
            unsubscribed_at: Some(at(2, 5)),
            paused_until: Some(at(3, 0)),
            time_zone: serde_json::from_str(r#""America/New_York""#).ok(),
            frequency: Frequency::Monthly,
            revision: 3,
        };
        assert!(full.time_zone.is_some() && full.topics_declined.len() == 2);
        for contact in [full, MailContact::default()] {
            let item = encode_contact(&shop(), &customer, &contact).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(decode_contact(&item).ok(), Some(contact));
        }
        let item = encode_contact(&shop(), &customer, &MailContact::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(item.len(), 2, "the defaults are the bare key");

        let email = stammkunde_domain::customer::Email::parse("jon@example.com").unwrap_or_else(|e| panic!("{e}"));
        let address = AddressDigest::of(&shop(), &email);
        let suppression = Suppression {
            shop: shop(),
            address: address.clone(),
            reason: SuppressionReason::SoftBounces,
            at: at(7, 0),
        };
        let item = encode_suppression(&suppression).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(item.get(REASON), Some(&s("soft_bounces")));
        assert_eq!(decode_suppression(&shop(), &address, &item).ok(), Some(suppression));
    }

    #[test]
    fn a_soft_bounce_count_is_read_from_the_item_or_the_attributes_an_update_returned() {
        let updated: Item = [(SOFT_BOUNCES.to_owned(), AttributeValue::N("2".into()))].into();
        assert_eq!(decode_soft_bounces(&updated).ok(), Some(2));
        for bad in [AttributeValue::N("-1".into()), AttributeValue::N("1.5".into()), s("2")] {
            let item: Item = [(SOFT_BOUNCES.to_owned(), bad)].into();
            assert!(matches!(decode_soft_bounces(&item), Err(StoreError::Corrupt { .. })), "{item:?}");
        }
        assert!(matches!(decode_soft_bounces(&Item::new()), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn a_deferred_record_under_another_key_is_corrupt() {
        let record = send(SendState::Deferred { due: at(100, 0) });
        let mut item = encode_send(&record).unwrap_or_else(|e| panic!("{e}"));
        item.insert(SK.into(), s("M#birthday#2026-06-30"));
        assert!(matches!(decode_send(&shop(), &item), Err(StoreError::Corrupt { .. })));
    }
}
