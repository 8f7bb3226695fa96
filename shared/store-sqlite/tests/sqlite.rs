//! Behaviour of the SQLite adapter beyond the shared suite: durability across a reopen, group
//! commit, per-job rollback inside a batch, pruning, and refusing what it cannot read.

mod common;

use chrono::{Duration, TimeZone, Utc};
use futures::future::join_all;

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::ledger::{AppendOutcome, Balance, Bucket};
use stammkunde_domain::ports::{CustomerStore, IngestStore, LedgerStore, PageRequest, ShopStore, Store};
use stammkunde_domain::secret::Secret;
use stammkunde_store_conformance::fixtures::{self, at};

use common::{database_path, fresh_store, open};

fn ok<T>(what: &str, result: Result<T, StoreError>) -> T {
    result.unwrap_or_else(|error| panic!("{what} failed: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_written_before_a_close_is_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = database_path(&dir);
    let shop = fixtures::shop("durable");
    let customer_id = fixtures::customer_id("c1");
    let profile = fixtures::full_profile(&shop, &customer_id, Some(at(0)));
    let placed = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(1), at(1));
    let entry = fixtures::earn_entry(&shop, &customer_id, &placed.order_id, Bucket::Available, 25, at(2));
    let delivery = fixtures::delivery(&shop, &["durable-1"]);

    {
        let store = open(&path);
        let changes = [fixtures::upsert(profile.clone()), fixtures::record(placed.clone())];
        ok("apply", store.apply_delivery(&delivery, &changes).await);
        ok("append", store.append_entry(&entry).await);
        ok("begin", store.begin_registration(&shop, "https://shop.example", &Secret::new("s1"), at(3)).await);
    }

    let store = open(&path);
    let stored = ok("customer", store.customer(&shop, &customer_id).await);
    assert_eq!(stored.as_ref().map(|c| &c.profile), Some(&profile));
    assert_eq!(stored.map(|c| c.balance), Some(Balance { available: 25, pending: 0 }));
    assert_eq!(ok("order", store.order(&shop, &placed.order_id).await), Some(placed));
    assert_eq!(ok("entries", store.entries(&shop, &customer_id).await), vec![entry]);
    assert!(ok("seen", store.delivery_seen(&shop, &delivery.ids).await));
    let registration = ok("registration", store.registration(&shop).await);
    assert_eq!(registration.and_then(|r| r.pending_secret), Some(Secret::new("s1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_committed_in_fewer_transactions_than_jobs() {
    const APPENDS: usize = 200;
    let test = fresh_store().await;
    let shop = fixtures::shop("group-commit");
    let customer_id = fixtures::customer_id("c1");
    let entries: Vec<_> = (0..APPENDS)
        .map(|n| {
            let order = fixtures::order_id(&format!("o{n}"));
            fixtures::earn_entry(&shop, &customer_id, &order, Bucket::Pending, 1, at(0))
        })
        .collect();
    let before = test.store.write_stats();

    let outcomes = join_all(entries.iter().map(|entry| test.store.append_entry(entry))).await;

    let after = test.store.write_stats();
    for outcome in outcomes {
        assert_eq!(ok("append", outcome), AppendOutcome::Appended);
    }
    let (jobs, commits) = (after.jobs - before.jobs, after.commits - before.commits);
    assert_eq!(jobs, APPENDS as u64);
    assert!(commits < jobs, "{jobs} concurrent jobs took {commits} commits: they were not batched");
    let balance = ok("customer", test.store.customer(&shop, &customer_id).await).map(|c| c.balance);
    assert_eq!(balance, Some(Balance { available: 0, pending: APPENDS as i64 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_rolls_back_alone_and_the_rest_of_its_batch_commits() {
    let test = fresh_store().await;
    let shop = fixtures::shop("rollback");
    let good = fixtures::customer_id("good");
    let bad = fixtures::customer_id("bad");
    // The second change cannot be stored (a year our timestamps cannot hold) after the first was.
    let far_future = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).single();
    let failing_changes = [
        fixtures::upsert(fixtures::full_profile(&shop, &bad, Some(at(0)))),
        fixtures::upsert(fixtures::full_profile(&shop, &fixtures::customer_id("bad-2"), far_future)),
    ];
    let failing = fixtures::delivery(&shop, &["failing"]);
    let entries: Vec<_> = (0..20)
        .map(|n| fixtures::earn_entry(&shop, &good, &fixtures::order_id(&format!("o{n}")), Bucket::Available, 2, at(n)))
        .collect();

    let (failed, appended) = tokio::join!(
        test.store.apply_delivery(&failing, &failing_changes),
        join_all(entries.iter().map(|entry| test.store.append_entry(entry)))
    );

    assert!(failed.is_err(), "a delivery with an unstorable change must fail");
    assert!(appended.into_iter().all(|outcome| matches!(outcome, Ok(AppendOutcome::Appended))));
    assert_eq!(ok("customer", test.store.customer(&shop, &bad).await), None, "the failed job's first write stays");
    assert!(!ok("seen", test.store.delivery_seen(&shop, &failing.ids).await));
    let balance = ok("customer", test.store.customer(&shop, &good).await).map(|c| c.balance);
    assert_eq!(balance, Some(Balance { available: 40, pending: 0 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_carrying_another_shops_change_is_refused_whole() {
    let test = fresh_store().await;
    let shop = fixtures::shop("own-shop");
    let other = fixtures::shop("other-shop");
    let id = fixtures::customer_id("c1");
    let changes = [
        fixtures::upsert(fixtures::full_profile(&shop, &id, Some(at(0)))),
        Change::RecordUninstall { shop: other.clone(), at: at(1) },
    ];

    let result = test.store.apply_delivery(&fixtures::delivery(&shop, &["d1"]), &changes).await;

    assert!(matches!(result, Err(StoreError::Invariant(_))), "got {result:?}");
    assert_eq!(ok("customer", test.store.customer(&shop, &id).await), None);
    assert_eq!(ok("uninstalled_at", test.store.uninstalled_at(&other).await), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_delivery_record_is_pruned() {
    let test = fresh_store().await;
    let shop = fixtures::shop("prune");
    let expired = DeliveryRecord {
        received_at: Utc::now() - Duration::days(8),
        expires_at: Utc::now() - Duration::days(1),
        ..fixtures::delivery(&shop, &["old"])
    };

    // The first batch after opening prunes, and the record it writes has already expired.
    ok("apply", test.store.apply_delivery(&expired, &[]).await);

    assert!(!ok("seen", test.store.delivery_seen(&shop, &expired.ids).await));
}

/// Records expire by the clock that stamped them, not the wall clock: a store whose clock is a
/// month behind the machine's (a test clock, a replay) must still recognise its duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_records_expire_by_the_stores_clock_not_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let month_ago = Utc::now() - Duration::days(30);
    let clock = std::sync::Arc::new(stammkunde_domain::clock::FixedClock::new(month_ago));
    let store = stammkunde_store_sqlite::SqliteStore::open(&database_path(&dir), clock)
        .unwrap_or_else(|error| panic!("{error}"));
    let shop = fixtures::shop("prune-clock");
    let recent = DeliveryRecord {
        received_at: month_ago,
        expires_at: month_ago + Duration::days(7),
        ..fixtures::delivery(&shop, &["recent"])
    };

    // The first batch prunes; by the store's clock the record is a week from expiry.
    ok("apply", store.apply_delivery(&recent, &[]).await);

    assert!(ok("seen", store.delivery_seen(&shop, &recent.ids).await));
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cursor_the_store_did_not_make_is_refused() {
    let test = fresh_store().await;
    let shop = fixtures::shop("cursor");
    let page = PageRequest { cursor: Some("%%% not a cursor".into()), limit: 10 };

    let result = test.store.customers_by_birthday(&shop, 1, 1, page).await;

    assert!(matches!(result, Err(StoreError::Corrupt { .. })), "got {result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_version_is_refused() {
    let test = fresh_store().await;
    let path = test.path();
    drop(test.store);
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|error| panic!("{error}"));
    conn.pragma_update(None, "user_version", 999).unwrap_or_else(|error| panic!("{error}"));
    drop(conn);

    let result =
        stammkunde_store_sqlite::SqliteStore::open(&path, std::sync::Arc::new(stammkunde_domain::clock::SystemClock));

    assert!(matches!(result, Err(StoreError::Backend { .. })), "got {result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_see_a_write_as_soon_as_it_returns() {
    let test = fresh_store().await;
    let shop = fixtures::shop("read-your-writes");
    let store: &dyn Store = &test.store;
    for n in 0..50 {
        let id = fixtures::customer_id(&format!("c{n}"));
        let profile = fixtures::full_profile(&shop, &id, Some(at(n)));
        let delivery = fixtures::delivery(&shop, &[&format!("d{n}")]);
        ok("apply", store.apply_delivery(&delivery, &[fixtures::upsert(profile.clone())]).await);
        let stored = ok("customer", store.customer(&shop, &id).await);
        assert_eq!(stored.map(|c| c.profile), Some(profile));
    }
}
