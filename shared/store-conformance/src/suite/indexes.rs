//! The index reads the sweeps select through: by email, by birthday, by the UTC date of the last
//! order. Each is per shop, follows changes, never returns deleted customers, and pages exactly.

use std::collections::BTreeSet;
use std::future::Future;

use chrono::NaiveDate;

use stammkunde_domain::customer::CustomerProfile;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ingest::Change;
use stammkunde_domain::ports::{Page, PageRequest, Store};

use super::{apply_new, ok};
use crate::fixtures::{self, at, record, upsert};

/// Most pages `all_pages` follows: far more than any test needs, so a cursor that never ends
/// fails the test instead of hanging it.
const PAGES_MAX: usize = 50;

/// Follows `next` cursors from the first page, asserting each page respects `limit`, and returns
/// every id in the order the store returned them.
async fn all_pages<F, Fut>(limit: u32, query: F) -> Vec<CustomerId>
where
    F: Fn(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<CustomerId>, StoreError>>,
{
    let mut ids = Vec::new();
    let mut request = PageRequest::first(limit);
    for _ in 0..PAGES_MAX {
        let page = ok("index query", query(request.clone()).await);
        assert!(page.items.len() <= limit as usize, "a page of {} exceeds the limit {limit}", page.items.len());
        ids.extend(page.items);
        match page.next {
            Some(cursor) => request = PageRequest { cursor: Some(cursor), limit },
            None => return ids,
        }
    }
    panic!("paging did not end after {PAGES_MAX} pages")
}

fn set(ids: &[&str]) -> BTreeSet<CustomerId> {
    ids.iter().map(|raw| fixtures::customer_id(raw)).collect()
}

/// Returned ids as a set, asserting none came twice.
fn distinct(ids: Vec<CustomerId>) -> BTreeSet<CustomerId> {
    let count = ids.len();
    let unique: BTreeSet<_> = ids.into_iter().collect();
    assert_eq!(unique.len(), count, "an index returned a customer more than once");
    unique
}

async fn by_email(store: &dyn Store, shop: &ShopId, email: &str) -> BTreeSet<CustomerId> {
    let email = fixtures::email(email);
    distinct(all_pages(100, |page| store.customers_by_email(shop, &email, page)).await)
}

async fn by_birthday(store: &dyn Store, shop: &ShopId, month: u8, day: u8) -> BTreeSet<CustomerId> {
    distinct(all_pages(100, |page| store.customers_by_birthday(shop, month, day, page)).await)
}

async fn by_last_order(store: &dyn Store, shop: &ShopId, date: NaiveDate) -> BTreeSet<CustomerId> {
    distinct(all_pages(100, |page| store.customers_by_last_order_date(shop, date, page)).await)
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_else(|| panic!("{year}-{month}-{day} is not a date"))
}

fn with_email(shop: &ShopId, id: &str, email: &str) -> Change {
    let id = fixtures::customer_id(id);
    upsert(CustomerProfile { email: Some(fixtures::email(email)), ..fixtures::full_profile(shop, &id, Some(at(0))) })
}

fn with_birthday(shop: &ShopId, id: &str, month: u8, day: u8, updated_minutes: i64) -> Change {
    let id = fixtures::customer_id(id);
    upsert(CustomerProfile {
        birthday: Some(fixtures::birthday(month, day, None)),
        ..fixtures::full_profile(shop, &id, Some(at(updated_minutes)))
    })
}

/// An order by customer `id`, placed `placed_minutes` into the suite's timeline.
fn ordered(shop: &ShopId, id: &str, order: &str, placed_minutes: i64) -> Change {
    let id = fixtures::customer_id(id);
    let placed = at(placed_minutes);
    record(fixtures::order(shop, &fixtures::order_id(order), Some(&id), placed, placed))
}

pub async fn customers_are_found_by_normalized_email_in_their_shop_only(store: &dyn Store) {
    let shop = fixtures::shop("index-email");
    let other_shop = fixtures::shop("index-email-other");
    let changes = [
        with_email(&shop, "c1", "Anna@Example.com"),
        with_email(&shop, "c2", "anna@example.com"),
        with_email(&shop, "c3", "bob@example.com"),
    ];
    apply_new(store, &shop, &changes).await;
    apply_new(store, &other_shop, &[with_email(&other_shop, "c9", "anna@example.com")]).await;

    assert_eq!(by_email(store, &shop, "  ANNA@example.COM ").await, set(&["c1", "c2"]));
    assert_eq!(by_email(store, &shop, "bob@example.com").await, set(&["c3"]));
    assert_eq!(by_email(store, &shop, "anna@example.co").await, set(&[]), "email lookup is exact");
    assert_eq!(by_email(store, &other_shop, "anna@example.com").await, set(&["c9"]));
}

pub async fn customers_are_found_by_birthday_in_their_shop_only(store: &dyn Store) {
    let shop = fixtures::shop("index-birthday");
    let other_shop = fixtures::shop("index-birthday-other");
    let changes = [
        with_birthday(&shop, "c1", 2, 29, 0),
        with_birthday(&shop, "c2", 2, 28, 0),
        with_birthday(&shop, "c3", 12, 2, 0),
        upsert(fixtures::bare_profile(&shop, &fixtures::customer_id("c4"), Some(at(0)))),
    ];
    apply_new(store, &shop, &changes).await;
    apply_new(store, &other_shop, &[with_birthday(&other_shop, "c9", 2, 29, 0)]).await;

    assert_eq!(by_birthday(store, &shop, 2, 29).await, set(&["c1"]));
    assert_eq!(by_birthday(store, &shop, 2, 28).await, set(&["c2"]));
    // Month and day must not be confused (12-02 is not 02-12).
    assert_eq!(by_birthday(store, &shop, 12, 2).await, set(&["c3"]));
    assert_eq!(by_birthday(store, &shop, 2, 12).await, set(&[]));
    assert_eq!(by_birthday(store, &other_shop, 2, 29).await, set(&["c9"]));
}

pub async fn customers_are_found_by_the_utc_date_of_their_last_order(store: &dyn Store) {
    let shop = fixtures::shop("index-last-order");
    let other_shop = fixtures::shop("index-last-order-other");
    // The timeline starts 2026-03-02 09:00 UTC; 14 h 30 min later is 23:30 UTC on the same date,
    // which is already 3 March in Berlin: the index must use the UTC date.
    let changes =
        [ordered(&shop, "c1", "1", 0), ordered(&shop, "c2", "2", 14 * 60 + 30), ordered(&shop, "c3", "3", 24 * 60)];
    apply_new(store, &shop, &changes).await;
    apply_new(store, &other_shop, &[ordered(&other_shop, "c9", "9", 0)]).await;

    assert_eq!(by_last_order(store, &shop, date(2026, 3, 2)).await, set(&["c1", "c2"]));
    assert_eq!(by_last_order(store, &shop, date(2026, 3, 3)).await, set(&["c3"]));
    assert_eq!(by_last_order(store, &shop, date(2026, 3, 1)).await, set(&[]));
    assert_eq!(by_last_order(store, &other_shop, date(2026, 3, 2)).await, set(&["c9"]));
}

pub async fn the_email_and_birthday_indexes_follow_a_changed_profile(store: &dyn Store) {
    let shop = fixtures::shop("index-profile-change");
    apply_new(store, &shop, &[with_email(&shop, "c1", "old@example.com"), with_birthday(&shop, "c2", 5, 1, 0)]).await;

    let new_email = upsert(CustomerProfile {
        email: Some(fixtures::email("new@example.com")),
        ..fixtures::bare_profile(&shop, &fixtures::customer_id("c1"), Some(at(10)))
    });
    apply_new(store, &shop, &[new_email, with_birthday(&shop, "c2", 6, 1, 10)]).await;

    assert_eq!(by_email(store, &shop, "old@example.com").await, set(&[]));
    assert_eq!(by_email(store, &shop, "new@example.com").await, set(&["c1"]));
    assert_eq!(by_birthday(store, &shop, 5, 1).await, set(&[]));
    assert_eq!(by_birthday(store, &shop, 6, 1).await, set(&["c2"]));
}

pub async fn the_last_order_index_follows_a_later_order(store: &dyn Store) {
    let shop = fixtures::shop("index-later-order");
    apply_new(store, &shop, &[ordered(&shop, "c1", "1", 0)]).await;
    apply_new(store, &shop, &[ordered(&shop, "c1", "2", 3 * 24 * 60)]).await;
    // An older order arriving late does not move the date back.
    apply_new(store, &shop, &[ordered(&shop, "c1", "0", -24 * 60)]).await;

    assert_eq!(by_last_order(store, &shop, date(2026, 3, 2)).await, set(&[]));
    assert_eq!(by_last_order(store, &shop, date(2026, 3, 1)).await, set(&[]));
    assert_eq!(by_last_order(store, &shop, date(2026, 3, 5)).await, set(&["c1"]));
}

pub async fn indexes_never_return_deleted_customers(store: &dyn Store) {
    let shop = fixtures::shop("index-deleted");
    let changes = [
        with_email(&shop, "c1", "same@example.com"),
        with_email(&shop, "c2", "same@example.com"),
        ordered(&shop, "c1", "1", 0),
        ordered(&shop, "c2", "2", 0),
    ];
    apply_new(store, &shop, &changes).await;
    let delete = Change::DeleteCustomer { shop: shop.clone(), customer_id: fixtures::customer_id("c1"), at: at(5) };
    apply_new(store, &shop, &[delete]).await;

    let birthday = fixtures::full_profile(&shop, &fixtures::customer_id("c1"), None).birthday;
    let (month, day) = birthday.map(|b| (b.month, b.day)).unwrap_or_else(|| panic!("full profile has a birthday"));
    assert_eq!(by_email(store, &shop, "same@example.com").await, set(&["c2"]));
    assert_eq!(by_birthday(store, &shop, month, day).await, set(&["c2"]));
    assert_eq!(by_last_order(store, &shop, date(2026, 3, 2)).await, set(&["c2"]));
}

pub async fn index_pages_return_every_match_exactly_once(store: &dyn Store) {
    let shop = fixtures::shop("index-paging");
    let names = ["c1", "c2", "c3", "c4", "c5"];
    let mut changes = Vec::new();
    for (n, name) in names.iter().enumerate() {
        changes.push(with_email(&shop, name, "family@example.com"));
        changes.push(ordered(&shop, name, &format!("o{n}"), 0));
    }
    // A sixth customer matching nothing, so a page boundary cannot simply be "the end of the shop".
    changes.push(with_email(&shop, "c6", "other@example.com"));
    apply_new(store, &shop, &changes).await;
    let expected = set(&names);
    let email = fixtures::email("family@example.com");
    let (month, day) = (7, 14);

    let by_email = all_pages(2, |page| store.customers_by_email(&shop, &email, page)).await;
    let by_birthday = all_pages(2, |page| store.customers_by_birthday(&shop, month, day, page)).await;
    let by_date = all_pages(2, |page| store.customers_by_last_order_date(&shop, date(2026, 3, 2), page)).await;

    assert_eq!(distinct(by_email), expected);
    let mut with_c6 = expected.clone();
    with_c6.insert(fixtures::customer_id("c6"));
    assert_eq!(distinct(by_birthday), with_c6, "every full profile has the fixture birthday 07-14");
    assert_eq!(distinct(by_date), expected);
}
