//! Orders on the ledger: credits held until the return window closes, refunds reversed line by line
//! from the stored credit, cancellations, and what a reversal does to points already spent.

mod book;

use book::{day, order, refund, shop, Book};
use chrono::Duration;
use stammkunde_domain::ledger::{Balance, Bucket, EntryDetail, EntryKind, ReversalDetail};
use stammkunde_domain::order::PaymentState;
use stammkunde_domain::refund::Refund;

/// 3 × 10.00 net of line `a` (30 points) and 1 × 25.99 of line `b` (25 points).
fn two_lines(id: &str) -> stammkunde_domain::order::Order {
    order(id, &[("a", "p-a", 3, 3000), ("b", "p-b", 1, 2599)], day(1))
}

fn reversal(book: &Book) -> ReversalDetail {
    match &book.last().detail {
        EntryDetail::Reversal(r) => r.clone(),
        other => panic!("not a reversal: {other:?}"),
    }
}

#[test]
fn a_paid_order_is_credited_pending_per_line_and_floored() {
    let mut book = Book::new(shop(""));
    assert_eq!(book.reconcile(day(1), &two_lines("1"), &[]), vec![EntryKind::Earn]);
    assert_eq!(book.balance(), Balance { available: 0, pending: 55 });
    let EntryDetail::Earn(basis) = &book.last().detail else { panic!("earn") };
    assert_eq!(basis.lines.iter().map(|l| l.points).collect::<Vec<_>>(), vec![30, 25]);
    assert_eq!(basis.paid_at, Some(day(1)));
}

#[test]
fn reconciling_the_same_facts_again_appends_nothing() {
    let mut book = Book::new(shop(""));
    let refunds = [refund("1", "r1", &[("a", 1)], day(2))];
    book.reconcile(day(2), &two_lines("1"), &refunds);
    let before = book.entries.len();
    for _ in 0..3 {
        assert!(book.reconcile(day(3), &two_lines("1"), &refunds).is_empty());
    }
    assert_eq!(book.entries.len(), before);
}

#[test]
fn without_a_fulfilment_the_window_starts_after_the_shipping_allowance() {
    let mut book = Book::new(shop(""));
    book.reconcile(day(1), &two_lines("1"), &[]);
    // Paid on day 1, 5 days' allowance, 14 days' window: free on day 20.
    assert_eq!(book.next_due(day(1)), Some(day(20)));
    assert!(book.tick(day(20) - Duration::seconds(1)).is_empty());
    assert_eq!(book.tick(day(20)), vec![EntryKind::Release]);
    assert_eq!(book.balance(), Balance { available: 55, pending: 0 });
    assert!(book.tick(day(20)).is_empty(), "a second sweep at the same time appends nothing");
}

#[test]
fn a_fulfilment_moves_the_window_to_fourteen_days_after_it() {
    let mut book = Book::new(shop(""));
    let mut fulfilled = two_lines("1");
    book.reconcile(day(1), &fulfilled, &[]);
    fulfilled.fulfilled_at = Some(day(9));
    assert_eq!(book.reconcile(day(9), &fulfilled, &[]), vec![EntryKind::Window]);
    assert_eq!(book.next_due(day(9)), Some(day(23)));
    assert!(book.tick(day(22)).is_empty());
    assert_eq!(book.tick(day(23)), vec![EntryKind::Release]);
}

#[test]
fn a_keep_bonus_rewards_an_order_with_nothing_returned_and_only_such_an_order() {
    let mut book = Book::new(shop("[shops.hold]\nkeep_bonus_percent = 10\nkeep_bonus_points = 2"));
    book.reconcile(day(1), &two_lines("kept"), &[]);
    book.reconcile(day(1), &two_lines("returned"), &[refund("returned", "r1", &[("b", 1)], day(2))]);
    let kinds = book.tick(day(20));
    assert_eq!(kinds, vec![EntryKind::Release, EntryKind::KeepBonus, EntryKind::Release]);
    // kept: 55 + 10 % of 55 (5) + 2; returned: 55 − 25.
    assert_eq!(book.balance(), Balance { available: 55 + 7 + 30, pending: 0 });
}

#[test]
fn partial_refunds_reverse_in_proportion_and_together_exactly_what_the_line_gave() {
    let mut book = Book::new(shop(""));
    // 3 units for 31 points: 1 unit back takes floor(31/3) = 10, two take 20, all three 31.
    let o = order("1", &[("a", "p-a", 3, 3100)], day(1));
    book.reconcile(day(1), &o, &[]);
    let mut refunds = vec![refund("1", "r1", &[("a", 1)], day(2))];
    book.reconcile(day(2), &o, &refunds);
    assert_eq!(reversal(&book).points(), 10);
    refunds.push(refund("1", "r2", &[("a", 1)], day(3)));
    book.reconcile(day(3), &o, &refunds);
    assert_eq!(reversal(&book).points(), 10);
    refunds.push(refund("1", "r3", &[("a", 1)], day(4)));
    book.reconcile(day(4), &o, &refunds);
    assert_eq!(reversal(&book).points(), 11);
    assert_eq!(book.balance(), Balance::default());
    // More refunded than bought (a platform's bug) still takes back nothing more.
    refunds.push(refund("1", "r4", &[("a", 5)], day(5)));
    assert!(book.reconcile(day(5), &o, &refunds).is_empty());
}

#[test]
fn a_refund_that_arrives_before_its_order_is_reversed_when_the_order_is_credited() {
    let mut book = Book::new(shop(""));
    let early = [refund("1", "r1", &[("a", 3)], day(1))];
    assert_eq!(book.reconcile(day(2), &two_lines("1"), &early), vec![EntryKind::Earn, EntryKind::Reversal]);
    assert_eq!(book.balance(), Balance { available: 0, pending: 25 });
    assert_eq!(reversal(&book).from, Bucket::Pending);
}

#[test]
fn a_shipping_only_refund_reverses_nothing_and_records_nothing() {
    let mut book = Book::new(shop(""));
    let shipping = Refund { lines: vec![], ..refund("1", "r1", &[], day(2)) };
    book.reconcile(day(1), &two_lines("1"), &[]);
    assert!(book.reconcile(day(2), &two_lines("1"), &[shipping]).is_empty());
    assert_eq!(book.balance().pending, 55);
}

#[test]
fn an_amount_only_refund_reverses_its_share_of_the_order_total() {
    let mut book = Book::new(shop(""));
    let mut o = two_lines("1");
    o.total_minor = Some(10_000);
    book.reconcile(day(1), &o, &[]);
    let quarter = Refund { lines: vec![], amount_minor: Some(2_500), ..refund("1", "r1", &[], day(2)) };
    book.reconcile(day(2), &o, std::slice::from_ref(&quarter));
    // 30 × ¼ = 7 and 25 × ¼ = 6, floored per line.
    assert_eq!(reversal(&book).points(), 13);
    let rest = Refund { amount_minor: Some(7_500), ..refund("1", "r2", &[], day(3)) };
    let rest = Refund { lines: vec![], ..rest };
    book.reconcile(day(3), &o, &[quarter, rest]);
    assert_eq!(book.balance(), Balance::default(), "all of the money back takes back all the points");
}

#[test]
fn a_cancellation_reverses_what_refunds_have_not_and_an_unpaid_cancellation_credits_nothing() {
    let mut book = Book::new(shop(""));
    let refunds = [refund("1", "r1", &[("a", 1)], day(2))];
    book.reconcile(day(2), &two_lines("1"), &refunds);
    let mut cancelled = two_lines("1");
    cancelled.cancelled = true;
    assert_eq!(book.reconcile(day(3), &cancelled, &refunds), vec![EntryKind::Reversal]);
    assert_eq!(book.balance(), Balance::default());

    let mut never_paid = two_lines("2");
    never_paid.payment = PaymentState::Voided;
    never_paid.cancelled = true;
    assert!(book.reconcile(day(3), &never_paid, &[]).is_empty());
}

#[test]
fn a_refund_after_the_window_takes_from_the_available_balance() {
    let mut book = Book::new(shop(""));
    book.reconcile(day(1), &two_lines("1"), &[]);
    book.tick(day(20));
    book.reconcile(day(30), &two_lines("1"), &[refund("1", "r1", &[("b", 1)], day(30))]);
    assert_eq!(reversal(&book).from, Bucket::Available);
    assert_eq!(book.balance(), Balance { available: 30, pending: 0 });
}

fn spent_all_then_refunded(policy: &str) -> Book {
    let mut book = Book::new(shop(&format!(
        "[shops.reversals]\npolicy = \"{policy}\"\n[[shops.rewards]]\nid = \"r\"\nname = \"5 €\"\npoints = 50"
    )));
    book.reconcile(day(1), &two_lines("1"), &[]);
    book.tick(day(20));
    let code = stammkunde_domain::coupon::CouponCode::parse("CODE-1").unwrap_or_else(|e| panic!("{e}"));
    let request = stammkunde_domain::ledger::RedemptionRequest {
        key: stammkunde_domain::ids::IdempotencyKey::parse("k1").unwrap_or_else(|e| panic!("{e}")),
        reward: stammkunde_domain::ids::RewardId::parse("r").unwrap_or_else(|e| panic!("{e}")),
        code,
        expires_at: day(120),
    };
    book.at(day(21), |d| d.redeem(&request));
    assert_eq!(book.balance().available, 5);
    book.reconcile(day(22), &two_lines("1"), &[refund("1", "r1", &[("a", 3)], day(22))]);
    book
}

#[test]
fn under_clamp_a_reversal_of_spent_points_floors_at_zero_and_records_the_shortfall() {
    let book = spent_all_then_refunded("clamp");
    let r = reversal(&book);
    assert_eq!((r.points(), r.shortfall), (30, 25));
    assert_eq!(book.balance(), Balance { available: 0, pending: 0 });
    assert_eq!(book.state().shortfall, 25);
}

#[test]
fn under_debt_a_reversal_of_spent_points_goes_negative_and_the_next_earnings_pay_it() {
    let mut book = spent_all_then_refunded("debt");
    assert_eq!(book.balance().available, -25);
    book.reconcile(day(30), &order("2", &[("x", "p-x", 1, 4000)], day(30)), &[]);
    book.tick(day(60));
    assert_eq!(book.balance().available, 15);
    assert_eq!(book.state().lots.open().iter().map(|l| l.remaining).sum::<i64>(), 15, "the debt was paid first");
}

#[test]
fn a_rule_change_never_changes_what_a_past_order_earned_or_gives_back() {
    let mut book = Book::new(shop(""));
    book.reconcile(day(1), &two_lines("1"), &[]);
    book.shop = shop("[shops.earn]\npoints_per_unit = \"5\"");
    book.reconcile(day(2), &two_lines("1"), &[refund("1", "r1", &[("a", 3)], day(2))]);
    assert_eq!(reversal(&book).points(), 30, "the stored credit of the line, not the new rate");
}

#[test]
fn a_shop_without_a_window_credits_available_at_once() {
    let mut book = Book::new(shop("[shops.hold]\nreturn_window_days = 0"));
    book.reconcile(day(1), &two_lines("1"), &[]);
    assert_eq!(book.balance(), Balance { available: 55, pending: 0 });
    assert_eq!(book.next_due(day(1)).map(|d| d > day(600)), Some(true), "only the expiry is due, far away");
}
