//! Customers as ingest changes them (`UpsertCustomer`, `DeleteCustomer`), and the birthday the
//! customer or the merchant sets.

use stammkunde_domain::customer::{Birthday, Customer, CustomerProfile};
use stammkunde_domain::error::cause_chain;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ingest::Change;
use stammkunde_domain::ledger::Balance;
use stammkunde_domain::ports::{PageRequest, Store};

use super::{apply_new, customer};
use crate::fixtures::{self, at, upsert};

/// The customer a first profile makes: its birthday stored since the profile's stamp.
fn stored_as(profile: CustomerProfile) -> Customer {
    let birthday_since = profile.birthday.and(profile.source_updated_at);
    Customer { profile, last_order_at: None, balance: Balance::default(), deleted_at: None, birthday_since }
}

pub async fn a_new_customer_is_stored_as_given(store: &dyn Store) {
    let shop = fixtures::shop("new-customer");
    let id = fixtures::customer_id("c1");
    let profile = fixtures::full_profile(&shop, &id, Some(at(0)));

    let outcome = apply_new(store, &shop, &[upsert(profile.clone())]).await;

    assert_eq!(outcome.applied, vec![true]);
    assert!(outcome.orders.is_empty(), "a customer change touches no order");
    assert_eq!(customer(store, &shop, &id).await, Some(stored_as(profile)));
    let other = fixtures::customer_id("c2");
    assert_eq!(customer(store, &shop, &other).await, None, "an unknown customer must read as None");
}

pub async fn a_newer_profile_replaces_the_fields_it_carries_and_keeps_the_rest(store: &dyn Store) {
    let shop = fixtures::shop("newer-profile");
    let id = fixtures::customer_id("c1");
    let first = fixtures::full_profile(&shop, &id, Some(at(0)));
    apply_new(store, &shop, &[upsert(first.clone())]).await;

    let newer = CustomerProfile {
        email: Some(fixtures::email("anna.neu@example.de")),
        last_name: Some("Meyer".into()),
        accepts_email_marketing: Some(false),
        birthday: Some(fixtures::birthday(2, 29, None)),
        ..fixtures::bare_profile(&shop, &id, Some(at(10)))
    };
    let outcome = apply_new(store, &shop, &[upsert(newer.clone())]).await;

    assert_eq!(outcome.applied, vec![true]);
    let expected = CustomerProfile {
        email: newer.email,
        last_name: newer.last_name,
        accepts_email_marketing: newer.accepts_email_marketing,
        // A birthday is replaced whole: the new one has no year, so the stored year goes too.
        birthday: newer.birthday,
        source_updated_at: Some(at(10)),
        ..first
    };
    assert_eq!(customer(store, &shop, &id).await, Some(stored_as(expected)));
}

pub async fn an_older_or_equal_profile_changes_nothing(store: &dyn Store) {
    let shop = fixtures::shop("older-profile");
    let id = fixtures::customer_id("c1");
    let stored = fixtures::full_profile(&shop, &id, Some(at(10)));
    apply_new(store, &shop, &[upsert(stored.clone())]).await;

    for stamp in [at(10), at(9), at(-1000)] {
        let stale = CustomerProfile {
            first_name: Some("Stale".into()),
            email: Some(fixtures::email("stale@example.de")),
            ..fixtures::full_profile(&shop, &id, Some(stamp))
        };
        let outcome = apply_new(store, &shop, &[upsert(stale)]).await;
        assert_eq!(outcome.applied, vec![false], "a profile stamped {stamp} must not apply over {}", at(10));
    }

    assert_eq!(customer(store, &shop, &id).await, Some(stored_as(stored)));
}

pub async fn a_snapshot_profile_creates_an_unknown_customer_but_never_changes_a_known_one(store: &dyn Store) {
    let shop = fixtures::shop("snapshot-profile");
    let id = fixtures::customer_id("c1");
    let snapshot = fixtures::full_profile(&shop, &id, None);

    let created = apply_new(store, &shop, &[upsert(snapshot.clone())]).await;
    assert_eq!(created.applied, vec![true]);
    assert_eq!(customer(store, &shop, &id).await, Some(stored_as(snapshot.clone())));

    let other_snapshot = CustomerProfile { first_name: Some("Other".into()), ..snapshot.clone() };
    let again = apply_new(store, &shop, &[upsert(other_snapshot)]).await;
    assert_eq!(again.applied, vec![false], "a snapshot must not change a known customer");
    assert_eq!(customer(store, &shop, &id).await, Some(stored_as(snapshot)));

    // A known customer with a real stamp is not changed by a snapshot either.
    let known = fixtures::customer_id("c2");
    let profile = fixtures::full_profile(&shop, &known, Some(at(0)));
    apply_new(store, &shop, &[upsert(profile.clone())]).await;
    let snapshot =
        CustomerProfile { first_name: Some("Snapshot".into()), ..fixtures::bare_profile(&shop, &known, None) };
    let outcome = apply_new(store, &shop, &[upsert(snapshot)]).await;
    assert_eq!(outcome.applied, vec![false]);
    assert_eq!(customer(store, &shop, &known).await, Some(stored_as(profile)));
}

pub async fn a_deleted_customer_is_marked_once(store: &dyn Store) {
    let shop = fixtures::shop("delete-customer");
    let id = fixtures::customer_id("c1");
    let profile = fixtures::full_profile(&shop, &id, Some(at(0)));
    apply_new(store, &shop, &[upsert(profile.clone())]).await;

    let delete = |minutes| Change::DeleteCustomer { shop: shop.clone(), customer_id: id.clone(), at: at(minutes) };
    let first = apply_new(store, &shop, &[delete(5)]).await;
    let second = apply_new(store, &shop, &[delete(6)]).await;

    assert_eq!(first.applied, vec![true]);
    assert_eq!(second.applied, vec![false], "a customer is deleted once; a later delete changes nothing");
    let expected = Customer { deleted_at: Some(at(5)), ..stored_as(profile) };
    assert_eq!(customer(store, &shop, &id).await, Some(expected));
}

pub async fn a_deleted_customer_takes_no_newer_profile_and_no_last_order(store: &dyn Store) {
    let shop = fixtures::shop("deleted-customer-stays-deleted");
    let id = fixtures::customer_id("c1");
    let profile = fixtures::bare_profile(&shop, &id, Some(at(0)));
    apply_new(store, &shop, &[upsert(profile.clone())]).await;
    apply_new(store, &shop, &[Change::DeleteCustomer { shop: shop.clone(), customer_id: id.clone(), at: at(5) }]).await;
    let before = customer(store, &shop, &id).await;

    let newer = fixtures::full_profile(&shop, &id, Some(at(10)));
    let order = fixtures::order(&shop, &fixtures::order_id("o1"), Some(&id), at(11), at(11));
    apply_new(store, &shop, &[upsert(newer), fixtures::record(order)]).await;

    assert_eq!(customer(store, &shop, &id).await, before, "what the platform deleted is not filled in again");
    let email = fixtures::email("c1@example.de");
    let found = store.customers_by_email(&shop, &email, stammkunde_domain::ports::PageRequest::first(10)).await;
    assert_eq!(found.map(|p| p.items).ok(), Some(vec![]));
}

pub async fn deleting_an_unknown_customer_leaves_a_tombstone_no_late_profile_or_order_revives(store: &dyn Store) {
    let shop = fixtures::shop("delete-unknown-customer");
    let id = fixtures::customer_id("c1");
    let delete = Change::DeleteCustomer { shop: shop.clone(), customer_id: id.clone(), at: at(5) };

    let outcome = apply_new(store, &shop, std::slice::from_ref(&delete)).await;
    assert_eq!(outcome.applied, vec![true]);
    let tombstone = Customer {
        profile: fixtures::bare_profile(&shop, &id, None),
        last_order_at: None,
        balance: Balance::default(),
        deleted_at: Some(at(5)),
        birthday_since: None,
    };
    assert_eq!(customer(store, &shop, &id).await, Some(tombstone.clone()));

    // Delivery is unordered: the profile and order sent before the deletion arrive after it.
    let late_profile = fixtures::full_profile(&shop, &id, Some(at(1)));
    let late_order = fixtures::order(&shop, &fixtures::order_id("o1"), Some(&id), at(2), at(2));
    apply_new(store, &shop, &[upsert(late_profile), fixtures::record(late_order)]).await;
    assert_eq!(apply_new(store, &shop, &[delete]).await.applied, vec![false], "deleted once");
    assert_eq!(customer(store, &shop, &id).await, Some(tombstone), "nothing of the person comes back");
}

pub async fn a_birthday_remembers_when_it_was_first_stored(store: &dyn Store) {
    let shop = fixtures::shop("birthday-since");
    let id = fixtures::customer_id("c1");
    let read = |c: Option<Customer>| c.and_then(|c| c.birthday_since);
    let first = fixtures::full_profile(&shop, &id, Some(at(0)));
    apply_new(store, &shop, &[upsert(first.clone())]).await;
    assert_eq!(read(customer(store, &shop, &id).await), Some(at(0)));
    // The same birthday again (a year added), or none, keeps the time it was first stored.
    let same = CustomerProfile {
        birthday: Some(fixtures::birthday(7, 14, None)),
        ..fixtures::bare_profile(&shop, &id, Some(at(5)))
    };
    apply_new(store, &shop, &[upsert(same)]).await;
    apply_new(store, &shop, &[upsert(fixtures::bare_profile(&shop, &id, Some(at(6))))]).await;
    assert_eq!(read(customer(store, &shop, &id).await), Some(at(0)));
    // A changed birthday is stored since the profile that changed it.
    let changed = CustomerProfile {
        birthday: Some(fixtures::birthday(8, 1, None)),
        ..fixtures::bare_profile(&shop, &id, Some(at(9)))
    };
    apply_new(store, &shop, &[upsert(changed.clone())]).await;
    assert_eq!(read(customer(store, &shop, &id).await), Some(at(9)));
    // A stale profile with yet another birthday changes neither.
    let stale = CustomerProfile {
        birthday: Some(fixtures::birthday(9, 1, None)),
        ..fixtures::bare_profile(&shop, &id, Some(at(8)))
    };
    apply_new(store, &shop, &[upsert(stale)]).await;
    let stored = customer(store, &shop, &id).await;
    assert_eq!(stored.as_ref().and_then(|c| c.profile.birthday), changed.birthday);
    assert_eq!(read(stored), Some(at(9)));
    // A customer without a birthday has no time for it.
    let other = fixtures::customer_id("c2");
    apply_new(store, &shop, &[upsert(fixtures::bare_profile(&shop, &other, Some(at(1))))]).await;
    assert_eq!(read(customer(store, &shop, &other).await), None);
}

async fn set_birthday(
    store: &dyn Store,
    shop: &ShopId,
    id: &CustomerId,
    birthday: Option<Birthday>,
    minutes: i64,
) -> bool {
    let set = store.set_birthday(shop, id, birthday, at(minutes)).await;
    set.unwrap_or_else(|e| panic!("set_birthday: {}", cause_chain(&e)))
}

async fn birthday_page(store: &dyn Store, shop: &ShopId, month: u8, day: u8) -> Vec<CustomerId> {
    let page = store.customers_by_birthday(shop, month, day, PageRequest::first(10)).await;
    page.unwrap_or_else(|e| panic!("customers_by_birthday: {}", cause_chain(&e))).items
}

/// `CustomerEdits::set_birthday`: the birthday of a live customer, set, changed and cleared; the
/// birthday index and the anti-fraud stamp follow; the rest of the profile stays; unknown and
/// deleted customers take nothing.
pub async fn a_birthday_set_by_the_customer_or_merchant_moves_the_index_and_its_stamp_only_when_it_changes(
    store: &dyn Store,
) {
    let shop = fixtures::shop("birthday-edit");
    let id = fixtures::customer_id("c1");
    let set = |birthday, minutes| set_birthday(store, &shop, &id, birthday, minutes);
    let by_birthday = |month, day| birthday_page(store, &shop, month, day);
    assert!(!set(Some(fixtures::birthday(3, 1, None)), 0).await, "an unknown customer takes nothing");
    assert_eq!(customer(store, &shop, &id).await, None, "and is not created");

    let profile = fixtures::bare_profile(&shop, &id, Some(at(0)));
    apply_new(store, &shop, &[upsert(CustomerProfile { first_name: Some("Anna".into()), ..profile })]).await;
    assert!(set(Some(fixtures::birthday(2, 29, Some(1992))), 10).await);
    let stored = customer(store, &shop, &id).await.unwrap_or_else(|| panic!("the customer"));
    assert_eq!(stored.profile.birthday, Some(fixtures::birthday(2, 29, Some(1992))));
    assert_eq!(stored.birthday_since, Some(at(10)), "a first birthday is stamped when it was set");
    assert_eq!(stored.profile.first_name.as_deref(), Some("Anna"), "the rest of the profile stays");
    assert_eq!(by_birthday(2, 29).await, vec![id.clone()]);

    // The same month and day without the year: no new birthday, the stamp stays.
    assert!(set(Some(fixtures::birthday(2, 29, None)), 20).await);
    let stored = customer(store, &shop, &id).await.unwrap_or_else(|| panic!("the customer"));
    assert_eq!((stored.profile.birthday, stored.birthday_since), (Some(fixtures::birthday(2, 29, None)), Some(at(10))));

    // Another day: the index moves and the stamp with it.
    assert!(set(Some(fixtures::birthday(11, 5, None)), 30).await);
    assert_eq!(customer(store, &shop, &id).await.and_then(|c| c.birthday_since), Some(at(30)));
    assert_eq!(by_birthday(2, 29).await, Vec::<CustomerId>::new(), "the old day lists it no more");
    assert_eq!(by_birthday(11, 5).await, vec![id.clone()]);

    // Cleared: no birthday, no stamp, not in the index.
    assert!(set(None, 40).await);
    let stored = customer(store, &shop, &id).await.unwrap_or_else(|| panic!("the customer"));
    assert_eq!((stored.profile.birthday, stored.birthday_since), (None, None));
    assert_eq!(by_birthday(11, 5).await, Vec::<CustomerId>::new());

    // A later platform profile without a birthday keeps the one set here.
    assert!(set(Some(fixtures::birthday(6, 1, None)), 50).await);
    apply_new(store, &shop, &[upsert(fixtures::bare_profile(&shop, &id, Some(at(60))))]).await;
    assert_eq!(
        customer(store, &shop, &id).await.and_then(|c| c.profile.birthday),
        Some(fixtures::birthday(6, 1, None))
    );

    // Deleted by the platform: nothing of the person is written again.
    let delete = Change::DeleteCustomer { shop: shop.clone(), customer_id: id.clone(), at: at(70) };
    apply_new(store, &shop, &[delete]).await;
    let tombstone = customer(store, &shop, &id).await;
    assert!(!set(Some(fixtures::birthday(1, 1, None)), 80).await, "a deleted customer takes nothing");
    assert_eq!(customer(store, &shop, &id).await, tombstone);
}
