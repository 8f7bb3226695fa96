//! Shop-level state: privacy requests and uninstalls through ingest, and the Shopware
//! registration handshake.

use chrono::Duration;
use futures::future::join_all;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ingest::{Change, PrivacyRequest, PrivacyRequestKind};
use stammkunde_domain::ports::Store;
use stammkunde_domain::registration::ShopwareRegistration;
use stammkunde_domain::secret::Secret;

use super::{apply_new, ok};
use crate::fixtures::{self, at};

const SHOP_URL: &str = "https://shop.example";

async fn registration(store: &dyn Store, shop: &ShopId) -> Option<ShopwareRegistration> {
    ok("registration", store.registration(shop).await)
}

/// A registration requested at `minutes` (its signed timestamp) and received a second later:
/// whether the store accepted it.
async fn begin_requested(store: &dyn Store, shop: &ShopId, url: &str, pending: &str, minutes: i64) -> bool {
    let (pending, requested_at, received_at) = (Secret::new(pending), at(minutes), at(minutes) + Duration::seconds(1));
    ok("begin_registration", store.begin_registration(shop, url, &pending, requested_at, received_at).await)
}

/// A registration that must be accepted (see `begin_requested`).
async fn begin(store: &dyn Store, shop: &ShopId, url: &str, pending: &str, minutes: i64) {
    assert!(begin_requested(store, shop, url, pending, minutes).await, "a newer registration is accepted");
}

async fn confirm(store: &dyn Store, shop: &ShopId, secret: &str, api_key: &str, minutes: i64) -> bool {
    let (secret, api_key, secret_key) =
        (Secret::new(secret), Secret::new(api_key), Secret::new(format!("{api_key}-sk")));
    ok("confirm_registration", store.confirm_registration(shop, &secret, &api_key, &secret_key, at(minutes)).await)
}

/// The state after `begin(SHOP_URL, pending, 0)` and nothing else.
fn pending_only(shop: &ShopId, pending: &str) -> ShopwareRegistration {
    ShopwareRegistration {
        shop: shop.clone(),
        shop_url: SHOP_URL.into(),
        pending_secret: Some(Secret::new(pending)),
        shop_secret: None,
        api_key: None,
        secret_key: None,
        registered_at: at(0) + Duration::seconds(1),
        requested_at: Some(at(0)),
        confirmed_at: None,
    }
}

/// The state after `pending_only` was confirmed with api key `key` at minute 1.
fn confirmed(shop: &ShopId, secret: &str, key: &str) -> ShopwareRegistration {
    ShopwareRegistration {
        pending_secret: None,
        shop_secret: Some(Secret::new(secret)),
        api_key: Some(Secret::new(key)),
        secret_key: Some(Secret::new(format!("{key}-sk"))),
        confirmed_at: Some(at(1)),
        ..pending_only(shop, secret)
    }
}

pub async fn a_privacy_request_is_recorded_once_per_kind_and_reference(store: &dyn Store) {
    let shop = fixtures::shop("privacy");
    let customer_id = fixtures::customer_id("c1");
    let request = fixtures::privacy_request(&shop, PrivacyRequestKind::CustomerRedact, "req-1", &customer_id);
    let same_ref_other_kind = fixtures::privacy_request(&shop, PrivacyRequestKind::DataRequest, "req-1", &customer_id);
    let same_key_later = PrivacyRequest { received_at: at(60), order_ids: Vec::new(), ..request.clone() };

    let first = apply_new(store, &shop, &[Change::RecordPrivacyRequest(request.clone())]).await;
    let again = apply_new(store, &shop, &[Change::RecordPrivacyRequest(same_key_later)]).await;
    let other = apply_new(store, &shop, &[Change::RecordPrivacyRequest(same_ref_other_kind.clone())]).await;

    assert_eq!(first.applied, vec![true]);
    assert_eq!(again.applied, vec![false], "a request is recorded once; the first record stays");
    assert_eq!(other.applied, vec![true], "another kind with the same reference is another request");
    let mut stored = ok("privacy_requests", store.privacy_requests(&shop).await);
    stored.sort_by_key(|r| r.kind.as_str());
    assert_eq!(stored, vec![request, same_ref_other_kind]);
    assert!(ok("privacy_requests", store.privacy_requests(&fixtures::shop("privacy-other")).await).is_empty());
}

pub async fn the_latest_uninstall_wins(store: &dyn Store) {
    let shop = fixtures::shop("uninstall");
    let uninstall = |minutes| Change::RecordUninstall { shop: shop.clone(), at: at(minutes) };

    let first = apply_new(store, &shop, &[uninstall(20)]).await;
    let older = apply_new(store, &shop, &[uninstall(10)]).await;
    assert_eq!(ok("uninstalled_at", store.uninstalled_at(&shop).await), Some(at(20)));
    let newer = apply_new(store, &shop, &[uninstall(30)]).await;

    assert_eq!((first.applied, older.applied, newer.applied), (vec![true], vec![false], vec![true]));
    assert_eq!(ok("uninstalled_at", store.uninstalled_at(&shop).await), Some(at(30)));
}

pub async fn an_unknown_shop_has_no_registration_and_no_uninstall(store: &dyn Store) {
    let shop = fixtures::shop("unknown-shop");
    assert_eq!(registration(store, &shop).await, None);
    assert_eq!(ok("uninstalled_at", store.uninstalled_at(&shop).await), None);

    // An uninstall alone (a Shopify shop) creates no registration.
    apply_new(store, &shop, &[Change::RecordUninstall { shop: shop.clone(), at: at(5) }]).await;
    assert_eq!(registration(store, &shop).await, None);
}

pub async fn beginning_a_registration_stores_a_pending_secret(store: &dyn Store) {
    let shop = fixtures::shop("register-begin");
    begin(store, &shop, SHOP_URL, "pending-1", 0).await;
    assert_eq!(registration(store, &shop).await, Some(pending_only(&shop, "pending-1")));
}

pub async fn confirming_with_the_pending_secret_promotes_it_and_stores_the_credentials(store: &dyn Store) {
    let shop = fixtures::shop("register-confirm");
    begin(store, &shop, SHOP_URL, "pending-1", 0).await;

    assert!(confirm(store, &shop, "pending-1", "key-1", 1).await);

    assert_eq!(registration(store, &shop).await, Some(confirmed(&shop, "pending-1", "key-1")));
}

pub async fn confirming_with_a_wrong_or_stale_secret_changes_nothing(store: &dyn Store) {
    let shop = fixtures::shop("register-wrong");
    assert!(!confirm(store, &shop, "anything", "key-0", 1).await, "an unknown shop confirms nothing");
    assert_eq!(registration(store, &shop).await, None);

    begin(store, &shop, SHOP_URL, "pending-1", 0).await;
    assert!(!confirm(store, &shop, "wrong", "key-x", 1).await);
    assert_eq!(registration(store, &shop).await, Some(pending_only(&shop, "pending-1")));

    assert!(confirm(store, &shop, "pending-1", "key-1", 1).await);
    // A replay of the confirmation: the secret is no longer pending.
    assert!(!confirm(store, &shop, "pending-1", "key-2", 2).await);
    assert_eq!(registration(store, &shop).await, Some(confirmed(&shop, "pending-1", "key-1")));
}

pub async fn registering_again_keeps_the_confirmed_secret_and_sets_a_new_pending_one(store: &dyn Store) {
    let shop = fixtures::shop("register-again");
    begin(store, &shop, SHOP_URL, "secret-1", 0).await;
    assert!(confirm(store, &shop, "secret-1", "key-1", 1).await);

    begin(store, &shop, "https://new.shop.example", "secret-2", 10).await;
    let reregistered = ShopwareRegistration {
        shop_url: "https://new.shop.example".into(),
        pending_secret: Some(Secret::new("secret-2")),
        registered_at: at(10) + Duration::seconds(1),
        requested_at: Some(at(10)),
        ..confirmed(&shop, "secret-1", "key-1")
    };
    assert_eq!(registration(store, &shop).await, Some(reregistered.clone()));
    // The old secret is no longer pending, so it cannot confirm again.
    assert!(!confirm(store, &shop, "secret-1", "key-x", 11).await);
    assert_eq!(registration(store, &shop).await, Some(reregistered));

    assert!(confirm(store, &shop, "secret-2", "key-2", 12).await);
    let expected = ShopwareRegistration {
        shop_url: "https://new.shop.example".into(),
        registered_at: at(10) + Duration::seconds(1),
        requested_at: Some(at(10)),
        confirmed_at: Some(at(12)),
        ..confirmed(&shop, "secret-2", "key-2")
    };
    assert_eq!(registration(store, &shop).await, Some(expected));
}

pub async fn a_replayed_or_older_registration_is_refused_and_changes_nothing(store: &dyn Store) {
    let shop = fixtures::shop("register-replay");
    begin(store, &shop, SHOP_URL, "pending-1", 0).await;

    assert!(!begin_requested(store, &shop, SHOP_URL, "replayed", 0).await, "the same timestamp is a replay");
    assert!(!begin_requested(store, &shop, "https://evil.example", "older", -1).await, "an older one too");
    assert_eq!(registration(store, &shop).await, Some(pending_only(&shop, "pending-1")));

    // Confirmed, a replay still changes nothing: no new pending secret, the credentials stay.
    assert!(confirm(store, &shop, "pending-1", "key-1", 1).await);
    assert!(!begin_requested(store, &shop, SHOP_URL, "replayed-again", 0).await);
    assert_eq!(registration(store, &shop).await, Some(confirmed(&shop, "pending-1", "key-1")));
}

pub async fn a_registration_newer_than_the_last_accepted_is_accepted(store: &dyn Store) {
    let shop = fixtures::shop("register-newer");
    begin(store, &shop, SHOP_URL, "pending-1", 0).await;

    assert!(begin_requested(store, &shop, SHOP_URL, "pending-2", 1).await);

    let expected = ShopwareRegistration {
        pending_secret: Some(Secret::new("pending-2")),
        registered_at: at(1) + Duration::seconds(1),
        requested_at: Some(at(1)),
        ..pending_only(&shop, "pending-1")
    };
    assert_eq!(registration(store, &shop).await, Some(expected));
    assert!(!confirm(store, &shop, "pending-1", "key-1", 2).await, "the replaced secret confirms nothing");
    assert!(confirm(store, &shop, "pending-2", "key-2", 2).await);
}

pub async fn concurrent_registrations_with_the_same_timestamp_accept_exactly_one(store: &dyn Store) {
    const REGISTRATIONS: usize = 20;
    let shop = fixtures::shop("register-concurrent");
    begin(store, &shop, SHOP_URL, "pending-0", 0).await;
    let secrets: Vec<String> = (1..=REGISTRATIONS).map(|n| format!("pending-{n}")).collect();

    let accepted = join_all(secrets.iter().map(|secret| begin_requested(store, &shop, SHOP_URL, secret, 5))).await;

    let winners: Vec<&String> =
        secrets.iter().zip(&accepted).filter(|(_, accepted)| **accepted).map(|(s, _)| s).collect();
    assert_eq!(winners.len(), 1, "exactly one of {REGISTRATIONS} registrations with one timestamp is accepted");
    let stored = registration(store, &shop).await;
    assert_eq!(stored.as_ref().and_then(|r| r.pending_secret.clone()), Some(Secret::new(winners[0].as_str())));
    assert_eq!(stored.and_then(|r| r.requested_at), Some(at(5)));
}
