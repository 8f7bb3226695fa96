//! Reviews, manual adjustments and redemptions: refused when they may not happen, once per key,
//! and spending only what is available.

mod book;

use book::{day, order, shop, Book};
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::ids::{IdempotencyKey, ProductId, ReviewId, RewardId};
use stammkunde_domain::ledger::{
    AdjustmentRequest, Balance, DecisionError, EntryKind, RedemptionRequest, Refusal, ReviewFact,
};

const REWARD: &str = "[[shops.rewards]]\nid = \"five\"\nname = \"5 €\"\npoints = 40";

fn review(product: &str, published: bool) -> ReviewFact {
    ReviewFact {
        product_id: ProductId::parse(product).unwrap_or_else(|e| panic!("{e}")),
        review_id: ReviewId::parse("rev-1").unwrap_or_else(|e| panic!("{e}")),
        published,
    }
}

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn adjust(points: i64, k: &str) -> AdjustmentRequest {
    AdjustmentRequest { key: key(k), points, reason: "goodwill".into(), customer_text: Some("Entschuldigung".into()) }
}

fn redeem(k: &str, code: &str) -> RedemptionRequest {
    RedemptionRequest {
        key: key(k),
        reward: RewardId::parse("five").unwrap_or_else(|e| panic!("{e}")),
        code: CouponCode::parse(code).unwrap_or_else(|e| panic!("{e}")),
        expires_at: day(200),
    }
}

fn bought(shop_extra: &str) -> Book {
    let mut book = Book::new(shop(shop_extra));
    book.reconcile(day(1), &order("1", &[("a", "p-a", 1, 6000)], day(1)), &[]);
    book
}

#[test]
fn a_review_of_a_bought_product_credits_once_held_and_is_released_after_its_hold() {
    let mut book = bought("");
    assert_eq!(book.at(day(2), |d| d.review(&review("p-a", true))), vec![EntryKind::Review]);
    assert!(book.at(day(3), |d| d.review(&review("p-a", true))).is_empty(), "once per customer and product");
    assert_eq!(book.balance(), Balance { available: 0, pending: 60 + 50 });
    assert_eq!(book.tick(day(16)), vec![EntryKind::Review].into_iter().map(|_| EntryKind::Release).collect::<Vec<_>>());
    assert!(
        book.at(day(17), |d| d.review(&review("p-a", false))).is_empty(),
        "unpublishing after the hold changes nothing"
    );
}

#[test]
fn a_review_unpublished_while_held_is_reversed_and_never_credited_again() {
    let mut book = bought("");
    book.at(day(2), |d| d.review(&review("p-a", true)));
    assert_eq!(book.at(day(3), |d| d.review(&review("p-a", false))), vec![EntryKind::ReviewReversal]);
    assert!(book.at(day(4), |d| d.review(&review("p-a", true))).is_empty());
    assert_eq!(book.balance().pending, 60);
}

#[test]
fn a_review_of_a_product_not_bought_is_refused() {
    let mut book = bought("");
    assert_eq!(
        book.try_at(day(2), |d| d.review(&review("p-z", true))),
        Err(DecisionError::Refused(Refusal::NotBought))
    );
    assert_eq!(book.entries.len(), 1);
}

#[test]
fn an_adjustment_is_idempotent_on_its_key_and_a_reused_key_is_refused() {
    let mut book = Book::new(shop(""));
    assert_eq!(book.at(day(1), |d| d.adjust(&adjust(25, "a1"))), vec![EntryKind::Adjustment]);
    assert!(book.at(day(1), |d| d.adjust(&adjust(25, "a1"))).is_empty());
    assert_eq!(book.try_at(day(1), |d| d.adjust(&adjust(99, "a1"))), Err(DecisionError::Refused(Refusal::KeyReused)));
    assert_eq!(book.last().customer_text.as_deref(), Some("Entschuldigung"));
    assert_eq!(book.balance().available, 25);
}

#[test]
fn under_clamp_a_debit_beyond_the_available_balance_is_refused() {
    let mut book = Book::new(shop(""));
    book.at(day(1), |d| d.adjust(&adjust(10, "a1")));
    let refused = book.try_at(day(1), |d| d.adjust(&adjust(-11, "a2")));
    assert_eq!(refused, Err(DecisionError::Refused(Refusal::InsufficientPoints { available: 10, needed: 11 })));
    assert_eq!(book.at(day(1), |d| d.adjust(&adjust(-10, "a3"))), vec![EntryKind::Adjustment]);
    assert_eq!(book.balance().available, 0);
}

#[test]
fn pending_points_cannot_be_spent() {
    let mut book = bought(REWARD);
    let refused = book.try_at(day(2), |d| d.redeem(&redeem("k1", "CODE-1")));
    assert_eq!(refused, Err(DecisionError::Refused(Refusal::InsufficientPoints { available: 0, needed: 40 })));
    book.tick(day(20));
    assert_eq!(book.at(day(20), |d| d.redeem(&redeem("k1", "CODE-1"))), vec![EntryKind::Redemption]);
    assert_eq!(book.balance().available, 20);
}

#[test]
fn a_repeated_redemption_appends_nothing_and_keeps_its_code() {
    let mut book = bought(REWARD);
    book.tick(day(20));
    book.at(day(20), |d| d.redeem(&redeem("k1", "CODE-1")));
    assert!(book.at(day(20), |d| d.redeem(&redeem("k1", "CODE-1"))).is_empty());
    let state = book.state();
    let key = stammkunde_domain::ledger::BusinessKey::redemption(&key("k1"));
    assert_eq!(state.code_of_redemption(&key).map(|(c, _)| c.as_str().to_owned()), Some("CODE-1".into()));
}

#[test]
fn spending_consumes_the_oldest_lots_first() {
    let mut book = Book::new(shop(REWARD));
    book.at(day(1), |d| d.adjust(&adjust(30, "old")));
    book.at(day(2), |d| d.adjust(&adjust(30, "new")));
    book.at(day(3), |d| d.redeem(&redeem("k1", "CODE-1")));
    let lots: Vec<_> = book.state().lots.open().iter().map(|l| (l.key.to_string(), l.remaining)).collect();
    assert_eq!(lots, vec![("adjust:new".to_owned(), 20)]);
}
