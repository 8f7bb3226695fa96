//! A mail sweep with a small page budget stops, says there is more, and its continuations go on
//! from the source it stopped in: every due customer gets their mail after a bounded number of
//! runs, none twice, and a finished run leaves nothing more.

use chrono::Duration;
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::customer::Birthday;
use stammkunde_domain::ids::CustomerId;
use stammkunde_local::OutboxMailer;

mod common;

use common::{add_confirmed_customer, at, mail_shop, mail_sweep, open_store};

#[tokio::test]
async fn continuations_resume_where_the_last_run_stopped_until_every_due_customer_is_mailed_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let now = at("2026-06-15T10:05:00Z");
    let clock = Arc::new(FixedClock::new(now));
    let store = open_store(&dir, clock.clone());
    let shop = mail_shop("pages", "");
    let shop_id = shop.id.clone();
    // 250 birthdays today: three pages of the birthday index for one of its days.
    let since = at("2025-01-01T00:00:00Z");
    for i in 0..250 {
        let id = CustomerId::parse(&format!("c{i:03}")).unwrap_or_else(|e| panic!("{e}"));
        add_confirmed_customer(&store, &shop_id, &id, Birthday::new(6, 15, None).ok(), since).await;
    }
    let outbox = Arc::new(OutboxMailer::new(dir.path().join("outbox")).unwrap_or_else(|e| panic!("{e}")));
    let sweep = mail_sweep(store.clone(), clock.clone(), outbox.clone());

    let mut sent = 0;
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 20, "the continuations must finish");
        clock.set(now + Duration::seconds(runs));
        let report = sweep.sweep_shop(&shop, 2).await.unwrap_or_else(|e| panic!("{e}"));
        sent += report.sent;
        if !report.more {
            break;
        }
    }
    assert_eq!(sent, 250, "every due customer once");
    assert_eq!(outbox.list().unwrap_or_else(|e| panic!("{e}")).len(), 250);
    assert!(runs > 2, "a budget of two pages needed several runs ({runs})");
    let again = sweep.sweep_shop(&shop, 100).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.sent, again.more), (0, false), "a new run in the same hour sends nothing twice");
}
