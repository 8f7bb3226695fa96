//! The merchant API. Bearer auth with the shop's `api_key`.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/shops/{shop}/customers/{customer}` | profile, points, tier, next expiry, consent state |
//! | `GET /api/shops/{shop}/customers/{customer}/ledger` | balance and entries, in ledger order |
//! | `GET /api/shops/{shop}/customers/{customer}/consents` | the consent ledger: every record with its wording (the proof); `?format=html` as a page to print |
//! | `GET /api/shops/{shop}/customers/{customer}/export` | everything held on the customer (GDPR Art. 15 and 20) |
//! | `POST /api/shops/{shop}/customers/{customer}/erasure` | erases the customer's personal data (Art. 17) |
//! | `POST /api/shops/{shop}/subscriptions` | a double opt-in requested: recorded, and the confirmation mail sent |
//! | `POST /api/shops/{shop}/consents/imports` | consents from the shop's previous tool: recorded as its word, with a re-permission deadline and mail |
//! | `POST /api/shops/{shop}/consents/reconsent` | one page of the re-consent run: double opt-ins without proof on the ledger get a deadline and a re-permission mail |
//! | `POST /api/shops/{shop}/customers/{customer}/adjustments` | a manual correction |
//! | `POST /api/shops/{shop}/customers/{customer}/redemptions` | points for a reward's single-use code |
//! | `PUT /api/shops/{shop}/customers/{customer}/birthday` | the customer's birthday, set or cleared |
//! | `POST /api/shops/{shop}/birthdays` | birthdays from a CSV file (`customer_id,birthday`) |
//! | `POST /api/shops/{shop}/reviews` | a review published or unpublished |
//! | `POST /api/shops/{shop}/rewards/{reward}/codes` | codes made in the shop, into the reward's pool |
//! | `GET /api/shops/{shop}/codes.csv` | every code, for import into the shop and for the books |
//! | `GET /api/shops/{shop}/mail/flagged` | mail sends flagged for review (sender died mid-send), paged |
//!
//! `{customer}` is the platform's customer id, percent-encoded if it holds `/`. A wrong or missing
//! key, or an unknown shop, is 401; a customer of another shop is 404, exactly like one that does
//! not exist. Writes are idempotent on the client's `idempotency_key` (reviews on the customer
//! and product): the same request again changes nothing and answers as the first did.

mod auth;
mod birthdays;
mod body;
mod codes;
mod consent;
mod flagged;
mod privacy;
mod reads;
mod reconsent;
mod replies;
mod routes;
mod views;
mod writes;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use std::sync::Arc;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::{ShopConfig, ShopDirectory};
use stammkunde_domain::ports::{ConsentStore, EventBus, MailStore, Store};
use stammkunde_http::Reply;
use stammkunde_services::privacy::Privacy;
use stammkunde_services::reconsent::Reconsent;
use stammkunde_services::{Coupons, LedgerService};

use routes::Route;

pub struct ApiService {
    pub shops: Arc<ShopDirectory>,
    pub store: Arc<dyn Store>,
    pub ledger: Arc<LedgerService>,
    pub coupons: Arc<Coupons>,
    pub clock: Arc<dyn Clock>,
    /// Mail settings (whether a customer confirmed already).
    pub mail: Arc<dyn MailStore>,
    pub consent: Arc<dyn ConsentStore>,
    /// For `SubscriptionRequested`, which has the mail sweep send the confirmation.
    pub bus: Arc<dyn EventBus>,
    /// Export and erasure.
    pub privacy: Arc<Privacy>,
    /// Consent imports and the re-consent run.
    pub reconsent: Arc<Reconsent>,
}

impl ApiService {
    pub async fn handle(&self, request: Request<Bytes>) -> Response<String> {
        match self.route(&request).await {
            Ok(response) => response,
            Err(reply) => reply.into_response(),
        }
    }

    async fn route(&self, request: &Request<Bytes>) -> Result<Response<String>, Reply> {
        let (shop_id, route) = routes::parse(request.uri().path())?;
        if request.method() != route.method() {
            let reason = format!("this resource takes {}", route.method());
            return Err(Reply::error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", reason));
        }
        auth::authorize(&self.shops, &shop_id, request)?;
        let shop = self.shops.by_id(&shop_id).ok_or_else(|| Reply::unauthorized("unauthorized", "unknown shop"))?;
        let body = request.body();
        let reply = match route {
            Route::Customer(customer) => self.customer(shop, &customer).await?,
            Route::Ledger(customer) => self.ledger(shop, &customer).await?,
            Route::Consents(customer) if wants_html(request.uri().query()) => {
                return self.consents_page(shop, &customer).await;
            }
            Route::Consents(customer) => self.consents(shop, &customer).await?,
            Route::Export(customer) => self.export(shop, &customer).await?,
            Route::Erasure(customer) => self.erase(shop, &customer).await?,
            Route::Subscriptions => self.request_subscription(shop, body).await?,
            Route::ConsentImports => self.import_consents(shop, body).await?,
            Route::Reconsent => self.run_reconsent(shop, body).await?,
            Route::Adjustments(customer) => self.adjust(shop, &customer, body).await?,
            Route::Redemptions(customer) => self.redeem(shop, &customer, body).await?,
            Route::Birthday(customer) => self.set_birthday(shop, &customer, body).await?,
            Route::BirthdaysCsv => self.import_birthdays(shop, body).await?,
            Route::Reviews => self.review(shop, body).await?,
            Route::RewardCodes(reward) => self.import_codes(shop, &reward, body).await?,
            Route::CodesCsv => return self.codes_csv(shop, request.uri().query()).await,
            Route::FlaggedSends => self.flagged_sends(shop, request.uri().query()).await?,
        };
        Ok(reply.into_response())
    }

    /// The customer must exist in the shop for any write: a mistyped id must not open a ledger.
    async fn known_customer(
        &self,
        shop: &ShopConfig,
        customer: &stammkunde_domain::ids::CustomerId,
    ) -> Result<stammkunde_domain::customer::Customer, Reply> {
        match self.store.customer(&shop.id, customer).await? {
            Some(found) => Ok(found),
            None => Err(replies::no_customer()),
        }
    }
}

/// `?format=html`: the page form of a resource that has one.
fn wants_html(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|pair| pair == "format=html"))
}
