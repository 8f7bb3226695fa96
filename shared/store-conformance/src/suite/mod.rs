//! The behaviours every store must show, one `pub async fn` each, named as a sentence. Each reads
//! the stored state back through the port and compares it exactly.

mod codes;
mod consent;
mod counters;
mod customers;
mod deliveries;
mod erasure;
mod indexes;
mod ledger;
mod mail;
mod orders;
mod refunds;
mod round_trips;
mod shop_erasure;
mod shops;
mod timers;

pub use codes::*;
pub use consent::*;
pub use counters::*;
pub use customers::*;
pub use deliveries::*;
pub use erasure::*;
pub use indexes::*;
pub use ledger::*;
pub use mail::*;
pub use orders::*;
pub use refunds::*;
pub use round_trips::*;
pub use shop_erasure::*;
pub use shops::*;
pub use timers::*;

use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::ingest::{ApplyOutcome, Change};
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::{Page, PageRequest, Store};
use std::future::Future;

use crate::fixtures;

/// Unwraps a store call, failing the test with what was being done and the error's cause chain.
fn ok<T>(what: &str, result: Result<T, StoreError>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => {
            let mut chain = format!("{error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                chain.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            panic!("{what} failed: {chain}")
        }
    }
}

/// Every item of a paged listing, `limit` at a time, following each page's cursor; fails the test
/// if a page holds more than its limit or the listing does not end within 100 pages.
async fn all_pages<T, F, Fut>(what: &str, limit: u32, mut page_of: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut found = Vec::new();
    let mut page = PageRequest::first(limit);
    for _ in 0..100 {
        let got = ok(what, page_of(page.clone()).await);
        assert!(got.items.len() <= page.limit as usize, "{what}: a page holds at most its limit");
        found.extend(got.items);
        match got.next {
            Some(cursor) => page = PageRequest { cursor: Some(cursor), limit },
            None => return found,
        }
    }
    panic!("{what} did not finish in 100 pages")
}

/// Applies `changes` as one fresh delivery with these ids.
async fn apply(store: &dyn Store, shop: &ShopId, ids: &[&str], changes: &[Change]) -> ApplyOutcome {
    let delivery = fixtures::delivery(shop, ids);
    ok("apply_delivery", store.apply_delivery(&delivery, changes).await)
}

/// Applies `changes` as a fresh delivery with a random id, asserting it was not a duplicate.
async fn apply_new(store: &dyn Store, shop: &ShopId, changes: &[Change]) -> ApplyOutcome {
    let id = format!("d-{:016x}", rand::random::<u64>());
    let outcome = apply(store, shop, &[&id], changes).await;
    assert!(!outcome.duplicate, "a delivery with a fresh id was reported as a duplicate");
    assert_eq!(outcome.applied.len(), changes.len(), "`applied` must have one flag per change");
    outcome
}

async fn customer(store: &dyn Store, shop: &ShopId, id: &CustomerId) -> Option<Customer> {
    ok("customer", store.customer(shop, id).await)
}

async fn order(store: &dyn Store, shop: &ShopId, id: &OrderId) -> Option<Order> {
    ok("order", store.order(shop, id).await)
}
