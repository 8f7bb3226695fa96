//! Ledger entry items (`sk = L#{position:010}`): `bk` business key, `k` kind, `a` / `p` the
//! available and pending deltas (left out when 0), `r` reason, `tx` customer text, `o` order, `d`
//! detail, `ct` created_at. Shop, customer and position are in the item's key and come from the
//! caller's context (and the sort key) when decoding.
//!
//! The detail is one compact JSON string with one- or two-letter names, tuples for lines and
//! timestamps as epoch text (`{"e":{"c":"EUR","u":"1","t":true,"l":[["1",1,100,1,null]]}}` for an
//! earn): it is written once, read with the ledger, and as a DynamoDB map it would pay for a
//! field name per line on every write. An entry without detail has no `d` at all.
//!
//! The records are externally tagged on purpose: serde's internally tagged and untagged enums
//! buffer their input, which cannot read numbers back under serde_json's `arbitrary_precision`
//! (enabled in this workspace).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, LineId, OrderId, ProductId, RefundId, ReviewId, RewardId, ShopId, TierId};
use stammkunde_domain::ledger::{
    Bucket, BusinessKey, EarnBasis, EntryDetail, EntryKind, LedgerEntry, LineCredit, LineReversal, ReversalCause,
    ReversalDetail,
};
use stammkunde_domain::money::Currency;

use super::{key_item, n, s, time, Item, Reader};
use crate::dynamo::schema::{ledger_key, position_from_sk, SK};

const KEY: &str = "bk";
const KIND: &str = "k";
const AVAILABLE: &str = "a";
const PENDING: &str = "p";
const REASON: &str = "r";
const CUSTOMER_TEXT: &str = "tx";
const ORDER: &str = "o";
const DETAIL: &str = "d";
const CREATED_AT: &str = "ct";

pub(crate) fn encode_entry(entry: &LedgerEntry) -> Result<Item, StoreError> {
    let mut item = key_item(&ledger_key(&entry.shop, &entry.customer_id, entry.position));
    item.insert(KEY.into(), s(entry.key.as_str()));
    item.insert(KIND.into(), s(entry.kind.as_str()));
    for (name, delta) in [(AVAILABLE, entry.available), (PENDING, entry.pending)] {
        if delta != 0 {
            item.insert(name.into(), n(delta));
        }
    }
    item.insert(REASON.into(), s(&entry.reason));
    if let Some(text) = &entry.customer_text {
        item.insert(CUSTOMER_TEXT.into(), s(text));
    }
    if let Some(order) = &entry.order_id {
        item.insert(ORDER.into(), s(order.as_str()));
    }
    if let Some(record) = DetailRecord::of(&entry.detail) {
        let text = serde_json::to_string(&record).map_err(|e| StoreError::backend("encoding ledger detail", e))?;
        item.insert(DETAIL.into(), s(text));
    }
    item.insert(CREATED_AT.into(), time(entry.created_at));
    Ok(item)
}

pub(crate) fn decode_entry(shop: &ShopId, customer: &CustomerId, item: &Item) -> Result<LedgerEntry, StoreError> {
    let r = Reader::new(item);
    let position = position_from_sk(r.s(SK)?).ok_or_else(|| r.corrupt("not a ledger entry"))?;
    let detail = match r.opt_s(DETAIL)? {
        None => EntryDetail::None,
        Some(text) => r.parse(DETAIL, text, |t| serde_json::from_str::<DetailRecord>(t))?.into_detail(),
    };
    Ok(LedgerEntry {
        shop: shop.clone(),
        customer_id: customer.clone(),
        position,
        key: r.parse(KEY, r.s(KEY)?, BusinessKey::parse)?,
        kind: r.parse(KIND, r.s(KIND)?, kind_from)?,
        available: r.opt_i64(AVAILABLE)?.unwrap_or(0),
        pending: r.opt_i64(PENDING)?.unwrap_or(0),
        reason: r.s(REASON)?.to_owned(),
        customer_text: r.opt_s(CUSTOMER_TEXT)?.map(str::to_owned),
        order_id: r.opt_s(ORDER)?.map(|t| r.parse(ORDER, t, OrderId::parse)).transpose()?,
        detail,
        created_at: r.time(CREATED_AT)?,
    })
}

/// The kind's own text (`EntryKind::as_str`, which is also its serde form) read back.
fn kind_from(text: &str) -> Result<EntryKind, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("unknown entry kind `{text}`"))
}

/// `EntryDetail` with short names. Every variant maps one to one; `EntryDetail::None` is no
/// record at all.
#[derive(Serialize, Deserialize)]
enum DetailRecord {
    #[serde(rename = "e")]
    Earn(BasisRecord),
    #[serde(rename = "w")]
    Window {
        #[serde(with = "epoch")]
        f: DateTime<Utc>,
    },
    #[serde(rename = "rl")]
    Release { of: BusinessKey },
    #[serde(rename = "v")]
    Reversal(ReversalRecord),
    #[serde(rename = "rv")]
    Review { p: ProductId, r: ReviewId },
    #[serde(rename = "rd")]
    Redemption {
        w: RewardId,
        c: CouponCode,
        #[serde(with = "epoch")]
        x: DateTime<Utc>,
    },
    #[serde(rename = "c")]
    Code { c: CouponCode },
    #[serde(rename = "x")]
    Expiry { l: BusinessKey },
    #[serde(rename = "n")]
    ExpiryNotice {
        p: i64,
        #[serde(with = "epoch")]
        x: DateTime<Utc>,
    },
    #[serde(rename = "tr")]
    Tier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        f: Option<TierId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        t: Option<TierId>,
    },
}

fn one() -> Decimal {
    Decimal::ONE
}

fn is_one(d: &Decimal) -> bool {
    *d == Decimal::ONE
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// `EarnBasis`: lines as `[line, quantity, amount, points, product]`.
#[derive(Serialize, Deserialize)]
struct BasisRecord {
    c: Currency,
    u: Decimal,
    t: bool,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    m: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tr: Option<TierId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ot: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "epoch_opt")]
    pa: Option<DateTime<Utc>>,
    l: Vec<(LineId, u32, i64, i64, Option<String>)>,
}

/// `ReversalDetail`: lines as `[line, quantity, amount, points]`.
#[derive(Serialize, Deserialize)]
struct ReversalRecord {
    c: CauseRecord,
    f: BucketRecord,
    l: Vec<(LineId, u32, i64, i64)>,
    #[serde(default, skip_serializing_if = "is_zero")]
    s: i64,
}

#[derive(Serialize, Deserialize)]
enum CauseRecord {
    #[serde(rename = "r")]
    Refund {
        i: RefundId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        a: Option<i64>,
    },
    #[serde(rename = "c")]
    Cancellation,
    #[serde(rename = "f")]
    FullRefund,
}

#[derive(Serialize, Deserialize)]
enum BucketRecord {
    #[serde(rename = "a")]
    Available,
    #[serde(rename = "p")]
    Pending,
}

impl DetailRecord {
    fn of(detail: &EntryDetail) -> Option<DetailRecord> {
        Some(match detail.clone() {
            EntryDetail::None => return None,
            EntryDetail::Earn(basis) => DetailRecord::Earn(BasisRecord {
                c: basis.currency,
                u: basis.points_per_unit,
                t: basis.tax_included,
                m: basis.multiplier,
                tr: basis.tier,
                ot: basis.order_total_minor,
                pa: basis.paid_at,
                l: basis
                    .lines
                    .into_iter()
                    .map(|l| (l.line_id, l.quantity, l.amount_minor, l.points, l.product_id))
                    .collect(),
            }),
            EntryDetail::Window { fulfilled_at } => DetailRecord::Window { f: fulfilled_at },
            EntryDetail::Release { of } => DetailRecord::Release { of },
            EntryDetail::Reversal(reversal) => DetailRecord::Reversal(ReversalRecord {
                c: match reversal.cause {
                    ReversalCause::Refund { refund_id, amount_minor } => {
                        CauseRecord::Refund { i: refund_id, a: amount_minor }
                    }
                    ReversalCause::Cancellation => CauseRecord::Cancellation,
                    ReversalCause::FullRefund => CauseRecord::FullRefund,
                },
                f: match reversal.from {
                    Bucket::Available => BucketRecord::Available,
                    Bucket::Pending => BucketRecord::Pending,
                },
                l: reversal.lines.into_iter().map(|l| (l.line_id, l.quantity, l.amount_minor, l.points)).collect(),
                s: reversal.shortfall,
            }),
            EntryDetail::Review { product_id, review_id } => DetailRecord::Review { p: product_id, r: review_id },
            EntryDetail::Redemption { reward, code, expires_at } => {
                DetailRecord::Redemption { w: reward, c: code, x: expires_at }
            }
            EntryDetail::Code { code } => DetailRecord::Code { c: code },
            EntryDetail::Expiry { lot } => DetailRecord::Expiry { l: lot },
            EntryDetail::ExpiryNotice { points, expires_at } => DetailRecord::ExpiryNotice { p: points, x: expires_at },
            EntryDetail::Tier { from, to } => DetailRecord::Tier { f: from, t: to },
        })
    }

    fn into_detail(self) -> EntryDetail {
        match self {
            DetailRecord::Earn(b) => EntryDetail::Earn(EarnBasis {
                currency: b.c,
                points_per_unit: b.u,
                tax_included: b.t,
                multiplier: b.m,
                tier: b.tr,
                order_total_minor: b.ot,
                paid_at: b.pa,
                lines: b
                    .l
                    .into_iter()
                    .map(|(line_id, quantity, amount_minor, points, product_id)| LineCredit {
                        line_id,
                        product_id,
                        quantity,
                        amount_minor,
                        points,
                    })
                    .collect(),
            }),
            DetailRecord::Window { f } => EntryDetail::Window { fulfilled_at: f },
            DetailRecord::Release { of } => EntryDetail::Release { of },
            DetailRecord::Reversal(r) => EntryDetail::Reversal(ReversalDetail {
                cause: match r.c {
                    CauseRecord::Refund { i, a } => ReversalCause::Refund { refund_id: i, amount_minor: a },
                    CauseRecord::Cancellation => ReversalCause::Cancellation,
                    CauseRecord::FullRefund => ReversalCause::FullRefund,
                },
                from: match r.f {
                    BucketRecord::Available => Bucket::Available,
                    BucketRecord::Pending => Bucket::Pending,
                },
                lines: r
                    .l
                    .into_iter()
                    .map(|(line_id, quantity, amount_minor, points)| LineReversal {
                        line_id,
                        quantity,
                        amount_minor,
                        points,
                    })
                    .collect(),
                shortfall: r.s,
            }),
            DetailRecord::Review { p, r } => EntryDetail::Review { product_id: p, review_id: r },
            DetailRecord::Redemption { w, c, x } => EntryDetail::Redemption { reward: w, code: c, expires_at: x },
            DetailRecord::Code { c } => EntryDetail::Code { code: c },
            DetailRecord::Expiry { l } => EntryDetail::Expiry { lot: l },
            DetailRecord::ExpiryNotice { p, x } => EntryDetail::ExpiryNotice { points: p, expires_at: x },
            DetailRecord::Tier { f, t } => EntryDetail::Tier { from: f, to: t },
        }
    }
}

/// A timestamp as the codec's exact epoch text (`"1772442000.000000005"`), shorter than RFC 3339.
mod epoch {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::dynamo::codec::{decode_time, encode_time};

    pub(super) fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode_time(*at))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode_time(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a timestamp")))
    }
}

mod epoch_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::dynamo::codec::{decode_time, encode_time};

    pub(super) fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_str(&encode_time(*at)),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => decode_time(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a timestamp"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds() -> Vec<EntryKind> {
        // A match, so a kind added to the domain fails to compile here until it is listed.
        let listed = |kind: EntryKind| match kind {
            EntryKind::Earn
            | EntryKind::Window
            | EntryKind::Release
            | EntryKind::KeepBonus
            | EntryKind::Reversal
            | EntryKind::Review
            | EntryKind::ReviewReversal
            | EntryKind::Adjustment
            | EntryKind::Redemption
            | EntryKind::CodeUsed
            | EntryKind::CodeExpired
            | EntryKind::Expiry
            | EntryKind::ExpiryNotice
            | EntryKind::TierChange => kind,
        };
        [
            EntryKind::Earn,
            EntryKind::Window,
            EntryKind::Release,
            EntryKind::KeepBonus,
            EntryKind::Reversal,
            EntryKind::Review,
            EntryKind::ReviewReversal,
            EntryKind::Adjustment,
            EntryKind::Redemption,
            EntryKind::CodeUsed,
            EntryKind::CodeExpired,
            EntryKind::Expiry,
            EntryKind::ExpiryNotice,
            EntryKind::TierChange,
        ]
        .into_iter()
        .map(listed)
        .collect()
    }

    #[test]
    fn every_kind_reads_back_from_its_text() {
        for kind in kinds() {
            assert_eq!(kind_from(kind.as_str()), Ok(kind));
        }
        assert!(kind_from("bogus").is_err());
    }

    #[test]
    fn an_earn_basis_is_compact_and_round_trips_with_nanoseconds() {
        let at = DateTime::from_timestamp(1_772_442_000, 5).unwrap_or_default();
        let basis = EarnBasis {
            currency: Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
            points_per_unit: Decimal::ONE,
            tax_included: true,
            multiplier: Decimal::ONE,
            tier: None,
            order_total_minor: None,
            paid_at: Some(at),
            lines: vec![LineCredit {
                line_id: LineId::parse("1").unwrap_or_else(|e| panic!("{e}")),
                product_id: None,
                quantity: 1,
                amount_minor: 100,
                points: 1,
            }],
        };
        let detail = EntryDetail::Earn(basis);
        let text = serde_json::to_string(&DetailRecord::of(&detail)).unwrap_or_default();
        assert_eq!(text, r#"{"e":{"c":"EUR","u":"1","t":true,"pa":"1772442000.000000005","l":[["1",1,100,1,null]]}}"#);
        let back: DetailRecord = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.into_detail(), detail);
    }
}
