//! Behaviour of the SQLite adapter beyond the shared suite: durability across a reopen, group
//! commit, per-job rollback inside a batch, pruning, migrating older databases, and refusing what
//! it cannot read.

mod common;

use chrono::{Duration, TimeZone, Utc};
use futures::future::join_all;

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::ledger::{AppendOutcome, Balance, Bucket, LedgerEntry};
use stammkunde_domain::ports::{
    CodeStore, CustomerStore, IngestStore, LedgerStore, PageRequest, ShopStore, Store, Timer, TimerStore,
};
use stammkunde_domain::secret::Secret;
use stammkunde_store_conformance::fixtures::{self, at};

use common::{database_path, fresh_store, open};

fn ok<T>(what: &str, result: Result<T, StoreError>) -> T {
    result.unwrap_or_else(|error| panic!("{what} failed: {error}"))
}

/// Appends one entry to its own customer's ledger.
async fn append(store: &dyn Store, entry: &LedgerEntry) -> Result<AppendOutcome, StoreError> {
    store.append_entries(&entry.shop, &entry.customer_id, std::slice::from_ref(entry)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_written_before_a_close_is_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = database_path(&dir);
    let shop = fixtures::shop("durable");
    let customer_id = fixtures::customer_id("c1");
    let profile = fixtures::full_profile(&shop, &customer_id, Some(at(0)));
    let placed = fixtures::order(&shop, &fixtures::order_id("1001"), Some(&customer_id), at(1), at(1));
    let entry = fixtures::earn_entry(&shop, &customer_id, &placed.order_id, 1, Bucket::Available, 25, at(2));
    let refund = fixtures::refund(&shop, &placed.order_id, "r-1", 1, at(4));
    let delivery = fixtures::delivery(&shop, &["durable-1"]);
    let reward = fixtures::reward("5-euro");

    {
        let store = open(&path);
        let changes =
            [fixtures::upsert(profile.clone()), fixtures::record(placed.clone()), Change::RecordRefund(refund.clone())];
        ok("apply", store.apply_delivery(&delivery, &changes).await);
        ok("append", store.append_entries(&shop, &customer_id, std::slice::from_ref(&entry)).await);
        let pending = Secret::new("s1");
        ok("begin", store.begin_registration(&shop, "https://shop.example", &pending, at(3), at(3)).await);
        ok("set_timer", store.set_timer(&shop, &customer_id, Some(at(60)), 1).await);
        ok("import", store.import_codes(&shop, &reward, &fixtures::codes("FIVE", 1), false).await);
        ok("set_sweep_mark", store.set_sweep_mark(&shop, "tiers", "c1").await);
    }

    let store = open(&path);
    let stored = ok("customer", store.customer(&shop, &customer_id).await);
    assert_eq!(stored.as_ref().map(|c| &c.profile), Some(&profile));
    assert_eq!(stored.map(|c| c.balance), Some(Balance { available: 25, pending: 0 }));
    assert_eq!(ok("order", store.order(&shop, &placed.order_id).await), Some(placed.clone()));
    assert_eq!(ok("entries", store.entries(&shop, &customer_id).await), vec![entry]);
    assert!(ok("seen", store.delivery_seen(&shop, &delivery.ids).await));
    let registration = ok("registration", store.registration(&shop).await);
    assert_eq!(registration.and_then(|r| r.pending_secret), Some(Secret::new("s1")));
    assert_eq!(ok("refunds", store.refunds(&shop, &placed.order_id).await), vec![refund]);
    assert_eq!(ok("timer", store.timer(&shop, &customer_id).await), Some(Timer { due: Some(at(60)), ledger_len: 1 }));
    let codes = ok("codes", store.codes(&shop, Some(&reward), PageRequest::first(10)).await);
    assert_eq!(codes.items.iter().map(|c| c.code.clone()).collect::<Vec<_>>(), fixtures::codes("FIVE", 1));
    assert_eq!(ok("sweep_mark", store.sweep_mark(&shop, "tiers").await).as_deref(), Some("c1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_committed_in_fewer_transactions_than_jobs() {
    const APPENDS: usize = 200;
    let test = fresh_store().await;
    let shop = fixtures::shop("group-commit");
    // One customer each: appends to one ledger are serialised by its length, appends to many are
    // not, and all of them can share a commit.
    let entries: Vec<_> = (0..APPENDS)
        .map(|n| {
            let customer_id = fixtures::customer_id(&format!("c{n}"));
            fixtures::earn_entry(&shop, &customer_id, &fixtures::order_id("o1"), 1, Bucket::Pending, 1, at(0))
        })
        .collect();
    let before = test.store.write_stats();

    let outcomes = join_all(entries.iter().map(|entry| append(&test.store, entry))).await;

    let after = test.store.write_stats();
    for outcome in outcomes {
        assert_eq!(ok("append", outcome), AppendOutcome::Appended);
    }
    let (jobs, commits) = (after.jobs - before.jobs, after.commits - before.commits);
    assert_eq!(jobs, APPENDS as u64);
    assert!(commits < jobs, "{jobs} concurrent jobs took {commits} commits: they were not batched");
    for entry in &entries {
        let balance = ok("customer", test.store.customer(&shop, &entry.customer_id).await).map(|c| c.balance);
        assert_eq!(balance, Some(Balance { available: 0, pending: 1 }));
    }
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
    // Concurrent appends to distinct ledgers, so they ride in the failing job's batch.
    let entries: Vec<_> = (0..20)
        .map(|n| {
            let customer_id = fixtures::customer_id(&format!("{good}-{n}"));
            fixtures::earn_entry(&shop, &customer_id, &fixtures::order_id("o1"), 1, Bucket::Available, 2, at(n))
        })
        .collect();

    let (failed, appended) = tokio::join!(
        test.store.apply_delivery(&failing, &failing_changes),
        join_all(entries.iter().map(|entry| append(&test.store, entry)))
    );

    assert!(failed.is_err(), "a delivery with an unstorable change must fail");
    assert!(appended.into_iter().all(|outcome| matches!(outcome, Ok(AppendOutcome::Appended))));
    assert_eq!(ok("customer", test.store.customer(&shop, &bad).await), None, "the failed job's first write stays");
    assert!(!ok("seen", test.store.delivery_seen(&shop, &failing.ids).await));
    for entry in &entries {
        let balance = ok("customer", test.store.customer(&shop, &entry.customer_id).await).map(|c| c.balance);
        assert_eq!(balance, Some(Balance { available: 2, pending: 0 }));
    }
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
async fn a_cursor_from_another_kind_of_page_is_refused_by_the_timer_and_code_pages() {
    let test = fresh_store().await;
    let shop = fixtures::shop("cursor-kinds");
    // A customer page's cursor: valid base64, but not a (due time, customer) or a stored code.
    for n in 0..3 {
        let id = fixtures::customer_id(&format!("c{n}"));
        let changes = [fixtures::upsert(fixtures::full_profile(&shop, &id, Some(at(0))))];
        ok("apply", test.store.apply_delivery(&fixtures::delivery(&shop, &[&format!("d{n}")]), &changes).await);
    }
    let customers = ok("customers", test.store.customers(&shop, PageRequest::first(1)).await);
    let foreign = PageRequest { cursor: customers.next, limit: 10 };
    assert!(foreign.cursor.is_some(), "the customer page has a next page");

    let timers = test.store.due_timers(&shop, at(0), foreign.clone()).await;
    let codes = test.store.codes(&shop, None, foreign).await;

    assert!(matches!(timers, Err(StoreError::Corrupt { .. })), "got {timers:?}");
    assert!(matches!(codes, Err(StoreError::Corrupt { .. })), "got {codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_whose_key_the_ledger_holds_is_refused_and_the_append_writes_nothing() {
    let test = fresh_store().await;
    let shop = fixtures::shop("ledger-key-taken");
    let id = fixtures::customer_id("c1");
    let order = fixtures::order_id("1001");
    let first = fixtures::earn_entry(&shop, &id, &order, 1, Bucket::Available, 10, at(1));
    assert_eq!(ok("append", append(&test.store, &first).await), AppendOutcome::Appended);

    // At the right position, but a fact the ledger already holds: a caller that did not read it.
    let bonus = fixtures::adjustment_entry(&shop, &id, "adj-1", 2, 5, at(2));
    let again = fixtures::earn_entry(&shop, &id, &order, 3, Bucket::Available, 10, at(2));
    let result = test.store.append_entries(&shop, &id, &[bonus.clone(), again]).await;

    assert!(matches!(result, Err(StoreError::Invariant(_))), "got {result:?}");
    assert_eq!(ok("entries", test.store.entries(&shop, &id).await), vec![first]);
    let balance = ok("customer", test.store.customer(&shop, &id).await).map(|c| c.balance);
    assert_eq!(balance, Some(Balance { available: 10, pending: 0 }));
    assert_eq!(ok("append", append(&test.store, &bonus).await), AppendOutcome::Appended, "position 2 is still free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_that_would_overflow_the_balance_is_refused_and_writes_nothing() {
    let test = fresh_store().await;
    let shop = fixtures::shop("ledger-overflow");
    let id = fixtures::customer_id("c1");
    let most = fixtures::adjustment_entry(&shop, &id, "adj-1", 1, i64::MAX, at(1));
    assert_eq!(ok("append", append(&test.store, &most).await), AppendOutcome::Appended);

    let one_more = fixtures::adjustment_entry(&shop, &id, "adj-2", 2, 1, at(2));
    let result = append(&test.store, &one_more).await;

    assert!(matches!(result, Err(StoreError::Invariant(_))), "got {result:?}");
    assert_eq!(ok("entries", test.store.entries(&shop, &id).await), vec![most]);
    let balance = ok("customer", test.store.customer(&shop, &id).await).map(|c| c.balance);
    assert_eq!(balance, Some(Balance { available: i64::MAX, pending: 0 }));
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

/// The schema version before the ledger redesign (migration 3).
const SCHEMA_VERSION_BEFORE_POSITIONS: usize = 2;

/// An order credit as builds before the ledger redesign wrote it: one bucket, signed points, the
/// basis beside them, no position.
fn old_earn_body(shop: &str, customer: &str, order: &str, bucket: &str, points: i64, created_at: &str) -> String {
    format!(
        r#"{{"shop":"{shop}","customer_id":"{customer}","key":"earn:order:{order}","kind":"earn","bucket":"{bucket}","points":{points},"reason":"order #{order} paid","order_id":"{order}","basis":{{"currency":"EUR","points_per_unit":"1","tax_included":true,"lines":[{{"line_id":"1","quantity":1,"amount_minor":{amount},"points":{points}}}]}},"created_at":"{created_at}"}}"#,
        amount = points * 100
    )
}

/// Builds a database as the adapter left it at `SCHEMA_VERSION_BEFORE_POSITIONS`: the old
/// migrations only, two customers with old-format credits, their rows interleaved in `seq`.
fn old_database(path: &std::path::Path, shop: &str) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    for migration in &stammkunde_store_sqlite::migrations()[..SCHEMA_VERSION_BEFORE_POSITIONS] {
        conn.execute_batch(migration)?;
    }
    for (customer, available, pending) in [("c1", 25, 40), ("c2", 0, 7)] {
        conn.execute(
            "INSERT INTO customers (shop, customer_id, available, pending) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![shop, customer, available, pending],
        )?;
    }
    let credits = [
        ("c1", "1001", "available", 25, "2026-03-02T09:02:00Z"),
        ("c2", "2001", "pending", 7, "2026-03-02T09:03:00Z"),
        ("c1", "1002", "pending", 40, "2026-03-02T09:04:00Z"),
    ];
    for (customer, order, bucket, points, created_at) in credits {
        conn.execute(
            "INSERT INTO ledger_entries (shop, customer_id, entry_key, bucket, points, created_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                shop,
                customer,
                format!("earn:order:{order}"),
                bucket,
                points,
                created_at,
                old_earn_body(shop, customer, order, bucket, points, created_at)
            ],
        )?;
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION_BEFORE_POSITIONS)
}

fn json_of(entry: &LedgerEntry) -> serde_json::Value {
    serde_json::to_value(entry).unwrap_or_else(|error| panic!("encoding {}: {error}", entry.key))
}

/// The ledger bodies as stored, by customer and position, read beside the open store (WAL).
fn stored_bodies(path: &std::path::Path) -> Vec<serde_json::Value> {
    let read = || -> rusqlite::Result<Vec<String>> {
        let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut statement = conn.prepare("SELECT body FROM ledger_entries ORDER BY customer_id, position")?;
        let bodies = statement.query_map([], |row| row.get(0))?.collect();
        bodies
    };
    let bodies = read().unwrap_or_else(|error| panic!("reading the stored bodies: {error}"));
    bodies.iter().map(|body| serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_from_before_the_ledger_redesign_are_read_as_positioned_entries() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = dir.path().join("old.sqlite");
    let shop = fixtures::shop("migrated");
    old_database(&path, shop.as_str()).unwrap_or_else(|error| panic!("building the old database: {error}"));
    let (c1, c2) = (fixtures::customer_id("c1"), fixtures::customer_id("c2"));

    let store = open(&path);

    let c1_entries = vec![
        fixtures::earn_entry(&shop, &c1, &fixtures::order_id("1001"), 1, Bucket::Available, 25, at(2)),
        fixtures::earn_entry(&shop, &c1, &fixtures::order_id("1002"), 2, Bucket::Pending, 40, at(4)),
    ];
    assert_eq!(ok("entries", store.entries(&shop, &c1).await), c1_entries);
    let c2_entries = vec![fixtures::earn_entry(&shop, &c2, &fixtures::order_id("2001"), 1, Bucket::Pending, 7, at(3))];
    assert_eq!(ok("entries", store.entries(&shop, &c2).await), c2_entries);
    let balance = ok("customer", store.customer(&shop, &c1).await).map(|c| c.balance);
    assert_eq!(balance, Some(Balance { available: 25, pending: 40 }));
    assert_eq!(balance, Some(Balance::replay(&c1_entries)));
    // Decoding ignores fields it does not know: the stored JSON itself must be what this version
    // writes, with nothing of the old form left.
    let expected: Vec<_> = c1_entries.iter().chain(&c2_entries).map(json_of).collect();
    assert_eq!(stored_bodies(&path), expected);

    // The migrated length is the append condition: position 2 is taken, position 3 comes next.
    let stale = fixtures::earn_entry(&shop, &c1, &fixtures::order_id("1003"), 2, Bucket::Pending, 9, at(5));
    assert_eq!(ok("append", append(&store, &stale).await), AppendOutcome::Moved);
    let next = fixtures::earn_entry(&shop, &c1, &fixtures::order_id("1003"), 3, Bucket::Pending, 9, at(5));
    assert_eq!(ok("append", append(&store, &next).await), AppendOutcome::Appended);
    let balance = ok("customer", store.customer(&shop, &c1).await).map(|c| c.balance);
    assert_eq!(balance, Some(Balance { available: 25, pending: 49 }));
}

/// The schema version before registrations kept their signed timestamp (migration 4).
const SCHEMA_VERSION_BEFORE_REGISTRATION_TIMESTAMPS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_from_before_timestamps_were_kept_reads_without_one_and_the_next_is_accepted() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let path = dir.path().join("old.sqlite");
    let shop = fixtures::shop("registered-before");
    let build = || -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open(&path)?;
        for migration in &stammkunde_store_sqlite::migrations()[..SCHEMA_VERSION_BEFORE_REGISTRATION_TIMESTAMPS] {
            conn.execute_batch(migration)?;
        }
        conn.execute(
            "INSERT INTO shops (shop, shop_url, pending_secret, shop_secret, registered_at, confirmed_at)
             VALUES (?1, 'https://shop.example', NULL, 'confirmed-1', '2026-03-02T09:00:00.000000000Z',
                     '2026-03-02T09:01:00.000000000Z')",
            rusqlite::params![shop.as_str()],
        )?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION_BEFORE_REGISTRATION_TIMESTAMPS)
    };
    build().unwrap_or_else(|error| panic!("building the old database: {error}"));

    let store = open(&path);
    let before = ok("registration", store.registration(&shop).await);
    assert_eq!(before.as_ref().map(|r| (r.requested_at, r.registered_at)), Some((None, at(0))));
    assert_eq!(before.as_ref().and_then(|r| r.shop_secret.clone()), Some(Secret::new("confirmed-1")));

    let pending = Secret::new("pending-2");
    assert!(ok("begin", store.begin_registration(&shop, "https://shop.example", &pending, at(9), at(10)).await));
    let after = ok("registration", store.registration(&shop).await);
    assert_eq!(after.as_ref().map(|r| (r.requested_at, r.registered_at)), Some((Some(at(9)), at(10))));
    assert_eq!(after.as_ref().and_then(|r| r.pending_secret.clone()), Some(pending));
    assert_eq!(after.and_then(|r| r.shop_secret), Some(Secret::new("confirmed-1")), "the confirmed secret stays");
}
