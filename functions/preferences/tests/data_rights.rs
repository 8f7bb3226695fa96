//! The data rights from the preference centre: the download of everything held (a JSON
//! attachment), and erasure, which the page asks for once more and takes only from itself; after
//! it the link leads nowhere.

mod common;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use http::Request;

use common::{fixture, hidden};
use stammkunde_domain::ports::CustomerStore;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn request(method: &str, path: &str, body: &str) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_download_is_everything_held_as_a_json_attachment() {
    let f = fixture(Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).single().unwrap_or_default());
    f.put_customer().await;
    f.link(TOKEN).await;
    let response = f.service.handle(request("GET", &format!("/d/{TOKEN}"), "")).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    let disposition = response.headers().get("content-disposition").and_then(|v| v.to_str().ok());
    assert_eq!(disposition, Some("attachment; filename=\"my-data.json\""));
    let export: serde_json::Value = serde_json::from_str(response.body()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(export["customer_id"], f.customer.as_str());
    assert_eq!(export["profile"]["first_name"], "Lena");
    let post = f.service.handle(request("POST", &format!("/d/{TOKEN}"), "")).await;
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn erasure_is_asked_once_more_taken_only_from_its_page_and_then_the_link_leads_nowhere() {
    let f = fixture(Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).single().unwrap_or_default());
    f.put_customer().await;
    f.link(TOKEN).await;
    let path = format!("/x/{TOKEN}");
    let page = f.service.handle(request("GET", &path, "")).await;
    assert_eq!(page.status(), 200);
    assert!(page.body().contains("Ja, alles löschen"), "{}", page.body());
    let stored = || async { f.store.customer(&f.shop, &f.customer).await.unwrap_or_else(|e| panic!("{e}")) };
    assert!(stored().await.is_some_and(|c| c.deleted_at.is_none()), "GET erased nothing");

    let forged = f.service.handle(request("POST", &path, "csrf=forged")).await;
    assert_eq!(forged.status(), 403);
    assert!(stored().await.is_some_and(|c| c.deleted_at.is_none()), "a forged post erased nothing");

    let csrf = hidden(page.body(), "csrf");
    let erased = f.service.handle(request("POST", &path, &format!("csrf={csrf}"))).await;
    assert_eq!(erased.status(), 200);
    assert!(erased.body().contains("Ihre Daten sind gelöscht"), "{}", erased.body());
    let after = stored().await.unwrap_or_else(|| panic!("the pseudonymous customer stays"));
    assert_eq!((after.profile.first_name, after.deleted_at.is_some()), (None, true));
    let settings = f.service.handle(request("GET", &format!("/p/{TOKEN}"), "")).await;
    assert_eq!(settings.status(), 404, "the link leads nowhere now");
}
