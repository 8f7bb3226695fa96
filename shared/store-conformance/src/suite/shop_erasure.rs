//! Erasing a whole shop (Shopify's `shop/redact`): after the batches run out, nothing the shop's
//! customers left is found by any read (profiles, ledgers, timers, mail records and settings,
//! consent records, orders, refunds, codes and their claims, link tokens, privacy requests, soft
//! bounces, wordings, sweep marks), the suppression list and the tombstone stay, a second run
//! changes nothing, and another shop is untouched.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use stammkunde_domain::config::Locale;
use stammkunde_domain::consent::{
    Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord, ConsentWording, WordingDigest,
};
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ingest::{Change, PrivacyRequestKind};
use stammkunde_domain::ledger::{AppendOutcome, Bucket};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::link::LinkToken;
use stammkunde_domain::mail::{Campaign, MailContact, MailSend, SendState, Suppression, SuppressionReason};
use stammkunde_domain::ports::PageRequest;

use super::erasure::PersonalDataStore;
use super::{apply_new, ok};
use crate::fixtures::{self, at};

/// What one customer of a test shop holds, to look for afterwards.
struct Held {
    customer: CustomerId,
    link: String,
    redemption: String,
}

fn digest() -> String {
    format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>())
}

/// A customer with something in every record that names them.
async fn fill(store: &dyn PersonalDataStore, shop: &ShopId, raw: &str) -> Held {
    let customer = fixtures::customer_id(raw);
    let order = fixtures::order_id(&format!("o-{raw}"));
    let profile = fixtures::full_profile(shop, &customer, Some(at(0)));
    let placed = fixtures::order(shop, &order, Some(&customer), at(1), at(1));
    let refund = fixtures::refund(shop, &order, &format!("r-{raw}"), 1, at(2));
    let changes = [Change::UpsertCustomer(profile), Change::RecordOrder(placed), Change::RecordRefund(refund)];
    apply_new(store, shop, &changes).await;
    let entry = fixtures::earn_entry(shop, &customer, &order, 1, Bucket::Pending, 40, at(2));
    let appended = ok("append", store.append_entries(shop, &customer, std::slice::from_ref(&entry)).await);
    assert_eq!(appended, AppendOutcome::Appended);
    ok("set_timer", store.set_timer(shop, &customer, Some(at(60)), 1).await);
    let contact = MailContact { double_opt_in_at: Some(at(3)), ..MailContact::default() };
    ok("put_contact", store.put_contact(shop, &customer, &contact).await);
    let link = digest();
    let state = SendState::Sent {
        at: at(4),
        claimed_at: at(4),
        message_id: "m".into(),
        code: None,
        link_digest: Some(link.clone()),
    };
    let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
    let send = MailSend { shop: shop.clone(), customer_id: customer.clone(), campaign: Campaign::WinBack, date, state };
    ok("create_send", store.create_send(&send).await);
    let token = LinkToken {
        shop: shop.clone(),
        customer_id: customer.clone(),
        issued_at: at(4),
        expires_at: at(4) + Duration::days(180),
        confirms: None,
    };
    ok("put_link", store.put_link(&link, &token).await);
    ok("record_consent", store.record_consent(&consent(shop, &customer)).await);
    let reward = fixtures::reward("5-euro");
    ok("import_codes", store.import_codes(shop, &reward, &fixtures::codes(&format!("K{raw}"), 2), false).await);
    let redemption = format!("redeem-{raw}");
    let issue = fixtures::issue(&customer, &redemption, at(5));
    assert!(ok("claim_code", store.claim_code(shop, &reward, &issue).await).is_some(), "a code for {raw}");
    Held { customer, link, redemption }
}

fn consent(shop: &ShopId, customer: &CustomerId) -> ConsentRecord {
    ConsentRecord {
        shop: shop.clone(),
        customer_id: customer.clone(),
        key: "subscription-request:2026-03-02".into(),
        at: at(3),
        topic: None,
        action: ConsentAction::Requested,
        method: ConsentMethod::SignupForm,
        source: "https://shop.example/newsletter".into(),
        wording: Some(WordingDigest::of(Locale::De, "Ja.")),
        actor: Actor::of_request("203.0.113.9".parse().ok(), Some("Mozilla/5.0")),
        basis: ConsentBasis::Consent,
        claimed_at: None,
    }
}

/// Everything of the shop beside its customers: a privacy request, a soft bounce, a
/// suppression, a wording, a sweep mark, a registration.
async fn fill_shop(store: &dyn PersonalDataStore, shop: &ShopId, held: &Held) -> AddressDigest {
    let request = fixtures::privacy_request(shop, PrivacyRequestKind::DataRequest, "req-1", &held.customer);
    apply_new(store, shop, &[Change::RecordPrivacyRequest(request)]).await;
    let address = AddressDigest::of(shop, &fixtures::email("weg@example.de"));
    assert_eq!(ok("count_soft_bounce", store.count_soft_bounce(shop, &address, "m-1", at(6)).await), 1);
    let suppression =
        Suppression { shop: shop.clone(), address: address.clone(), reason: SuppressionReason::Complaint, at: at(6) };
    ok("suppress", store.suppress(&suppression).await);
    let wording = ConsentWording::new(shop, Locale::De, "Ja.").unwrap_or_else(|e| panic!("{e}"));
    ok("put_wording", store.put_wording(&wording).await);
    ok("set_sweep_mark", store.set_sweep_mark(shop, "tiers", "c-2").await);
    let secret = stammkunde_domain::secret::Secret::new("pending-secret-0123456789");
    ok("begin_registration", store.begin_registration(shop, "https://shop.example", &secret, at(7), at(7)).await);
    address
}

async fn erase_to_the_end(store: &dyn PersonalDataStore, shop: &ShopId) -> u32 {
    let mut batches = 0;
    while ok("erase_shop_batch", store.erase_shop_batch(shop, 1).await) {
        batches += 1;
        assert!(batches < 500, "a shop of three customers takes a bounded number of batches");
    }
    batches + 1
}

async fn assert_gone(store: &dyn PersonalDataStore, shop: &ShopId, held: &Held) {
    let c = &held.customer;
    assert_eq!(ok("customer", store.customer(shop, c).await), None, "the profile goes");
    assert!(ok("entries", store.entries(shop, c).await).is_empty(), "the ledger goes");
    assert_eq!(ok("timer", store.timer(shop, c).await), None);
    assert!(ok("sends", store.sends_claimed_since(shop, c, DateTime::<Utc>::UNIX_EPOCH).await).is_empty());
    assert_eq!(ok("contact", store.contact(shop, c).await), None);
    assert!(ok("consents", store.consents(shop, c).await).is_empty());
    assert_eq!(ok("link", store.link(&held.link).await), None, "the link token goes");
    let order = fixtures::order_id(&format!("o-{c}"));
    assert_eq!(ok("order", store.order(shop, &order).await), None);
    assert!(ok("refunds", store.refunds(shop, &order).await).is_empty());
    let redemption = fixtures::idempotency_key(&held.redemption);
    assert_eq!(ok("code_for_redemption", store.code_for_redemption(shop, &redemption).await), None);
}

pub async fn erasing_a_shop_deletes_what_its_customers_left_and_keeps_the_suppressions(store: &dyn PersonalDataStore) {
    let shop = fixtures::shop("wipe");
    let other = fixtures::shop("wipe-other");
    let held = [fill(store, &shop, "c1").await, fill(store, &shop, "c2").await, fill(store, &shop, "c3").await];
    let address = fill_shop(store, &shop, &held[0]).await;
    let kept = fill(store, &other, "c1").await;
    let other_address = fill_shop(store, &other, &kept).await;

    assert_eq!(ok("shop_erased_at", store.shop_erased_at(&shop).await), None);
    ok("mark_shop_erased", store.mark_shop_erased(&shop, at(100)).await);
    ok("mark_shop_erased again", store.mark_shop_erased(&shop, at(200)).await);
    let batches = erase_to_the_end(store, &shop).await;
    assert!(batches > 1, "a batch of limit 1 cannot take a shop of three customers: they are bounded ({batches})");

    for customer in &held {
        assert_gone(store, &shop, customer).await;
    }
    let page = PageRequest::first(10);
    assert!(ok("customers", store.customers(&shop, page.clone()).await).items.is_empty());
    let email = fixtures::full_profile(&shop, &held[0].customer, None).email.unwrap_or_else(|| panic!("an address"));
    assert!(ok("by email", store.customers_by_email(&shop, &email, page.clone()).await).items.is_empty());
    assert!(ok("codes", store.codes(&shop, None, page.clone()).await).items.is_empty(), "pooled codes go too");
    assert!(ok("privacy_requests", store.privacy_requests(&shop).await).is_empty());
    assert_eq!(ok("wording", store.wording(&shop, &WordingDigest::of(Locale::De, "Ja.")).await), None);
    assert_eq!(ok("sweep_mark", store.sweep_mark(&shop, "tiers").await), None);
    assert_eq!(ok("registration", store.registration(&shop).await), None);
    let recount = ok("count_soft_bounce", store.count_soft_bounce(&shop, &address, "m-2", at(300)).await);
    assert_eq!(recount, 1, "the soft bounces went: a new one counts from one");
    let suppressed = ok("suppression", store.suppression(&shop, &address).await).map(|s| s.reason);
    assert_eq!(suppressed, Some(SuppressionReason::Complaint), "the suppression list stays");
    assert_eq!(ok("shop_erased_at", store.shop_erased_at(&shop).await), Some(at(100)), "the first time stays");

    assert!(!ok("erase_shop_batch again", store.erase_shop_batch(&shop, 1).await), "a second run finds nothing");

    // The other shop is untouched.
    let c = &kept.customer;
    let profile = ok("customer", store.customer(&other, c).await).and_then(|c| c.profile.email);
    assert!(profile.is_some(), "another shop's customer is untouched");
    assert_eq!(ok("entries", store.entries(&other, c).await).len(), 1);
    assert!(ok("contact", store.contact(&other, c).await).is_some());
    assert_eq!(ok("consents", store.consents(&other, c).await).len(), 1);
    assert!(ok("link", store.link(&kept.link).await).is_some());
    assert!(ok("order", store.order(&other, &fixtures::order_id("o-c1")).await).is_some());
    let redemption = fixtures::idempotency_key(&kept.redemption);
    assert!(ok("code_for_redemption", store.code_for_redemption(&other, &redemption).await).is_some());
    assert_eq!(ok("privacy_requests", store.privacy_requests(&other).await).len(), 1);
    assert!(ok("registration", store.registration(&other).await).is_some());
    assert!(ok("sweep_mark", store.sweep_mark(&other, "tiers").await).is_some());
    let other_count = ok("count_soft_bounce", store.count_soft_bounce(&other, &other_address, "m-2", at(300)).await);
    assert_eq!(other_count, 2);
    assert_eq!(ok("shop_erased_at", store.shop_erased_at(&other).await), None);
}
