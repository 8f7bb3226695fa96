//! The API's routes, parsed from the path; `{customer}` and `{reward}` are percent-decoded.

use http::{Method, StatusCode};

use stammkunde_domain::ids::{CustomerId, RewardId, ShopId};
use stammkunde_http::Reply;

pub(crate) enum Route {
    Customer(CustomerId),
    Ledger(CustomerId),
    Consents(CustomerId),
    Export(CustomerId),
    Erasure(CustomerId),
    Subscriptions,
    ConsentImports,
    Reconsent,
    Adjustments(CustomerId),
    Redemptions(CustomerId),
    Birthday(CustomerId),
    BirthdaysCsv,
    Reviews,
    RewardCodes(RewardId),
    CodesCsv,
    FlaggedSends,
}

impl Route {
    /// The one method each route answers.
    pub fn method(&self) -> Method {
        match self {
            Route::Customer(_)
            | Route::Ledger(_)
            | Route::Consents(_)
            | Route::Export(_)
            | Route::CodesCsv
            | Route::FlaggedSends => Method::GET,
            Route::Subscriptions
            | Route::ConsentImports
            | Route::Reconsent
            | Route::Erasure(_)
            | Route::Adjustments(_)
            | Route::Redemptions(_)
            | Route::BirthdaysCsv
            | Route::Reviews
            | Route::RewardCodes(_) => Method::POST,
            Route::Birthday(_) => Method::PUT,
        }
    }
}

fn no_route() -> Reply {
    Reply::error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

fn decode(segment: &str) -> Result<String, Reply> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Reply::bad_request("a path segment is not valid UTF-8"))
}

fn customer(segment: &str) -> Result<CustomerId, Reply> {
    CustomerId::parse(&decode(segment)?).map_err(Reply::from)
}

pub(crate) fn parse(path: &str) -> Result<(ShopId, Route), Reply> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (shop, rest) = match segments.as_slice() {
        ["api", "shops", shop, rest @ ..] => (*shop, rest),
        _ => return Err(no_route()),
    };
    let shop = decode(shop).ok().and_then(|s| ShopId::parse(&s).ok()).ok_or_else(no_route)?;
    let route = match rest {
        ["customers", c] => Route::Customer(customer(c)?),
        ["customers", c, "ledger"] => Route::Ledger(customer(c)?),
        ["customers", c, "consents"] => Route::Consents(customer(c)?),
        ["customers", c, "export"] => Route::Export(customer(c)?),
        ["customers", c, "erasure"] => Route::Erasure(customer(c)?),
        ["subscriptions"] => Route::Subscriptions,
        ["consents", "imports"] => Route::ConsentImports,
        ["consents", "reconsent"] => Route::Reconsent,
        ["customers", c, "adjustments"] => Route::Adjustments(customer(c)?),
        ["customers", c, "redemptions"] => Route::Redemptions(customer(c)?),
        ["customers", c, "birthday"] => Route::Birthday(customer(c)?),
        ["birthdays"] => Route::BirthdaysCsv,
        ["reviews"] => Route::Reviews,
        ["rewards", r, "codes"] => Route::RewardCodes(RewardId::parse(&decode(r)?).map_err(|_| no_route())?),
        ["codes.csv"] => Route::CodesCsv,
        ["mail", "flagged"] => Route::FlaggedSends,
        _ => return Err(no_route()),
    };
    Ok((shop, route))
}
