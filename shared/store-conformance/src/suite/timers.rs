//! Timers: when each customer's ledger next needs the sweep. A timer computed from a shorter ledger
//! never overwrites one from a longer ledger, and the sweep lists only the customers due.

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ports::{DueTimer, Store, Timer};

use super::{all_pages, ok};
use crate::fixtures::{self, at};

async fn set(store: &dyn Store, shop: &ShopId, id: &CustomerId, due: Option<DateTime<Utc>>, len: u32) {
    ok("set_timer", store.set_timer(shop, id, due, len).await);
}

async fn timer(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Option<Timer> {
    ok("timer", store.timer(shop, id).await)
}

async fn due(store: &dyn Store, shop: &ShopId, now: DateTime<Utc>, limit: u32) -> Vec<DueTimer> {
    all_pages("due_timers", limit, |page| store.due_timers(shop, now, page)).await
}

pub async fn a_timer_is_stored_and_read_back(store: &dyn Store) {
    let shop = fixtures::shop("timer-set");
    let id = fixtures::customer_id("c1");
    assert_eq!(timer(store, &shop, &id).await, None);

    set(store, &shop, &id, Some(at(60)), 3).await;

    assert_eq!(timer(store, &shop, &id).await, Some(Timer { due: Some(at(60)), ledger_len: 3 }));
}

pub async fn a_timer_from_a_shorter_ledger_never_overwrites_one_from_a_longer_ledger(store: &dyn Store) {
    let shop = fixtures::shop("timer-guard");
    let id = fixtures::customer_id("c1");
    set(store, &shop, &id, Some(at(60)), 5).await;

    set(store, &shop, &id, Some(at(10)), 4).await;
    set(store, &shop, &id, None, 2).await;
    assert_eq!(timer(store, &shop, &id).await, Some(Timer { due: Some(at(60)), ledger_len: 5 }));

    // The same length is the same ledger: its answer may be recomputed (at a later time).
    set(store, &shop, &id, Some(at(70)), 5).await;
    assert_eq!(timer(store, &shop, &id).await, Some(Timer { due: Some(at(70)), ledger_len: 5 }));
    set(store, &shop, &id, Some(at(20)), 6).await;
    assert_eq!(timer(store, &shop, &id).await, Some(Timer { due: Some(at(20)), ledger_len: 6 }));
}

pub async fn due_timers_lists_the_customers_due_by_now_earliest_first_in_their_shop_only(store: &dyn Store) {
    let shop = fixtures::shop("timer-due");
    let other = fixtures::shop("timer-due-other");
    for (customer, minutes) in [("late", 30), ("early", 10), ("exact", 20), ("future", 21)] {
        set(store, &shop, &fixtures::customer_id(customer), Some(at(minutes)), 1).await;
    }
    set(store, &shop, &fixtures::customer_id("none"), None, 1).await;
    set(store, &other, &fixtures::customer_id("elsewhere"), Some(at(0)), 1).await;

    let found = due(store, &shop, at(20), 10).await;

    let expected = vec![
        DueTimer { customer_id: fixtures::customer_id("early"), due: at(10) },
        DueTimer { customer_id: fixtures::customer_id("exact"), due: at(20) },
    ];
    assert_eq!(found, expected);
}

pub async fn clearing_or_moving_a_timer_changes_who_is_due(store: &dyn Store) {
    let shop = fixtures::shop("timer-clear");
    let (a, b) = (fixtures::customer_id("a"), fixtures::customer_id("b"));
    set(store, &shop, &a, Some(at(5)), 1).await;
    set(store, &shop, &b, Some(at(5)), 1).await;

    set(store, &shop, &a, None, 2).await;
    set(store, &shop, &b, Some(at(500)), 2).await;

    assert!(due(store, &shop, at(100), 10).await.is_empty());
    assert_eq!(due(store, &shop, at(500), 10).await, vec![DueTimer { customer_id: b, due: at(500) }]);
    assert_eq!(timer(store, &shop, &a).await, Some(Timer { due: None, ledger_len: 2 }));
}

pub async fn due_timer_pages_return_every_due_customer_exactly_once(store: &dyn Store) {
    let shop = fixtures::shop("timer-pages");
    let mut expected = BTreeSet::new();
    for n in 0..23_i64 {
        let id = fixtures::customer_id(&format!("c{n:02}"));
        // Several customers share each time, so pages must break ties by customer.
        set(store, &shop, &id, Some(at(n % 4)), 1).await;
        expected.insert(id);
    }

    let found = due(store, &shop, at(10), 5).await;

    let ids: Vec<_> = found.iter().map(|t| t.customer_id.clone()).collect();
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(ids.len(), expected.len(), "no customer may appear twice");
    assert!(found.windows(2).all(|w| w[0].due <= w[1].due), "earliest first");
}
