//! `wru_for_item` against item sizes computed by hand from AWS's rules: name bytes + value bytes;
//! numbers (significant digits / 2, rounded up) + 1; booleans 1; lists and maps 3 + 1 per element.

use aws_sdk_dynamodb::types::AttributeValue;
use stammkunde_aws::dynamo::{item_size_bytes, wru_for_item, Item};
use std::collections::HashMap;

fn item(attributes: Vec<(&str, AttributeValue)>) -> Item {
    attributes.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn n(text: &str) -> AttributeValue {
    AttributeValue::N(text.to_owned())
}

#[test]
fn a_small_item_is_nineteen_bytes_and_one_unit() {
    let small = item(vec![
        ("pk", s("shop#C#1")),              // 2 + 8
        ("sk", s("B")),                     // 2 + 1
        ("a", n("120")),                    // 1 + (trailing zero trimmed: 2 digits -> 1) + 1
        ("mk", AttributeValue::Bool(true)), // 2 + 1
    ]);
    assert_eq!(item_size_bytes(&small), 10 + 3 + 3 + 3);
    assert_eq!(wru_for_item(&small), 1);
}

#[test]
fn numbers_strings_lists_and_maps_are_sized_by_the_documented_rules() {
    let mixed = item(vec![
        ("ct", n("1763884800.5")),                       // 2 + (11 digits -> 6) + 1 = 9
        ("p", n("-1000")),                               // 1 + (1 digit -> 1) + 1 = 3
        ("e", s("jürgen@example.de")),                   // 1 + 18 (ü is two bytes) = 19
        ("l", AttributeValue::L(vec![s("ab"), n("5")])), // 1 + 3 + (1 + 2) + (1 + 2) = 10
        ("m", AttributeValue::M(HashMap::from([("x".to_owned(), s("yz"))]))), // 1 + 3 + (1 + 1 + 2) = 8
        ("z", AttributeValue::Null(true)),               // 1 + 1 = 2
    ]);
    assert_eq!(item_size_bytes(&mixed), 9 + 3 + 19 + 10 + 8 + 2);
    assert_eq!(wru_for_item(&mixed), 1);
}

#[test]
fn a_unit_covers_exactly_one_kilobyte() {
    let exactly = item(vec![("d", s(&"x".repeat(1023)))]);
    let one_more = item(vec![("d", s(&"x".repeat(1024)))]);
    assert_eq!(item_size_bytes(&exactly), 1024);
    assert_eq!(wru_for_item(&exactly), 1);
    assert_eq!(wru_for_item(&one_more), 2);
    assert_eq!(wru_for_item(&Item::new()), 1, "every write costs at least one unit");
}
