//! "Send me a new link" through the local runner: the invalid-link page offers the form, a known
//! address gets the new-link mail in the outbox whose `/p/` link opens the settings page, an
//! unknown one gets the same answer and no mail.

use stammkunde_e2e::mail_shop::{at, link_path, outbox, put_customer, recipient, Person};
use stammkunde_e2e::*;

async fn page(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.unwrap_or_else(|e| panic!("{e}"));
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

async fn ask(client: &reqwest::Client, url: &str, csrf: &str, email: &str) -> (u16, String) {
    let body = format!("csrf={csrf}&email={}", email.replace('@', "%40"));
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn a_known_address_gets_a_mail_whose_fresh_link_opens_the_settings_and_an_unknown_one_the_same_page() {
    let now = at("2026-05-04T10:00:00Z");
    let app = spawn_app(now).await;
    let person = Person { name: "greta", country: "DE", locale: "de", birthday: None, since: now };
    put_customer(&app, person).await;
    let client = reqwest::Client::new();

    // An old mail's link leads to the invalid-link page, which offers the form.
    let (status, invalid) = page(&client, &format!("{}/p/{}", app.base, "0".repeat(32))).await;
    assert_eq!(status, 404);
    assert!(invalid.contains("Neuen Link schicken"), "{invalid}");
    let csrf = hidden_field(&invalid, "csrf");
    let (status, unknown) = ask(&client, &format!("{}/l?lang=de", app.base), &csrf, "nobody@example.de").await;
    assert_eq!(status, 200, "{unknown}");
    assert!(outbox(&app).is_empty(), "an unknown address gets no mail");

    // The shop's own form, with a known address.
    let (status, form) = page(&client, &format!("{}/l/mail-shop", app.base)).await;
    assert_eq!(status, 200, "{form}");
    let csrf = hidden_field(&form, "csrf");
    let (status, known) = ask(&client, &format!("{}/l/mail-shop", app.base), &csrf, "Greta@example.de").await;
    assert_eq!(status, 200, "{known}");
    assert!(known.contains("Wenn wir diese Adresse kennen"), "{known}");
    let (_, unknown_here) = ask(&client, &format!("{}/l/mail-shop", app.base), &csrf, "nobody@example.de").await;
    assert_eq!(unknown_here, known, "the same answer whether or not the address is known");

    let mails = outbox(&app);
    assert_eq!(mails.len(), 1, "one mail, to the known address");
    let (_, mail) = &mails[0];
    assert_eq!(recipient(mail), "greta");
    assert!(mail.contains("Ihr neuer Link"), "{mail}");
    let settings = link_path(&app, mail, "/p/");
    let (status, html) = page(&client, &format!("{}{settings}", app.base)).await;
    assert_eq!(status, 200, "the fresh link opens the settings page: {html}");
    assert!(html.contains("Ihre Mail-Einstellungen"), "{html}");

    // Asked again the same day: the same answer, no second mail (one per customer and day).
    let (status, again) = ask(&client, &format!("{}/l/mail-shop", app.base), &csrf, "greta@example.de").await;
    assert_eq!((status, &again), (200, &known));
    assert_eq!(outbox(&app).len(), 1);
}
