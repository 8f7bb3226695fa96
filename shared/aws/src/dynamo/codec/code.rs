//! Coupon code items (`pk = {shop}#K#{code}`, `sk = K`): `rw` reward, `gn` generated (only when
//! true), `g6` the shop's code listing key (always), `g5` the reward's pool key while the code
//! waits in it, and once issued `c` customer, `rd` redemption, `ia` issued_at, `xa` expires_at
//! (not `expires_at`: that name is the table's TTL attribute, which would delete the code).
//!
//! Claim items (`pk = {shop}#R#{redemption}`, `sk = R`): `cd` the code bound to the redemption.
//! The claim item is what makes a redemption's code unique: it is created in the same
//! transaction that binds the code, under `attribute_not_exists`.

use aws_sdk_dynamodb::types::AttributeValue;
use stammkunde_domain::coupon::{Coupon, CouponCode, Issue};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, IdempotencyKey, RewardId, ShopId};

use super::{key_item, s, time, Item, Reader};
use crate::dynamo::schema::{
    claim_key, code_from_pk, code_key, pool_index_value, shop_codes_index_value, BY_POOL, BY_SHOP_CODE, CODE_REWARD, PK,
};

pub(crate) const REWARD: &str = CODE_REWARD;
const GENERATED: &str = "gn";
pub(crate) const CUSTOMER: &str = "c";
pub(crate) const REDEMPTION: &str = "rd";
pub(crate) const ISSUED_AT: &str = "ia";
pub(crate) const EXPIRES_AT: &str = "xa";
/// The issue's attributes, set together by a claim and removed together by a return.
pub(crate) const ISSUE_ATTRIBUTES: [&str; 4] = [CUSTOMER, REDEMPTION, ISSUED_AT, EXPIRES_AT];
/// A claim item's code.
pub(crate) const CLAIMED_CODE: &str = "cd";

/// The code item for `coupon`: in its reward's pool if it has no issue.
pub(crate) fn encode_code(coupon: &Coupon) -> Item {
    let mut item = key_item(&code_key(&coupon.shop, &coupon.code));
    item.insert(REWARD.into(), s(coupon.reward.as_str()));
    if coupon.generated {
        item.insert(GENERATED.into(), AttributeValue::Bool(true));
    }
    item.insert(BY_SHOP_CODE.attribute.into(), s(shop_codes_index_value(&coupon.shop)));
    match &coupon.issue {
        None => {
            item.insert(BY_POOL.attribute.into(), s(pool_index_value(&coupon.shop, &coupon.reward)));
        }
        Some(issue) => item.extend(issue_attributes(issue).into_iter().map(|(name, value)| (name.to_owned(), value))),
    }
    item
}

/// What a claim sets on a pooled code.
pub(crate) fn issue_attributes(issue: &Issue) -> Vec<(&'static str, AttributeValue)> {
    vec![
        (CUSTOMER, s(issue.customer_id.as_str())),
        (REDEMPTION, s(issue.redemption.as_str())),
        (ISSUED_AT, time(issue.issued_at)),
        (EXPIRES_AT, time(issue.expires_at)),
    ]
}

pub(crate) fn decode_code(shop: &ShopId, item: &Item) -> Result<Coupon, StoreError> {
    let r = Reader::new(item);
    let code = code_from_pk(shop, r.s(PK)?).ok_or_else(|| r.corrupt("not a code of this shop"))?;
    let issue = match r.opt_s(REDEMPTION)? {
        None => None,
        Some(redemption) => Some(Issue {
            customer_id: r.parse(CUSTOMER, r.s(CUSTOMER)?, CustomerId::parse)?,
            redemption: r.parse(REDEMPTION, redemption, IdempotencyKey::parse)?,
            issued_at: r.time(ISSUED_AT)?,
            expires_at: r.time(EXPIRES_AT)?,
        }),
    };
    Ok(Coupon {
        shop: shop.clone(),
        code,
        reward: r.parse(REWARD, r.s(REWARD)?, RewardId::parse)?,
        generated: r.opt_bool(GENERATED)?.unwrap_or(false),
        issue,
    })
}

pub(crate) fn encode_claim(shop: &ShopId, redemption: &IdempotencyKey, code: &CouponCode) -> Item {
    let mut item = key_item(&claim_key(shop, redemption));
    item.insert(CLAIMED_CODE.into(), s(code.as_str()));
    item
}

pub(crate) fn decode_claim(item: &Item) -> Result<CouponCode, StoreError> {
    let r = Reader::new(item);
    r.parse(CLAIMED_CODE, r.s(CLAIMED_CODE)?, CouponCode::parse)
}
