//! Values come back exactly as written: every field, unicode text, nanosecond timestamps.

use chrono::Duration;

use stammkunde_domain::customer::{Customer, CustomerProfile};
use stammkunde_domain::ingest::Change;
use stammkunde_domain::ledger::{Balance, Bucket};
use stammkunde_domain::order::{Order, OrderVersion, PaymentState, Platform};
use stammkunde_domain::ports::Store;

use super::{apply_new, customer, ok, order};
use crate::fixtures::{self, at, record, upsert};

pub async fn an_order_with_three_lines_comes_back_equal(store: &dyn Store) {
    let shop = fixtures::shop("round-trip-order");
    let customer_id = fixtures::customer_id("gid://shopify/Customer/820982911946154508");
    let updated = at(42) + Duration::nanoseconds(123_456_789);
    let payment = PaymentState::PartiallyRefunded;
    let written = Order {
        platform: Platform::Shopware,
        order_number: Some("10001-ÄÖÜ".into()),
        currency: stammkunde_domain::money::Currency::parse("JPY").unwrap_or_else(|e| panic!("{e}")),
        taxes_included: false,
        lines: vec![
            fixtures::order_line("a", 1),
            fixtures::order_line("b", 3),
            stammkunde_domain::order::OrderLine { product_id: None, amount_minor: 0, ..fixtures::order_line("c", 2) },
        ],
        shipping_minor: 0,
        payment,
        discount_codes: vec!["SOMMER-10".into(), "🎉".into()],
        placed_at: at(40) + Duration::microseconds(7),
        version: OrderVersion::of(updated, payment, false),
        paid_at: Some(at(41) + Duration::nanoseconds(3)),
        fulfilled_at: Some(at(43)),
        total_minor: Some(123_456),
        ..fixtures::order(&shop, &fixtures::order_id("order-1"), Some(&customer_id), at(0), at(0))
    };

    apply_new(store, &shop, &[record(written.clone())]).await;

    assert_eq!(order(store, &shop, &written.order_id).await, Some(written));
}

pub async fn a_customer_with_every_field_set_comes_back_equal(store: &dyn Store) {
    let shop = fixtures::shop("round-trip-customer");
    let id = fixtures::customer_id("c-1");
    let profile = CustomerProfile {
        email: Some(fixtures::email("jürgen.öztürk@example.de")),
        first_name: Some("Jürgen 🎂".into()),
        last_name: Some("Öztürk-Weiß".into()),
        locale: Some("de-AT".into()),
        country: Some("AT".into()),
        birthday: Some(fixtures::birthday(2, 29, Some(1996))),
        accepts_email_marketing: Some(false),
        ..fixtures::full_profile(&shop, &id, Some(at(1) + Duration::nanoseconds(1)))
    };
    let placed = at(2) + Duration::nanoseconds(999_999_999);
    let deleted = at(3) + Duration::milliseconds(5);
    let changes = [
        upsert(profile.clone()),
        record(fixtures::order(&shop, &fixtures::order_id("1001"), Some(&id), placed, placed)),
        Change::DeleteCustomer { shop: shop.clone(), customer_id: id.clone(), at: deleted },
    ];
    apply_new(store, &shop, &changes).await;
    let entries = [
        fixtures::earn_entry(&shop, &id, &fixtures::order_id("1001"), 1, Bucket::Available, 17, at(4)),
        fixtures::earn_entry(&shop, &id, &fixtures::order_id("1002"), 2, Bucket::Pending, 23, at(5)),
    ];
    for entry in &entries {
        ok("append_entries", store.append_entries(&shop, &id, std::slice::from_ref(entry)).await);
    }

    let expected = Customer {
        birthday_since: profile.source_updated_at,
        profile,
        last_order_at: Some(placed),
        balance: Balance { available: 17, pending: 23 },
        deleted_at: Some(deleted),
    };
    assert_eq!(customer(store, &shop, &id).await, Some(expected));
    assert_eq!(ok("entries", store.entries(&shop, &id).await), entries.to_vec());
}
