//! The sample event in `events/` is a real API Gateway request for this function: a one-click
//! unsubscribe as a mail provider sends it. Against a store that holds its token, it unsubscribes.

mod common;

use bytes::Bytes;
use chrono::{TimeZone, Utc};

use common::fixture;
use stammkunde_domain::ports::MailStore;
use stammkunde_http::from_lambda;

#[tokio::test]
async fn the_sample_one_click_request_unsubscribes_the_customer_its_token_stands_for() {
    let raw = include_str!("../../../events/preferences-one-click.json");
    let request = from_lambda(lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(request.uri().path(), "/u/0123456789abcdef0123456789abcdef");
    assert_eq!(request.body(), &Bytes::from_static(b"List-Unsubscribe=One-Click"));

    let now = Utc.with_ymd_and_hms(2026, 11, 20, 9, 15, 43).single().unwrap_or_default();
    let f = fixture(now);
    // Unknown token: the 404 page, nothing written.
    assert_eq!(f.service.handle(request.clone()).await.status(), 404);
    assert_eq!(f.store.contact(&f.shop, &f.customer).await.unwrap_or_else(|e| panic!("{e}")), None);

    f.link("0123456789abcdef0123456789abcdef").await;
    let response = f.service.handle(request).await;
    assert_eq!((response.status().as_u16(), response.body().trim()), (200, "unsubscribed"));
    let contact = f.store.contact(&f.shop, &f.customer).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(contact.and_then(|c| c.unsubscribed_at), Some(now));
}
