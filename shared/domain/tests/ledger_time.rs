//! What time does to a ledger: lots expire (after a notice), unused codes give their points back,
//! tiers rise with what was earned and fall when it leaves the period. And the schedule never
//! calls the sweep for nothing.

mod book;

use book::{day, order, refund, shop, Book};
use chrono::Duration;
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::ids::{IdempotencyKey, RewardId};
use stammkunde_domain::ledger::{AdjustmentRequest, EntryDetail, EntryKind, RedemptionRequest};

fn adjust(points: i64, k: &str) -> AdjustmentRequest {
    AdjustmentRequest {
        key: IdempotencyKey::parse(k).unwrap_or_else(|e| panic!("{e}")),
        points,
        reason: "import".into(),
        customer_text: None,
    }
}

#[test]
fn a_lot_expires_after_its_months_with_a_notice_before() {
    let mut book = Book::new(shop("[shops.expiry]\nmonths = 12\nnotice_days = 30"));
    book.at(day(1), |d| d.adjust(&adjust(80, "a1")));
    // Credited 1 Jan 2026 10:00: expires 1 Jan 2027, noticed 30 days before.
    let expires = day(1) + chrono::Months::new(12);
    assert_eq!(book.next_due(day(1)), Some(expires - Duration::days(30)));
    assert_eq!(book.tick(expires - Duration::days(30)), vec![EntryKind::ExpiryNotice]);
    let EntryDetail::ExpiryNotice { points, expires_at } = &book.last().detail else { panic!("notice") };
    assert_eq!((*points, *expires_at), (80, expires));
    assert!(book.tick(expires - Duration::days(1)).is_empty(), "one notice per expiry date");
    assert_eq!(book.tick(expires), vec![EntryKind::Expiry]);
    assert_eq!(book.balance().available, 0);
    assert_eq!(book.next_due(expires), None);
}

#[test]
fn under_the_last_activity_basis_every_activity_pushes_the_expiry() {
    let mut book = Book::new(shop("[shops.expiry]\nmonths = 6\nbasis = \"last_activity\"\nnotice_days = 0"));
    book.at(day(1), |d| d.adjust(&adjust(80, "a1")));
    book.reconcile(day(100), &order("1", &[("a", "p", 1, 1000)], day(100)), &[]);
    let six_months = book.tick(day(1) + chrono::Months::new(6));
    assert!(!six_months.contains(&EntryKind::Expiry), "the order on day 100 was activity: {six_months:?}");
    let due = book.next_due(day(120)).unwrap_or_else(|| panic!("due"));
    assert_eq!(book.tick(due).iter().filter(|k| **k == EntryKind::Expiry).count(), 2, "both lots, together");
}

#[test]
fn an_unused_code_gives_its_points_back_a_day_after_it_expires_and_a_used_one_does_not() {
    let mut book = Book::new(shop("[[shops.rewards]]\nid = \"five\"\nname = \"5 €\"\npoints = 40"));
    book.at(day(1), |d| d.adjust(&adjust(100, "a1")));
    for (k, code) in [("k1", "UNUSED-1"), ("k2", "USED-2")] {
        let request = RedemptionRequest {
            key: IdempotencyKey::parse(k).unwrap_or_else(|e| panic!("{e}")),
            reward: RewardId::parse("five").unwrap_or_else(|e| panic!("{e}")),
            code: CouponCode::parse(code).unwrap_or_else(|e| panic!("{e}")),
            expires_at: day(30),
        };
        book.at(day(2), |d| d.redeem(&request));
    }
    let mut with_code = order("9", &[("a", "p", 1, 1000)], day(10));
    with_code.discount_codes = vec!["used-2".into()];
    let used = CouponCode::parse("used-2").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(book.at(day(10), |d| Ok(d.code_used(&used, &with_code)?)), vec![EntryKind::CodeUsed]);
    assert!(book.tick(day(30)).is_empty(), "the grace day");
    assert_eq!(book.tick(day(31)), vec![EntryKind::CodeExpired]);
    assert_eq!(book.balance().available, 100 - 40);
}

const TIERS: &str = r#"
[shops.tiers]
basis = "points_earned"
period = "rolling_12_months"
[[shops.tiers.levels]]
id = "silver"
name = "Silber"
threshold = "100"
multiplier = "1.5"
"#;

#[test]
fn earning_across_a_threshold_changes_the_tier_and_the_next_order_earns_with_its_multiplier() {
    let mut book = Book::new(shop(TIERS));
    assert_eq!(
        book.reconcile(day(1), &order("1", &[("a", "p", 1, 12_000)], day(1)), &[]),
        vec![EntryKind::Earn, EntryKind::TierChange]
    );
    book.reconcile(day(2), &order("2", &[("a", "p", 1, 1_000)], day(2)), &[]);
    let EntryDetail::Earn(basis) = &book.last().detail else { panic!("earn") };
    assert_eq!((basis.lines[0].points, basis.tier.as_ref().map(|t| t.as_str())), (15, Some("silver")));
}

#[test]
fn a_tier_falls_when_its_points_leave_the_rolling_year_or_are_reversed() {
    let mut book = Book::new(shop(TIERS));
    book.reconcile(day(1), &order("1", &[("a", "p", 1, 12_000)], day(1)), &[]);
    let review = book.next_due(day(30)).unwrap_or_else(|| panic!("due"));
    book.tick(review.min(day(30)));
    let leaves = day(1) + chrono::Months::new(12);
    assert_eq!(book.next_due(day(40)), Some(leaves));
    let kinds = book.tick(leaves);
    assert!(kinds.contains(&EntryKind::TierChange), "{kinds:?}");
    assert_eq!(book.state().tier, None);

    let mut second = Book::new(shop(TIERS));
    second.reconcile(day(1), &order("1", &[("a", "p", 1, 12_000)], day(1)), &[]);
    let kinds = second.reconcile(
        day(2),
        &order("1", &[("a", "p", 1, 12_000)], day(1)),
        &[refund("1", "r", &[("a", 1)], day(2))],
    );
    assert_eq!(kinds, vec![EntryKind::Reversal, EntryKind::TierChange]);
}

#[test]
fn a_changed_tier_rule_is_applied_by_the_next_decision_on_the_ledger() {
    let mut book = Book::new(shop(""));
    book.reconcile(day(1), &order("1", &[("a", "p", 1, 12_000)], day(1)), &[]);
    assert_eq!(book.state().tier, None);
    book.shop = shop(TIERS);
    assert_eq!(book.at(day(2), |_| Ok(())), vec![EntryKind::TierChange]);
    assert!(book.at(day(2), |_| Ok(())).is_empty());
}

#[test]
fn whatever_is_due_the_sweep_acts_on_and_then_the_next_due_is_later() {
    let mut book = Book::new(shop(&format!("{TIERS}\n[shops.expiry]\nmonths = 3\nnotice_days = 10\n[[shops.rewards]]\nid = \"five\"\nname = \"5\"\npoints = 40")));
    book.reconcile(day(1), &order("1", &[("a", "p-a", 2, 12_000)], day(1)), &[]);
    book.reconcile(day(3), &order("2", &[("b", "p-b", 1, 5_000)], day(3)), &[refund("2", "r", &[("b", 1)], day(4))]);
    book.at(day(5), |d| {
        d.review(&stammkunde_domain::ledger::ReviewFact {
            product_id: stammkunde_domain::ids::ProductId::parse("p-a").unwrap_or_else(|e| panic!("{e}")),
            review_id: stammkunde_domain::ids::ReviewId::parse("rev").unwrap_or_else(|e| panic!("{e}")),
            published: true,
        })
    });
    let mut now = day(5);
    for _ in 0..40 {
        let Some(due) = book.next_due(now) else { return };
        now = due.max(now);
        let kinds = book.tick(now);
        assert!(book.next_due(now).is_none_or(|next| next > now), "{kinds:?} left something due at {now}");
        now += Duration::seconds(1);
    }
    panic!("the schedule did not settle in 40 steps");
}
