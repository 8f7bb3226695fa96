//! Ledger entry items (`sk = L#{business key}`): `k` kind, `b` bucket (`a`/`p`), `pt` points,
//! `r` reason, `o` order, `bs` basis, `ct` created_at. Shop, customer and key are in the item's
//! key and come from the caller's context when decoding.
//!
//! The basis is one compact JSON string (`{"c":"EUR","u":"1","t":true,"l":[[line,qty,amount,
//! points]]}`): it is written once, read rarely, and would cost a field name per line as a map.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, LineId, OrderId, ShopId};
use stammkunde_domain::ledger::{Bucket, BusinessKey, EarnBasis, EntryKind, LedgerEntry, LineCredit};
use stammkunde_domain::money::Currency;

use super::{key_item, n, s, time, Item, Reader};
use crate::dynamo::schema::{ledger_key, SK, SK_LEDGER_PREFIX};

const KIND: &str = "k";
const BUCKET: &str = "b";
const POINTS: &str = "pt";
const REASON: &str = "r";
const ORDER: &str = "o";
const BASIS: &str = "bs";
const CREATED_AT: &str = "ct";

#[derive(Serialize, Deserialize)]
struct BasisRecord {
    c: Currency,
    u: Decimal,
    t: bool,
    l: Vec<(LineId, u32, i64, i64)>,
}

pub(crate) fn encode_entry(entry: &LedgerEntry) -> Result<Item, StoreError> {
    let mut item = key_item(&ledger_key(&entry.shop, &entry.customer_id, &entry.key));
    item.insert(KIND.into(), s(kind_text(entry.kind)));
    item.insert(BUCKET.into(), s(bucket_text(entry.bucket)));
    item.insert(POINTS.into(), n(entry.points));
    item.insert(REASON.into(), s(&entry.reason));
    if let Some(order) = &entry.order_id {
        item.insert(ORDER.into(), s(order.as_str()));
    }
    if let Some(basis) = &entry.basis {
        let record = BasisRecord {
            c: basis.currency,
            u: basis.points_per_unit,
            t: basis.tax_included,
            l: basis.lines.iter().map(|l| (l.line_id.clone(), l.quantity, l.amount_minor, l.points)).collect(),
        };
        let text = serde_json::to_string(&record).map_err(|e| StoreError::backend("encoding ledger basis", e))?;
        item.insert(BASIS.into(), s(text));
    }
    item.insert(CREATED_AT.into(), time(entry.created_at));
    Ok(item)
}

pub(crate) fn decode_entry(shop: &ShopId, customer: &CustomerId, item: &Item) -> Result<LedgerEntry, StoreError> {
    let r = Reader::new(item);
    let sk = r.s(SK)?;
    let key = sk.strip_prefix(SK_LEDGER_PREFIX).ok_or_else(|| r.corrupt("not a ledger entry"))?;
    // `BusinessKey` has no public constructor from text (keys are made by named constructors), so
    // a stored key is read back through its serde form.
    let key: BusinessKey = r.parse(SK, key, |k| serde_json::from_value(serde_json::Value::String(k.to_owned())))?;
    let basis = match r.opt_s(BASIS)? {
        None => None,
        Some(text) => {
            let record: BasisRecord = r.parse(BASIS, text, |t| serde_json::from_str(t))?;
            Some(EarnBasis {
                currency: record.c,
                points_per_unit: record.u,
                tax_included: record.t,
                lines: record
                    .l
                    .into_iter()
                    .map(|(line_id, quantity, amount_minor, points)| LineCredit {
                        line_id,
                        quantity,
                        amount_minor,
                        points,
                    })
                    .collect(),
            })
        }
    };
    Ok(LedgerEntry {
        shop: shop.clone(),
        customer_id: customer.clone(),
        key,
        kind: r.parse(KIND, r.s(KIND)?, kind_from)?,
        bucket: r.parse(BUCKET, r.s(BUCKET)?, bucket_from)?,
        points: r.i64(POINTS)?,
        reason: r.s(REASON)?.to_owned(),
        order_id: r.opt_s(ORDER)?.map(|t| r.parse(ORDER, t, OrderId::parse)).transpose()?,
        basis,
        created_at: r.time(CREATED_AT)?,
    })
}

fn kind_text(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Earn => "earn",
    }
}

fn kind_from(text: &str) -> Result<EntryKind, String> {
    match text {
        "earn" => Ok(EntryKind::Earn),
        other => Err(format!("unknown entry kind `{other}`")),
    }
}

fn bucket_text(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Available => "a",
        Bucket::Pending => "p",
    }
}

fn bucket_from(text: &str) -> Result<Bucket, String> {
    match text {
        "a" => Ok(Bucket::Available),
        "p" => Ok(Bucket::Pending),
        other => Err(format!("unknown bucket `{other}`")),
    }
}
