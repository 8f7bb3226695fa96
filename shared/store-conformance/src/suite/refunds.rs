//! Refunds through ingest: stored once under their order and id, whether or not the order is
//! known yet, and listed for their order only.

use stammkunde_domain::ingest::Change;
use stammkunde_domain::ports::{PageRequest, Store};
use stammkunde_domain::refund::Refund;

use super::{apply_new, ok};
use crate::fixtures::{self, at};

pub async fn a_refund_is_stored_once_under_its_order_and_id_even_before_its_order(store: &dyn Store) {
    let shop = fixtures::shop("refund-once");
    let order_id = fixtures::order_id("1001");
    let first = fixtures::refund(&shop, &order_id, "r-1", 1, at(10));
    // The same refund delivered again, with a later stamp: the first stays.
    let again = Refund { created_at: at(11), ..first.clone() };

    let outcome = apply_new(store, &shop, &[Change::RecordRefund(first.clone())]).await;
    assert_eq!(outcome.applied, vec![true]);
    let outcome = apply_new(store, &shop, &[Change::RecordRefund(again)]).await;
    assert_eq!(outcome.applied, vec![false]);

    assert_eq!(ok("refunds", store.refunds(&shop, &order_id).await), vec![first]);
    assert_eq!(ok("order", store.order(&shop, &order_id).await), None, "a refund does not make an order");
}

pub async fn refunds_are_listed_oldest_first_for_their_order_only(store: &dyn Store) {
    let shop = fixtures::shop("refund-list");
    let (a, b) = (fixtures::order_id("1001"), fixtures::order_id("1002"));
    let amount_only =
        Refund { lines: Vec::new(), amount_minor: Some(1_250), ..fixtures::refund(&shop, &a, "r-3", 0, at(5)) };
    let changes = [
        Change::RecordRefund(fixtures::refund(&shop, &a, "r-2", 2, at(30))),
        Change::RecordRefund(fixtures::refund(&shop, &b, "r-9", 1, at(1))),
        Change::RecordRefund(amount_only.clone()),
    ];
    apply_new(store, &shop, &changes).await;

    let listed = ok("refunds", store.refunds(&shop, &a).await);

    assert_eq!(listed, vec![amount_only, fixtures::refund(&shop, &a, "r-2", 2, at(30))]);
    assert!(ok("refunds", store.refunds(&fixtures::shop("refund-list-other"), &a).await).is_empty());
}

pub async fn every_customer_of_a_shop_is_listed_once_across_pages(store: &dyn Store) {
    let shop = fixtures::shop("customers-all");
    let ids: Vec<_> = (0..11).map(|n| fixtures::customer_id(&format!("c{n:02}"))).collect();
    let changes: Vec<_> =
        ids.iter().map(|id| fixtures::upsert(fixtures::full_profile(&shop, id, Some(at(0))))).collect();
    apply_new(store, &shop, &changes).await;
    let deleted = Change::DeleteCustomer { shop: shop.clone(), customer_id: ids[3].clone(), at: at(1) };
    apply_new(store, &shop, &[deleted]).await;
    apply_new(store, &fixtures::shop("customers-all-other"), &[]).await;

    let mut listed = Vec::new();
    let mut page = PageRequest::first(4);
    for _ in 0..20 {
        let got = ok("customers", store.customers(&shop, page.clone()).await);
        listed.extend(got.items);
        match got.next {
            Some(cursor) => page = PageRequest { cursor: Some(cursor), limit: 4 },
            None => break,
        }
    }

    assert_eq!(listed, ids, "every customer, deleted ones too, in id order, once");
}

pub async fn a_sweep_mark_is_kept_per_shop_and_name(store: &dyn Store) {
    let shop = fixtures::shop("sweep-mark");
    let other = fixtures::shop("sweep-mark-other");
    assert_eq!(ok("sweep_mark", store.sweep_mark(&shop, "tiers").await), None);

    ok("set", store.set_sweep_mark(&shop, "tiers", "abc|c07").await);
    ok("set", store.set_sweep_mark(&shop, "tiers", "abc").await);
    ok("set", store.set_sweep_mark(&shop, "other", "x").await);

    assert_eq!(ok("sweep_mark", store.sweep_mark(&shop, "tiers").await).as_deref(), Some("abc"));
    assert_eq!(ok("sweep_mark", store.sweep_mark(&other, "tiers").await), None);
}
