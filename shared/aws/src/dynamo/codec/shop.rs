//! Shop-level items: Shopware registration (`sk = R`), uninstall (`sk = U`), sweep marks
//! (`sk = M#{name}`, `v` the value), privacy requests (`pk = {shop}#P`) and delivery records
//! (`sk = D`).

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, DeliveryId, OrderId, ShopId};
use stammkunde_domain::ingest::{DeliveryRecord, PrivacyRequest, PrivacyRequestKind};
use stammkunde_domain::registration::ShopwareRegistration;
use stammkunde_domain::secret::Secret;

use super::{key_item, n, s, strings, time, Item, Reader};
use crate::dynamo::schema::{delivery_key, privacy_key, sweep_mark_key, TTL_ATTRIBUTE};

pub(crate) const SHOP_URL: &str = "u";
pub(crate) const PENDING_SECRET: &str = "ps";
pub(crate) const SHOP_SECRET: &str = "ss";
pub(crate) const API_KEY: &str = "ak";
pub(crate) const SECRET_KEY: &str = "sx";
pub(crate) const REGISTERED_AT: &str = "ra";
/// The signed `timestamp` of the latest accepted registration; the replay guard compares with it.
pub(crate) const REQUESTED_AT: &str = "rq";
pub(crate) const CONFIRMED_AT: &str = "ca";
pub(crate) const UNINSTALLED_AT: &str = "at";
pub(crate) const SWEEP_MARK: &str = "v";

const KIND: &str = "k";
const REQUEST_REF: &str = "rf";
const CUSTOMER: &str = "c";
const ORDERS: &str = "os";
const RECEIVED_AT: &str = "r";
const TOPIC: &str = "t";

pub(crate) fn decode_registration(shop: &ShopId, item: &Item) -> Result<ShopwareRegistration, StoreError> {
    let r = Reader::new(item);
    let secret = |name: &str| r.opt_s(name).map(|v| v.map(Secret::new));
    Ok(ShopwareRegistration {
        shop: shop.clone(),
        shop_url: r.s(SHOP_URL)?.to_owned(),
        pending_secret: secret(PENDING_SECRET)?,
        shop_secret: secret(SHOP_SECRET)?,
        api_key: secret(API_KEY)?,
        secret_key: secret(SECRET_KEY)?,
        registered_at: r.time(REGISTERED_AT)?,
        requested_at: r.opt_time(REQUESTED_AT)?,
        confirmed_at: r.opt_time(CONFIRMED_AT)?,
    })
}

pub(crate) fn encode_privacy_request(request: &PrivacyRequest) -> Item {
    let mut item = key_item(&privacy_key(&request.shop, request.kind, &request.request_ref));
    item.insert(KIND.into(), s(request.kind.as_str()));
    item.insert(REQUEST_REF.into(), s(&request.request_ref));
    if let Some(customer) = &request.customer_id {
        item.insert(CUSTOMER.into(), s(customer.as_str()));
    }
    if !request.order_ids.is_empty() {
        item.insert(ORDERS.into(), strings(request.order_ids.iter().map(OrderId::as_str)));
    }
    item.insert(RECEIVED_AT.into(), time(request.received_at));
    item
}

pub(crate) fn decode_privacy_request(shop: &ShopId, item: &Item) -> Result<PrivacyRequest, StoreError> {
    let r = Reader::new(item);
    Ok(PrivacyRequest {
        shop: shop.clone(),
        kind: r.parse(KIND, r.s(KIND)?, privacy_kind_from)?,
        request_ref: r.s(REQUEST_REF)?.to_owned(),
        customer_id: r.opt_s(CUSTOMER)?.map(|t| r.parse(CUSTOMER, t, CustomerId::parse)).transpose()?,
        order_ids: r
            .opt_strings(ORDERS)?
            .into_iter()
            .map(|t| r.parse(ORDERS, t, OrderId::parse))
            .collect::<Result<_, _>>()?,
        received_at: r.time(RECEIVED_AT)?,
    })
}

fn privacy_kind_from(text: &str) -> Result<PrivacyRequestKind, String> {
    [PrivacyRequestKind::DataRequest, PrivacyRequestKind::CustomerRedact, PrivacyRequestKind::ShopRedact]
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| format!("unknown privacy request kind `{text}`"))
}

/// One delivery id's record. TTL is in whole epoch seconds, as DynamoDB requires.
pub(crate) fn encode_delivery(record: &DeliveryRecord, id: &DeliveryId) -> Item {
    let mut item = key_item(&delivery_key(&record.shop, id));
    item.insert(TTL_ATTRIBUTE.into(), n(record.expires_at.timestamp()));
    item.insert(TOPIC.into(), s(&record.topic));
    item.insert(RECEIVED_AT.into(), time(record.received_at));
    item
}

pub(crate) fn encode_sweep_mark(shop: &ShopId, name: &str, value: &str) -> Item {
    let mut item = key_item(&sweep_mark_key(shop, name));
    item.insert(SWEEP_MARK.into(), s(value));
    item
}
