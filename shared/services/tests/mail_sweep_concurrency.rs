//! The sweep considers a page's customers concurrently, but one customer's candidates one after
//! another: two mails of one customer due in the same page of the due index, under a cap of one
//! mail, send one and defer the other, while every other customer of the page gets theirs.

use chrono::{Duration, NaiveDate};
use std::sync::Arc;

use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::{Campaign, MailSend, SendState};
use stammkunde_domain::ports::MailStore;
use stammkunde_local::OutboxMailer;

mod common;

use common::{add_confirmed_customer, at, mail_shop, mail_sweep, open_store};

#[tokio::test]
async fn one_customers_two_mails_in_a_page_are_decided_in_turn_so_the_cap_defers_the_second() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let now = at("2026-06-15T10:05:00Z");
    let clock = Arc::new(FixedClock::new(now));
    let store = open_store(&dir, clock.clone());
    let shop = mail_shop("capped", "cap_mails = 1");
    let shop_id = shop.id.clone();
    let since = at("2025-01-01T00:00:00Z");
    let today: NaiveDate = now.date_naive();
    for i in 0..40 {
        let id = CustomerId::parse(&format!("c{i:02}")).unwrap_or_else(|e| panic!("{e}"));
        add_confirmed_customer(&store, &shop_id, &id, None, since).await;
        // Every customer a thank-you due now; c00 also a points-expiring notice, both capped.
        let mut campaigns = vec![Campaign::PostPurchase];
        if i == 0 {
            campaigns.push(Campaign::PointsExpiring);
        }
        for campaign in campaigns {
            let send = MailSend {
                shop: shop_id.clone(),
                customer_id: id.clone(),
                campaign,
                date: today,
                state: SendState::Deferred { due: now - Duration::minutes(1) },
            };
            store.create_send(&send).await.unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let outbox = Arc::new(OutboxMailer::new(dir.path().join("outbox")).unwrap_or_else(|e| panic!("{e}")));
    let sweep = mail_sweep(store.clone(), clock.clone(), outbox.clone());
    let report = sweep.sweep_shop(&shop, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.candidates, report.sent, report.deferred), (41, 40, 1), "{report:?}");
    assert_eq!(outbox.list().unwrap_or_else(|e| panic!("{e}")).len(), 40);
    let c00 = CustomerId::parse("c00").unwrap_or_else(|e| panic!("{e}"));
    let mut states = Vec::new();
    for campaign in [Campaign::PostPurchase, Campaign::PointsExpiring] {
        let send = store.send(&shop_id, &c00, campaign, today).await.unwrap_or_else(|e| panic!("{e}"));
        states.push(matches!(send.map(|s| s.state), Some(SendState::Deferred { .. })));
    }
    assert_eq!(states.iter().filter(|deferred| **deferred).count(), 1, "one of c00's two mails waits for the cap");
}
