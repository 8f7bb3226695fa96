//! The mail sweep end to end through the local runner: customers in the store (and from a real
//! Shopify order webhook), the clock set by the test, `POST /dev/sweeps/mail` every hour, and the
//! messages read back from the outbox as the raw MIME they would have gone out as.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::{MailContact, Suppression, SuppressionReason};
use stammkunde_e2e::mail_shop::*;
use stammkunde_e2e::mime::{header, readable};
use stammkunde_e2e::*;

async fn set_contact(app: &TestApp, name: &str, contact: MailContact) {
    app.app.mail.put_contact(&shop(), &id(name), &contact).await.unwrap_or_else(|e| panic!("{e}"));
}

fn confirmed() -> MailContact {
    MailContact { double_opt_in_at: Some(at("2025-06-01T12:00:00Z")), ..MailContact::default() }
}

/// The generated code in a mail's text, if any (`GB-XXXX-XXXX-XXXX`).
fn code_in(raw: &str) -> Option<String> {
    let start = raw.find("GB-")?;
    Some(raw[start..start + "GB-XXXX-XXXX-XXXX".len()].to_owned())
}

/// Runs the hourly sweep at five past every UTC hour of the day starting at `day`, and says which
/// customers got mail at which hour.
async fn hourly(app: &TestApp, day: &str, seen: &mut BTreeSet<String>) -> Vec<(u32, String, String)> {
    let mut sent = Vec::new();
    for hour in 0..24 {
        mail_sweep_at(app, at(&format!("{day}T{hour:02}:05:00Z"))).await;
        for (to, raw) in new_mails(app, seen) {
            sent.push((hour, to, raw));
        }
    }
    sent
}

#[tokio::test]
async fn a_birthday_greeting_goes_out_at_nine_local_on_the_spring_forward_day_once_and_only_to_who_may_have_it() {
    let app = spawn_app(at("2026-03-01T12:00:00Z")).await;
    let long_ago = at("2025-01-10T10:00:00Z");
    for name in ["anna", "ben", "clara", "dora", "emil", "fiona"] {
        put_customer(&app, Person { name, country: "DE", locale: "de", birthday: Some((3, 29)), since: long_ago })
            .await;
    }
    put_customer(
        &app,
        Person { name: "gustav", country: "AT", locale: "de", birthday: Some((3, 30)), since: long_ago },
    )
    .await;
    for name in ["anna", "dora", "gustav"] {
        set_contact(&app, name, confirmed()).await;
    }
    // ben never confirmed a subscription and never bought: no basis for marketing mail.
    set_contact(&app, "clara", MailContact { unsubscribed_at: Some(at("2026-01-01T00:00:00Z")), ..confirmed() }).await;
    set_contact(&app, "emil", MailContact { paused_until: Some(at("2026-04-30T00:00:00Z")), ..confirmed() }).await;
    set_contact(&app, "fiona", MailContact { time_zone: Some(Tz::America__New_York), ..confirmed() }).await;
    let suppressed = Suppression {
        shop: shop(),
        address: AddressDigest::of(&shop(), &email_of("dora")),
        reason: SuppressionReason::HardBounce,
        at: long_ago,
    };
    app.app.mail.suppress(&suppressed).await.unwrap_or_else(|e| panic!("{e}"));

    let mut seen = BTreeSet::new();
    let sent = hourly(&app, "2026-03-29", &mut seen).await;

    // 29 March 2026: Berlin springs to CEST (09:00 = 07:00 UTC); New York is on EDT (09:00 = 13:00 UTC).
    let who: Vec<(u32, &str)> = sent.iter().map(|(hour, to, _)| (*hour, to.as_str())).collect();
    assert_eq!(who, vec![(7, "anna"), (13, "fiona")]);
    let again = hourly(&app, "2026-03-29", &mut seen).await;
    assert!(
        again.is_empty(),
        "a second day of sweeps sends nothing: {:?}",
        again.iter().map(|m| &m.1).collect::<Vec<_>>()
    );

    let raw = &sent[0].2;
    assert_eq!(header(raw, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let unsubscribe = header(raw, "List-Unsubscribe").unwrap_or_else(|| panic!("no List-Unsubscribe:\n{raw}"));
    assert!(unsubscribe.starts_with(&format!("<{}/u/", app.base)), "{unsubscribe}");
    assert!(unsubscribe.ends_with(", <mailto:abmelden@kaffee.example?subject=unsubscribe>"), "{unsubscribe}");
    assert!(header(raw, "List-Id").is_some_and(|id| id.contains("birthday.mail-shop.stammkunde")), "{raw}");
    assert_eq!(header(raw, "Subject").as_deref(), Some("Alles Gute zum Geburtstag, Anna!"));
    assert!(header(raw, "From").is_some_and(|f| f.contains("<news@kaffee.example>")), "{raw}");
    assert!(raw.contains("multipart/alternative") && raw.contains("text/html") && raw.contains("text/plain"));
    // The personal code: generated for anna, single-use (bound to this send), valid 30 days.
    let code = code_in(raw).unwrap_or_else(|| panic!("no code in\n{raw}"));
    let coupon = app
        .app
        .store
        .code(&shop(), &CouponCode::parse(&code).unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{code} is not stored"));
    let issue = coupon.issue.unwrap_or_else(|| panic!("{code} is not issued"));
    assert_eq!(issue.customer_id, id("anna"));
    assert_eq!(issue.expires_at, at("2026-03-29T07:05:00Z") + Duration::days(MAIL_REWARD_VALID_DAYS));
    assert_ne!(code_in(&sent[1].2), Some(code), "every customer gets their own code");
    let page = app.client.get(format!("{}/dev/outbox", app.base)).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(page.text().await.unwrap_or_default().contains("Outbox: 2 mails"));
}

#[tokio::test]
async fn on_the_autumn_change_berlin_gets_its_mail_at_eight_utc_and_london_in_english_at_nine() {
    let app = spawn_app(at("2026-10-01T12:00:00Z")).await;
    let long_ago = at("2025-01-10T10:00:00Z");
    put_customer(
        &app,
        Person { name: "anna", country: "DE", locale: "de-DE", birthday: Some((10, 25)), since: long_ago },
    )
    .await;
    put_customer(
        &app,
        Person { name: "george", country: "GB", locale: "en-GB", birthday: Some((10, 25)), since: long_ago },
    )
    .await;
    for name in ["anna", "george"] {
        set_contact(&app, name, confirmed()).await;
    }
    let mut seen = BTreeSet::new();
    let sent = hourly(&app, "2026-10-25", &mut seen).await;
    // Back to CET: 09:00 in Berlin is 08:00 UTC; London is on GMT again, 09:00 = 09:00 UTC.
    let who: Vec<(u32, &str)> = sent.iter().map(|(hour, to, _)| (*hour, to.as_str())).collect();
    assert_eq!(who, vec![(8, "anna"), (9, "george")]);
    let (german, english) = (&sent[0].2, &sent[1].2);
    assert!(german.contains("Hallo Anna,") && german.contains("Impressum"), "{german}");
    assert!(english.contains("Hello George,") && english.contains("Happy birthday!"), "{english}");
    assert!(english.contains("valid once until 24 November 2026"), "{english}");
}

#[tokio::test]
async fn a_leap_day_birthday_is_greeted_on_28_february_and_a_birthday_entered_18_days_before_gets_no_code() {
    let app = spawn_app(at("2026-01-01T12:00:00Z")).await;
    put_customer(
        &app,
        Person { name: "lea", country: "DE", locale: "de", birthday: Some((2, 29)), since: at("2024-05-01T10:00:00Z") },
    )
    .await;
    put_customer(
        &app,
        Person { name: "max", country: "DE", locale: "de", birthday: Some((2, 28)), since: at("2026-02-10T10:00:00Z") },
    )
    .await;
    for name in ["lea", "max"] {
        set_contact(&app, name, confirmed()).await;
    }
    let report = mail_sweep_at(&app, at("2026-02-28T10:05:00Z")).await;
    assert_eq!(report["sent"], 2, "{report}");
    let mails: Vec<(String, String)> = outbox(&app).into_iter().map(|(_, raw)| (recipient(&raw), raw)).collect();
    let of = |name: &str| mails.iter().find(|(to, _)| to == name).map(|(_, raw)| raw.clone()).unwrap_or_default();
    assert!(code_in(&of("lea")).is_some(), "2026 has no 29 February: lea's greeting comes on the 28th, with a code");
    let max = of("max");
    assert!(max.contains("Alles Gute zum Geburtstag"), "max is still greeted");
    assert_eq!(code_in(&max), None, "a birthday entered 18 days before earns no code that year");
}

/// Lena's paid order from the Shopify fixture: placed 2026-11-20 09:14 UTC.
async fn lena_orders(app: &TestApp) {
    let body = std::fs::read("../fixtures/webhooks/shopify/orders_paid.json").unwrap_or_else(|e| panic!("{e}"));
    let answer = app
        .post("/webhooks/shopify", &shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", &body, "lena-1"), body)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

const LENA: &str = "7654321098765";

#[tokio::test]
async fn a_win_back_mail_goes_out_once_120_days_after_the_last_order_then_one_reminder_with_the_same_code() {
    let app = spawn_app(at("2026-11-20T10:00:00Z")).await;
    lena_orders(&app).await;
    app.app.mail.put_contact(&shop(), &id(LENA), &confirmed()).await.unwrap_or_else(|e| panic!("{e}"));
    let mut seen = BTreeSet::new();

    assert_eq!(mail_sweep_at(&app, at("2027-03-19T10:05:00Z")).await["sent"], 0, "119 days: not yet");
    assert_eq!(mail_sweep_at(&app, at("2027-03-20T10:05:00Z")).await["sent"], 1);
    let win_back = new_mails(&app, &mut seen);
    assert_eq!(win_back.len(), 1);
    let raw = &win_back[0].1;
    assert!(header(raw, "List-Id").is_some_and(|id| id.contains("win-back.mail-shop")), "{raw}");
    assert!(raw.contains("Hallo Lena,"), "{raw}");
    let code = code_in(raw).unwrap_or_else(|| panic!("no code in\n{raw}"));
    assert_eq!(mail_sweep_at(&app, at("2027-03-20T15:05:00Z")).await["sent"], 0, "once");
    assert_eq!(mail_sweep_at(&app, at("2027-03-21T10:05:00Z")).await["sent"], 0, "once, also the next day");

    assert_eq!(mail_sweep_at(&app, at("2027-04-03T10:05:00Z")).await["sent"], 1, "the reminder, 14 days later");
    let reminder = new_mails(&app, &mut seen);
    assert!(header(&reminder[0].1, "List-Id").is_some_and(|id| id.contains("win-back-reminder.mail-shop")));
    assert_eq!(code_in(&reminder[0].1), Some(code), "the reminder repeats the win-back code");
    for day in ["2027-04-04", "2027-05-01", "2027-07-01"] {
        assert_eq!(mail_sweep_at(&app, at(&format!("{day}T10:05:00Z"))).await["sent"], 0, "nothing more on {day}");
    }
}

#[tokio::test]
async fn the_frequency_cap_defers_the_second_mail_of_a_day_to_when_the_window_frees_and_then_sends_it() {
    let app = spawn_app(at("2026-11-20T10:00:00Z")).await;
    lena_orders(&app).await;
    // Lena's birthday falls on the day her win-back is due; the shop allows one mail in 7 days.
    put_customer(
        &app,
        Person { name: LENA, country: "DE", locale: "de", birthday: Some((3, 20)), since: at("2026-12-01T10:00:00Z") },
    )
    .await;
    app.app.mail.put_contact(&shop(), &id(LENA), &confirmed()).await.unwrap_or_else(|e| panic!("{e}"));
    let mut seen = BTreeSet::new();

    let report = mail_sweep_at(&app, at("2027-03-20T10:05:00Z")).await;
    assert_eq!((report["sent"].as_i64(), report["deferred"].as_i64()), (Some(1), Some(1)), "{report}");
    let first = new_mails(&app, &mut seen);
    assert!(first[0].1.contains("Geburtstag"), "the birthday goes first");
    for now in ["2027-03-20T16:05:00Z", "2027-03-24T10:05:00Z", "2027-03-27T09:05:00Z"] {
        assert_eq!(mail_sweep_at(&app, at(now)).await["sent"], 0, "held at {now}");
    }
    // Seven days after the birthday mail went out (inside the sending hours, so at once).
    assert_eq!(mail_sweep_at(&app, at("2027-03-27T10:05:00Z")).await["sent"], 1);
    let second = new_mails(&app, &mut seen);
    assert!(second[0].1.contains("Wir vermissen Sie"), "the deferred win-back mail");
    assert_eq!(mail_sweep_at(&app, at("2027-03-27T12:05:00Z")).await["sent"], 0);
}

const REFUNDS_CREATE: &str = "../fixtures/webhooks/shopify/refunds_create.json";
const ORDER_FULFILLED: &str = "../fixtures/webhooks/shopify/orders_updated_fulfilled_refunded.json";

async fn deliver(app: &TestApp, topic: &str, path: &str, id: &str) {
    let body = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let answer = app.post("/webhooks/shopify", &shopify_headers_for(MAIL_SHOPIFY_DOMAIN, topic, &body, id), body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

/// The points the customer's reversal entries took back.
async fn points_taken_back(app: &TestApp) -> i64 {
    let ledger = app.ledger_of(SHOP, MAIL_API_KEY, LENA).await;
    entries(&ledger)
        .iter()
        .filter(|e| e["kind"] == "reversal")
        .map(|e| -(e["available"].as_i64().unwrap_or(0) + e["pending"].as_i64().unwrap_or(0)))
        .sum()
}

#[tokio::test]
async fn a_refund_brings_a_factual_notice_without_consent_and_without_unsubscribe_headers_once() {
    let app = spawn_app(at("2026-11-20T10:00:00Z")).await;
    lena_orders(&app).await;
    app.clock.set(at("2026-11-22T13:10:00Z"));
    deliver(&app, "refunds/create", REFUNDS_CREATE, "lena-refund").await;
    let taken = points_taken_back(&app).await;
    assert!(taken > 0, "the refund reversed points");

    // Lena never confirmed a subscription: the notice is about her account, not advertising.
    let report = mail_sweep_at(&app, at("2026-11-22T13:15:00Z")).await;
    assert_eq!(report["sent"], 1, "{report}");
    let mut seen = BTreeSet::new();
    let mails = new_mails(&app, &mut seen);
    let raw = &mails[0].1;
    assert_eq!(header(raw, "Subject").as_deref(), Some("Ihr Punktestand wurde angepasst"));
    assert!(raw.contains(&format!("{taken} Punkte wieder abgezogen")), "{raw}");
    assert!(raw.contains("am 22.11.2026"), "{raw}");
    assert_eq!(header(raw, "List-Unsubscribe"), None, "a transactional mail has no unsubscribe header");
    // The refund again (Shopify retries) and another sweep: nothing more.
    deliver(&app, "refunds/create", REFUNDS_CREATE, "lena-refund-retry").await;
    assert_eq!(mail_sweep_at(&app, at("2026-11-22T14:15:00Z")).await["sent"], 0);
    assert!(new_mails(&app, &mut seen).is_empty());
}

#[tokio::test]
async fn the_first_orders_fulfilment_brings_a_thank_you_three_days_later_at_a_sending_hour() {
    let app = spawn_app(at("2026-11-20T10:00:00Z")).await;
    lena_orders(&app).await;
    app.app.mail.put_contact(&shop(), &id(LENA), &confirmed()).await.unwrap_or_else(|e| panic!("{e}"));
    // Fulfilled (and partly refunded) on the 21st, reported on the 22nd at 13:20 UTC.
    app.clock.set(at("2026-11-22T13:20:00Z"));
    deliver(&app, "orders/updated", ORDER_FULFILLED, "lena-fulfilled").await;
    let mut seen = BTreeSet::new();
    mail_sweep_at(&app, at("2026-11-22T13:25:00Z")).await;
    let first = new_mails(&app, &mut seen);
    assert!(first.iter().all(|(_, raw)| !raw.contains("Ihre Bewertung")), "not yet");

    // Three days after the report, 14:20 in Berlin: inside the sending hours.
    assert_eq!(mail_sweep_at(&app, at("2026-11-25T12:05:00Z")).await["sent"], 0);
    assert_eq!(mail_sweep_at(&app, at("2026-11-25T13:25:00Z")).await["sent"], 1);
    let thanks = new_mails(&app, &mut seen);
    let raw = &thanks[0].1;
    // A subject with an umlaut goes as a UTF-8 encoded word.
    assert_eq!(header(raw, "Subject").as_deref(), Some("=?utf-8?Q?Danke_f=C3=BCr_Ihre_Bestellung,_Lena!?="));
    assert!(raw.contains("für Ihre Bewertung schreiben wir Ihnen Punkte gut"), "{raw}");
    assert!(raw.contains("Punkte, die bald gutgeschrieben werden"), "the pending points are shown: {raw}");
    assert_eq!(mail_sweep_at(&app, at("2026-11-26T13:25:00Z")).await["sent"], 0, "once");
}

#[tokio::test]
async fn points_about_to_expire_are_announced_with_their_amount_and_date() {
    let app = spawn_app(at("2026-11-20T10:00:00Z")).await;
    lena_orders(&app).await;
    app.app.mail.put_contact(&shop(), &id(LENA), &confirmed()).await.unwrap_or_else(|e| panic!("{e}"));
    // No fulfilment reported: the window closes 5 + 14 days after payment and the points become
    // a lot, which expires after 24 months (the default) with a notice 30 days before.
    app.sweep_at(at("2026-12-10T10:00:00Z")).await;
    let ledger = app.ledger_of(SHOP, MAIL_API_KEY, LENA).await;
    let available = balance(&ledger).0;
    assert!(available > 0, "released: {ledger}");
    app.sweep_at(at("2028-11-15T10:00:00Z")).await;
    let ledger = app.ledger_of(SHOP, MAIL_API_KEY, LENA).await;
    let notice =
        entries(&ledger).into_iter().find(|e| e["kind"] == "expiry_notice").unwrap_or_else(|| panic!("{ledger}"));
    let expires: DateTime<Utc> =
        notice["detail"]["expires_at"].as_str().unwrap_or_default().parse().unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(mail_sweep_at(&app, at("2028-11-15T10:05:00Z")).await["sent"], 1);
    let mut seen = BTreeSet::new();
    let raw = &new_mails(&app, &mut seen)[0].1;
    assert_eq!(header(raw, "Subject").as_deref(), Some("Ihre Punkte verfallen bald"));
    let day = expires.with_timezone(&Tz::Europe__Berlin).format("%d.%m.%Y").to_string();
    assert!(raw.contains(&format!("{available} Ihrer Punkte bei Kaffee & Kuchen verfallen am {day}")), "{raw}");
    assert_eq!(mail_sweep_at(&app, at("2028-11-16T10:05:00Z")).await["sent"], 0, "once");
}

#[tokio::test]
async fn a_customer_who_bought_but_never_subscribed_gets_the_win_back_mail_with_the_objection_notice() {
    let app = spawn_app(at("2026-11-20T10:00:00Z")).await;
    lena_orders(&app).await;
    // No subscription: the shop relies on UWG §7(3) for its customers.
    assert_eq!(mail_sweep_at(&app, at("2027-03-20T10:05:00Z")).await["sent"], 1);
    let mut seen = BTreeSet::new();
    let raw = &new_mails(&app, &mut seen)[0].1;
    assert!(raw.contains("jederzeit widersprechen"), "the objection notice: {raw}");
    // Once she objects (unsubscribes), the reminder does not go.
    let objected = MailContact { unsubscribed_at: Some(at("2027-03-25T10:00:00Z")), ..MailContact::default() };
    app.app.mail.put_contact(&shop(), &id(LENA), &objected).await.unwrap_or_else(|e| panic!("{e}"));
    let report = mail_sweep_at(&app, at("2027-04-03T10:05:00Z")).await;
    assert_eq!((report["sent"].as_i64(), report["refused"].as_i64()), (Some(0), Some(1)), "{report}");
}

#[tokio::test]
async fn a_claim_never_confirmed_is_flagged_for_review_after_its_lease_and_never_sent_again() {
    use stammkunde_domain::mail::{Campaign, MailSend, SendState};
    let app = spawn_app(at("2026-06-01T12:00:00Z")).await;
    put_customer(
        &app,
        Person {
            name: "anna",
            country: "DE",
            locale: "de",
            birthday: Some((6, 15)),
            since: at("2025-01-01T00:00:00Z"),
        },
    )
    .await;
    set_contact(&app, "anna", confirmed()).await;
    // A sweep claimed the greeting at 07:05 and died before SES answered.
    let date = "2026-06-15".parse().unwrap_or_else(|e| panic!("{e}"));
    let claimed = MailSend {
        shop: shop(),
        customer_id: id("anna"),
        campaign: Campaign::Birthday,
        date,
        state: SendState::Claimed { at: at("2026-06-15T07:05:00Z") },
    };
    app.app.mail.create_send(&claimed).await.unwrap_or_else(|e| panic!("{e}"));

    let report = mail_sweep_at(&app, at("2026-06-15T07:15:00Z")).await;
    assert_eq!((report["sent"].as_i64(), report["review"].as_i64()), (Some(0), Some(0)), "inside the lease: {report}");
    let report = mail_sweep_at(&app, at("2026-06-15T08:05:00Z")).await;
    assert_eq!((report["sent"].as_i64(), report["review"].as_i64()), (Some(0), Some(1)), "{report}");
    let stored =
        app.app.mail.send(&shop(), &id("anna"), Campaign::Birthday, date).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(stored.map(|s| s.state), Some(SendState::Review { .. })));
    for hour in 9..20 {
        assert_eq!(mail_sweep_at(&app, at(&format!("2026-06-15T{hour:02}:05:00Z"))).await["sent"], 0);
    }
    assert!(outbox(&app).is_empty(), "nothing was sent, and nothing with a new code");

    // The merchant finds it through the API, and only it; a bad page request is a 400.
    let answer = app.get(&format!("/api/shops/{SHOP}/mail/flagged"), &bearer(MAIL_API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let expected = serde_json::json!({
        "sends": [{
            "customer_id": "anna",
            "campaign": "birthday",
            "date": "2026-06-15",
            "claimed_at": "2026-06-15T07:05:00Z",
            "flagged_at": "2026-06-15T08:05:00Z",
            "code": null,
        }],
        "next": null,
    });
    assert_eq!(answer.body, expected);
    assert_eq!(app.get(&format!("/api/shops/{SHOP}/mail/flagged"), &[]).await.status, 401);
    for query in ["limit=0", "limit=501", "limit=x", "cursor=%00", "cursor=eA"] {
        let answer = app.get(&format!("/api/shops/{SHOP}/mail/flagged?{query}"), &bearer(MAIL_API_KEY)).await;
        assert_eq!(answer.status, 400, "{query}: {:?}", answer.body);
    }
}

/// The birthday the merchant API shows for a customer of the mail shop.
async fn birthday_of(app: &TestApp, name: &str) -> serde_json::Value {
    let answer = app.get(&format!("/api/shops/{SHOP}/customers/{name}"), &bearer(MAIL_API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["birthday"].clone()
}

/// A shop whose platform keeps no birthday gives them through the merchant API: one by `PUT`,
/// many by CSV. The next birthday mail comes from the index the import moved, and the 30-day
/// guard counts from the import: a birthday given today earns no code this year, one given in
/// good time does; a file with a bad row writes nothing.
#[tokio::test]
async fn birthdays_given_through_the_api_and_a_csv_import_are_greeted_and_the_guard_counts_from_when_they_came() {
    let app = spawn_app(at("2026-05-01T12:00:00Z")).await;
    for name in ["ida", "ole", "uwe"] {
        put_customer(
            &app,
            Person { name, country: "DE", locale: "de", birthday: None, since: at("2025-01-01T10:00:00Z") },
        )
        .await;
        set_contact(&app, name, confirmed()).await;
    }
    let auth = || {
        let mut headers = bearer(MAIL_API_KEY);
        headers.push(("content-type", "text/csv".into()));
        headers
    };
    let api = |path: &str| format!("/api/shops/{SHOP}{path}");
    // A bad row (30 February) refuses the whole file: nothing is written.
    let bad = "customer_id,birthday\nida,12.05.1990\nole,30.02.\n";
    let refused = app.post(&api("/birthdays"), &auth(), bad).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(refused.body["reason"].as_str().unwrap_or_default().contains("line 3"), "{:?}", refused.body);
    assert_eq!(birthday_of(&app, "ida").await, serde_json::Value::Null, "nothing was imported");

    // On 1 May: ida and ole by file (one unknown row skipped), uwe by PUT.
    let file = "customer_id,birthday\nida,12.05.1990\nole,--05-12\nnobody,12.05.\n";
    let imported = app.post(&api("/birthdays"), &auth(), file).await;
    assert_eq!(imported.status, 200, "{:?}", imported.body);
    assert_eq!(
        (&imported.body["rows"], &imported.body["updated"], &imported.body["unknown_customers"]),
        (&serde_json::json!(3), &serde_json::json!(2), &serde_json::json!(1)),
        "{:?}",
        imported.body
    );
    assert_eq!(imported.body["unknown_customer_ids"], serde_json::json!(["nobody"]));
    let put = app
        .request(
            reqwest::Method::PUT,
            &api("/customers/uwe/birthday"),
            &bearer(MAIL_API_KEY),
            r#"{"birthday": "12.05."}"#,
        )
        .await;
    let no_year = serde_json::json!({"month": 5, "day": 12, "year": null});
    assert_eq!((put.status, &put.body["birthday"]), (200, &no_year), "{:?}", put.body);
    let unknown = app
        .request(
            reqwest::Method::PUT,
            &api("/customers/nobody/birthday"),
            &bearer(MAIL_API_KEY),
            r#"{"birthday": "12.05."}"#,
        )
        .await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    assert_eq!(birthday_of(&app, "ida").await, serde_json::json!({"month": 5, "day": 12, "year": 1990}));

    // Ole clears his; on 12 May ida and uwe are greeted, without a code: their birthdays came
    // 11 days before.
    app.clock.set(at("2026-05-03T12:00:00Z"));
    let cleared = app
        .request(reqwest::Method::PUT, &api("/customers/ole/birthday"), &bearer(MAIL_API_KEY), r#"{"birthday": null}"#)
        .await;
    assert_eq!((cleared.status, &cleared.body["birthday"]), (200, &serde_json::Value::Null), "{:?}", cleared.body);
    let mut seen = BTreeSet::new();
    let report = mail_sweep_at(&app, at("2026-05-12T08:05:00Z")).await;
    assert_eq!(report["sent"], 2, "ida and uwe, not ole: {report}");
    let mails = new_mails(&app, &mut seen);
    let names: BTreeSet<&str> = mails.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(names, ["ida", "uwe"].into_iter().collect());
    for (to, raw) in &mails {
        assert!(raw.contains("Alles Gute zum Geburtstag"), "{to} is greeted");
        assert_eq!(code_in(raw), None, "{to}'s birthday came 11 days before it: no code this year");
    }

    // A year on, the same birthdays have been known long enough: the greeting brings a code.
    let report = mail_sweep_at(&app, at("2027-05-12T08:05:00Z")).await;
    assert_eq!(report["sent"], 2, "{report}");
    let year_on = new_mails(&app, &mut seen);
    assert_eq!(year_on.iter().map(|(to, _)| to.as_str()).collect::<BTreeSet<_>>(), names);
    assert!(year_on.iter().all(|(_, raw)| code_in(raw).is_some()), "codes in the second year");
}

/// A page of the runner, with its headers: (status, content-security-policy, referrer-policy, body).
async fn page(app: &TestApp, method: reqwest::Method, path: &str, body: &str) -> (u16, String, String, String) {
    let request = app.client.request(method, format!("{}{path}", app.base)).body(body.to_owned());
    let request = request.header("content-type", "application/x-www-form-urlencoded");
    let response = request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let header =
        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_default();
    let (csp, referrer) = (header("content-security-policy"), header("referrer-policy"));
    (response.status().as_u16(), csp, referrer, response.text().await.unwrap_or_default())
}

async fn unsubscribed_at(app: &TestApp, name: &str) -> Option<DateTime<Utc>> {
    let contact = app.app.mail.contact(&shop(), &id(name)).await.unwrap_or_else(|e| panic!("{e}"));
    contact.and_then(|c| c.unsubscribed_at)
}

/// Anna and Ben, both subscribed, get their birthday greeting on 29 March 2026 at 09:05 Berlin
/// time; the runner, and Anna's mail.
async fn annas_birthday_mail() -> (TestApp, String) {
    let app = spawn_app(at("2026-03-01T12:00:00Z")).await;
    for name in ["anna", "ben"] {
        let person =
            Person { name, country: "DE", locale: "de", birthday: Some((3, 29)), since: at("2025-01-10T10:00:00Z") };
        put_customer(&app, person).await;
        set_contact(&app, name, confirmed()).await;
    }
    let report = mail_sweep_at(&app, at("2026-03-29T07:05:00Z")).await;
    assert_eq!(report["sent"], 2, "{report}");
    let anna = outbox(&app).into_iter().map(|(_, raw)| raw).find(|raw| recipient(raw) == "anna").unwrap_or_default();
    (app, anna)
}

/// The unsubscribe link of a marketing mail works: opened, its page has one button and changes
/// nothing; the one-click POST of the mail's `List-Unsubscribe` URL (RFC 8058: no cookie, no
/// confirmation) unsubscribes at once and for good, and the next mail is not sent. Unknown,
/// malformed and expired tokens all get the same 404 page.
#[tokio::test]
async fn the_mails_unsubscribe_link_shows_one_button_and_its_one_click_post_stops_marketing_mail() {
    let (app, anna) = annas_birthday_mail().await;
    let list_unsubscribe = header(&anna, "List-Unsubscribe").unwrap_or_else(|| panic!("no List-Unsubscribe:\n{anna}"));
    let url = list_unsubscribe.trim_start_matches('<').split('>').next().unwrap_or_default();
    let path = url.strip_prefix(&app.base).unwrap_or_else(|| panic!("{url} is not on {}", app.base)).to_owned();
    assert!(path.starts_with("/u/"), "{path}");

    let (status, csp, referrer, html) = page(&app, reqwest::Method::GET, &path, "").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Von Werbe-Mails abmelden") && html.contains("<button type=\"submit\">Abmelden</button>"),
        "{html}"
    );
    assert!(html.contains("<p class=\"shop\">Kaffee &amp; Kuchen</p>"), "the shop's name, escaped: {html}");
    assert!(!html.contains("<script"), "no script");
    assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'sha256-"), "{csp}");
    assert_eq!(referrer, "no-referrer", "the token is in the URL");
    assert_eq!(unsubscribed_at(&app, "anna").await, None, "opening the page changes nothing");
    let (_, _, _, english) = page(&app, reqwest::Method::GET, &format!("{path}?lang=en"), "").await;
    assert!(english.contains("Unsubscribe from marketing mail") && english.contains("<html lang=\"en\">"), "{english}");

    app.clock.set(at("2026-03-29T09:00:00Z"));
    let (status, _, _, text) = page(&app, reqwest::Method::POST, &path, "List-Unsubscribe=One-Click").await;
    assert_eq!((status, text.trim()), (200, "unsubscribed"));
    assert_eq!(unsubscribed_at(&app, "anna").await, Some(at("2026-03-29T09:00:00Z")));
    // The page's button later, or the provider retrying: the first time stays.
    app.clock.set(at("2026-03-30T09:00:00Z"));
    let (status, _, _, done) = page(&app, reqwest::Method::POST, &path, "confirm=1").await;
    assert_eq!(status, 200);
    assert!(done.contains("Sie sind abgemeldet"), "{done}");
    assert_eq!(unsubscribed_at(&app, "anna").await, Some(at("2026-03-29T09:00:00Z")));
    assert_eq!(unsubscribed_at(&app, "ben").await, None, "nobody else is touched");

    let (unknown_status, _, _, unknown) = page(&app, reqwest::Method::GET, &format!("/u/{}", "0".repeat(32)), "").await;
    let (malformed_status, _, _, malformed) =
        page(&app, reqwest::Method::POST, "/u/not-a-token", "List-Unsubscribe=One-Click").await;
    assert_eq!((unknown_status, malformed_status), (404, 404));
    assert!(unknown.contains("Dieser Link gilt nicht mehr"), "{unknown}");
    assert_eq!(unknown, malformed, "unknown and malformed tokens look alike");
    app.clock.set(at("2026-09-26T09:00:00Z"));
    let (expired_status, _, _, expired) = page(&app, reqwest::Method::GET, &path, "").await;
    // Compared at the same moment: the page's new-link form carries a field signed with the time.
    let (_, _, _, unknown) = page(&app, reqwest::Method::GET, &format!("/u/{}", "0".repeat(32)), "").await;
    assert_eq!((expired_status, &expired), (404, &unknown), "an expired token looks like an unknown one");

    let report = mail_sweep_at(&app, at("2027-03-29T07:05:00Z")).await;
    assert_eq!((report["sent"].as_i64(), report["refused"].as_i64()), (Some(1), Some(1)), "only ben: {report}");
}

/// The settings link of a marketing mail works through the runner: the page shows the customer's
/// choices, a save comes back as the page with them kept (the POST answers 303, the client
/// follows it), and the sweep honours them: a birthday greeting switched off is not sent the
/// next year, while a customer who kept it gets theirs.
#[tokio::test]
async fn the_mails_settings_link_saves_choices_that_the_next_sweep_honours() {
    let (app, anna) = annas_birthday_mail().await;
    let path = link_path(&app, &readable(&anna), "/p/");

    let (status, csp, referrer, html) = page(&app, reqwest::Method::GET, &path, "").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Ihre Mail-Einstellungen") && html.contains("name=\"topic_birthday\" checked"), "{html}");
    assert!(csp.contains("default-src 'none'") && !html.contains("<script"), "{csp}");
    assert_eq!(referrer, "no-referrer");
    // The form posts every field, as a browser does: the birthday as the page shows it.
    assert!(html.contains("name=\"birthday_day\" min=\"1\" max=\"31\" value=\"29\""), "{html}");
    let csrf = hidden_field(&html, "csrf");
    let form = format!(
        "csrf={csrf}&revision={}&topic_newsletter=on&topic_offers=on&topic_points_news=on&frequency=monthly\
         &pause_until=&birthday_day=29&birthday_month=3&birthday_year=&time_zone=",
        hidden_field(&html, "revision")
    );
    let (status, _, _, saved) = page(&app, reqwest::Method::POST, &path, &form).await;
    assert_eq!(status, 200, "the 303 leads back to the page: {saved}");
    assert!(saved.contains("Gespeichert.") && !saved.contains("name=\"topic_birthday\" checked"), "{saved}");
    assert!(saved.contains("value=\"monthly\" checked"), "{saved}");
    let contact =
        app.app.mail.contact(&shop(), &id("anna")).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
    assert_eq!(contact.topics_declined, vec![stammkunde_domain::mail::Topic::Birthday]);

    let report = mail_sweep_at(&app, at("2027-03-29T07:05:00Z")).await;
    assert_eq!((report["sent"].as_i64(), report["refused"].as_i64()), (Some(1), Some(1)), "only ben: {report}");
}

/// The personal code a birthday mail carried is on the customer's page, with where it came from
/// and until when it is valid, and in the export of their data beside the mail that carried it;
/// another customer's code is on neither; once it has expired the page no longer offers it.
#[tokio::test]
async fn a_mailed_birthday_code_is_on_the_customers_page_and_in_their_export_until_it_expires() {
    let (app, anna) = annas_birthday_mail().await;
    let readable_anna = readable(&anna);
    let code = code_in(&readable_anna).unwrap_or_else(|| panic!("no code in anna's mail: {readable_anna}"));
    let bens_code = outbox(&app)
        .into_iter()
        .map(|(_, raw)| readable(&raw))
        .find(|raw| recipient(raw) == "ben")
        .and_then(|raw| code_in(&raw))
        .unwrap_or_else(|| panic!("no code in ben's mail"));
    let path = link_path(&app, &readable_anna, "/p/");

    let (status, _, _, html) = page(&app, reqwest::Method::GET, &path, "").await;
    assert_eq!(status, 200, "{html}");
    let listed = format!("<li><code>{code}</code> (Geburtstagsgeschenk) · gültig bis ");
    assert!(html.contains(&listed), "anna's code with its source on her page: {html}");
    assert!(!html.contains(&bens_code), "ben's code is not on anna's page");

    let (status, _, _, export) = page(&app, reqwest::Method::GET, &path.replacen("/p/", "/d/", 1), "").await;
    assert_eq!(status, 200, "{export}");
    let export: serde_json::Value = serde_json::from_str(&export).unwrap_or_else(|e| panic!("{e}: {export}"));
    let mails = export["mails"].as_array().cloned().unwrap_or_default();
    assert!(
        mails.iter().any(|m| m["campaign"] == "birthday" && m["code"] == code.as_str()),
        "the export names the code beside its mail: {mails:?}"
    );
    assert!(!export.to_string().contains(&bens_code));

    let coupon = app.app.store.code(&shop(), &CouponCode::parse(&code).unwrap_or_else(|e| panic!("{e}"))).await;
    let expires_at = coupon.ok().flatten().and_then(|c| c.issue).map(|i| i.expires_at);
    let expires_at = expires_at.unwrap_or_else(|| panic!("anna's code is issued to her"));
    // The code's validity (weeks) ends long before the mail's link does (months).
    app.clock.set(expires_at + Duration::seconds(1));
    let (status, _, _, later) = page(&app, reqwest::Method::GET, &path, "").await;
    assert_eq!(status, 200, "the link outlives the code: {later}");
    assert!(!later.contains(&code), "an expired code is not offered: {later}");
}
