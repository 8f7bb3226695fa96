//! Orders as ingest changes them: `RecordOrder` (version-guarded) and `DeleteOrder`, and what an
//! order does to its customer's last order date.

use stammkunde_domain::customer::Customer;
use stammkunde_domain::ingest::Change;
use stammkunde_domain::ledger::Balance;
use stammkunde_domain::order::{Order, PaymentState};
use stammkunde_domain::ports::Store;

use super::{apply_new, customer, order};
use crate::fixtures::{self, at, record};

pub async fn a_recorded_order_is_stored(store: &dyn Store) {
    let shop = fixtures::shop("record-order");
    let customer_id = fixtures::customer_id("c1");
    let placed = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(0), at(0));

    let outcome = apply_new(store, &shop, &[record(placed.clone())]).await;

    assert_eq!(outcome.applied, vec![true]);
    assert_eq!(outcome.orders, vec![placed.clone()]);
    assert_eq!(order(store, &shop, &placed.order_id).await, Some(placed));
    assert_eq!(order(store, &shop, &fixtures::order_id("1002")).await, None);
}

pub async fn a_newer_order_version_replaces_the_stored_order(store: &dyn Store) {
    let shop = fixtures::shop("newer-order");
    let customer_id = fixtures::customer_id("c1");
    let paid = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(0), at(0));
    let pending = fixtures::order_snapshot(&paid, PaymentState::Pending, at(0));
    apply_new(store, &shop, &[record(pending.clone())]).await;

    // Newer by time, and newer by progress alone at the same time.
    let paid_same_time = fixtures::order_snapshot(&pending, PaymentState::Paid, at(0));
    let outcome = apply_new(store, &shop, &[record(paid_same_time.clone())]).await;
    assert_eq!(outcome.applied, vec![true]);
    assert_eq!(order(store, &shop, &pending.order_id).await, Some(paid_same_time.clone()));

    let refunded = fixtures::order_snapshot(&pending, PaymentState::Refunded, at(30));
    let outcome = apply_new(store, &shop, &[record(refunded.clone())]).await;
    assert_eq!(outcome.applied, vec![true]);
    assert_eq!(outcome.orders, vec![refunded.clone()]);
    assert_eq!(order(store, &shop, &pending.order_id).await, Some(refunded));
}

pub async fn an_older_or_equal_order_version_changes_nothing_and_reports_the_stored_order(store: &dyn Store) {
    let shop = fixtures::shop("stale-order");
    let customer_id = fixtures::customer_id("c1");
    let base = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(0), at(0));
    let refunded = fixtures::order_snapshot(&base, PaymentState::Refunded, at(30));
    apply_new(store, &shop, &[record(refunded.clone())]).await;

    let equal = Order { order_number: Some("#changed".into()), ..refunded.clone() };
    let older_time = fixtures::order_snapshot(&base, PaymentState::Refunded, at(29));
    let older_progress = fixtures::order_snapshot(&base, PaymentState::Paid, at(30));
    for stale in [equal, older_time, older_progress] {
        let outcome = apply_new(store, &shop, &[record(stale.clone())]).await;
        assert_eq!(outcome.applied, vec![false], "version {:?} must not replace {:?}", stale.version, refunded.version);
        assert_eq!(outcome.orders, vec![refunded.clone()], "the outcome must hold the stored order, not the payload");
    }

    assert_eq!(order(store, &shop, &base.order_id).await, Some(refunded));
}

pub async fn a_recorded_order_moves_the_last_order_date_forward_only(store: &dyn Store) {
    let shop = fixtures::shop("last-order");
    let customer_id = fixtures::customer_id("c1");
    let profile = fixtures::full_profile(&shop, &customer_id, Some(at(0)));
    apply_new(store, &shop, &[fixtures::upsert(profile.clone())]).await;

    let later = fixtures::order(&shop, &fixtures::order_id("1002"), Some(&customer_id), at(600), at(600));
    let earlier = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(60), at(60));
    apply_new(store, &shop, &[record(later)]).await;
    let outcome = apply_new(store, &shop, &[record(earlier.clone())]).await;

    assert_eq!(outcome.applied, vec![true], "the earlier order is new, so it is stored");
    assert_eq!(order(store, &shop, &earlier.order_id).await, Some(earlier));
    let birthday_since = profile.birthday.and(profile.source_updated_at);
    let expected = Customer {
        profile,
        last_order_at: Some(at(600)),
        balance: Balance::default(),
        deleted_at: None,
        birthday_since,
    };
    assert_eq!(customer(store, &shop, &customer_id).await, Some(expected));
}

pub async fn a_recorded_order_creates_a_minimal_customer_when_none_exists(store: &dyn Store) {
    let shop = fixtures::shop("order-creates-customer");
    let customer_id = fixtures::customer_id("c1");
    let placed = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(5), at(5));

    apply_new(store, &shop, &[record(placed)]).await;

    let expected = Customer {
        profile: fixtures::bare_profile(&shop, &customer_id, None),
        last_order_at: Some(at(5)),
        balance: Balance::default(),
        deleted_at: None,
        birthday_since: None,
    };
    assert_eq!(customer(store, &shop, &customer_id).await, Some(expected));
}

pub async fn a_guest_order_is_stored_without_a_customer(store: &dyn Store) {
    let shop = fixtures::shop("guest-order");
    let guest = fixtures::order(&shop, &fixtures::order_id("1001"), None, at(0), at(0));

    let outcome = apply_new(store, &shop, &[record(guest.clone())]).await;

    assert_eq!(outcome.applied, vec![true]);
    assert_eq!(order(store, &shop, &guest.order_id).await, Some(guest));
}

pub async fn an_order_keeps_its_first_customer_and_a_guest_order_takes_one(store: &dyn Store) {
    let shop = fixtures::shop("order-customer");
    let (first, second) = (fixtures::customer_id("c1"), fixtures::customer_id("c2"));
    let guest = fixtures::order(&shop, &fixtures::order_id("1001"), None, at(0), at(0));
    apply_new(store, &shop, &[record(guest.clone())]).await;

    let claimed =
        Order { customer_id: Some(first.clone()), ..fixtures::order_snapshot(&guest, PaymentState::Paid, at(10)) };
    let outcome = apply_new(store, &shop, &[record(claimed.clone())]).await;
    assert_eq!(outcome.orders, vec![claimed.clone()], "a guest order takes the customer it is given");

    // The shop moves the order to another customer: the newer version is stored, its customer is not.
    let moved = Order {
        customer_id: Some(second.clone()),
        ..fixtures::order_snapshot(&claimed, PaymentState::Refunded, at(20))
    };
    let outcome = apply_new(store, &shop, &[record(moved.clone())]).await;
    let kept = Order { customer_id: Some(first.clone()), ..moved };
    assert_eq!(outcome.applied, vec![true]);
    assert_eq!(outcome.orders, vec![kept.clone()], "the stored order, with its first customer, is what is announced");
    assert_eq!(order(store, &shop, &guest.order_id).await, Some(kept));
    assert_eq!(customer(store, &shop, &first).await.and_then(|c| c.last_order_at), Some(at(0)));
    assert_eq!(customer(store, &shop, &second).await, None, "the other customer gains nothing from the order");
}

pub async fn a_deleted_order_is_marked_cancelled_keeping_its_version(store: &dyn Store) {
    let shop = fixtures::shop("delete-order");
    let customer_id = fixtures::customer_id("c1");
    let placed = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(0), at(0));
    apply_new(store, &shop, &[record(placed.clone())]).await;

    let delete = Change::DeleteOrder { shop: shop.clone(), order_id: placed.order_id.clone(), at: at(90) };
    let first = apply_new(store, &shop, std::slice::from_ref(&delete)).await;
    let second = apply_new(store, &shop, &[delete]).await;

    let cancelled = Order { cancelled: true, ..placed.clone() };
    assert_eq!(cancelled.version, placed.version);
    assert_eq!(first.applied, vec![true]);
    assert_eq!(first.orders, vec![cancelled.clone()]);
    assert_eq!(second.applied, vec![false], "an order already cancelled is not changed again");
    assert_eq!(second.orders, vec![cancelled.clone()]);
    assert_eq!(order(store, &shop, &placed.order_id).await, Some(cancelled.clone()));

    // The kept version still guards: a retry of the original snapshot does not un-cancel it.
    let retry = apply_new(store, &shop, &[record(placed.clone())]).await;
    assert_eq!(retry.applied, vec![false]);
    assert_eq!(order(store, &shop, &placed.order_id).await, Some(cancelled));
}

pub async fn deleting_an_unknown_order_changes_nothing(store: &dyn Store) {
    let shop = fixtures::shop("delete-unknown-order");
    let order_id = fixtures::order_id("1001");
    let delete = Change::DeleteOrder { shop: shop.clone(), order_id: order_id.clone(), at: at(90) };

    let outcome = apply_new(store, &shop, &[delete]).await;

    assert_eq!(outcome.applied, vec![false]);
    assert!(outcome.orders.is_empty(), "an unknown order has no stored state to report");
    assert_eq!(order(store, &shop, &order_id).await, None);
}
