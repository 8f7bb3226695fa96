//! Delivery deduplication: which deliveries count as seen, what a duplicate does, and what many
//! concurrent copies of one delivery do.

use futures::future::join_all;

use stammkunde_domain::customer::Customer;
use stammkunde_domain::ingest::{Change, PrivacyRequestKind};
use stammkunde_domain::ledger::Balance;
use stammkunde_domain::order::{Order, PaymentState};
use stammkunde_domain::ports::Store;

use super::{apply, apply_new, customer, ok, order};
use crate::fixtures::{self, at, record, upsert};
use crate::Capabilities;

/// A delivery that creates a customer and their order.
fn customer_and_order(shop: &stammkunde_domain::ids::ShopId) -> (Vec<Change>, Customer, Order) {
    let customer_id = fixtures::customer_id("c1");
    let profile = fixtures::full_profile(shop, &customer_id, Some(at(0)));
    let placed = fixtures::order(shop, &fixtures::order_id("1001"), Some(&customer_id), at(3), at(3));
    let expected = Customer {
        profile: profile.clone(),
        last_order_at: Some(at(3)),
        balance: Balance::default(),
        deleted_at: None,
        birthday_since: Some(at(0)),
    };
    (vec![upsert(profile), record(placed.clone())], expected, placed)
}

pub async fn a_delivery_is_seen_by_each_of_its_ids_once_applied(store: &dyn Store) {
    let shop = fixtures::shop("delivery-seen");
    let ids = [fixtures::delivery_id("event-1"), fixtures::delivery_id("webhook-1")];
    assert!(!ok("delivery_seen", store.delivery_seen(&shop, &ids).await));
    assert!(!ok("delivery_seen", store.delivery_seen(&shop, &[]).await), "no ids are never seen");

    let (changes, _, _) = customer_and_order(&shop);
    let outcome = apply(store, &shop, &["event-1", "webhook-1"], &changes).await;
    assert!(!outcome.duplicate);

    assert!(ok("delivery_seen", store.delivery_seen(&shop, &ids).await));
    for id in &ids {
        assert!(ok("delivery_seen", store.delivery_seen(&shop, std::slice::from_ref(id)).await), "{id} alone");
    }
    let mixed = [fixtures::delivery_id("never-sent"), fixtures::delivery_id("webhook-1")];
    assert!(ok("delivery_seen", store.delivery_seen(&shop, &mixed).await), "any one seen id is enough");
    let unseen = [fixtures::delivery_id("never-sent")];
    assert!(!ok("delivery_seen", store.delivery_seen(&shop, &unseen).await));
}

pub async fn a_duplicate_delivery_is_reported_and_changes_nothing(store: &dyn Store, capabilities: Capabilities) {
    let shop = fixtures::shop("duplicate-delivery");
    let (changes, expected_customer, expected_order) = customer_and_order(&shop);
    let first = apply(store, &shop, &["a", "b"], &changes).await;
    assert!(!first.duplicate);
    assert_eq!(first.applied, vec![true, true]);

    // The platform retries: the same payload, with an id set that overlaps the first.
    let retry = apply(store, &shop, &["b", "c"], &changes).await;
    assert!(retry.duplicate, "a delivery sharing an id with an applied one is a duplicate");
    assert_eq!(retry.applied.len(), changes.len());
    if capabilities.atomic_apply {
        assert_eq!(retry.applied, vec![false, false], "an atomic store writes nothing for a duplicate");
    }
    assert_eq!(customer(store, &shop, &expected_customer.profile.customer_id).await, Some(expected_customer.clone()));
    assert_eq!(order(store, &shop, &expected_order.order_id).await, Some(expected_order.clone()));

    if capabilities.atomic_apply {
        // Even a duplicate carrying other (newer) changes writes nothing, not even its new ids.
        let newer = fixtures::order_snapshot(&expected_order, PaymentState::Refunded, at(60));
        let other = apply(store, &shop, &["a", "d"], &[record(newer)]).await;
        assert!(other.duplicate);
        assert_eq!(other.applied, vec![false]);
        assert_eq!(order(store, &shop, &expected_order.order_id).await, Some(expected_order));
        let new_ids = [fixtures::delivery_id("c"), fixtures::delivery_id("d")];
        assert!(!ok("delivery_seen", store.delivery_seen(&shop, &new_ids).await), "a duplicate records no ids");
    }
}

pub async fn delivery_ids_are_per_shop(store: &dyn Store) {
    let shop = fixtures::shop("delivery-shop-a");
    let other_shop = fixtures::shop("delivery-shop-b");
    let (changes, _, _) = customer_and_order(&shop);
    apply(store, &shop, &["same-id"], &changes).await;

    let id = [fixtures::delivery_id("same-id")];
    assert!(!ok("delivery_seen", store.delivery_seen(&other_shop, &id).await));

    let (other_changes, expected, _) = customer_and_order(&other_shop);
    let outcome = apply(store, &other_shop, &["same-id"], &other_changes).await;
    assert!(!outcome.duplicate, "the same id in another shop is another delivery");
    assert_eq!(customer(store, &other_shop, &expected.profile.customer_id).await, Some(expected));
}

pub async fn concurrent_applies_of_one_delivery_apply_it_once(store: &dyn Store) {
    const COPIES: usize = 50;
    let shop = fixtures::shop("concurrent-delivery");
    let (changes, expected_customer, expected_order) = customer_and_order(&shop);
    let delivery = fixtures::delivery(&shop, &["race-1", "race-2"]);

    let outcomes = join_all((0..COPIES).map(|_| store.apply_delivery(&delivery, &changes))).await;

    let outcomes: Vec<_> = outcomes.into_iter().map(|result| ok("apply_delivery", result)).collect();
    let firsts = outcomes.iter().filter(|outcome| !outcome.duplicate).count();
    assert_eq!(firsts, 1, "exactly one of {COPIES} concurrent copies may apply the delivery");
    assert_eq!(customer(store, &shop, &expected_customer.profile.customer_id).await, Some(expected_customer));
    assert_eq!(order(store, &shop, &expected_order.order_id).await, Some(expected_order));
}

pub async fn applied_flags_say_which_changes_changed_stored_state(store: &dyn Store) {
    let shop = fixtures::shop("applied-flags");
    let customer_id = fixtures::customer_id("c1");
    let changes = vec![
        upsert(fixtures::full_profile(&shop, &customer_id, Some(at(0)))),
        record(fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(1), at(1))),
        Change::DeleteOrder { shop: shop.clone(), order_id: fixtures::order_id("unknown"), at: at(2) },
        Change::RecordPrivacyRequest(fixtures::privacy_request(
            &shop,
            PrivacyRequestKind::DataRequest,
            "req-1",
            &customer_id,
        )),
        Change::RecordUninstall { shop: shop.clone(), at: at(3) },
    ];

    let first = apply_new(store, &shop, &changes).await;
    // The same changes again, as a new delivery (a different webhook with the same content).
    let again = apply_new(store, &shop, &changes).await;

    assert_eq!(first.applied, vec![true, true, false, true, true]);
    assert_eq!(again.applied, vec![false, false, false, false, false]);
}
