//! Double opt-in end to end through the local runner: the shop's form asks through the merchant
//! API, the confirmation mail lands in the outbox, its link's page changes nothing until its
//! button is clicked, the consent ledger holds every proof field, and marketing mail opens up
//! for the customer who confirmed and for nobody else.

use serde_json::{json, Value};
use std::collections::BTreeSet;

use stammkunde_domain::mail::link::{token_digest, LinkToken};
use stammkunde_e2e::mail_shop::*;
use stammkunde_e2e::mime::header;
use stammkunde_e2e::*;

const WORDING: &str = "Ja, ich möchte den Newsletter von Kaffee & Kuchen mit Angeboten und Neuigkeiten per E-Mail \
                       erhalten. Die Einwilligung kann ich jederzeit widerrufen.";
const FORM: &str = "https://kaffee.example/newsletter";
const FORM_IP: &str = "198.51.100.23";
const FORM_BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15";

fn request_body(customer: &str) -> Value {
    json!({
        "customer_id": customer,
        "wording": WORDING,
        "locale": "de",
        "source": FORM,
        "ip": FORM_IP,
        "user_agent": FORM_BROWSER,
    })
}

async fn request(app: &TestApp, body: &Value) -> Answer {
    let path = format!("/api/shops/{SHOP}/subscriptions");
    app.post(&path, &bearer(MAIL_API_KEY), body.to_string()).await
}

async fn consents(app: &TestApp, customer: &str) -> Value {
    let path = format!("/api/shops/{SHOP}/customers/{customer}/consents");
    let answer = app.get(&path, &bearer(MAIL_API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

/// The runner on the day of the requests, with Lena, a customer of long standing who never bought.
async fn app_with_lena() -> TestApp {
    let app = spawn_app(at("2026-05-04T10:00:00Z")).await;
    let lena = Person { name: "lena", country: "DE", locale: "de", birthday: None, since: at("2025-01-10T10:00:00Z") };
    put_customer(&app, lena).await;
    app
}

#[tokio::test]
async fn a_double_opt_in_round_trip_records_every_proof_field_and_opens_marketing_mail_for_who_confirmed() {
    let requested_at = at("2026-05-04T10:00:00Z");
    let app = spawn_app(requested_at).await;
    let long_ago = at("2025-01-10T10:00:00Z");
    // Neither ever bought: under the existing-customer ground they get no marketing mail.
    for name in ["lena", "ben"] {
        put_customer(&app, Person { name, country: "DE", locale: "de", birthday: Some((5, 6)), since: long_ago }).await;
    }

    let answer = request(&app, &request_body("lena")).await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(
        answer.body,
        json!({ "status": "confirmation_requested", "request": "subscription-request:2026-05-04" })
    );
    let again = request(&app, &request_body("lena")).await;
    assert_eq!((again.status, again.body["status"].as_str()), (202, Some("already_requested")), "{:?}", again.body);

    let mut seen = BTreeSet::new();
    let mails = new_mails(&app, &mut seen);
    assert_eq!(mails.len(), 1, "one confirmation mail for two requests: {mails:?}");
    let (to, mail) = &mails[0];
    assert_eq!(to, "lena");
    assert_eq!(
        header(mail, "Subject").as_deref(),
        Some("=?utf-8?Q?Bitte_best=C3=A4tigen_Sie_Ihre_Anmeldung_bei_Kaffee_&?= =?utf-8?Q?_Kuchen?="),
        "Bitte bestätigen Sie Ihre Anmeldung bei Kaffee & Kuchen"
    );
    assert_eq!(header(mail, "List-Unsubscribe"), None, "a confirmation mail is not advertising");
    let confirm = link_path(&app, mail, "/c/");

    // The page: the words agreed to and a button; opening it (as a mail scanner does) changes nothing.
    let (status, html) = page(&app, reqwest::Method::GET, &confirm, String::new()).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Ja, ich möchte den Newsletter von Kaffee &amp; Kuchen"), "{html}");
    assert!(html.contains("Ja, Anmeldung bestätigen"), "{html}");
    let before = consents(&app, "lena").await;
    assert_eq!(before["records"].as_array().map(Vec::len), Some(1), "{before}");
    assert_eq!(before["marketing_consent_confirmed_at"], Value::Null);

    // Without the page's csrf field the click is refused and nothing is recorded.
    let (status, _) = page(&app, reqwest::Method::POST, &confirm, "csrf=forged".into()).await;
    assert_eq!(status, 403);
    assert_eq!(consents(&app, "lena").await, before);

    let clicked_at = at("2026-05-04T10:07:00Z");
    app.clock.set(clicked_at);
    let csrf = hidden_field(&html, "csrf");
    let (status, done) = page(&app, reqwest::Method::POST, &confirm, format!("csrf={csrf}")).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("Danke, Ihre Anmeldung ist bestätigt"), "{done}");
    let (status, _) = page(&app, reqwest::Method::POST, &confirm, format!("csrf={csrf}")).await;
    assert_eq!(status, 200, "a second click answers the same");

    let proof = consents(&app, "lena").await;
    let wording = json!({
        "digest": proof["records"][0]["wording"]["digest"],
        "locale": "de",
        "text": WORDING,
    });
    assert_eq!(wording["digest"].as_str().map(str::len), Some(64), "{proof}");
    assert_eq!(
        proof,
        json!({
            "shop": SHOP,
            "customer_id": "lena",
            "marketing_consent_confirmed_at": "2026-05-04T10:07:00Z",
            "records": [
                {
                    "key": "subscription-request:2026-05-04",
                    "at": "2026-05-04T10:00:00Z",
                    "topic": null,
                    "action": "requested",
                    "method": "signup_form",
                    "source": FORM,
                    "wording": wording,
                    "ip": FORM_IP,
                    "user_agent": FORM_BROWSER,
                    "basis": "consent",
                    "claimed_at": null,
                },
                {
                    "key": "confirmed:subscription-request:2026-05-04",
                    "at": "2026-05-04T10:07:00Z",
                    "topic": null,
                    "action": "granted",
                    "method": "confirmation_click",
                    "source": "preference centre: confirmation page (/c)",
                    "wording": wording,
                    "ip": "127.0.0.1",
                    "user_agent": CLICK_BROWSER,
                    "basis": "consent",
                    "claimed_at": null,
                },
            ],
        })
    );
    let profile = app.customer_of(SHOP, MAIL_API_KEY, "lena").await;
    assert_eq!(
        (&profile["consent"]["provable"], &profile["consent"]["double_opt_in_at"]),
        (&json!(true), &json!("2026-05-04T10:07:00Z")),
        "{profile}"
    );
    let unconfirmed = app.customer_of(SHOP, MAIL_API_KEY, "ben").await;
    assert_eq!(unconfirmed["consent"]["provable"], json!(false), "{unconfirmed}");
    let confirmed = request(&app, &request_body("lena")).await;
    assert_eq!((confirmed.status, confirmed.body["status"].as_str()), (200, Some("already_confirmed")));

    // Her birthday, 09:05 in Berlin: lena gets the greeting, ben (never confirmed) does not.
    let report = mail_sweep_at(&app, at("2026-05-06T07:05:00Z")).await;
    let sent: Vec<String> = new_mails(&app, &mut seen).into_iter().map(|(to, _)| to).collect();
    assert_eq!(sent, ["lena"], "{report}");
}

#[tokio::test]
async fn a_bad_subscription_request_is_refused_with_its_reason_and_writes_nothing() {
    let app = app_with_lena().await;
    let path = format!("/api/shops/{SHOP}/subscriptions");
    let wrong_key = app.post(&path, &bearer("not-the-key"), request_body("lena").to_string()).await;
    assert_refused(&wrong_key, 401, "unauthorized");
    let with = |edit: fn(&mut Value)| {
        let mut body = request_body("lena");
        edit(&mut body);
        body
    };
    let cases: [(Value, u16, &str); 9] = [
        (request_body("nobody"), 404, "not_found"),
        (with(|b| b["locale"] = json!("fr")), 400, "bad_request"),
        (with(|b| b["locale"] = json!("de-DE")), 400, "bad_request"),
        (with(|b| b["wording"] = json!("   ")), 400, "bad_request"),
        (with(|b| b["wording"] = json!("x".repeat(4001))), 400, "bad_request"),
        (with(|b| b["ip"] = json!("not-an-ip")), 400, "bad_request"),
        (with(|b| b["source"] = json!("form\r\nBcc: victim@example.com")), 400, "bad_request"),
        (with(|b| b["method"] = json!("merchant")), 400, "bad_request"),
        (with(|b| b["consent"] = json!(true)), 400, "bad_request"),
    ];
    for (body, status, code) in &cases {
        let answer = request(&app, body).await;
        assert_refused(&answer, *status, code);
        assert!(answer.body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{:?}", answer.body);
    }
    let not_json = app.post(&path, &bearer(MAIL_API_KEY), "customer_id=lena").await;
    assert_refused(&not_json, 400, "bad_request");
    assert_eq!(consents(&app, "lena").await["records"], json!([]));
    assert!(outbox(&app).is_empty(), "no mail went out");
}

#[tokio::test]
async fn only_a_confirmation_mails_link_confirms_and_an_old_one_cannot_undo_a_later_unsubscribe() {
    let app = app_with_lena().await;
    // A settings link (as every other mail carries) opens no confirmation page.
    let settings_token = "00112233445566778899aabbccddeeff";
    let link = LinkToken {
        shop: shop(),
        customer_id: id("lena"),
        issued_at: at("2026-05-01T10:00:00Z"),
        expires_at: at("2026-11-01T10:00:00Z"),
        confirms: None,
    };
    app.app
        .mail
        .put_link(&token_digest(settings_token).unwrap_or_default(), &link)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, _) = page(&app, reqwest::Method::GET, &format!("/c/{settings_token}"), String::new()).await;
    assert_eq!(status, 404);

    assert_eq!(request(&app, &request_body("lena")).await.status, 202);
    let mail = outbox(&app).into_iter().map(|(_, mail)| mail).next().unwrap_or_default();
    let confirm = link_path(&app, &mail, "/c/");
    let (_, html) = page(&app, reqwest::Method::GET, &confirm, String::new()).await;
    let csrf = hidden_field(&html, "csrf");
    assert_eq!(page(&app, reqwest::Method::POST, &confirm, format!("csrf={csrf}")).await.0, 200);
    let unsubscribe = confirm.replacen("/c/", "/u/", 1);
    app.clock.set(at("2026-05-20T08:00:00Z"));
    let (status, _) = page(&app, reqwest::Method::POST, &unsubscribe, "List-Unsubscribe=One-Click".into()).await;
    assert_eq!(status, 200);
    app.clock.set(at("2026-05-21T08:00:00Z"));
    assert_eq!(page(&app, reqwest::Method::POST, &confirm, format!("csrf={csrf}")).await.0, 200);
    let contact =
        app.app.mail.contact(&shop(), &id("lena")).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
    assert_eq!(contact.unsubscribed_at, Some(at("2026-05-20T08:00:00Z")), "the later unsubscribe stands");
    assert_eq!(contact.double_opt_in_at, Some(at("2026-05-04T10:00:00Z")));
}

#[tokio::test]
async fn the_printable_proof_shows_every_record_and_escapes_what_a_browser_or_form_sent() {
    let app = app_with_lena().await;
    let mut body = request_body("lena");
    body["user_agent"] = json!("<script>alert(1)</script>");
    body["wording"] = json!("Ja, <b>bitte</b> & gern.");
    assert_eq!(request(&app, &body).await.status, 202);
    let path = format!("/api/shops/{SHOP}/customers/lena/consents?format=html");
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}{path}", app.base))
        .bearer_auth(MAIL_API_KEY)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap_or_default();
    // minijinja escapes `/` too.
    assert!(html.contains(FORM_IP) && html.contains("signup_form"), "{html}");
    assert!(html.contains("https:&#x2f;&#x2f;kaffee.example&#x2f;newsletter"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;") && !html.contains("<script>"), "{html}");
    assert!(html.contains("Ja, &lt;b&gt;bitte&lt;&#x2f;b&gt; &amp; gern."), "{html}");
    let unauthorised = client.get(format!("{}{path}", app.base)).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unauthorised.status().as_u16(), 401);
}
