//! The consent ledger: a record is appended once under its business key (a second one under the
//! same key, however it differs, leaves the first), the customer's records list oldest first and
//! only theirs, and a wording is kept once per shop under its digest.

use stammkunde_domain::config::Locale;
use stammkunde_domain::consent::{
    Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord, ConsentWording, WordingDigest,
};
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::Topic;
use stammkunde_domain::ports::{ConsentStore, CreateOutcome};

use super::ok;
use crate::fixtures::{self, at};

fn record(shop: &ShopId, customer: &CustomerId, key: &str, minutes: i64, action: ConsentAction) -> ConsentRecord {
    ConsentRecord {
        shop: shop.clone(),
        customer_id: customer.clone(),
        key: key.to_owned(),
        at: at(minutes),
        topic: None,
        action,
        method: ConsentMethod::SignupForm,
        source: "https://shop.example/newsletter".into(),
        wording: Some(WordingDigest::of(Locale::De, "Ja, ich möchte den Newsletter.")),
        actor: Actor::of_request("203.0.113.7".parse().ok(), Some("Mozilla/5.0 (X11; Linux x86_64)")),
        basis: ConsentBasis::Consent,
        claimed_at: None,
    }
}

async fn consents(store: &dyn ConsentStore, shop: &ShopId, customer: &CustomerId) -> Vec<ConsentRecord> {
    ok("consents", store.consents(shop, customer).await)
}

pub async fn a_consent_record_is_appended_once_under_its_key(store: &dyn ConsentStore) {
    let shop = fixtures::shop("consent-once");
    let customer = fixtures::customer_id("c1");
    let first = record(&shop, &customer, "request:1", 0, ConsentAction::Requested);
    assert_eq!(ok("record_consent", store.record_consent(&first).await), CreateOutcome::Created);
    let mut again = first.clone();
    again.at = at(5);
    again.action = ConsentAction::Granted;
    again.actor = Actor::default();
    assert_eq!(
        ok("record_consent again", store.record_consent(&again).await),
        CreateOutcome::Exists(first.clone()),
        "a second record under the key is not written; the first comes back unchanged"
    );
    assert_eq!(consents(store, &shop, &customer).await, vec![first]);
}

pub async fn an_imported_record_keeps_the_time_the_merchant_claims(store: &dyn ConsentStore) {
    let shop = fixtures::shop("consent-import");
    let customer = fixtures::customer_id("c1");
    let mut imported = record(&shop, &customer, "import:mc-1", 10, ConsentAction::Granted);
    imported.method = ConsentMethod::Import;
    imported.wording = None;
    imported.actor = Actor::default();
    imported.claimed_at = Some(at(-500_000));
    assert_eq!(ok("record_consent", store.record_consent(&imported).await), CreateOutcome::Created);
    let mut asked = record(&shop, &customer, "reconsent-request:2026-05-04", 11, ConsentAction::Requested);
    asked.method = ConsentMethod::ReconsentMail;
    assert_eq!(ok("record_consent", store.record_consent(&asked).await), CreateOutcome::Created);
    assert_eq!(consents(store, &shop, &customer).await, vec![imported, asked]);
}

pub async fn concurrent_records_under_one_key_append_exactly_one(store: &dyn ConsentStore) {
    let shop = fixtures::shop("consent-race");
    let customer = fixtures::customer_id("c1");
    let writes = (0..8).map(|i| {
        let mut r = record(&shop, &customer, "confirm:abc", i, ConsentAction::Granted);
        r.source = format!("attempt {i}");
        async move { (store.record_consent(&r).await, r) }
    });
    let results = futures::future::join_all(writes).await;
    let mut winners = Vec::new();
    for (result, r) in results {
        if ok("record_consent", result) == CreateOutcome::Created {
            winners.push(r);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent create wins");
    assert_eq!(consents(store, &shop, &customer).await, winners, "and the stored record is the winner's");
}

pub async fn a_customers_consents_list_oldest_first_and_only_theirs(store: &dyn ConsentStore) {
    let shop = fixtures::shop("consent-list");
    let other_shop = fixtures::shop("consent-list-other");
    let (customer, other) = (fixtures::customer_id("c1"), fixtures::customer_id("c2"));
    let mut topic_off = record(&shop, &customer, "topic:offers:1", 30, ConsentAction::Withdrawn);
    topic_off.topic = Some(Topic::Offers);
    topic_off.method = ConsentMethod::PreferenceCentre;
    topic_off.wording = None;
    let written = [
        record(&shop, &customer, "z-request", 0, ConsentAction::Requested),
        topic_off,
        record(&shop, &customer, "a-confirm", 10, ConsentAction::Granted),
        // Same instant as the confirmation: the key decides.
        record(&shop, &customer, "b-same-time", 10, ConsentAction::Withdrawn),
        record(&shop, &other, "request", 1, ConsentAction::Requested),
        record(&other_shop, &customer, "request", 2, ConsentAction::Requested),
    ];
    for r in &written {
        assert_eq!(ok("record_consent", store.record_consent(r).await), CreateOutcome::Created);
    }
    let keys: Vec<String> = consents(store, &shop, &customer).await.into_iter().map(|r| r.key).collect();
    assert_eq!(keys, ["z-request", "a-confirm", "b-same-time", "topic:offers:1"]);
    assert_eq!(consents(store, &shop, &customer).await[3], written[1], "every field round-trips");
    assert_eq!(consents(store, &shop, &other).await, vec![written[4].clone()]);
    assert_eq!(consents(store, &other_shop, &customer).await, vec![written[5].clone()]);
    assert!(consents(store, &shop, &fixtures::customer_id("nobody")).await.is_empty());
}

pub async fn a_record_with_an_unprintable_source_is_refused_and_nothing_is_written(store: &dyn ConsentStore) {
    let shop = fixtures::shop("consent-refused");
    let customer = fixtures::customer_id("c1");
    let mut bad = record(&shop, &customer, "request:1", 0, ConsentAction::Requested);
    bad.source = "form\r\nBcc: victim@example.com".into();
    assert!(store.record_consent(&bad).await.is_err(), "refused");
    assert!(consents(store, &shop, &customer).await.is_empty());
}

pub async fn a_wording_is_kept_once_per_shop_under_its_digest(store: &dyn ConsentStore) {
    let shop = fixtures::shop("wording");
    let other_shop = fixtures::shop("wording-other");
    let text = "Ja, ich möchte den Newsletter von Beispiel GmbH erhalten. Abmeldung jederzeit.";
    let wording = ConsentWording::new(&shop, Locale::De, text).unwrap_or_else(|e| panic!("{e}"));
    ok("put_wording", store.put_wording(&wording).await);
    ok("put_wording again", store.put_wording(&wording).await);
    assert_eq!(ok("wording", store.wording(&shop, &wording.digest).await), Some(wording.clone()));
    assert_eq!(ok("wording elsewhere", store.wording(&other_shop, &wording.digest).await), None);
    let english = ConsentWording::new(&shop, Locale::En, text).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(english.digest, wording.digest, "the language is part of the wording");
    assert_eq!(ok("unknown wording", store.wording(&shop, &english.digest).await), None);
}
