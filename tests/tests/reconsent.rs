//! Re-permission end to end through the local runner: consents imported from a shop's previous
//! tool, and double opt-ins from before the consent ledger, each get one re-permission mail; the
//! consent counts until the deadline, the mail's link confirms it with every proof field, and
//! after the deadline marketing mail goes to who confirmed and to nobody else. Bad imports are
//! refused with their reason and write nothing.

use serde_json::{json, Value};
use std::collections::BTreeSet;

use stammkunde_domain::mail::MailContact;
use stammkunde_e2e::mail_shop::*;
use stammkunde_e2e::mime::header;
use stammkunde_e2e::*;

const LONG_AGO: &str = "2025-01-10T10:00:00Z";

fn import_body(key: &str, consents: Value) -> Value {
    json!({ "idempotency_key": key, "source": "Mailchimp", "consents": consents })
}

async fn import(app: &TestApp, body: impl Into<reqwest::Body>) -> Answer {
    app.post(&format!("/api/shops/{SHOP}/consents/imports"), &bearer(MAIL_API_KEY), body).await
}

async fn consents(app: &TestApp, customer: &str) -> Value {
    let answer = app.get(&format!("/api/shops/{SHOP}/customers/{customer}/consents"), &bearer(MAIL_API_KEY)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

/// Opens a mail's `/c/` link and clicks its button.
async fn click_confirm(app: &TestApp, mail: &str) -> String {
    let confirm = link_path(app, mail, "/c/");
    let (status, html) = page(app, reqwest::Method::GET, &confirm, String::new()).await;
    assert_eq!(status, 200, "{html}");
    let (status, done) =
        page(app, reqwest::Method::POST, &confirm, format!("csrf={}", hidden_field(&html, "csrf"))).await;
    assert_eq!(status, 200, "{done}");
    html
}

async fn customers(app: &TestApp, people: &[(&'static str, Option<(u8, u8)>)]) {
    for (name, birthday) in people {
        put_customer(app, Person { name, country: "DE", locale: "de", birthday: *birthday, since: at(LONG_AGO) }).await;
    }
}

fn recipients(mails: &[(String, String)]) -> Vec<String> {
    let mut to: Vec<String> = mails.iter().map(|(to, _)| to.clone()).collect();
    to.sort();
    to
}

#[tokio::test]
async fn an_imported_consent_gets_one_re_permission_mail_and_after_its_deadline_only_who_confirmed_gets_marketing() {
    let imported_at = at("2026-05-04T10:00:00Z");
    let app = spawn_app(imported_at).await;
    // None of them ever bought: the existing-customer ground never carries their mail.
    customers(&app, &[("anna", Some((6, 1))), ("ben", Some((5, 14))), ("cara", Some((6, 1)))]).await;
    let body = import_body(
        "mailchimp-2026-05",
        json!([
            {"customer_id": "anna", "consented_at": "2021-03-04T18:12:00Z", "source": "Newsletter-Formular"},
            {"customer_id": "ben"},
            {"customer_id": "cara", "consented_at": "2022-11-30T08:00:00Z"},
        ]),
    );
    let first = import(&app, body.to_string()).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let deadline = "2026-05-24T10:00:00Z";
    assert_eq!(
        first.body,
        json!({"idempotency_key": "mailchimp-2026-05", "rows": 3, "imported": 3, "skipped": {}, "confirm_by": deadline})
    );
    let again = import(&app, body.to_string()).await;
    assert_eq!((again.status, &again.body), (200, &first.body), "the same import again answers the same");

    // The sweep sends the re-permission mails, once: a second run and the import repeated send none.
    let mut seen = BTreeSet::new();
    mail_sweep_at(&app, imported_at).await;
    let mails = new_mails(&app, &mut seen);
    assert_eq!(recipients(&mails), ["anna", "ben", "cara"]);
    let anna_mail = mails.iter().find(|(to, _)| to == "anna").map(|(_, m)| m.clone()).unwrap_or_default();
    assert_eq!(
        header(&anna_mail, "Subject").as_deref(),
        Some("=?utf-8?Q?M=C3=B6chten_Sie_weiterhin_E-Mails_von_Kaffee_&_Kuche?= =?utf-8?Q?n_erhalten=3F?="),
        "Möchten Sie weiterhin E-Mails von Kaffee & Kuchen erhalten?"
    );
    assert!(header(&anna_mail, "List-Unsubscribe").is_some(), "a re-permission mail is advertising: {anna_mail}");
    assert!(anna_mail.contains("bis zum 24.05.2026"), "{anna_mail}");
    assert_eq!(import(&app, body.to_string()).await.status, 200);
    mail_sweep_at(&app, at("2026-05-04T11:05:00Z")).await;
    assert_eq!(new_mails(&app, &mut seen).len(), 0, "one re-permission mail per customer");

    // The import is on the proof as the merchant's word, the re-permission as asked; nothing confirmed.
    let proof = consents(&app, "anna").await;
    assert_eq!(proof["marketing_consent_confirmed_at"], Value::Null, "{proof}");
    let records = proof["records"].as_array().cloned().unwrap_or_default();
    assert_eq!(records.len(), 2, "{proof}");
    let wording = "Ja, ich möchte weiterhin E-Mails von Kaffee & Kuchen mit Angeboten und Neuigkeiten erhalten. \
                   Diese Einwilligung kann ich jederzeit mit einem Klick widerrufen.";
    assert_eq!(
        (&records[0]["key"], &records[0]["action"], &records[0]["method"], &records[0]["source"]),
        (
            &json!("import:mailchimp-2026-05"),
            &json!("granted"),
            &json!("import"),
            &json!("import: Mailchimp; Newsletter-Formular")
        )
    );
    assert_eq!((&records[0]["claimed_at"], &records[0]["basis"]), (&json!("2021-03-04T18:12:00Z"), &json!("consent")));
    assert_eq!(
        (&records[1]["key"], &records[1]["action"], &records[1]["method"], &records[1]["wording"]["text"]),
        (&json!("reconsent-request:2026-05-04"), &json!("requested"), &json!("reconsent_mail"), &json!(wording))
    );

    // Before the deadline the imported consent counts: ben's birthday greeting goes out.
    mail_sweep_at(&app, at("2026-05-14T07:05:00Z")).await;
    assert_eq!(recipients(&new_mails(&app, &mut seen)), ["ben"]);

    // Anna confirms: the page shows the re-permission's words; the click is the proof.
    app.clock.set(at("2026-05-13T18:30:00Z"));
    let shown = click_confirm(&app, &anna_mail).await;
    assert!(
        shown.contains("Ja, weiterhin E-Mails erhalten") && shown.contains("weiterhin E-Mails von Kaffee &amp; Kuchen")
    );
    let proof = consents(&app, "anna").await;
    assert_eq!(proof["marketing_consent_confirmed_at"], json!("2026-05-13T18:30:00Z"), "{proof}");
    let click = &proof["records"][2];
    assert_eq!(
        (&click["key"], &click["action"], &click["method"], &click["wording"]["text"]),
        (
            &json!("confirmed:reconsent-request:2026-05-04"),
            &json!("granted"),
            &json!("confirmation_click"),
            &json!(wording)
        )
    );
    assert_eq!((&click["ip"], &click["user_agent"]), (&json!("127.0.0.1"), &json!(CLICK_BROWSER)));
    let anna = app.customer_of(SHOP, MAIL_API_KEY, "anna").await;
    assert_eq!((&anna["consent"]["provable"], &anna["consent"]["reconsent_by"]), (&json!(true), &Value::Null));
    let cara = app.customer_of(SHOP, MAIL_API_KEY, "cara").await;
    assert_eq!((&cara["consent"]["provable"], &cara["consent"]["reconsent_by"]), (&json!(false), &json!(deadline)));

    // After the deadline: anna (confirmed) gets her birthday greeting, cara (never confirmed) none.
    let report = mail_sweep_at(&app, at("2026-06-01T07:05:00Z")).await;
    assert_eq!(recipients(&new_mails(&app, &mut seen)), ["anna"], "{report}");
    assert_eq!(report["refused"], json!(1), "{report}");

    // The export carries the import's claim and the confirmation.
    let export = app.get(&format!("/api/shops/{SHOP}/customers/anna/export"), &bearer(MAIL_API_KEY)).await;
    let exported: Vec<&Value> = export.body["consents"].as_array().map(|c| c.iter().collect()).unwrap_or_default();
    assert_eq!(exported.len(), 3, "{:?}", export.body);
    assert_eq!(exported[0]["claimed_at"], json!("2021-03-04T18:12:00Z"));
    assert_eq!(exported[2]["method"], json!("confirmation_click"));
}

#[tokio::test]
async fn the_re_consent_run_asks_a_double_opt_in_without_proof_once_and_leaves_a_proven_one_alone() {
    let now = at("2026-05-04T10:00:00Z");
    let app = spawn_app(now).await;
    customers(&app, &[("dora", None), ("emil", None), ("fritz", None)]).await;
    // Dora's settings say confirmed, from before the consent ledger: nothing proves it.
    let legacy = MailContact { double_opt_in_at: Some(at("2024-02-01T10:00:00Z")), ..MailContact::default() };
    app.app.mail.put_contact(&shop(), &id("dora"), &legacy).await.unwrap_or_else(|e| panic!("{e}"));
    // Emil confirmed a double opt-in here: his click is on the ledger.
    let request = json!({"customer_id": "emil", "locale": "de", "source": "https://kaffee.example/newsletter",
        "wording": "Ja, ich möchte den Newsletter."});
    let asked = app.post(&format!("/api/shops/{SHOP}/subscriptions"), &bearer(MAIL_API_KEY), request.to_string()).await;
    assert_eq!(asked.status, 202, "{:?}", asked.body);
    let mut seen = BTreeSet::new();
    let confirmation = new_mails(&app, &mut seen).pop().map(|(_, mail)| mail).unwrap_or_default();
    click_confirm(&app, &confirmation).await;

    let path = format!("/api/shops/{SHOP}/consents/reconsent");
    let run = app.post(&path, &bearer(MAIL_API_KEY), "{}").await;
    assert_eq!((run.status, &run.body), (200, &json!({"customers": 3, "scheduled": 1, "next": null})));
    let again = app.post(&path, &bearer(MAIL_API_KEY), "").await;
    assert_eq!((again.status, &again.body["scheduled"]), (200, &json!(0)), "{:?}", again.body);

    mail_sweep_at(&app, now).await;
    let mails = new_mails(&app, &mut seen);
    assert_eq!(recipients(&mails), ["dora"]);
    let dora = app.app.mail.contact(&shop(), &id("dora")).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
    assert_eq!(dora.reconsent_by, Some(at("2026-05-24T10:00:00Z")));
    assert_eq!(dora.double_opt_in_at, legacy.double_opt_in_at, "nothing is taken away before the deadline");
    app.clock.set(at("2026-05-05T09:00:00Z"));
    click_confirm(&app, &mails[0].1).await;
    let dora = app.app.mail.contact(&shop(), &id("dora")).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
    assert_eq!((dora.reconsent_by, dora.double_opt_in_at), (None, Some(at("2026-05-05T09:00:00Z"))));
}

#[tokio::test]
async fn a_bad_import_is_refused_with_its_reason_and_writes_nothing() {
    let app = spawn_app(at("2026-05-04T10:00:00Z")).await;
    customers(&app, &[("anna", None)]).await;
    let anna = json!({"customer_id": "anna", "consented_at": "2021-03-04T18:12:00Z"});
    let wrong_key = app
        .post(
            &format!("/api/shops/{SHOP}/consents/imports"),
            &bearer("not-the-key"),
            import_body("k", json!([anna])).to_string(),
        )
        .await;
    assert_refused(&wrong_key, 401, "unauthorized");
    let huge = import_body("k", json!([{"customer_id": "anna", "source": "x".repeat(300 * 1024)}]));
    let hostile_sources = ["Formular\r\nBcc: victim@example.com", "Formular\u{0}", "Formular\u{1b}[31m"]
        .map(|s| json!([{"customer_id": "anna", "source": s}]));
    let mut cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (b"{\"idempotency_key\": \"k\", \"source\": ".to_vec(), 400, "bad_request", "not the expected JSON"),
        (b"customer_id,consented_at\nanna,2021-03-04\n".to_vec(), 400, "bad_request", "not the expected JSON"),
        (
            import_body("k", json!([anna, {"customer_id": "nobody"}])).to_string().into(),
            422,
            "unknown_customers",
            "nobody",
        ),
        (huge.to_string().into(), 413, "body_too_large", "at most"),
        (
            import_body("k", json!([{"customer_id": "anna", "consented_at": "2027-01-01T00:00:00Z"}]))
                .to_string()
                .into(),
            400,
            "bad_request",
            "future",
        ),
        (
            import_body("k", json!([{"customer_id": "anna", "consented_at": "yesterday"}])).to_string().into(),
            400,
            "bad_request",
            "consented_at",
        ),
        (import_body("k", json!([anna, anna])).to_string().into(), 400, "bad_request", "earlier row"),
        (import_body("k", json!([])).to_string().into(), 400, "bad_request", "empty"),
        (import_body("k; DROP", json!([anna])).to_string().into(), 400, "bad_request", "idempotency key"),
        (
            json!({"idempotency_key": "k", "source": "Mailchimp", "consents": [anna], "resubscribe": true})
                .to_string()
                .into(),
            400,
            "bad_request",
            "unknown field",
        ),
    ];
    for consents in hostile_sources {
        cases.push((import_body("k", consents).to_string().into(), 400, "bad_request", "control characters"));
    }
    for (body, status, code, reason) in cases {
        let answer = import(&app, body).await;
        assert_refused(&answer, status, code);
        let said = answer.body["reason"].as_str().unwrap_or_default();
        assert!(said.contains(reason), "{reason:?} in {:?}", answer.body);
    }
    assert_eq!(consents(&app, "anna").await["records"], json!([]), "nothing was written");
    let contact = app.app.mail.contact(&shop(), &id("anna")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(contact, None);

    // The key again for a different import: refused, and the first import stays as it was.
    assert_eq!(import(&app, import_body("k", json!([anna])).to_string()).await.status, 200);
    let before = consents(&app, "anna").await;
    let other = json!([{"customer_id": "anna", "consented_at": "2020-01-01T00:00:00Z"}]);
    assert_refused(&import(&app, import_body("k", other).to_string()).await, 422, "idempotency_key_reused");
    assert_eq!(consents(&app, "anna").await, before);

    // Markup is only text: on the printed proof it is escaped.
    customers(&app, &[("berta", None)]).await;
    let markup = json!([{"customer_id": "berta", "consented_at": "2021-03-04T18:12:00Z",
        "source": "<img src=x onerror=alert(1)>"}]);
    assert_eq!(import(&app, import_body("k2", markup).to_string()).await.status, 200);
    let html = reqwest::Client::new()
        .get(format!("{}/api/shops/{SHOP}/customers/berta/consents?format=html", app.base))
        .bearer_auth(MAIL_API_KEY)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img"), "{html}");
    assert!(html.contains("unproven here"), "the claim is labelled as one: {html}");
}
