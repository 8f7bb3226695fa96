//! SesMailer on moto: a raw message goes out with its headers byte for byte, an unverified
//! sender is refused for good, and an endpoint nobody listens on means the mail was not sent.
//!
//! Each test verifies a sender domain of its own, so tests share moto without seeing each
//! other's identities. Moto keeps every message it accepted; `/moto-api/data.json` lists them
//! (`ses` → `RawMessage` → `id`, `source`, `destinations`, `raw_data`).

mod common;

use aws_sdk_sesv2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sesv2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sesv2::error::BoxError;
use aws_sdk_sesv2::Client;
use base64::Engine;
use serde_json::{json, Value};
use stammkunde_aws::SesMailer;
use stammkunde_domain::customer::Email;
use stammkunde_domain::error::MailError;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ports::{Mailer, OutgoingMail};
use std::sync::{Arc, Mutex};

use common::{chain, sdk_config, unique_name};

/// The headers a campaign mail must keep exactly as we wrote them.
const SUBJECT: &str = "Subject: =?UTF-8?Q?Alles_Gute_zum_Geburtstag=2C_J=C3=BCrgen?=";
const LIST_UNSUBSCRIBE: &str = "List-Unsubscribe: <https://stammkunde.example/u/3f9a1c?sig=b64sig>, \
                                <mailto:unsubscribe+3f9a1c@stammkunde.example?subject=unsubscribe>";
const LIST_UNSUBSCRIBE_POST: &str = "List-Unsubscribe-Post: List-Unsubscribe=One-Click";
const LIST_ID: &str = "List-Id: Geburtstag <birthday.shopify-shop.stammkunde.example>";

/// A birthday mail from `from` to `to` as the mail builder writes it: multipart/alternative,
/// CRLF line ends, a UTF-8 subject as an encoded word.
fn birthday_mail(from: &str, to: &str) -> String {
    let lines = [
        format!("From: Beispiel Shop <{from}>"),
        format!("To: {to}"),
        SUBJECT.to_owned(),
        "Date: Fri, 20 Nov 2026 09:00:00 +0000".to_owned(),
        "Message-ID: <birthday-7654321098765-20261120@stammkunde.example>".to_owned(),
        LIST_UNSUBSCRIBE.to_owned(),
        LIST_UNSUBSCRIBE_POST.to_owned(),
        LIST_ID.to_owned(),
        "MIME-Version: 1.0".to_owned(),
        "Content-Type: multipart/alternative; boundary=\"=_stammkunde_b1\"".to_owned(),
        String::new(),
        "--=_stammkunde_b1".to_owned(),
        "Content-Type: text/plain; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: quoted-printable".to_owned(),
        String::new(),
        "Hallo J=C3=BCrgen, alles Gute zum Geburtstag! Ihr Code: BDAY-7F3K".to_owned(),
        "--=_stammkunde_b1".to_owned(),
        "Content-Type: text/html; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: quoted-printable".to_owned(),
        String::new(),
        "<p>Hallo J=C3=BCrgen, alles Gute zum Geburtstag! Ihr Code: <b>BDAY-7F3K</b></p>".to_owned(),
        "--=_stammkunde_b1--".to_owned(),
        String::new(),
    ];
    lines.join("\r\n")
}

fn outgoing(from: &str, to: &str, raw: &str, configuration_set: Option<String>) -> OutgoingMail {
    OutgoingMail {
        shop: ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}")),
        from_address: from.to_owned(),
        to: Email::parse(to).unwrap_or_else(|e| panic!("{e}")),
        raw: raw.as_bytes().to_vec(),
        configuration_set,
        tags: vec![("shop".into(), "shopify-shop".into()), ("campaign".into(), "birthday".into())],
        label: "shopify-shop-7654321098765-birthday-2026-11-20".into(),
    }
}

/// Keeps the JSON body of every request the client transmits (one per attempt), so a test can
/// see what went over the wire where moto does not look (configuration set, tags).
#[derive(Clone, Debug, Default)]
struct Requests(Arc<Mutex<Vec<Value>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "Requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().and_then(|b| serde_json::from_slice(b).ok());
        self.0.lock().map_err(|_| "poisoned")?.push(body.unwrap_or_default());
        Ok(())
    }
}

impl Requests {
    fn taken(&self) -> Vec<Value> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| panic!("{e}")))
    }
}

/// A client on moto (or on `endpoint`) that records its requests.
async fn ses_client(endpoint: Option<String>) -> (Client, Requests) {
    let requests = Requests::default();
    let mut config = aws_sdk_sesv2::config::Builder::from(&sdk_config().await).interceptor(requests.clone());
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    (Client::from_conf(config.build()), requests)
}

/// A sender address on a domain verified for this test alone.
async fn verified_sender(client: &Client) -> String {
    let domain = format!("{}.example", unique_name("shop"));
    let created = client.create_email_identity().email_identity(&domain).send().await;
    created.unwrap_or_else(|e| panic!("CreateEmailIdentity: {}", chain(&e)));
    format!("info@{domain}")
}

/// What moto stored for the message with this id: (source, destinations, raw data).
async fn stored_message(message_id: &str) -> (String, Vec<String>, String) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|e| panic!("AWS_ENDPOINT_URL: {e}"));
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let response = reqwest::get(&url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let data: serde_json::Value = response.json().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let messages = data["ses"]["RawMessage"].as_array().unwrap_or_else(|| panic!("no ses.RawMessage in {url}"));
    let message = messages
        .iter()
        .find(|m| m["id"].as_str() == Some(message_id))
        .unwrap_or_else(|| panic!("moto has no message {message_id}"));
    let destinations = message["destinations"].as_array().cloned().unwrap_or_default();
    (
        message["source"].as_str().unwrap_or_default().to_owned(),
        destinations.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect(),
        message["raw_data"].as_str().unwrap_or_else(|| panic!("no raw_data: {message}")).to_owned(),
    )
}

#[tokio::test]
async fn a_raw_message_is_sent_and_read_back_with_its_headers_intact() {
    let (client, requests) = ses_client(None).await;
    let from = verified_sender(&client).await;
    // Moto ignores a configuration set on SendEmail, but AWS refuses an unknown one: create it.
    let configuration_set = unique_name("stammkunde-mail");
    let created = client.create_configuration_set().configuration_set_name(&configuration_set).send().await;
    created.unwrap_or_else(|e| panic!("CreateConfigurationSet: {}", chain(&e)));
    let to = "juergen.mueller@kunde.example";
    let raw = birthday_mail(&from, to);

    requests.taken();

    let mailer = SesMailer::new(client);
    let sent = mailer.send(&outgoing(&from, to, &raw, Some(configuration_set.clone()))).await;
    let message_id = sent.unwrap_or_else(|e| panic!("send: {}", chain(&e)));
    assert!(!message_id.is_empty());

    // What SendEmail carried, moto's blind spots included.
    let sent = requests.taken();
    assert_eq!(sent.len(), 1, "one attempt: {sent:?}");
    let request = &sent[0];
    assert_eq!(request["FromEmailAddress"], json!(from));
    assert_eq!(request["Destination"], json!({"ToAddresses": [to]}));
    assert_eq!(request["ConfigurationSetName"], json!(configuration_set));
    let tags = json!([{"Name": "shop", "Value": "shopify-shop"}, {"Name": "campaign", "Value": "birthday"}]);
    assert_eq!(request["EmailTags"], tags);
    let data = request["Content"]["Raw"]["Data"].as_str().unwrap_or_else(|| panic!("no Content.Raw: {request}"));
    let data = base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(data, raw.as_bytes(), "Content.Raw.Data is the message as given");

    let (source, destinations, stored) = stored_message(&message_id).await;
    assert_eq!(source, from);
    assert!(destinations.iter().any(|d| d == to), "{destinations:?}");
    for header in [SUBJECT, LIST_UNSUBSCRIBE, LIST_UNSUBSCRIBE_POST, LIST_ID] {
        assert!(stored.contains(&format!("\r\n{header}\r\n")), "{header:?} not in the stored message:\n{stored}");
    }
    assert_eq!(stored, raw, "the message is stored exactly as sent");
}

#[tokio::test]
async fn an_unverified_sender_is_rejected_for_good() {
    let (client, _) = ses_client(None).await;
    // A domain of its own that nobody verifies.
    let from = format!("info@{}.example", unique_name("unverified"));
    let to = "juergen.mueller@kunde.example";
    let mail = outgoing(&from, to, &birthday_mail(&from, to), None);

    let error = SesMailer::new(client).send(&mail).await.err();
    let Some(MailError::Rejected(message)) = error else { panic!("expected Rejected, got {error:?}") };
    assert!(message.contains("MessageRejected"), "{message}");
    assert!(!message.contains(&from) && !message.contains(to), "no addresses in errors: {message}");
}

#[tokio::test]
async fn an_unreachable_endpoint_means_not_sent() {
    // A port that was free a moment ago: nothing listens, the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    drop(listener);
    let (client, requests) = ses_client(Some(format!("http://127.0.0.1:{port}"))).await;
    let mailer = SesMailer::new(client);
    let from = "info@shop.example";
    let to = "juergen.mueller@kunde.example";

    let error = mailer.send(&outgoing(from, to, &birthday_mail(from, to), None)).await.err();
    let Some(error @ MailError::NotSent { .. }) = error else { panic!("expected NotSent, got {error:?}") };
    let text = chain(&error);
    assert!(text.contains("SES could not be reached"), "{text}");
    // The SDK's retries are off for SendEmail: one attempt, however transient the failure looks.
    assert_eq!(requests.taken().len(), 1);
}
