//! The preference centre in a real browser: two customers who bought (a German one, an English
//! one) get the win-back mail through the runner; Debian's Chromium, driven by playwright-core
//! (`tests/browser/preferences.mjs`), opens each mail's settings link, changes topics, frequency,
//! pause, birthday and time zone, saves (one with the mouse, one with the keyboard alone), follows
//! the 303, reloads and reads the form back; a mail provider's one-click POST of the mail's
//! `List-Unsubscribe` URL unsubscribes. This test asserts on what the browser saw and on the store.
//!
//! It needs `chromium` (or `STAMMKUNDE_CHROMIUM`), node and `npm ci` in `tests/browser`, which
//! `./scripts/test` installs; without them it fails and says so. Skip it with
//! `cargo test -- --skip in_a_real_browser`. Screenshots of the saved pages land in
//! `target/tmp/screenshots/` (copied by hand to `docs/screenshots/` for the README).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::campaign::Topic;
use stammkunde_domain::mail::contact::Frequency;
use stammkunde_domain::mail::MailContact;
use stammkunde_e2e::mail_shop::{at, link_path, shop, SHOP};
use stammkunde_e2e::mime::header;
use stammkunde_e2e::*;

const ORDER_PAID: &str = "../fixtures/webhooks/shopify/orders_paid.json";
/// Lena from the Shopify fixture: German (the order's `customer_locale`), in Hamburg.
const LENA: &str = "7654321098765";
/// Oliver: the same order from an English customer in London.
const OLIVER: &str = "7654321098766";
/// The browser half's whole run, Chromium's start included; it takes a few seconds.
const BROWSER_RUN_MAX: Duration = Duration::from_secs(120);
const CHROMIUM_DEFAULT: &str = "/usr/bin/chromium";

/// The fixture's paid order, for Lena as it is or as Oliver's.
async fn order_paid(app: &TestApp, oliver: bool) {
    let fixture = std::fs::read(ORDER_PAID).unwrap_or_else(|e| panic!("{ORDER_PAID}: {e}"));
    let body = if oliver {
        edit_json(&fixture, |order| {
            order["id"] = json!(5912345678902_u64);
            order["name"] = json!("#1043");
            order["order_number"] = json!(1043);
            order["customer_locale"] = json!("en-GB");
            order["email"] = json!("oliver.bennett@example.co.uk");
            order["contact_email"] = order["email"].clone();
            order["billing_address"]["country_code"] = json!("GB");
            let customer = &mut order["customer"];
            customer["id"] = json!(7654321098766_u64);
            customer["email"] = json!("oliver.bennett@example.co.uk");
            customer["first_name"] = json!("Oliver");
            customer["last_name"] = json!("Bennett");
            customer["default_address"]["country_code"] = json!("GB");
        })
    } else {
        fixture
    };
    let id = if oliver { "oliver-1" } else { "lena-1" };
    let headers = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", &body, id);
    let answer = app.post("/webhooks/shopify", &headers, body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

/// `POST /dev/sweeps/mail` at `now`; returns `mail-shop`'s report.
async fn mail_sweep_at(app: &TestApp, now: DateTime<Utc>) -> Value {
    app.clock.set(now);
    let answer = app.post("/dev/sweeps/mail", &[], Vec::new()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let shops = answer.body["shops"].as_array().cloned().unwrap_or_default();
    let report = shops.into_iter().find(|s| s["shop"] == SHOP).unwrap_or_else(|| panic!("{:?}", answer.body));
    assert_eq!((report["failed"].as_i64(), report["more"].as_bool()), (Some(0), Some(false)), "{report}");
    report
}

/// The links of the one mail in the outbox to `address`: the settings page (from the text) and
/// the `List-Unsubscribe` https URL, which must announce RFC 8058's one-click POST.
fn links_of(app: &TestApp, address: &str) -> (String, String) {
    let mails: Vec<String> = stammkunde_e2e::mail_shop::outbox(app)
        .into_iter()
        .map(|(_, mail)| mail)
        .filter(|mail| header(mail, "To").is_some_and(|to| to.contains(address)))
        .collect();
    assert_eq!(mails.len(), 1, "one mail to {address}");
    let mail = &mails[0];
    let settings = format!("{}{}", app.base, link_path(app, mail, "/p/"));
    let list = header(mail, "List-Unsubscribe").unwrap_or_else(|| panic!("no List-Unsubscribe:\n{mail}"));
    let unsubscribe = list.trim_start_matches('<').split('>').next().unwrap_or_default().to_owned();
    assert!(unsubscribe.starts_with(&format!("{}/u/", app.base)), "{list}");
    assert_eq!(header(mail, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    (settings, unsubscribe)
}

/// What each customer does in the browser: the form as they leave it, and how they work.
fn lena_choices() -> Value {
    json!({
        "topics": {"topic_newsletter": false, "topic_offers": true, "topic_birthday": true, "topic_points_news": false},
        "frequency": "monthly",
        "pause_until": "2027-04-30",
        "birthday": {"day": "14", "month": "7", "year": "1990"},
        "time_zone": "",
    })
}

fn oliver_choices() -> Value {
    json!({
        "topics": {"topic_newsletter": true, "topic_offers": false, "topic_birthday": true, "topic_points_news": true},
        "frequency": "weekly",
        "pause_until": "",
        "birthday": {"day": "3", "month": "2", "year": ""},
        "time_zone": "America/New_York",
    })
}

/// The form's fields of a page state the browser half reported, shaped like the choices.
fn form_of(state: &Value) -> Value {
    let fields = ["topics", "frequency", "pause_until", "birthday", "time_zone"];
    Value::Object(fields.iter().map(|f| ((*f).to_owned(), state[*f].clone())).collect())
}

/// Where the browser half is, and the Chromium it runs.
struct Browser {
    dir: PathBuf,
    chromium: PathBuf,
}

/// The browser half's prerequisites, or a panic that says how to get them: a test that needs a
/// browser must not pass without one.
fn browser_setup() -> Browser {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium =
        std::env::var_os("STAMMKUNDE_CHROMIUM").map_or_else(|| PathBuf::from(CHROMIUM_DEFAULT), PathBuf::from);
    let hint = "./scripts/test installs it (apt-get install chromium chromium-l10n; \
                npm ci --prefix tests/browser); or skip this test: cargo test -- --skip in_a_real_browser";
    assert!(chromium.exists(), "no Chromium at {} (set STAMMKUNDE_CHROMIUM): {hint}", chromium.display());
    let playwright = dir.join("node_modules/playwright-core/package.json");
    assert!(playwright.exists(), "no {}: {hint}", playwright.display());
    Browser { dir, chromium }
}

/// Runs `node preferences.mjs` with the scenario on stdin and returns the JSON it prints, within
/// `BROWSER_RUN_MAX` (killed after). Blocking: call it from `spawn_blocking`, so the runner keeps
/// serving the browser meanwhile.
fn run_browser(browser: &Browser, scenario: &Value) -> Value {
    let mut scenario = scenario.clone();
    scenario["chromium"] = json!(browser.chromium);
    let mut child = Command::new("node")
        .arg("preferences.mjs")
        .current_dir(&browser.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node preferences.mjs: {e} (node 20 or later must be on PATH)"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    stdin.write_all(scenario.to_string().as_bytes()).unwrap_or_else(|e| panic!("writing the scenario: {e}"));
    drop(stdin);
    // Read on their own threads, so that a full pipe never stalls the browser half.
    let stdout = child.stdout.take().map(drain).unwrap_or_else(|| panic!("no stdout"));
    let stderr = child.stderr.take().map(drain).unwrap_or_else(|| panic!("no stderr"));
    let deadline = Instant::now() + BROWSER_RUN_MAX;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("waiting for node: {e}")) {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser run took more than {BROWSER_RUN_MAX:?}: {}", stderr.join().unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    assert!(status.success(), "preferences.mjs failed ({status}):\n{stderr}\n{stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("preferences.mjs printed no JSON ({e}):\n{stdout}"))
}

/// All that `pipe` gives until it closes, as text.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

async fn contact_of(app: &TestApp, customer: &str) -> MailContact {
    let id = CustomerId::parse(customer).unwrap_or_else(|e| panic!("{e}"));
    let contact = app.app.mail.contact(&shop(), &id).await.unwrap_or_else(|e| panic!("{e}"));
    contact.unwrap_or_else(|| panic!("no settings stored for {customer}"))
}

/// Checks one customer's run in the browser: the page in their language, the save followed
/// through its 303 (a reload posts nothing again), the form read back as chosen after a reload and
/// a fresh visit, and the page after the one-click unsubscribe.
#[track_caller]
fn assert_visit(run: &Value, lang: &str, choices: &Value, settings_url: &str) {
    let (title, saved, unsubscribed) = match lang {
        "de" => ("Ihre Mail-Einstellungen", "Gespeichert.", "Sie sind von allen Werbe-Mails abgemeldet."),
        _ => ("Your mail settings", "Saved.", "You are unsubscribed from all marketing mail."),
    };
    let path = settings_url.find("/p/").map(|i| &settings_url[i..]).unwrap_or_default();
    let opened = &run["opened"];
    assert_eq!((opened["status"].as_u64(), opened["lang"].as_str()), (Some(200), Some(lang)), "{opened}");
    assert_eq!(opened["h1"], title, "{opened}");
    let untouched = json!({
        "topics": {"topic_newsletter": true, "topic_offers": true, "topic_birthday": true, "topic_points_news": true},
        "frequency": "as_it_comes", "pause_until": "", "birthday": {"day": "", "month": "", "year": ""}, "time_zone": "",
    });
    assert_eq!(form_of(opened), untouched, "a customer who never chose anything: {opened}");

    let submitted = &run["submitted"];
    assert_eq!(submitted["status"], 303, "{submitted}");
    assert_eq!(submitted["location"], format!("{path}?saved=1&lang={lang}"), "{submitted}");
    // What the browser sent on its own: the form as a form, from this very page, and no Referer
    // (the token is in the URL; the page says `no-referrer`).
    let sent = &submitted["sent"];
    assert_eq!(sent["sec_fetch_site"], "same-origin", "{sent}");
    assert_eq!(sent["content_type"], "application/x-www-form-urlencoded", "{sent}");
    assert_eq!(sent["referer"], Value::Null, "{sent}");

    let after_save = &run["saved"];
    assert_eq!(after_save["url"], format!("{path}?saved=1&lang={lang}"), "{after_save}");
    assert_eq!((&after_save["saved"], &after_save["alert"]), (&json!(saved), &Value::Null), "{after_save}");
    assert_eq!(&form_of(after_save), choices, "the page after saving shows what was chosen");
    let reloaded = &run["reloaded"];
    assert_eq!(reloaded["status"], 200, "{reloaded}");
    let requests: Vec<&str> = reloaded["requests"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let of_page: Vec<&str> = requests.into_iter().filter(|r| r.contains(" /p/")).collect();
    assert_eq!(of_page, [format!("GET {path}")], "a reload posts nothing again: {reloaded}");
    assert_eq!(&form_of(reloaded), choices, "kept after a reload");
    let reopened = &run["reopened"];
    assert_eq!((&reopened["saved"], &reopened["revision"]), (&Value::Null, &json!("1")), "{reopened}");
    assert_eq!(&form_of(reopened), choices, "kept when the mail's link is opened again");

    let after = &run["after_unsubscribe"];
    let paragraphs = after["paragraphs"].as_array().cloned().unwrap_or_default();
    assert!(paragraphs.iter().any(|p| p.as_str().is_some_and(|p| p.starts_with(unsubscribed))), "{after}");
    assert_eq!(&form_of(after), choices, "the choices stay for a later subscription");

    let other = if lang == "de" { ("en", "Your mail settings") } else { ("de", "Ihre Mail-Einstellungen") };
    let switched = &run["switched"];
    assert_eq!((switched["lang"].as_str(), switched["h1"].as_str()), (Some(other.0), Some(other.1)), "{switched}");

    let screenshot = run["screenshot"].as_str().unwrap_or_default();
    let png = std::fs::read(screenshot).unwrap_or_else(|e| panic!("{screenshot}: {e}"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{screenshot}: {} bytes", png.len());
}

/// The whole preference centre as a customer uses it in Chromium, German and English, and the
/// store holding what they chose; see the file's head.
#[tokio::test]
async fn in_a_real_browser_the_mails_settings_link_keeps_what_was_saved_and_one_click_unsubscribes() {
    let browser = browser_setup();
    let app = spawn_app(at("2026-11-20T10:00:00Z")).await;
    order_paid(&app, false).await;
    order_paid(&app, true).await;
    // The points are released, so the page has a balance, a history and an expiry to show.
    app.sweep_at(at("2027-03-20T10:00:00Z")).await;
    // 120 days after the orders, at 11:05 in Hamburg and 10:05 in London: the win-back mail.
    let report = mail_sweep_at(&app, at("2027-03-20T10:05:00Z")).await;
    assert_eq!(report["sent"], 2, "{report}");
    let (lena_settings, lena_unsubscribe) = links_of(&app, "lena.hoffmann@example.de");
    let (oliver_settings, oliver_unsubscribe) = links_of(&app, "oliver.bennett@example.co.uk");

    let screenshot_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let scenario = json!({
        "screenshot_dir": screenshot_dir,
        "customers": [
            {"name": "de", "browser_locale": "de-DE", "settings_url": lena_settings, "unsubscribe_url": lena_unsubscribe, "submit": "click",
             "one_click": "urlencoded", "cross_site": true, "stale_tab": true, "choose": lena_choices()},
            {"name": "en", "browser_locale": "en-GB", "settings_url": oliver_settings, "unsubscribe_url": oliver_unsubscribe,
             "submit": "keyboard", "one_click": "multipart", "cross_site": false, "stale_tab": false,
             "choose": oliver_choices()},
        ],
    });
    let started = Instant::now();
    let result =
        tokio::task::spawn_blocking(move || run_browser(&browser, &scenario)).await.unwrap_or_else(|e| panic!("{e}"));
    println!("browser: {} in {:?} ({} ms in the browser)", result["browser"], started.elapsed(), result["elapsed_ms"]);
    let (lena, oliver) = (&result["customers"][0], &result["customers"][1]);
    assert_visit(lena, "de", &lena_choices(), &lena_settings);
    assert_visit(oliver, "en", &oliver_choices(), &oliver_settings);

    // Another site's copy of the form, even with the right csrf field, is refused by what the
    // browser says about where it came from.
    let cross = &lena["cross_site"];
    assert_eq!(
        (cross["status"].as_u64(), cross["sec_fetch_site"].as_str()),
        (Some(403), Some("cross-site")),
        "{cross}"
    );
    // The keyboard alone reaches the save button and saves.
    assert_eq!(oliver["submitted"]["focused"], json!({"tag": "button", "type": "submit", "text": "Save"}));
    // A tab opened before the unsubscribe and saved after it writes nothing and says why.
    let stale = &lena["stale"];
    assert_eq!(stale["status"], 409, "{stale}");
    assert!(stale["alert"].as_str().is_some_and(|a| a.starts_with("Ihre Einstellungen wurden inzwischen")), "{stale}");
    assert_eq!(form_of(stale), lena_choices(), "the stale tab now shows what is stored: {stale}");
    // The provider's one-click POST, form-encoded and multipart (RFC 8058's example).
    assert_eq!((&lena["one_click"]["status"], &lena["one_click"]["body"]), (&json!(200), &json!("unsubscribed")));
    assert_eq!(oliver["one_click"]["status"], 200, "{}", oliver["one_click"]);

    let unsubscribed = Some(at("2027-03-20T10:05:00Z"));
    let lena_contact = contact_of(&app, LENA).await;
    let expected = MailContact {
        topics_declined: vec![Topic::Newsletter, Topic::PointsNews],
        frequency: Frequency::Monthly,
        // Through 30 April in Hamburg: until midnight there, CEST.
        paused_until: Some(at("2027-04-30T22:00:00Z")),
        time_zone: None,
        unsubscribed_at: unsubscribed,
        revision: 2,
        ..lena_contact.clone()
    };
    assert_eq!(lena_contact, expected, "the save, then the unsubscribe; the stale tab wrote nothing");
    let oliver_contact = contact_of(&app, OLIVER).await;
    let expected = MailContact {
        topics_declined: vec![Topic::Offers],
        frequency: Frequency::Weekly,
        paused_until: None,
        time_zone: Some(chrono_tz::Tz::America__New_York),
        unsubscribed_at: unsubscribed,
        revision: 2,
        ..oliver_contact.clone()
    };
    assert_eq!(oliver_contact, expected);
    let birthday = |view: Value| view["birthday"].clone();
    assert_eq!(birthday(app.customer_of(SHOP, MAIL_API_KEY, LENA).await), json!({"month": 7, "day": 14, "year": 1990}));
    assert_eq!(
        birthday(app.customer_of(SHOP, MAIL_API_KEY, OLIVER).await),
        json!({"month": 2, "day": 3, "year": null})
    );

    // The win-back reminder 14 days on goes to neither: both unsubscribed by one click.
    let report = mail_sweep_at(&app, at("2027-04-03T14:05:00Z")).await;
    assert_eq!(report["sent"], 0, "{report}");
}
