//! Consent through the merchant API: a double opt-in requested from the shop's own form, and the
//! proof of a customer's consent.
//!
//! `POST /api/shops/{shop}/subscriptions` records the request in the consent ledger (with the
//! words the person saw, where, and the person's IP address and user agent as the shop's server
//! saw them) and asks the mail sweep for the confirmation mail. Nothing changes for marketing mail
//! until the person clicks the mail's link: then the preference centre records the confirmation.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::IpAddr;

use stammkunde_domain::config::{Locale, ShopConfig};
use stammkunde_domain::consent::{
    confirmed_at, request_key, Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord, ConsentWording,
};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::ports::CreateOutcome;
use stammkunde_http::Reply;

use crate::{body, ApiService};

/// The printable proof's template (auto-escaped: every text in it came from a form or a browser).
const PROOF_PAGE: &str = include_str!("../templates/consent_proof.html");
/// For paper: black on white, a block per record that a page break does not split.
const PROOF_STYLE: &str = "body{font:11pt/1.4 Georgia,serif;max-width:48rem;margin:2rem auto;color:#000}\
    table{border-collapse:collapse;width:100%;margin:.4rem 0}th{text-align:left;width:14rem;vertical-align:top}\
    th,td{padding:.2rem .4rem;border-bottom:1px solid #ccc}section{break-inside:avoid;margin-top:1.4rem}\
    blockquote{margin:.4rem 0;padding:.4rem .8rem;border-left:3px solid #000;white-space:pre-wrap}code{font-size:9pt}";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionBody {
    customer_id: String,
    /// The words next to the checkbox or button, exactly as shown.
    wording: String,
    /// The language of the wording and of the confirmation mail: `de` or `en`.
    locale: String,
    /// Where the person asked: the form's name or URL.
    source: String,
    /// `signup_form` (default) or `checkout_flag`.
    #[serde(default)]
    method: Option<String>,
    /// The person's address and browser, as the shop's server saw them.
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
}

fn method(raw: Option<&str>) -> Result<ConsentMethod, Reply> {
    match raw.unwrap_or("signup_form") {
        "signup_form" => Ok(ConsentMethod::SignupForm),
        "checkout_flag" => Ok(ConsentMethod::CheckoutFlag),
        other => Err(Reply::bad_request(format!("`method` must be signup_form or checkout_flag, not `{other}`"))),
    }
}

impl ApiService {
    pub(crate) async fn request_subscription(&self, shop: &ShopConfig, raw: &Bytes) -> Result<Reply, Reply> {
        let request: SubscriptionBody = body::json(raw)?;
        let customer = CustomerId::parse(&request.customer_id).map_err(Reply::from)?;
        let locale = Locale::from_tag(&request.locale)
            .filter(|l| l.tag() == request.locale)
            .ok_or_else(|| Reply::bad_request("`locale` must be de or en"))?;
        let wording =
            ConsentWording::new(&shop.id, locale, &request.wording).map_err(|e| Reply::bad_request(e.to_string()))?;
        let ip = match request.ip.as_deref() {
            Some(raw) => Some(raw.parse::<IpAddr>().map_err(|_| Reply::bad_request("`ip` is not an IP address"))?),
            None => None,
        };
        let now = self.clock.now();
        let date = now.date_naive();
        let record = ConsentRecord {
            shop: shop.id.clone(),
            customer_id: customer.clone(),
            key: request_key(date),
            at: now,
            topic: None,
            action: ConsentAction::Requested,
            method: method(request.method.as_deref())?,
            source: request.source.trim().to_owned(),
            wording: Some(wording.digest.clone()),
            actor: Actor::of_request(ip, request.user_agent.as_deref()),
            basis: ConsentBasis::Consent,
            claimed_at: None,
        };
        record.check().map_err(|e| Reply::bad_request(e.to_string()))?;
        let found = self.known_customer(shop, &customer).await?;
        if found.deleted_at.is_some() {
            return Err(crate::replies::no_customer());
        }
        if found.profile.email.is_none() {
            let reason = "the customer has no email address to confirm";
            return Err(Reply::error(StatusCode::UNPROCESSABLE_ENTITY, "no_address", reason));
        }
        if !shop.mail.enabled {
            let reason = "the shop's mail is switched off, so no confirmation mail can go out";
            return Err(Reply::error(StatusCode::CONFLICT, "mail_disabled", reason));
        }
        let contact = self.mail.contact(&shop.id, &customer).await?.unwrap_or_default();
        // A consent still to be confirmed (imported, or awaiting re-permission) may be confirmed
        // by a double opt-in too: its click clears the deadline.
        if contact.double_opt_in_standing() {
            return Ok(Reply::json(json!({ "status": "already_confirmed", "confirmed_at": contact.double_opt_in_at })));
        }
        // The wording first: a record never points at words that are not stored.
        self.consent.put_wording(&wording).await?;
        let created = self.consent.record_consent(&record).await? == CreateOutcome::Created;
        // Published again for a request already recorded: if the first attempt stored it and
        // then failed to publish, this gets the mail out; the mail's claim sends it once.
        let event = DomainEvent::SubscriptionRequested { shop: shop.id.clone(), customer_id: customer.clone(), date };
        self.bus.publish(&[event]).await?;
        tracing::info!(shop = %shop.id, %customer, created, "subscription requested");
        let status = if created { "confirmation_requested" } else { "already_requested" };
        Ok(Reply { status: StatusCode::ACCEPTED, body: json!({ "status": status, "request": record.key }) })
    }

    /// The proof as a page to print or file (`?format=html`): the same records, one block each.
    pub(crate) async fn consents_page(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
    ) -> Result<Response<String>, Reply> {
        let proof = self.consents(shop, customer).await?.body;
        let context = minijinja::context! {
            shop => &shop.id, customer, style => PROOF_STYLE, printed_at => self.clock.now().to_rfc3339(),
            confirmed_at => proof["marketing_consent_confirmed_at"].as_str(), records => &proof["records"],
        };
        let html = render_proof(context).map_err(|e| {
            tracing::error!(error = %e, "rendering the consent proof failed");
            Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the page could not be rendered")
        })?;
        let mut response = Response::new(html);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }

    /// Everything the consent ledger holds on the customer, each record with the words it points at.
    pub(crate) async fn consents(&self, shop: &ShopConfig, customer: &CustomerId) -> Result<Reply, Reply> {
        self.known_customer(shop, customer).await?;
        let records = self.consent.consents(&shop.id, customer).await?;
        let mut listed = Vec::with_capacity(records.len());
        for record in &records {
            let wording = match &record.wording {
                Some(digest) => self.consent.wording(&shop.id, digest).await?,
                None => None,
            };
            listed.push(record_view(record, wording.as_ref()));
        }
        Ok(Reply::json(json!({
            "shop": shop.id,
            "customer_id": customer,
            "marketing_consent_confirmed_at": confirmed_at(&records),
            "records": listed,
        })))
    }
}

fn record_view(record: &ConsentRecord, wording: Option<&ConsentWording>) -> Value {
    json!({
        "key": record.key,
        "at": record.at,
        "topic": record.topic,
        "action": record.action,
        "method": record.method,
        "source": record.source,
        "wording": record.wording.as_ref().map(|digest| json!({
            "digest": digest.as_str(),
            "locale": wording.map(|w| w.locale.tag()),
            "text": wording.map(|w| w.text.as_str()),
        })),
        "ip": record.actor.ip,
        "user_agent": record.actor.user_agent,
        "basis": record.basis,
        // An import's claim of when the person consented at the previous tool: the merchant's word.
        "claimed_at": record.claimed_at,
    })
}

/// Compiled per request: a proof is printed now and then, not served under load.
fn render_proof(context: minijinja::Value) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.add_template("proof.html", PROOF_PAGE)?;
    env.get_template("proof.html")?.render(context)
}
