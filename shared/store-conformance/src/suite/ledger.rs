//! The points ledger: appends conditional on the ledger's length, all or nothing, balances that
//! always equal the replay of the entries, and entries that fail their own check never reaching
//! the store.

use futures::future::join_all;

use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{AppendOutcome, Balance, Bucket, LedgerEntry, LedgerState};
use stammkunde_domain::ports::Store;

use super::{apply_new, customer, ok};
use crate::fixtures::{self, at};

async fn entries(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Vec<LedgerEntry> {
    ok("entries", store.entries(shop, id).await)
}

async fn balance(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Balance {
    customer(store, shop, id).await.map(|c| c.balance).unwrap_or_else(|| panic!("customer {id} has no row"))
}

/// The ledger invariants, checked after every step: the entries replay without a violation, and
/// the balance the store reports is their replay.
async fn assert_balance_is_replay(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Balance {
    let stored = balance(store, shop, id).await;
    let listed = entries(store, shop, id).await;
    if let Err(violation) = LedgerState::replay(shop, id, &listed) {
        panic!("the stored ledger does not replay: {violation}");
    }
    assert_eq!(stored, Balance::replay(&listed), "balance must equal the replay of the entries");
    stored
}

async fn append(store: &dyn Store, entries: &[LedgerEntry]) -> AppendOutcome {
    let first = entries.first().unwrap_or_else(|| panic!("append needs an entry"));
    ok("append_entries", store.append_entries(&first.shop, &first.customer_id, entries).await)
}

pub async fn an_append_at_the_ledgers_end_is_stored_and_moves_the_balance(store: &dyn Store) {
    let shop = fixtures::shop("ledger-bucket");
    let id = fixtures::customer_id("c1");
    apply_new(store, &shop, &[fixtures::upsert(fixtures::full_profile(&shop, &id, Some(at(0))))]).await;

    let pending = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), 1, Bucket::Pending, 120, at(1));
    assert_eq!(append(store, std::slice::from_ref(&pending)).await, AppendOutcome::Appended);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 0, pending: 120 });

    let available = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1002"), 2, Bucket::Available, 45, at(2));
    assert_eq!(append(store, std::slice::from_ref(&available)).await, AppendOutcome::Appended);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 45, pending: 120 });
    assert_eq!(entries(store, &shop, &id).await, vec![pending, available]);
}

pub async fn an_append_behind_the_ledgers_end_writes_nothing_and_reports_moved(store: &dyn Store) {
    let shop = fixtures::shop("ledger-moved");
    let id = fixtures::customer_id("c1");
    let first = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), 1, Bucket::Available, 100, at(1));
    assert_eq!(append(store, std::slice::from_ref(&first)).await, AppendOutcome::Appended);

    // Decided on an empty ledger, written after `first`: the writer must read again.
    let stale = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1002"), 1, Bucket::Pending, 999, at(2));
    assert_eq!(append(store, &[stale]).await, AppendOutcome::Moved);

    assert_eq!(entries(store, &shop, &id).await, vec![first]);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 100, pending: 0 });
}

pub async fn concurrent_appends_at_one_position_store_exactly_one(store: &dyn Store) {
    const WRITERS: usize = 50;
    let shop = fixtures::shop("ledger-concurrent");
    let id = fixtures::customer_id("c1");
    // Each writer decided on the same empty ledger, each for another fact.
    let candidates: Vec<LedgerEntry> = (0..WRITERS)
        .map(|n| fixtures::earn_entry(&shop, &id, &fixtures::order_id(&format!("o{n}")), 1, Bucket::Pending, 70, at(1)))
        .collect();

    let outcomes = join_all(candidates.iter().map(|e| store.append_entries(&shop, &id, std::slice::from_ref(e)))).await;

    let outcomes: Vec<_> = outcomes.into_iter().map(|result| ok("append_entries", result)).collect();
    let winners: Vec<_> =
        outcomes.iter().zip(&candidates).filter(|(o, _)| **o == AppendOutcome::Appended).map(|(_, e)| e).collect();
    assert_eq!(winners.len(), 1, "exactly one of {WRITERS} writers at one position may write");
    assert!(outcomes.iter().all(|o| *o == AppendOutcome::Appended || *o == AppendOutcome::Moved));
    assert_eq!(entries(store, &shop, &id).await, vec![winners[0].clone()]);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 0, pending: 70 });
}

pub async fn several_entries_append_together_or_not_at_all(store: &dyn Store) {
    let shop = fixtures::shop("ledger-batch");
    let id = fixtures::customer_id("c1");
    let batch = vec![
        fixtures::earn_entry(&shop, &id, &fixtures::order_id("1"), 1, Bucket::Available, 10, at(1)),
        fixtures::earn_entry(&shop, &id, &fixtures::order_id("2"), 2, Bucket::Available, 20, at(1)),
        fixtures::adjustment_entry(&shop, &id, "adj-1", 3, -5, at(1)),
    ];
    assert_eq!(append(store, &batch).await, AppendOutcome::Appended);
    assert_eq!(entries(store, &shop, &id).await, batch);

    // A batch decided on the ledger before `batch`: none of it may land.
    let late = vec![
        fixtures::earn_entry(&shop, &id, &fixtures::order_id("3"), 3, Bucket::Available, 30, at(2)),
        fixtures::earn_entry(&shop, &id, &fixtures::order_id("4"), 4, Bucket::Available, 40, at(2)),
    ];
    assert_eq!(append(store, &late).await, AppendOutcome::Moved);
    assert_eq!(entries(store, &shop, &id).await, batch);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 25, pending: 0 });
}

pub async fn entries_are_listed_in_position_order_and_always_agree_with_the_balance(store: &dyn Store) {
    let shop = fixtures::shop("ledger-order");
    let id = fixtures::customer_id("c1");
    let mut appended = Vec::new();
    // Keys and times deliberately not in position order, so a store listing by either would fail.
    for (n, (order, bucket, points, minutes)) in [
        ("9", Bucket::Pending, 30, 40),
        ("10", Bucket::Available, 5, 10),
        ("1", Bucket::Pending, 12, 30),
        ("5", Bucket::Available, 7, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let position = u32::try_from(n).unwrap_or(0) + 1;
        let entry = fixtures::earn_entry(&shop, &id, &fixtures::order_id(order), position, bucket, points, at(minutes));
        assert_eq!(append(store, std::slice::from_ref(&entry)).await, AppendOutcome::Appended);
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

    let valid = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), 1, Bucket::Available, 100, at(1));
    let lines_disagree = LedgerEntry { available: 101, ..valid.clone() };
    let position_zero = LedgerEntry { position: 0, ..valid.clone() };
    let second_valid = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1002"), 2, Bucket::Available, 5, at(1));
    for invalid in [vec![lines_disagree], vec![position_zero], vec![second_valid.clone(), valid.clone()]] {
        match store.append_entries(&shop, &id, &invalid).await {
            Err(StoreError::Invariant(_)) => {}
            other => panic!("a batch with an entry failing its check or out of sequence must be refused with Invariant, got {other:?}"),
        }
    }
    let other_customer = fixtures::earn_entry(
        &shop,
        &fixtures::customer_id("c2"),
        &fixtures::order_id("1"),
        1,
        Bucket::Available,
        5,
        at(1),
    );
    assert!(matches!(store.append_entries(&shop, &id, &[other_customer]).await, Err(StoreError::Invariant(_))));

    assert!(entries(store, &shop, &id).await.is_empty());
    let birthday_since = profile.birthday.and(profile.source_updated_at);
    let expected =
        Customer { profile, last_order_at: None, balance: Balance::default(), deleted_at: None, birthday_since };
    assert_eq!(customer(store, &shop, &id).await, Some(expected));
    // The refused entries took no position: the valid one still appends.
    assert_eq!(append(store, &[valid]).await, AppendOutcome::Appended);
}

pub async fn an_append_for_an_unknown_customer_creates_the_customer(store: &dyn Store) {
    let shop = fixtures::shop("ledger-new-customer");
    let id = fixtures::customer_id("c1");
    let entry = fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), 1, Bucket::Pending, 80, at(1));

    assert_eq!(append(store, &[entry]).await, AppendOutcome::Appended);

    let expected = Customer {
        profile: fixtures::bare_profile(&shop, &id, None),
        last_order_at: None,
        balance: Balance { available: 0, pending: 80 },
        deleted_at: None,
        birthday_since: None,
    };
    assert_eq!(customer(store, &shop, &id).await, Some(expected));
    assert_balance_is_replay(store, &shop, &id).await;
}

pub async fn every_kind_of_entry_comes_back_equal(store: &dyn Store) {
    let shop = fixtures::shop("ledger-kinds");
    let id = fixtures::customer_id("gid://shopify/Customer/820982911946154508");
    let written = fixtures::entries_of_every_kind(&shop, &id);
    if let Err(violation) = LedgerState::replay(&shop, &id, &written) {
        panic!("fixture ledger does not replay: {violation}");
    }
    // In two appends, so a store's multi-entry and single-entry paths both carry every field.
    let (head, tail) = written.split_at(written.len() - 1);
    assert_eq!(append(store, head).await, AppendOutcome::Appended);
    assert_eq!(append(store, tail).await, AppendOutcome::Appended);

    assert_eq!(entries(store, &shop, &id).await, written);
    assert_eq!(assert_balance_is_replay(store, &shop, &id).await, Balance { available: 25, pending: 50 });
}
