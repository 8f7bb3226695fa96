//! Erasure (GDPR Art. 17) across the ports that hold a customer's personal data: after
//! `erase_customer` no read returns a personal field, no index finds the customer, the mail
//! settings and consent records are gone, a later profile from the platform stores nothing, and
//! the ledger stays for the shop's accounting.

use stammkunde_domain::config::Locale;
use stammkunde_domain::consent::{Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord, WordingDigest};
use stammkunde_domain::ingest::Change;
use stammkunde_domain::ledger::AppendOutcome;
use stammkunde_domain::mail::MailContact;
use stammkunde_domain::ports::{ConsentStore, MailStore, PageRequest, Store};

use super::{apply_new, customer, ok};
use crate::fixtures::{self, at};
use stammkunde_domain::ledger::Bucket;

/// A store with every port that holds personal data.
pub trait PersonalDataStore: Store + MailStore + ConsentStore {}
impl<T: Store + MailStore + ConsentStore + ?Sized> PersonalDataStore for T {}

pub async fn erasing_a_customer_removes_every_personal_field_and_keeps_the_ledger(store: &dyn PersonalDataStore) {
    let shop = fixtures::shop("erase");
    let id = fixtures::customer_id("c1");
    let other = fixtures::customer_id("c2");
    let profile = fixtures::full_profile(&shop, &id, Some(at(0)));
    let email = profile.email.clone().unwrap_or_else(|| panic!("the full profile has an address"));
    apply_new(store, &shop, &[Change::UpsertCustomer(profile)]).await;
    apply_new(store, &shop, &[Change::UpsertCustomer(fixtures::full_profile(&shop, &other, Some(at(0))))]).await;
    let entry = fixtures::earn_entry(&shop, &id, &fixtures::order_id("o1"), 1, Bucket::Pending, 40, at(1));
    assert_eq!(
        ok("append", store.append_entries(&shop, &id, std::slice::from_ref(&entry)).await),
        AppendOutcome::Appended
    );
    let contact = MailContact { time_zone: Some(chrono_tz::Tz::Europe__Vienna), ..MailContact::default() };
    ok("put_contact", store.put_contact(&shop, &id, &contact).await);
    let record = ConsentRecord {
        shop: shop.clone(),
        customer_id: id.clone(),
        key: "subscription-request:2026-03-02".into(),
        at: at(2),
        topic: None,
        action: ConsentAction::Requested,
        method: ConsentMethod::SignupForm,
        source: "https://shop.example/newsletter".into(),
        wording: Some(WordingDigest::of(Locale::De, "Ja.")),
        actor: Actor::of_request("203.0.113.9".parse().ok(), Some("Mozilla/5.0")),
        basis: ConsentBasis::Consent,
        claimed_at: None,
    };
    ok("record_consent", store.record_consent(&record).await);

    ok("erase_customer", store.erase_customer(&shop, &id, at(10)).await);
    ok("erase_customer again", store.erase_customer(&shop, &id, at(20)).await);

    let erased = customer(store, &shop, &id).await.unwrap_or_else(|| panic!("the pseudonymous customer stays"));
    let p = &erased.profile;
    assert_eq!(
        (&p.email, &p.first_name, &p.last_name, &p.locale, &p.country, &p.birthday, p.accepts_email_marketing),
        (&None, &None, &None, &None, &None, &None, None),
        "no personal field is left: {p:?}"
    );
    assert_eq!(erased.deleted_at, Some(at(10)), "deleted at the first erasure");
    assert_eq!(erased.birthday_since, None);
    assert_eq!((erased.balance.available, erased.balance.pending), (0, 40), "the balance is the ledger's");
    assert_eq!(ok("entries", store.entries(&shop, &id).await), vec![entry], "the ledger stays");
    let page = PageRequest::first(10);
    let by_email = ok("by email", store.customers_by_email(&shop, &email, page.clone()).await).items;
    assert!(by_email.is_empty(), "{by_email:?}");
    let by_birthday = ok("by birthday", store.customers_by_birthday(&shop, 7, 14, page).await).items;
    assert_eq!(by_birthday, vec![other.clone()], "only the other customer");
    assert_eq!(ok("contact", store.contact(&shop, &id).await), None);
    assert!(ok("consents", store.consents(&shop, &id).await).is_empty());

    // The platform sends the customer again: nothing personal is stored for an erased customer.
    apply_new(store, &shop, &[Change::UpsertCustomer(fixtures::full_profile(&shop, &id, Some(at(30))))]).await;
    let again = customer(store, &shop, &id).await.map(|c| c.profile.email);
    assert_eq!(again, Some(None), "an erased customer stays erased");
    let kept = customer(store, &shop, &other).await.and_then(|c| c.profile.email);
    assert!(kept.is_some(), "another customer is untouched");
}

pub async fn erasing_an_unknown_customer_leaves_a_tombstone_that_nothing_revives(store: &dyn PersonalDataStore) {
    let shop = fixtures::shop("erase-unknown");
    let id = fixtures::customer_id("c9");
    ok("erase_customer", store.erase_customer(&shop, &id, at(5)).await);
    apply_new(store, &shop, &[Change::UpsertCustomer(fixtures::full_profile(&shop, &id, Some(at(6))))]).await;
    let found = customer(store, &shop, &id).await;
    assert_eq!(found.as_ref().and_then(|c| c.deleted_at), Some(at(5)), "{found:?}");
    assert_eq!(found.and_then(|c| c.profile.email), None);
}
