//! The points ledger: conditional appends under business keys, balances that always equal the
//! replay of the entries, and entries that fail their own check never reaching the store.

use futures::future::join_all;

use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{AppendOutcome, Balance, Bucket, LedgerEntry};
use stammkunde_domain::ports::Store;

use super::{apply_new, customer, ok};
use crate::fixtures::{self, at};

async fn entries(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Vec<LedgerEntry> {
    ok("entries", store.entries(shop, id).await)
}

async fn balance(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Balance {
    customer(store, shop, id).await.map(|c| c.balance).unwrap_or_else(|| panic!("customer {id} has no row"))
}

/// The ledger invariant, checked after every step: the stored balance is the replay of the
/// stored entries.
async fn assert_balance_is_replay(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Balance {
    let stored = balance(store, shop, id).await;
    let listed = entries(store, shop, id).await;
    assert_eq!(stored, Balance::replay(&listed), "balance must equal the replay of the entries");
    stored
}

async fn append(store: &dyn Store, entry: &LedgerEntry) -> AppendOutcome {
    ok("append_entry", store.append_entry(entry).await)
}

pub async fn an_appended_entry_moves_the_balance_in_its_bucket(store: &dyn Store) {
    let shop = fixtures::shop("ledger-bucket");
    let id = fixtures::customer_id("c1");
    apply_new(store, &shop, &[fixtures::upsert(fixtures::full_profile(&shop, &id, Some(at(0))))]).await;

    let pending = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), Bucket::Pending, 120, at(1));
    assert_eq!(append(store, &pending).await, AppendOutcome::Appended);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 0, pending: 120 });

    let available = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1002"), Bucket::Available, 45, at(2));
    assert_eq!(append(store, &available).await, AppendOutcome::Appended);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 45, pending: 120 });
}

pub async fn a_second_append_under_the_same_key_keeps_the_first_entry(store: &dyn Store) {
    let shop = fixtures::shop("ledger-same-key");
    let id = fixtures::customer_id("c1");
    let order_id = fixtures::order_id("1001");
    let first = fixtures::earn_entry(&shop, &id, &order_id, Bucket::Available, 100, at(1));
    assert_eq!(append(store, &first).await, AppendOutcome::Appended);

    let same = append(store, &first).await;
    let different = fixtures::earn_entry(&shop, &id, &order_id, Bucket::Pending, 999, at(2));
    let conflicting = append(store, &different).await;

    assert_eq!(same, AppendOutcome::AlreadyExists(Box::new(first.clone())));
    assert_eq!(conflicting, AppendOutcome::AlreadyExists(Box::new(first.clone())), "the first write wins");
    assert_eq!(entries(store, &shop, &id).await, vec![first]);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 100, pending: 0 });
}

pub async fn concurrent_appends_under_one_key_count_once(store: &dyn Store) {
    const COPIES: usize = 50;
    let shop = fixtures::shop("ledger-concurrent");
    let id = fixtures::customer_id("c1");
    let entry = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), Bucket::Available, 70, at(1));

    let outcomes = join_all((0..COPIES).map(|_| store.append_entry(&entry))).await;

    let outcomes: Vec<_> = outcomes.into_iter().map(|result| ok("append_entry", result)).collect();
    let appended = outcomes.iter().filter(|outcome| **outcome == AppendOutcome::Appended).count();
    assert_eq!(appended, 1, "exactly one of {COPIES} concurrent appends may write");
    for outcome in &outcomes {
        if let AppendOutcome::AlreadyExists(stored) = outcome {
            assert_eq!(**stored, entry);
        }
    }
    assert_eq!(entries(store, &shop, &id).await, vec![entry]);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 70, pending: 0 });
}

pub async fn entries_are_listed_oldest_first_and_always_agree_with_the_balance(store: &dyn Store) {
    let shop = fixtures::shop("ledger-order");
    let id = fixtures::customer_id("c1");
    let mut appended = Vec::new();
    // Keys deliberately not in time order, so a store listing by key would fail.
    for (n, (order, bucket, points)) in [
        ("9", Bucket::Pending, 30),
        ("10", Bucket::Available, 5),
        ("1", Bucket::Pending, 12),
        ("5", Bucket::Available, 7),
    ]
    .into_iter()
    .enumerate()
    {
        let minutes = i64::try_from(n).unwrap_or(0) * 10;
        let entry = fixtures::earn_entry(&shop, &id, &fixtures::order_id(order), bucket, points, at(minutes));
        assert_eq!(append(store, &entry).await, AppendOutcome::Appended);
        appended.push(entry);
        assert_balance_is_replay(store, &shop, &id).await;
    }

    assert_eq!(entries(store, &shop, &id).await, appended);
    assert_eq!(balance(store, &shop, &id).await, Balance { available: 12, pending: 42 });
    assert!(entries(store, &shop, &fixtures::customer_id("c2")).await.is_empty());
}

pub async fn an_entry_failing_its_check_is_refused_and_nothing_is_written(store: &dyn Store) {
    let shop = fixtures::shop("ledger-invalid");
    let id = fixtures::customer_id("c1");
    let profile = fixtures::full_profile(&shop, &id, Some(at(0)));
    apply_new(store, &shop, &[fixtures::upsert(profile.clone())]).await;

    let valid = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), Bucket::Available, 100, at(1));
    let lines_disagree = LedgerEntry { points: 101, ..valid.clone() };
    let not_a_credit = LedgerEntry { points: 0, basis: None, ..valid.clone() };
    for invalid in [lines_disagree, not_a_credit] {
        assert!(invalid.check().is_err(), "fixture must fail its check");
        match store.append_entry(&invalid).await {
            Err(StoreError::Invariant(_)) => {}
            other => panic!("an entry failing its check must be refused with Invariant, got {other:?}"),
        }
    }

    assert!(entries(store, &shop, &id).await.is_empty());
    let expected = Customer { profile, last_order_at: None, balance: Balance::default(), deleted_at: None };
    assert_eq!(customer(store, &shop, &id).await, Some(expected));
    // The refused entry did not take the key: the valid one still appends.
    assert_eq!(append(store, &valid).await, AppendOutcome::Appended);
}

pub async fn an_append_for_an_unknown_customer_creates_the_customer(store: &dyn Store) {
    let shop = fixtures::shop("ledger-new-customer");
    let id = fixtures::customer_id("c1");
    let entry = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), Bucket::Pending, 80, at(1));

    assert_eq!(append(store, &entry).await, AppendOutcome::Appended);

    let expected = Customer {
        profile: fixtures::bare_profile(&shop, &id, None),
        last_order_at: None,
        balance: Balance { available: 0, pending: 80 },
        deleted_at: None,
    };
    assert_eq!(customer(store, &shop, &id).await, Some(expected));
    assert_balance_is_replay(store, &shop, &id).await;
}
