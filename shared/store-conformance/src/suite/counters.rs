//! Fixed-window request counters (`MailStore::take_request`, the "send me a new link" limits):
//! a window takes exactly its limit, concurrent takes included; keys, shops and windows count
//! apart.

use chrono::Duration;
use futures::future::join_all;

use stammkunde_domain::ports::MailStore;

use super::ok;
use crate::fixtures::{self, at};

const LIMIT: u32 = 3;

pub async fn a_window_takes_exactly_its_limit_per_key_and_shop_and_the_next_starts_afresh(store: &dyn MailStore) {
    let (shop, other) = (fixtures::shop("counters"), fixtures::shop("counters-other"));
    let (window, expires) = (at(0), at(120));
    let take = |shop, key: &'static str, window| async move {
        ok("take_request", store.take_request(shop, key, window, LIMIT, expires).await)
    };
    for n in 1..=LIMIT {
        assert!(take(&shop, "a1", window).await, "request {n} of {LIMIT} is taken");
    }
    assert!(!take(&shop, "a1", window).await, "the fourth is refused");
    assert!(!take(&shop, "a1", window).await, "and refused again: a refusal counts nothing up");
    assert!(take(&shop, "a2", window).await, "another key counts apart");
    assert!(take(&other, "a1", window).await, "another shop counts apart");
    let next = window + Duration::minutes(60);
    assert!(take(&shop, "a1", next).await, "the next window starts afresh");
    assert!(!ok("limit 0", store.take_request(&shop, "a3", window, 0, expires).await), "a limit of 0 takes none");
}

pub async fn concurrent_takes_never_pass_the_limit(store: &dyn MailStore) {
    let shop = fixtures::shop("counters-race");
    let takes = join_all((0..12).map(|_| store.take_request(&shop, "i1", at(0), LIMIT, at(120)))).await;
    let taken = takes.into_iter().map(|t| ok("take_request", t)).filter(|taken| *taken).count();
    assert_eq!(taken, LIMIT as usize, "exactly the limit of twelve racing requests is taken");
}
