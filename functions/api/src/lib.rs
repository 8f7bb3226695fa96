//! The merchant API (read side). Bearer auth with the shop's `api_key`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/shops/{shop}/customers/{customer}` | profile, points, consent state |
//! | `GET /api/shops/{shop}/customers/{customer}/ledger` | balance and entries, oldest first |
//!
//! `{customer}` is the platform's customer id, percent-encoded if it holds `/`. A wrong or missing
//! key, or an unknown shop, is 401; a customer of another shop is 404, exactly like one that does
//! not exist.

mod auth;
mod views;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use std::sync::Arc;

use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::Balance;
use stammkunde_domain::ports::Store;
use stammkunde_http::Reply;

pub struct ApiService {
    pub shops: Arc<ShopDirectory>,
    pub store: Arc<dyn Store>,
}

/// A parsed API route.
enum Route {
    Customer(ShopId, CustomerId),
    Ledger(ShopId, CustomerId),
}

impl ApiService {
    pub async fn handle(&self, request: Request<Bytes>) -> Response<String> {
        self.route(&request).await.into_response()
    }

    async fn route(&self, request: &Request<Bytes>) -> Reply {
        let route = match parse_route(request.uri().path()) {
            Ok(route) => route,
            Err(reply) => return reply,
        };
        if request.method() != Method::GET {
            return Reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this resource is read with GET",
            );
        }
        let (Route::Customer(shop, _) | Route::Ledger(shop, _)) = &route;
        if let Err(reply) = auth::authorize(&self.shops, shop, request) {
            return reply;
        }
        match route {
            Route::Customer(shop, customer) => self.customer(&shop, &customer).await,
            Route::Ledger(shop, customer) => self.ledger(&shop, &customer).await,
        }
    }

    async fn customer(&self, shop: &ShopId, customer: &CustomerId) -> Reply {
        match self.store.customer(shop, customer).await {
            Ok(Some(found)) => Reply::json(views::customer(&found)),
            Ok(None) => not_found(),
            Err(e) => e.into(),
        }
    }

    async fn ledger(&self, shop: &ShopId, customer: &CustomerId) -> Reply {
        let found = match self.store.customer(shop, customer).await {
            Ok(Some(found)) => found,
            Ok(None) => return not_found(),
            Err(e) => return e.into(),
        };
        let entries = match self.store.entries(shop, customer).await {
            Ok(entries) => entries,
            Err(e) => return e.into(),
        };
        if Balance::replay(&entries) != found.balance {
            // The stored balance must equal the replayed entries; say so loudly if it ever does not.
            tracing::error!(%shop, %customer, "stored balance differs from the ledger's entries");
        }
        Reply::json(views::ledger(shop, customer, found.balance, &entries))
    }
}

fn not_found() -> Reply {
    Reply::error(StatusCode::NOT_FOUND, "not_found", "no such customer in this shop")
}

fn parse_route(path: &str) -> Result<Route, Reply> {
    let no_route = || Reply::error(StatusCode::NOT_FOUND, "not_found", "no such route");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (shop, customer, ledger) = match segments.as_slice() {
        ["api", "shops", shop, "customers", customer] => (*shop, *customer, false),
        ["api", "shops", shop, "customers", customer, "ledger"] => (*shop, *customer, true),
        _ => return Err(no_route()),
    };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
    let shop = decode(shop).ok().and_then(|s| ShopId::parse(&s).ok()).ok_or_else(no_route)?;
    let customer = decode(customer)
        .map_err(|_| Reply::bad_request("customer id is not valid UTF-8"))
        .and_then(|c| CustomerId::parse(&c).map_err(Reply::from))?;
    Ok(if ledger { Route::Ledger(shop, customer) } else { Route::Customer(shop, customer) })
}
