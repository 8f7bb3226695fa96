//! Coupon codes: pools the merchant fills, and claims that give each code to exactly one
//! redemption however many race, and the same code to the same redemption every time.

use futures::future::join_all;
use std::collections::BTreeSet;

use stammkunde_domain::coupon::{Coupon, CouponCode};
use stammkunde_domain::ids::{RewardId, ShopId};
use stammkunde_domain::ports::Store;

use super::{all_pages, ok};
use crate::fixtures::{self, at};

async fn import(store: &dyn Store, shop: &ShopId, reward: &RewardId, codes: &[CouponCode]) -> u32 {
    ok("import_codes", store.import_codes(shop, reward, codes, false).await)
}

async fn all_codes(store: &dyn Store, shop: &ShopId, reward: Option<&RewardId>) -> Vec<Coupon> {
    all_pages("codes", 4, |page| store.codes(shop, reward, page)).await
}

pub async fn imported_codes_are_added_once_per_code(store: &dyn Store) {
    let shop = fixtures::shop("codes-import");
    let (five, ten) = (fixtures::reward("5-euro"), fixtures::reward("10-euro"));
    let codes = fixtures::codes("FIVE", 3);

    assert_eq!(import(store, &shop, &five, &codes).await, 3);
    assert_eq!(import(store, &shop, &five, &codes).await, 0, "a second import adds nothing");
    assert_eq!(import(store, &shop, &ten, &codes[..1]).await, 0, "a code belongs to one pool");

    let stored = all_codes(store, &shop, Some(&five)).await;
    let expected: Vec<Coupon> = codes
        .iter()
        .map(|code| Coupon {
            shop: shop.clone(),
            code: code.clone(),
            reward: five.clone(),
            generated: false,
            issue: None,
        })
        .collect();
    assert_eq!(stored, expected);
    assert!(all_codes(store, &shop, Some(&ten)).await.is_empty());
    assert_eq!(all_codes(store, &fixtures::shop("codes-import-other"), None).await, Vec::new());
}

pub async fn a_claim_binds_one_pooled_code_to_the_redemption_and_repeats_return_it(store: &dyn Store) {
    let shop = fixtures::shop("codes-claim");
    let reward = fixtures::reward("5-euro");
    import(store, &shop, &reward, &fixtures::codes("FIVE", 3)).await;
    let customer = fixtures::customer_id("c1");
    let issue = fixtures::issue(&customer, "redeem-1", at(10));

    let first = ok("claim", store.claim_code(&shop, &reward, &issue).await).unwrap_or_else(|| panic!("a code"));
    let again = ok("claim", store.claim_code(&shop, &reward, &issue).await);

    assert_eq!(first.issue.as_ref(), Some(&issue));
    assert_eq!(again.as_ref(), Some(&first), "the same redemption gets the same code");
    assert_eq!(ok("code", store.code(&shop, &first.code).await), Some(first.clone()));
    assert_eq!(
        ok("code_for_redemption", store.code_for_redemption(&shop, &issue.redemption).await),
        Some(first.clone())
    );
    let issued = all_codes(store, &shop, None).await.into_iter().filter(|c| c.issue.is_some()).count();
    assert_eq!(issued, 1);
}

pub async fn concurrent_claims_give_each_code_to_one_redemption_and_an_empty_pool_gives_none(store: &dyn Store) {
    const CLAIMS: usize = 12;
    const POOL: u32 = 5;
    let shop = fixtures::shop("codes-race");
    let reward = fixtures::reward("5-euro");
    import(store, &shop, &reward, &fixtures::codes("FIVE", POOL)).await;
    let customer = fixtures::customer_id("c1");
    let issues: Vec<_> = (0..CLAIMS).map(|n| fixtures::issue(&customer, &format!("r-{n}"), at(1))).collect();

    let claimed = join_all(issues.iter().map(|issue| store.claim_code(&shop, &reward, issue))).await;

    let claimed: Vec<Option<Coupon>> = claimed.into_iter().map(|r| ok("claim", r)).collect();
    let got: Vec<&Coupon> = claimed.iter().flatten().collect();
    assert_eq!(got.len(), POOL as usize, "every pooled code is given out, and nothing more");
    let distinct: BTreeSet<_> = got.iter().map(|c| c.code.clone()).collect();
    assert_eq!(distinct.len(), got.len(), "no code may go to two redemptions");
    let redemptions: BTreeSet<_> = got.iter().filter_map(|c| c.issue.as_ref().map(|i| i.redemption.clone())).collect();
    assert_eq!(redemptions.len(), got.len());
}

pub async fn concurrent_claims_of_one_redemption_bind_one_code(store: &dyn Store) {
    let shop = fixtures::shop("codes-same");
    let reward = fixtures::reward("5-euro");
    import(store, &shop, &reward, &fixtures::codes("FIVE", 6)).await;
    let issue = fixtures::issue(&fixtures::customer_id("c1"), "redeem-1", at(1));

    let claimed = join_all((0..8).map(|_| store.claim_code(&shop, &reward, &issue))).await;

    let codes: BTreeSet<_> =
        claimed.into_iter().map(|r| ok("claim", r).unwrap_or_else(|| panic!("a code")).code).collect();
    assert_eq!(codes.len(), 1, "one redemption, one code");
    let issued = all_codes(store, &shop, None).await.into_iter().filter(|c| c.issue.is_some()).count();
    assert_eq!(issued, 1);
}

pub async fn a_generated_code_is_stored_once_per_redemption_and_a_taken_code_is_refused(store: &dyn Store) {
    let shop = fixtures::shop("codes-generated");
    let reward = fixtures::reward("5-euro");
    let issue = fixtures::issue(&fixtures::customer_id("c1"), "redeem-1", at(1));
    let coupon = |code: &str, issue| Coupon {
        shop: shop.clone(),
        code: CouponCode::parse(code).unwrap_or_else(|e| panic!("{e}")),
        reward: reward.clone(),
        generated: true,
        issue: Some(issue),
    };
    let first = coupon("SK-AAAA-BBBB", issue.clone());

    assert_eq!(ok("insert", store.insert_issued(&first).await), Some(first.clone()));
    // A retry drew another code: the redemption keeps its first one.
    let retry = coupon("SK-CCCC-DDDD", issue.clone());
    assert_eq!(ok("insert", store.insert_issued(&retry).await), Some(first.clone()));
    // Another redemption drew a code that is taken.
    let clash = coupon("SK-AAAA-BBBB", fixtures::issue(&fixtures::customer_id("c2"), "redeem-2", at(2)));
    assert_eq!(ok("insert", store.insert_issued(&clash).await), None);

    assert_eq!(all_codes(store, &shop, None).await, vec![first]);
    assert_eq!(ok("code", store.code(&shop, &retry.code).await), None);
}

pub async fn a_returned_code_goes_back_to_its_pool_and_only_its_redemption_can_return_it(store: &dyn Store) {
    let shop = fixtures::shop("codes-return");
    let reward = fixtures::reward("5-euro");
    import(store, &shop, &reward, &fixtures::codes("FIVE", 1)).await;
    let issue = fixtures::issue(&fixtures::customer_id("c1"), "redeem-1", at(1));
    let claimed = ok("claim", store.claim_code(&shop, &reward, &issue).await).unwrap_or_else(|| panic!("a code"));

    ok("return", store.return_code(&shop, &claimed.code, &fixtures::idempotency_key("someone-else")).await);
    assert_eq!(ok("code", store.code(&shop, &claimed.code).await), Some(claimed.clone()), "not theirs to return");

    ok("return", store.return_code(&shop, &claimed.code, &issue.redemption).await);
    let pooled = Coupon { issue: None, ..claimed.clone() };
    assert_eq!(ok("code", store.code(&shop, &claimed.code).await), Some(pooled));
    assert_eq!(ok("code_for_redemption", store.code_for_redemption(&shop, &issue.redemption).await), None);

    let next = fixtures::issue(&fixtures::customer_id("c2"), "redeem-2", at(2));
    let again = ok("claim", store.claim_code(&shop, &reward, &next).await).map(|c| c.code);
    assert_eq!(again, Some(claimed.code), "the returned code is given out again");
}
