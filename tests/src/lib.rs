//! Test harness: the real local runner on a free port with a fresh data directory, signed requests
//! per platform, a dump of every stored row to prove that bad input wrote nothing, and the crash
//! injection the crash tests share.

pub mod faults;
pub mod mail_shop;
pub mod mime;

/// The value of a page's hidden form field `name` (the settings page's `csrf` and `revision`).
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no {name} in {html}"));
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

use chrono::{DateTime, Utc};
use std::sync::Arc;

use stammkunde::{start, RunningApp, Settings, DATABASE_FILE};
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::config::AppConfig;
use stammkunde_domain::secret::Secret;
use stammkunde_domain::signature::{sign, DigestEncoding};

pub const SHOPIFY_SECRET: &str = "shopify-secret-0123456789";
pub const SHOPIFY_OLD_SECRET: &str = "shopify-old-secret-0123456789";
pub const WOO_SECRET: &str = "woo-secret-0123456789";
pub const SHOPWARE_APP_SECRET: &str = "shopware-app-secret-0123456789";
pub const API_KEY: &str = "api-key-shopify-0123456789";
pub const SHOPIFY_DOMAIN: &str = "e2e-shop.myshopify.com";
pub const WOO_SOURCE: &str = "https://woo.e2e.example/";
/// The Shopware shop id the fixtures' envelopes carry in `source.shopId`.
pub const SHOPWARE_SHOP_ID: &str = "Xk3v9QpL2mWn7RtY";
/// The Shopware shop URL the fixtures' envelopes carry in `source.url`.
pub const SHOPWARE_SHOP_URL: &str = "https://kaffee-demo.example";
/// The Admin API credentials every test shop confirms its registration with.
pub const SHOPWARE_ADMIN_API_KEY: &str = "SWIAE2EAPIKEY0123456789";
pub const SHOPWARE_ADMIN_SECRET_KEY: &str = "e2e-admin-secret-key-0123456789";
pub const WOO_API_KEY: &str = "api-key-woo-0123456789";
pub const SHOPWARE_API_KEY: &str = "api-key-shopware-0123456789";
/// The Shopify shop with tiers: its own domain and key, the same webhook secret.
pub const TIERS_SHOPIFY_DOMAIN: &str = "e2e-tiers.myshopify.com";
pub const TIERS_API_KEY: &str = "api-key-tiers-0123456789";

/// `shopify-shop`'s programme. Hold and reviews are the product's defaults; expiry is shorter.
pub const RETURN_WINDOW_DAYS: i64 = 14;
pub const SHIPPING_ALLOWANCE_DAYS: i64 = 5;
pub const REVIEW_POINTS: i64 = 50;
pub const REVIEW_HOLD_DAYS: i64 = 14;
pub const EXPIRY_MONTHS: u32 = 12;
pub const EXPIRY_NOTICE_DAYS: i64 = 30;
/// A reward whose codes the merchant imports into a pool.
pub const POOL_REWARD: &str = "gutschein-5";
pub const POOL_REWARD_POINTS: i64 = 100;
/// A reward whose codes the product generates.
pub const GENERATED_REWARD: &str = "versandfrei";
pub const GENERATED_REWARD_POINTS: i64 = 50;
pub const REWARD_VALID_DAYS: i64 = 30;
/// `tiers-shop`'s one tier: 250 points earned in 12 months; the Shopify paid fixture earns 251.
pub const SILVER_TIER: &str = "silber";
pub const SILVER_THRESHOLD: i64 = 250;
pub const SILVER_MULTIPLIER: &str = "1.5";

/// `mail-shop`: mail switched on, a generated birthday and win-back code, at most one marketing
/// mail per customer in 7 days (so one test can show the cap deferring), and the existing-customer
/// exception as the basis for customers without a subscription.
pub const MAIL_SHOPIFY_DOMAIN: &str = "e2e-mail.myshopify.com";
pub const MAIL_API_KEY: &str = "api-key-mail-0123456789";
pub const MAIL_REWARD: &str = "geburtstag-10";
pub const MAIL_REWARD_VALID_DAYS: i64 = 30;
pub const WIN_BACK_DAYS: i64 = 120;
pub const WIN_BACK_REMINDER_DAYS: i64 = 14;
/// A consent without proof counts this long once its re-permission is scheduled (default 30).
pub const RECONSENT_DAYS: i64 = 20;

/// The configuration every test app runs with: one shop per platform, known secrets.
pub fn test_config() -> AppConfig {
    match AppConfig::from_toml(&test_config_toml()) {
        Ok(config) => config,
        Err(e) => panic!("test config: {e}"),
    }
}

/// `test_config` as the TOML text it is parsed from (what a Secrets Manager secret holds on AWS).
pub fn test_config_toml() -> String {
    format!(
        r#"
[[shops]]
id = "shopify-shop"
platform = "shopify"
domain = "{SHOPIFY_DOMAIN}"
webhook_secret = "{SHOPIFY_SECRET}"
previous_webhook_secret = "{SHOPIFY_OLD_SECRET}"
previous_webhook_secret_until = "2099-01-01T00:00:00Z"
api_key = "{API_KEY}"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

# Hold and reviews as the defaults, written out because the ledger tests compute their dates from
# them; points expire after 12 months here (the default is 24).
[shops.hold]
return_window_days = {RETURN_WINDOW_DAYS}
shipping_allowance_days = {SHIPPING_ALLOWANCE_DAYS}

[shops.reviews]
points = {REVIEW_POINTS}
hold_days = {REVIEW_HOLD_DAYS}

[shops.expiry]
months = {EXPIRY_MONTHS}
notice_days = {EXPIRY_NOTICE_DAYS}

[[shops.rewards]]
id = "{POOL_REWARD}"
name = "5 € Gutschein"
points = {POOL_REWARD_POINTS}
valid_days = {REWARD_VALID_DAYS}
codes = "pool"

[[shops.rewards]]
id = "{GENERATED_REWARD}"
name = "Versandkostenfrei"
points = {GENERATED_REWARD_POINTS}
valid_days = {REWARD_VALID_DAYS}
codes = "generate"

# A second Shopify shop with tiers, so that no other test's customer ever changes tier.
[[shops]]
id = "tiers-shop"
platform = "shopify"
domain = "{TIERS_SHOPIFY_DOMAIN}"
webhook_secret = "{SHOPIFY_SECRET}"
api_key = "{TIERS_API_KEY}"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[shops.tiers]
basis = "points_earned"
period = "rolling_12_months"

[[shops.tiers.levels]]
id = "{SILVER_TIER}"
name = "Silber"
threshold = "{SILVER_THRESHOLD}"
multiplier = "{SILVER_MULTIPLIER}"

[[shops]]
id = "mail-shop"
platform = "shopify"
domain = "{MAIL_SHOPIFY_DOMAIN}"
webhook_secret = "{SHOPIFY_SECRET}"
api_key = "{MAIL_API_KEY}"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[[shops.rewards]]
id = "{MAIL_REWARD}"
name = "10 % Geburtstagsrabatt"
points = 0
valid_days = {MAIL_REWARD_VALID_DAYS}
codes = "generate"
code_prefix = "GB"

[shops.mail]
enabled = true
from = "Kaffee & Kuchen <news@kaffee.example>"
shop_name = "Kaffee & Kuchen"
shop_url = "https://kaffee.example/"
imprint = """
Kaffee & Kuchen GmbH, Hauptstraße 1, 10115 Berlin
Geschäftsführerin: Anna Beispiel · HRB 12345 B · USt-IdNr. DE123456789
"""
unsubscribe_mailto = "abmelden@kaffee.example"
configuration_set = "kaffee-marketing"
cap_mails = 1
sends_per_second_max = 1000
# Customers who bought may get offers without a subscription (UWG §7(3)), with the objection notice.
marketing_basis = "existing_customer"

[shops.mail.birthday]
reward = "{MAIL_REWARD}"

[shops.mail.win_back]
after_days = {WIN_BACK_DAYS}
reminder_after_days = {WIN_BACK_REMINDER_DAYS}
reward = "{MAIL_REWARD}"

[shops.mail.reconsent]
confirm_within_days = {RECONSENT_DAYS}

[[shops]]
id = "woo-shop"
platform = "woocommerce"
domain = "{WOO_SOURCE}"
webhook_secret = "{WOO_SECRET}"
api_key = "{WOO_API_KEY}"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"

[[shops]]
id = "shopware-shop"
platform = "shopware"
domain = "{SHOPWARE_SHOP_ID}"
webhook_secret = "{SHOPWARE_APP_SECRET}"
api_key = "{SHOPWARE_API_KEY}"
currency = "EUR"
time_zone = "Europe/Berlin"
locale = "de"
app_name = "StammkundeE2E"
"#
    )
}

pub struct TestApp {
    pub app: RunningApp,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<FixedClock>,
    pub data_dir: tempfile::TempDir,
}

/// Starts the runner on 127.0.0.1:0 with a fresh SQLite database and the clock at `now`.
pub async fn spawn_app(now: DateTime<Utc>) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let settings = Settings {
        addr: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        data_dir: data_dir.path().to_path_buf(),
        config_path: data_dir.path().join("unused.toml"),
        public_url: None,
    };
    let clock = Arc::new(FixedClock::new(now));
    let app = start(&settings, test_config(), clock.clone()).await.unwrap_or_else(|e| panic!("start: {e}"));
    let base = format!("http://{}", app.addr);
    TestApp { app, base, client: reqwest::Client::new(), clock, data_dir }
}

/// A reply: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

impl TestApp {
    pub async fn post(&self, path: &str, headers: &[(&str, String)], body: impl Into<reqwest::Body>) -> Answer {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        answer(request.send().await).await
    }

    /// Any method, for the "wrong method" cases.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, String)],
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        answer(request.send().await).await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, String)]) -> Answer {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        answer(request.send().await).await
    }

    /// Every row of every table, in a stable order: equal dumps mean an unchanged store.
    pub fn dump(&self) -> String {
        dump_database(&self.data_dir.path().join(DATABASE_FILE))
    }
}

async fn answer(response: reqwest::Result<reqwest::Response>) -> Answer {
    let response = response.unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    Answer { status, body }
}

/// Reads the database through a separate connection, as a person inspecting the file would.
pub fn dump_database(path: &std::path::Path) -> String {
    let connection = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let tables: Vec<String> = {
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = statement.query_map([], |row| row.get(0)).unwrap_or_else(|e| panic!("{e}"));
        rows.map(|r| r.unwrap_or_else(|e| panic!("{e}"))).collect()
    };
    let mut out = String::new();
    for table in tables {
        let mut statement =
            connection.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1, 2")).unwrap_or_else(|e| panic!("{e}"));
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap_or_else(|e| panic!("{e}"));
        out.push_str(&format!("## {table}\n"));
        while let Some(row) = rows.next().unwrap_or_else(|e| panic!("{e}")) {
            let values: Vec<String> = (0..columns).map(|i| cell(row.get_ref(i))).collect();
            out.push_str(&values.join(" | "));
            out.push('\n');
        }
    }
    out
}

/// One cell as readable text, so that `dump().contains("earn:order:…")` checks what is stored.
/// Text is shown escaped and quoted (a NUL shows as `\0`); anything else, and text that is not
/// UTF-8, as its exact debug form. Distinct values stay distinct, so equal dumps still mean equal
/// stores.
fn cell(value: rusqlite::Result<rusqlite::types::ValueRef<'_>>) -> String {
    match value {
        Ok(rusqlite::types::ValueRef::Text(bytes)) => match std::str::from_utf8(bytes) {
            Ok(text) => format!("{text:?}"),
            Err(_) => format!("Text({bytes:?})"),
        },
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("<unreadable: {e}>"),
    }
}

pub fn shopify_headers(topic: &str, body: &[u8], webhook_id: &str) -> Vec<(&'static str, String)> {
    shopify_headers_for(SHOPIFY_DOMAIN, topic, body, webhook_id)
}

/// Signed Shopify headers for the shop at `domain` (every test Shopify shop shares the secret).
pub fn shopify_headers_for(domain: &str, topic: &str, body: &[u8], webhook_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("x-shopify-shop-domain", domain.into()),
        ("x-shopify-topic", topic.into()),
        ("x-shopify-webhook-id", webhook_id.into()),
        ("x-shopify-hmac-sha256", sign(body, &Secret::new(SHOPIFY_SECRET), DigestEncoding::Base64)),
    ]
}

pub fn woo_headers(topic: &str, body: &[u8], delivery_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("x-wc-webhook-source", WOO_SOURCE.into()),
        ("x-wc-webhook-topic", topic.into()),
        ("x-wc-webhook-delivery-id", delivery_id.into()),
        ("x-wc-webhook-signature", sign(body, &Secret::new(WOO_SECRET), DigestEncoding::Base64)),
    ]
}

pub fn shopware_headers(body: &[u8], shop_secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("shopware-shop-signature", sign(body, &Secret::new(shop_secret), DigestEncoding::Hex)),
    ]
}

pub fn bearer(key: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {key}"))]
}

/// Asserts an error answer: exact status and `error` code, and a non-empty human `reason`.
#[track_caller]
pub fn assert_refused(answer: &Answer, status: u16, code: &str) {
    assert_eq!((answer.status, answer.body["error"].as_str()), (status, Some(code)), "{:?}", answer.body);
    assert!(answer.body["reason"].as_str().is_some_and(|r| !r.is_empty()), "a reason: {:?}", answer.body);
}

/// A JSON body with one edit applied, re-serialised (numbers keep their exact text).
pub fn edit_json(body: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut json: serde_json::Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("fixture is not JSON: {e}"));
    edit(&mut json);
    serde_json::to_vec(&json).unwrap_or_else(|e| panic!("{e}"))
}

/// The registration query a Shopware shop sends, with the shop URL percent-encoded as it is on
/// the wire.
pub fn shopware_registration_query(unix_seconds: i64) -> String {
    shopware_registration_query_for(SHOPWARE_SHOP_URL, unix_seconds)
}

/// The registration query of a shop at `shop_url`.
pub fn shopware_registration_query_for(shop_url: &str, unix_seconds: i64) -> String {
    let url: String = shop_url.replace(':', "%3A").replace('/', "%2F");
    format!("shop-id={SHOPWARE_SHOP_ID}&shop-url={url}&timestamp={unix_seconds}")
}

/// `shopware-app-signature`: hex HMAC of the exact query string under the app secret.
pub fn shopware_app_signature(query: &str) -> Vec<(&'static str, String)> {
    vec![("shopware-app-signature", sign(query.as_bytes(), &Secret::new(SHOPWARE_APP_SECRET), DigestEncoding::Hex))]
}

/// The confirmation body a Shopware shop posts after registering.
pub fn shopware_confirmation_body(unix_seconds: i64) -> Vec<u8> {
    serde_json::json!({
        "apiKey": SHOPWARE_ADMIN_API_KEY,
        "secretKey": SHOPWARE_ADMIN_SECRET_KEY,
        "timestamp": unix_seconds,
        "shopUrl": SHOPWARE_SHOP_URL,
        "shopId": SHOPWARE_SHOP_ID,
    })
    .to_string()
    .into_bytes()
}

impl TestApp {
    /// Step 1 of the Shopware handshake at the app clock's time. Returns the answer.
    pub async fn shopware_register(&self) -> Answer {
        self.shopware_register_at(SHOPWARE_SHOP_URL).await
    }

    /// Step 1 for a shop at `shop_url` (where its Admin API answers).
    pub async fn shopware_register_at(&self, shop_url: &str) -> Answer {
        let query = shopware_registration_query_for(shop_url, self.clock_now().timestamp());
        self.get(&format!("/webhooks/shopware/registration?{query}"), &shopware_app_signature(&query)).await
    }

    /// Steps 1 and 3 of the Shopware handshake; returns the shop secret that now signs webhooks.
    pub async fn shopware_register_and_confirm(&self) -> String {
        self.shopware_register_and_confirm_at(SHOPWARE_SHOP_URL).await
    }

    /// Steps 1 and 3 for a shop at `shop_url`; returns the shop secret.
    pub async fn shopware_register_and_confirm_at(&self, shop_url: &str) -> String {
        let registered = self.shopware_register_at(shop_url).await;
        assert_eq!(registered.status, 200, "registration: {:?}", registered.body);
        let secret = registered.body["secret"].as_str().unwrap_or_default().to_owned();
        let body = shopware_confirmation_body(self.clock_now().timestamp());
        let confirmed =
            self.post("/webhooks/shopware/registration/confirm", &shopware_headers(&body, &secret), body).await;
        assert_eq!((confirmed.status, confirmed.body["status"].as_str()), (200, Some("confirmed")), "{confirmed:?}");
        secret
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use stammkunde_domain::clock::Clock;
        self.clock.now()
    }
}

impl TestApp {
    /// `POST /dev/sweeps/ledger` at the clock's time, as the hourly schedule does on AWS. Asserts
    /// that it answered 200, that no customer's tick failed and that nothing was left for another
    /// run; returns how many entries it appended over all shops.
    pub async fn sweep(&self) -> i64 {
        let answer = self.post("/dev/sweeps/ledger", &[], Vec::new()).await;
        assert_eq!((answer.status, answer.body["sweep"].as_str()), (200, Some("ledger")), "{:?}", answer.body);
        let shops = answer.body["shops"].as_array().cloned().unwrap_or_default();
        assert_eq!(shops.len(), test_config().shops.len(), "every shop is swept: {:?}", answer.body);
        for shop in &shops {
            assert_eq!((shop["failed"].as_i64(), shop["more"].as_bool()), (Some(0), Some(false)), "{:?}", answer.body);
        }
        shops.iter().map(|shop| shop["entries"].as_i64().unwrap_or_else(|| panic!("entries: {shop:?}"))).sum()
    }

    /// Moves the clock to `at`, then sweeps.
    pub async fn sweep_at(&self, at: DateTime<Utc>) -> i64 {
        self.clock.set(at);
        self.sweep().await
    }

    /// `GET …/customers/{customer}/ledger` of `shop` with its key, asserted 200 and consistent
    /// (see `assert_ledger_consistent`).
    pub async fn ledger_of(&self, shop: &str, api_key: &str, customer: &str) -> serde_json::Value {
        let answer = self.get(&format!("/api/shops/{shop}/customers/{customer}/ledger"), &bearer(api_key)).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_ledger_consistent(&answer.body);
        answer.body
    }

    /// `GET …/customers/{customer}` of `shop` with its key, asserted 200.
    pub async fn customer_of(&self, shop: &str, api_key: &str, customer: &str) -> serde_json::Value {
        let answer = self.get(&format!("/api/shops/{shop}/customers/{customer}"), &bearer(api_key)).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }
}

/// A ledger view's entries.
pub fn entries(ledger: &serde_json::Value) -> Vec<serde_json::Value> {
    ledger["entries"].as_array().cloned().unwrap_or_default()
}

/// A ledger view's entry keys, in ledger order.
pub fn keys(ledger: &serde_json::Value) -> Vec<String> {
    entries(ledger).iter().map(|e| e["key"].as_str().unwrap_or_default().to_owned()).collect()
}

/// The entry under `key`; panics if the ledger has none.
#[track_caller]
pub fn entry(ledger: &serde_json::Value, key: &str) -> serde_json::Value {
    entries(ledger)
        .into_iter()
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("no entry {key} in {:?}", keys(ledger)))
}

/// `(available, pending)` of a ledger or customer view.
pub fn balance(view: &serde_json::Value) -> (i64, i64) {
    let points = &view["points"];
    match (points["available"].as_i64(), points["pending"].as_i64()) {
        (Some(available), Some(pending)) => (available, pending),
        _ => panic!("no points in {view:?}"),
    }
}

/// What every ledger view must satisfy: positions 1, 2, 3, … without gaps, each entry's points
/// the sum of its two deltas, and the balances the sums of the deltas.
#[track_caller]
pub fn assert_ledger_consistent(ledger: &serde_json::Value) {
    let entries = entries(ledger);
    let delta = |e: &serde_json::Value, field: &str| {
        e[field].as_i64().unwrap_or_else(|| panic!("entry without `{field}`: {e:?}"))
    };
    let positions: Vec<i64> = entries.iter().map(|e| delta(e, "position")).collect();
    let expected: Vec<i64> = (1..=i64::try_from(entries.len()).unwrap_or(i64::MAX)).collect();
    assert_eq!(positions, expected, "positions: {ledger:?}");
    for e in &entries {
        assert_eq!(delta(e, "points"), delta(e, "available") + delta(e, "pending"), "{e:?}");
    }
    let available: i64 = entries.iter().map(|e| delta(e, "available")).sum();
    let pending: i64 = entries.iter().map(|e| delta(e, "pending")).sum();
    assert_eq!(balance(ledger), (available, pending), "the balances are the replay of the entries: {ledger:?}");
}

/// A JSON value as a request body.
pub fn json_body(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| panic!("{e}"))
}

/// The SDK configuration for moto_server. Fails (never skips) without an endpoint: a CI that
/// forgot moto must go red.
pub async fn moto_sdk_config() -> aws_config::SdkConfig {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        panic!(
            "AWS_ENDPOINT_URL is not set: this test runs against moto_server. Start it with \
             `python scripts/moto_server.py 127.0.0.1 5055` and export AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
             AWS_REGION=eu-central-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
        );
    }
    stammkunde_aws::load_sdk_config().await
}

/// A DynamoDB client for moto_server (see `moto_sdk_config`).
pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto_sdk_config().await)
}
