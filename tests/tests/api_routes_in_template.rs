//! Every merchant API route the API function serves is routed to it by the HTTP API in
//! `infra/template.yaml`, and the template routes nothing else to it. On AWS a route missing from
//! the template is a 404 from API Gateway before the function ever runs, which no test of the
//! function itself can see (the export and erasure routes once shipped that way).
//!
//! The routes the function serves are its route table (the doc table at the top of
//! `functions/api/src/lib.rs`, which the README repeats), and each is checked against the function:
//! a request without a key must be refused as unauthorised (the route was recognised), not as an
//! unknown route or a wrong method.

use serde_yaml::Value as Yaml;
use std::collections::BTreeSet;

const TEMPLATE: &str = include_str!("../../infra/template.yaml");
const API_SOURCE: &str = include_str!("../../functions/api/src/lib.rs");

/// `(method, path)` of each row of the route table: lines like ``//! | `GET /api/…` | what |``.
fn documented_routes() -> BTreeSet<(String, String)> {
    API_SOURCE
        .lines()
        .filter_map(|line| line.strip_prefix("//! | `"))
        .filter_map(|row| row.split_once('`').map(|(route, _)| route))
        .filter_map(|route| route.split_once(' '))
        .map(|(method, path)| (method.to_owned(), path.to_owned()))
        .collect()
}

/// `(method, path)` of each HttpApi event of the function `logical_id`.
fn template_routes(logical_id: &str) -> BTreeSet<(String, String)> {
    let template: Yaml = serde_yaml::from_str(TEMPLATE).unwrap_or_else(|e| panic!("template.yaml: {e}"));
    let events = template["Resources"][logical_id]["Properties"]["Events"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{logical_id} has no Events"));
    events
        .values()
        .filter(|event| event["Type"].as_str() == Some("HttpApi"))
        .map(|event| {
            let field = |name: &str| {
                event["Properties"][name]
                    .as_str()
                    .unwrap_or_else(|| panic!("an HttpApi event without {name}"))
                    .to_owned()
            };
            (field("Method"), field("Path"))
        })
        .collect()
}

#[test]
fn the_template_routes_exactly_the_api_functions_routes_to_it() {
    let documented = documented_routes();
    assert!(documented.len() >= 10, "the route table was not found in functions/api/src/lib.rs: {documented:?}");
    let routed = template_routes("ApiFunction");
    let missing: Vec<_> = documented.difference(&routed).collect();
    let extra: Vec<_> = routed.difference(&documented).collect();
    assert!(missing.is_empty(), "served by the API function but not routed to it in the template: {missing:?}");
    assert!(extra.is_empty(), "routed to the API function but not in its route table: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_table_is_one_the_api_function_recognises() {
    let app = stammkunde_e2e::spawn_app(chrono::Utc::now()).await;
    for (method, path) in documented_routes() {
        let concrete = path.replace("{shop}", "shopify-shop").replace("{customer}", "c-1").replace("{reward}", "r-1");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{method}: {e}"));
        let answer = app.request(method.clone(), &concrete, &[], Vec::new()).await;
        // 401 comes after the route was recognised and its method checked; an unknown route is 404
        // and a wrong method 405.
        assert_eq!(answer.status, 401, "{method} {concrete}: {}", answer.body);
    }
}
