//! Mail records: a send record is created once under its business key (the claim), moves on only
//! from the state the caller read, and the due index lists exactly the deferred records due and the
//! claims past their lease.
//! Customers' mail settings and the suppression list round-trip.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::contact::{AddressDigest, Frequency};
use stammkunde_domain::mail::link::LinkToken;
use stammkunde_domain::mail::send::CLAIM_LEASE_MINUTES;
use stammkunde_domain::mail::{
    Campaign, DueSend, MailContact, MailSend, SendState, SendStateKind, Suppression, SuppressionReason, Topic,
};
use stammkunde_domain::ports::{CreateOutcome, MailStore};

use super::{all_pages, ok};
use crate::fixtures::{self, at};

fn date(raw: &str) -> NaiveDate {
    raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn send(shop: &ShopId, customer: &CustomerId, campaign: Campaign, day: &str, state: SendState) -> MailSend {
    MailSend { shop: shop.clone(), customer_id: customer.clone(), campaign, date: date(day), state }
}

fn claimed(minutes: i64) -> SendState {
    SendState::Claimed { at: at(minutes) }
}

fn deferred(minutes: i64) -> SendState {
    SendState::Deferred { due: at(minutes) }
}

async fn stored(store: &dyn MailStore, s: &MailSend) -> Option<MailSend> {
    ok("send", store.send(&s.shop, &s.customer_id, s.campaign, s.date).await)
}

/// How the due index lists a record.
fn listed(s: &MailSend) -> DueSend {
    let due = s.state.sweep_due().unwrap_or_else(|| panic!("{} is not due ever", s.label()));
    DueSend { customer_id: s.customer_id.clone(), campaign: s.campaign, date: s.date, due }
}

async fn due(store: &dyn MailStore, shop: &ShopId, now: DateTime<Utc>, limit: u32) -> Vec<DueSend> {
    all_pages("due_sends", limit, |page| store.due_sends(shop, now, page)).await
}

pub async fn a_send_is_created_once_and_a_second_create_returns_the_first_unchanged(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-create");
    let id = fixtures::customer_id("c1");
    let first = send(&shop, &id, Campaign::Birthday, "2026-06-30", claimed(1));
    assert_eq!(ok("create_send", store.create_send(&first).await), CreateOutcome::Created);
    let second = send(&shop, &id, Campaign::Birthday, "2026-06-30", claimed(2));
    assert_eq!(ok("create_send", store.create_send(&second).await), CreateOutcome::Exists(first.clone()));
    assert_eq!(stored(store, &first).await, Some(first.clone()));
    // Another campaign, date, customer or shop is another key.
    for other in [
        send(&shop, &id, Campaign::WinBack, "2026-06-30", claimed(3)),
        send(&shop, &id, Campaign::Birthday, "2027-06-30", claimed(3)),
        send(&shop, &fixtures::customer_id("c2"), Campaign::Birthday, "2026-06-30", claimed(3)),
        send(&fixtures::shop("mail-create-other"), &id, Campaign::Birthday, "2026-06-30", claimed(3)),
    ] {
        assert_eq!(ok("create_send", store.create_send(&other).await), CreateOutcome::Created, "{}", other.label());
    }
}

pub async fn concurrent_claims_of_one_send_create_exactly_one(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-race");
    let id = fixtures::customer_id("c1");
    let attempts: Vec<MailSend> =
        (0..8).map(|i| send(&shop, &id, Campaign::WinBack, "2026-07-01", claimed(i))).collect();
    let outcomes = futures::future::join_all(attempts.iter().map(|s| store.create_send(s))).await;
    let created: Vec<usize> =
        outcomes.iter().enumerate().filter(|(_, o)| matches!(o, Ok(CreateOutcome::Created))).map(|(i, _)| i).collect();
    assert_eq!(created.len(), 1, "exactly one claim wins: {outcomes:?}");
    let winner = attempts[created[0]].clone();
    for outcome in outcomes {
        match outcome {
            Ok(CreateOutcome::Created) => {}
            Ok(CreateOutcome::Exists(found)) => assert_eq!(found, winner),
            Err(error) => panic!("create_send failed: {error}"),
        }
    }
    assert_eq!(stored(store, &winner).await, Some(winner));
}

pub async fn a_send_moves_on_only_from_the_state_the_caller_expects(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-replace");
    let id = fixtures::customer_id("c1");
    let claim = send(&shop, &id, Campaign::Birthday, "2026-06-30", claimed(1));
    ok("create_send", store.create_send(&claim).await);
    let code = CouponCode::parse("BDAY-1234").ok();
    let sent = MailSend {
        state: SendState::Sent {
            at: at(2),
            claimed_at: at(1),
            message_id: "m-1".into(),
            code: code.clone(),
            link_digest: Some("ab".repeat(32)),
        },
        ..claim.clone()
    };
    assert!(!ok("replace_send", store.replace_send(&sent, SendStateKind::Deferred).await), "wrong expected state");
    assert_eq!(stored(store, &claim).await, Some(claim.clone()));
    assert!(ok("replace_send", store.replace_send(&sent, SendStateKind::Claimed).await));
    assert_eq!(stored(store, &claim).await, Some(sent.clone()));
    // A late second confirmation from the same claim finds it sent and changes nothing.
    let again = MailSend { state: SendState::Review { at: at(3), claimed_at: at(1), code }, ..claim.clone() };
    assert!(!ok("replace_send", store.replace_send(&again, SendStateKind::Claimed).await));
    assert_eq!(stored(store, &claim).await, Some(sent));
    // A record that does not exist cannot be replaced.
    let missing = send(&shop, &id, Campaign::WinBack, "2026-06-30", claimed(1));
    assert!(!ok("replace_send", store.replace_send(&missing, SendStateKind::Claimed).await));
    assert_eq!(stored(store, &missing).await, None);
}

pub async fn a_claim_is_deleted_only_while_still_claimed(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-delete");
    let id = fixtures::customer_id("c1");
    let claim = send(&shop, &id, Campaign::Birthday, "2026-06-30", claimed(1));
    ok("create_send", store.create_send(&claim).await);
    assert!(!ok("delete_send", store.delete_send(&claim, SendStateKind::Deferred).await));
    assert_eq!(stored(store, &claim).await, Some(claim.clone()));
    assert!(ok("delete_send", store.delete_send(&claim, SendStateKind::Claimed).await));
    assert_eq!(stored(store, &claim).await, None);
    assert!(!ok("delete_send", store.delete_send(&claim, SendStateKind::Claimed).await), "already gone");
    // Deleted, the key can be claimed again.
    assert_eq!(ok("create_send", store.create_send(&claim).await), CreateOutcome::Created);
}

pub async fn sends_claimed_since_counts_only_handed_over_mail_of_that_customer(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-cap");
    let (a, b) = (fixtures::customer_id("a"), fixtures::customer_id("b"));
    let records = [
        send(&shop, &a, Campaign::Birthday, "2026-06-01", claimed(10)),
        send(
            &shop,
            &a,
            Campaign::WinBack,
            "2026-06-02",
            SendState::Sent { at: at(21), claimed_at: at(20), message_id: "m".into(), code: None, link_digest: None },
        ),
        send(
            &shop,
            &a,
            Campaign::WinBackReminder,
            "2026-06-03",
            SendState::Review { at: at(31), claimed_at: at(30), code: None },
        ),
        // Not handed over: never counted.
        send(&shop, &a, Campaign::Birthday, "2027-06-01", deferred(40)),
        send(&shop, &a, Campaign::WinBack, "2026-07-02", SendState::Failed { at: at(50), reason: "rejected".into() }),
        send(&shop, &a, Campaign::WinBack, "2026-08-02", SendState::Dropped { at: at(60) }),
        send(&shop, &b, Campaign::WinBack, "2026-06-02", claimed(25)),
    ];
    for record in &records {
        ok("create_send", store.create_send(record).await);
    }
    let keys = |sends: Vec<MailSend>| sends.into_iter().map(|s| (s.campaign, s.date)).collect::<BTreeSet<_>>();
    let all = keys(ok("sends_claimed_since", store.sends_claimed_since(&shop, &a, at(0)).await));
    assert_eq!(all, [&records[0], &records[1], &records[2]].iter().map(|s| (s.campaign, s.date)).collect());
    let recent = keys(ok("sends_claimed_since", store.sends_claimed_since(&shop, &a, at(20)).await));
    assert_eq!(recent, [&records[1], &records[2]].iter().map(|s| (s.campaign, s.date)).collect(), "since is inclusive");
}

pub async fn due_sends_lists_deferred_records_and_claims_past_their_lease_earliest_first_in_their_shop_only(
    store: &dyn MailStore,
) {
    let shop = fixtures::shop("mail-deferred");
    let other = fixtures::shop("mail-deferred-other");
    let ids: Vec<CustomerId> = (0..4).map(|i| fixtures::customer_id(&format!("c{i}"))).collect();
    let lease = CLAIM_LEASE_MINUTES;
    let records = [
        send(&shop, &ids[0], Campaign::Birthday, "2026-06-01", deferred(30)),
        send(&shop, &ids[1], Campaign::WinBack, "2026-06-01", deferred(10)),
        send(&shop, &ids[2], Campaign::WinBack, "2026-06-01", deferred(90)),
        // Due when its lease runs out: at 5 + lease.
        send(&shop, &ids[3], Campaign::WinBack, "2026-06-01", claimed(5)),
        send(&other, &ids[0], Campaign::WinBack, "2026-06-01", deferred(1)),
    ];
    for record in &records {
        ok("create_send", store.create_send(record).await);
    }
    assert_eq!(listed(&records[3]).due, at(5 + lease));
    let found = due(store, &shop, at(30), 10).await;
    let expected = vec![listed(&records[1]), listed(&records[3]), listed(&records[0])];
    assert_eq!(found, expected, "due at or before now, earliest first");
    assert_eq!(due(store, &shop, at(5 + lease - 1), 10).await, vec![listed(&records[1])], "a claim within its lease");
    // Claimed, a deferred record is due again only when the claim's lease runs out.
    let claim = MailSend { state: claimed(31), ..records[1].clone() };
    assert!(ok("replace_send", store.replace_send(&claim, SendStateKind::Deferred).await));
    assert_eq!(due(store, &shop, at(31 + lease - 1), 10).await, vec![listed(&records[3]), listed(&records[0])]);
    // Settled (sent, flagged), a record leaves the index.
    let sent = MailSend {
        state: SendState::Sent {
            at: at(32),
            claimed_at: at(31),
            message_id: "m".into(),
            code: None,
            link_digest: None,
        },
        ..claim.clone()
    };
    assert!(ok("replace_send", store.replace_send(&sent, SendStateKind::Claimed).await));
    let flagged =
        MailSend { state: SendState::Review { at: at(40), claimed_at: at(5), code: None }, ..records[3].clone() };
    assert!(ok("replace_send", store.replace_send(&flagged, SendStateKind::Claimed).await));
    assert_eq!(due(store, &shop, at(100), 10).await, vec![listed(&records[0]), listed(&records[2])]);
    // Deferred again, later, a record is listed under its new due time.
    let later = MailSend { state: deferred(95), ..records[0].clone() };
    assert!(ok("replace_send", store.replace_send(&later, SendStateKind::Deferred).await));
    assert_eq!(due(store, &shop, at(100), 10).await, vec![listed(&records[2]), listed(&later)]);
}

pub async fn deferred_pages_return_every_due_record_exactly_once(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-deferred-pages");
    let mut expected = Vec::new();
    for i in 0..23 {
        // Ties on the due time page exactly too.
        let record = send(
            &shop,
            &fixtures::customer_id(&format!("c{:02}", i % 7)),
            if i % 2 == 0 { Campaign::WinBack } else { Campaign::Birthday },
            &format!("2026-06-{:02}", 1 + i / 7),
            deferred(i64::from(i % 3)),
        );
        ok("create_send", store.create_send(&record).await);
        expected.push(record);
    }
    let found = due(store, &shop, at(10), 4).await;
    assert_eq!(found.len(), expected.len(), "every record once");
    let keys: BTreeSet<(CustomerId, Campaign, NaiveDate)> =
        found.iter().map(|s| (s.customer_id.clone(), s.campaign, s.date)).collect();
    assert_eq!(keys, expected.iter().map(|s| (s.customer_id.clone(), s.campaign, s.date)).collect::<BTreeSet<_>>());
    assert_eq!(found.iter().map(|s| s.due).collect::<BTreeSet<_>>(), expected.iter().map(|s| listed(s).due).collect());
    assert!(found.windows(2).all(|w| w[0].due <= w[1].due), "earliest first across pages");
}

async fn flagged(store: &dyn MailStore, shop: &ShopId, limit: u32) -> Vec<MailSend> {
    all_pages("flagged_sends", limit, |page| store.flagged_sends(shop, page)).await
}

pub async fn flagged_sends_lists_exactly_the_shops_records_flagged_for_review_page_by_page(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-flagged");
    let other = fixtures::shop("mail-flagged-other");
    let code = CouponCode::parse("BDAY-FLAG-1").unwrap_or_else(|e| panic!("{e}"));
    let review =
        |minutes: i64, code: Option<CouponCode>| SendState::Review { at: at(minutes), claimed_at: at(1), code };
    let mut expected = Vec::new();
    for i in 0..7 {
        let customer = fixtures::customer_id(&format!("c{}", i % 4));
        // Two records of one customer: a listing must not lose one to the other.
        let campaign = if i < 4 { Campaign::Birthday } else { Campaign::WinBack };
        let record = send(&shop, &customer, campaign, "2026-06-01", claimed(1));
        ok("create_send", store.create_send(&record).await);
        let flagged = MailSend { state: review(20 + i, (i == 0).then(|| code.clone())), ..record };
        assert!(ok("replace_send", store.replace_send(&flagged, SendStateKind::Claimed).await));
        expected.push(flagged);
    }
    // Not listed: a claim still within its lease, a sent and a deferred record, another shop's flag.
    let customer = fixtures::customer_id("c9");
    ok("create_send", store.create_send(&send(&shop, &customer, Campaign::Birthday, "2026-06-02", claimed(2))).await);
    ok("create_send", store.create_send(&send(&shop, &customer, Campaign::WinBack, "2026-06-02", deferred(9))).await);
    let sent = SendState::Sent { at: at(3), claimed_at: at(2), message_id: "m".into(), code: None, link_digest: None };
    ok("create_send", store.create_send(&send(&shop, &customer, Campaign::PostPurchase, "2026-06-02", sent)).await);
    let elsewhere = send(&other, &customer, Campaign::Birthday, "2026-06-01", claimed(1));
    ok("create_send", store.create_send(&elsewhere).await);
    let elsewhere = MailSend { state: review(30, None), ..elsewhere };
    assert!(ok("replace_send", store.replace_send(&elsewhere, SendStateKind::Claimed).await));

    for limit in [2, 3, 500] {
        let mut found = flagged(store, &shop, limit).await;
        let customers: Vec<&CustomerId> = found.iter().map(|s| &s.customer_id).collect();
        assert!(customers.windows(2).all(|w| w[0] <= w[1]), "ordered by customer across pages of {limit}");
        found.sort_by(|a, b| (&a.customer_id, a.campaign.as_str()).cmp(&(&b.customer_id, b.campaign.as_str())));
        expected.sort_by(|a, b| (&a.customer_id, a.campaign.as_str()).cmp(&(&b.customer_id, b.campaign.as_str())));
        assert_eq!(found, expected, "every flagged record once, whole (its code too), in pages of {limit}");
    }
    assert_eq!(flagged(store, &other, 10).await, vec![elsewhere]);
    assert_eq!(flagged(store, &fixtures::shop("mail-flagged-none"), 10).await, Vec::<MailSend>::new());
}

pub async fn mail_settings_round_trip_and_the_last_write_wins(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-contact");
    let id = fixtures::customer_id("c1");
    assert_eq!(ok("contact", store.contact(&shop, &id).await), None);
    let first = MailContact {
        double_opt_in_at: Some(at(1)),
        imported_consent_at: Some(at(0)),
        reconsent_by: Some(at(1) + Duration::days(30)),
        topics_declined: vec![Topic::Offers, Topic::PointsNews],
        unsubscribed_at: None,
        paused_until: Some(at(1) + Duration::days(30)),
        time_zone: Some(Tz::America__New_York),
        frequency: Frequency::Weekly,
        revision: 4,
    };
    ok("put_contact", store.put_contact(&shop, &id, &first).await);
    assert_eq!(ok("contact", store.contact(&shop, &id).await), Some(first));
    let second = MailContact { unsubscribed_at: Some(at(2)), ..MailContact::default() };
    ok("put_contact", store.put_contact(&shop, &id, &second).await);
    assert_eq!(ok("contact", store.contact(&shop, &id).await), Some(second));
    assert_eq!(ok("contact", store.contact(&fixtures::shop("mail-contact-other"), &id).await), None);
}

pub async fn a_guarded_settings_write_applies_only_to_the_revision_it_read(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-contact-guard");
    let id = fixtures::customer_id("c1");
    let unsubscribed = MailContact { unsubscribed_at: Some(at(1)), ..MailContact::default() };
    assert!(ok("update_contact", store.update_contact(&shop, &id, &unsubscribed).await), "revision 0 = none stored");
    let stored = ok("contact", store.contact(&shop, &id).await);
    assert_eq!(stored, Some(MailContact { revision: 1, ..unsubscribed.clone() }));
    // A page read before the unsubscribe saves its topics: refused, and the unsubscribe stays.
    let stale = MailContact { topics_declined: vec![Topic::Offers], ..MailContact::default() };
    assert!(!ok("update_contact", store.update_contact(&shop, &id, &stale).await));
    assert_eq!(ok("contact", store.contact(&shop, &id).await), stored);
    let fresh = MailContact { topics_declined: vec![Topic::Offers], ..stored.clone().unwrap_or_default() };
    assert!(ok("update_contact", store.update_contact(&shop, &id, &fresh).await));
    let now = ok("contact", store.contact(&shop, &id).await).unwrap_or_default();
    assert_eq!((now.revision, now.unsubscribed_at, now.topics_declined), (2, Some(at(1)), vec![Topic::Offers]));
    // Settings stored unguarded (an import) count as revision 0 only if they carry none.
    let other = fixtures::customer_id("c2");
    ok("put_contact", store.put_contact(&shop, &other, &MailContact::default()).await);
    assert!(ok("update_contact", store.update_contact(&shop, &other, &MailContact::default()).await));
    assert!(!ok("update_contact", store.update_contact(&shop, &other, &MailContact::default()).await));
}

pub async fn concurrent_guarded_settings_writes_from_one_read_apply_exactly_one(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-contact-race");
    let id = fixtures::customer_id("c1");
    let writes = (0..8u32).map(|i| {
        let (shop, id) = (shop.clone(), id.clone());
        let contact = MailContact { paused_until: Some(at(i64::from(i) + 1)), ..MailContact::default() };
        async move { store.update_contact(&shop, &id, &contact).await }
    });
    let results = futures::future::join_all(writes).await;
    let applied: Vec<bool> = results.into_iter().map(|r| ok("update_contact", r)).collect();
    assert_eq!(applied.iter().filter(|a| **a).count(), 1, "{applied:?}");
    let stored = ok("contact", store.contact(&shop, &id).await).unwrap_or_default();
    let winner = applied.iter().position(|a| *a).map(|i| at(i64::try_from(i).unwrap_or(0) + 1));
    assert_eq!((stored.revision, stored.paused_until), (1, winner));
}

pub async fn a_suppression_keeps_its_first_reason_per_shop(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-suppress");
    let address = AddressDigest::of(&shop, &fixtures::email("jon@example.com"));
    assert_eq!(ok("suppression", store.suppression(&shop, &address).await), None);
    let first =
        Suppression { shop: shop.clone(), address: address.clone(), reason: SuppressionReason::HardBounce, at: at(1) };
    ok("suppress", store.suppress(&first).await);
    let second = Suppression { reason: SuppressionReason::Complaint, at: at(2), ..first.clone() };
    ok("suppress", store.suppress(&second).await);
    assert_eq!(ok("suppression", store.suppression(&shop, &address).await), Some(first));
    let other = fixtures::shop("mail-suppress-other");
    assert_eq!(ok("suppression", store.suppression(&other, &address).await), None);
}

pub async fn a_soft_bounce_counts_once_per_message_of_its_address_in_its_shop(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-soft");
    let address = AddressDigest::of(&shop, &fixtures::email("jon@example.com"));
    let count = |shop: ShopId, address: AddressDigest, message: &'static str, minutes: i64| async move {
        ok("count_soft_bounce", store.count_soft_bounce(&shop, &address, message, at(minutes)).await)
    };
    assert_eq!(count(shop.clone(), address.clone(), "m-1", 1).await, 1);
    assert_eq!(count(shop.clone(), address.clone(), "m-1", 2).await, 1, "the same message again");
    assert_eq!(count(shop.clone(), address.clone(), "m-2", 3).await, 2);
    assert_eq!(count(shop.clone(), address.clone(), "m-3", 4).await, 3);
    assert_eq!(count(shop.clone(), address.clone(), "m-2", 5).await, 3, "an earlier message again");
    let other_address = AddressDigest::of(&shop, &fixtures::email("ann@example.com"));
    assert_eq!(count(shop.clone(), other_address, "m-1", 6).await, 1);
    let other_shop = fixtures::shop("mail-soft-other");
    assert_eq!(count(other_shop, address.clone(), "m-1", 7).await, 1);
    // Counting changes no suppression: that is the caller's decision.
    assert_eq!(ok("suppression", store.suppression(&shop, &address).await), None);
}

pub async fn concurrent_soft_bounces_lose_no_count_and_count_a_message_once(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-soft-race");
    let address = AddressDigest::of(&shop, &fixtures::email("jon@example.com"));
    let messages: Vec<String> = (0..8).map(|i| format!("m-{i}")).collect();
    let counted =
        futures::future::join_all(messages.iter().map(|m| store.count_soft_bounce(&shop, &address, m, at(1)))).await;
    let mut counts: Vec<u32> = counted.into_iter().map(|c| ok("count_soft_bounce", c)).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=8).collect::<Vec<u32>>(), "each bounce saw its own count");

    let again =
        futures::future::join_all((0..8).map(|_| store.count_soft_bounce(&shop, &address, "m-new", at(2)))).await;
    let again: Vec<u32> = again.into_iter().map(|c| ok("count_soft_bounce", c)).collect();
    assert_eq!(again, vec![9; 8], "one message redelivered at once counts once");
}

pub async fn a_link_token_is_found_by_its_digest_only(store: &dyn MailStore) {
    let shop = fixtures::shop("mail-links");
    let digest = "ab".repeat(32);
    assert_eq!(ok("link", store.link(&digest).await), None);
    let link = LinkToken {
        shop: shop.clone(),
        customer_id: fixtures::customer_id("c1"),
        issued_at: at(0),
        expires_at: at(0) + Duration::days(180),
        confirms: None,
    };
    ok("put_link", store.put_link(&digest, &link).await);
    assert_eq!(ok("link", store.link(&digest).await), Some(link.clone()));
    assert_eq!(ok("link", store.link(&"cd".repeat(32)).await), None, "another digest finds nothing");
    // The same digest again (a retry of the same mail) replaces it.
    let again = LinkToken { issued_at: at(1), ..link.clone() };
    ok("put_link", store.put_link(&digest, &again).await);
    assert_eq!(ok("link", store.link(&digest).await), Some(again));
    // A confirmation mail's link keeps the request it confirms.
    let confirming = LinkToken { confirms: Some("subscription-request:2026-03-02".into()), ..link };
    let digest = "ef".repeat(32);
    ok("put_link", store.put_link(&digest, &confirming).await);
    assert_eq!(ok("link", store.link(&digest).await), Some(confirming));
}
