//! Bearer authentication with the shop's API key, compared in constant time.

use bytes::Bytes;
use http::Request;
use subtle::ConstantTimeEq;

use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::ids::ShopId;
use stammkunde_http::{header, Reply};

pub(crate) fn authorize(shops: &ShopDirectory, shop: &ShopId, request: &Request<Bytes>) -> Result<(), Reply> {
    let unauthorized =
        || Reply::unauthorized("unauthorized", "send the shop's API key as `Authorization: Bearer <key>`");
    let given = header(request, "authorization").and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(unauthorized)?;
    let config = shops.by_id(shop).ok_or_else(unauthorized)?;
    if bool::from(config.api_key.expose().as_bytes().ct_eq(given.trim().as_bytes())) {
        Ok(())
    } else {
        Err(unauthorized())
    }
}
