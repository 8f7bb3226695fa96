//! What a refund takes back, line by line, from what the order's lines were credited.
//!
//! Rounding is cumulative: after a line has lost `q` of its `n` units, its reversals add up to
//! `floor(points × q / n)`, so partial refunds never take back more than the line gave, a refund of
//! the last unit takes back exactly the rest, and the order in which partial refunds arrive does
//! not change the total. Refunds that carry only money (WooCommerce) work the same way with the
//! refunded share of the order's total in place of `q / n`.

use super::entry::{LineCredit, LineReversal};
use super::state::OrderAccount;
use crate::refund::Refund;

/// `value × part / whole`, floored, in i128 so no product can overflow; `whole` 0 gives 0.
fn share(value: i64, part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    let exact = i128::from(value) * i128::from(part.clamp(0, whole)) / i128::from(whole);
    i64::try_from(exact).unwrap_or(value)
}

/// The reversal that brings a line from what it has given back so far to its cumulative target.
fn towards(credit: &LineCredit, so_far: &LineReversal, quantity: u32, points: i64, amount: i64) -> LineReversal {
    LineReversal {
        line_id: credit.line_id.clone(),
        quantity: quantity.saturating_sub(so_far.quantity),
        points: (points - so_far.points).max(0),
        amount_minor: (amount - so_far.amount_minor).max(0),
    }
}

fn records_something(line: &LineReversal) -> bool {
    line.points > 0 || line.quantity > 0 || line.amount_minor > 0
}

/// The lines a refund takes back, given what the order's earlier reversals took.
pub fn for_refund(account: &OrderAccount, refund: &Refund) -> Vec<LineReversal> {
    let lines: Vec<LineReversal> = match refund.amount_minor {
        Some(amount) if refund.lines.is_empty() => by_amount(account, amount),
        _ => account
            .basis
            .lines
            .iter()
            .filter_map(|credit| {
                let refunded: u32 = refund
                    .lines
                    .iter()
                    .filter(|l| l.line_id == credit.line_id)
                    .fold(0_u32, |sum, l| sum.saturating_add(l.quantity));
                if refunded == 0 {
                    return None;
                }
                let so_far = account.reversed_line(&credit.line_id);
                let quantity = so_far.quantity.saturating_add(refunded).min(credit.quantity);
                let q = i64::from(quantity);
                let n = i64::from(credit.quantity);
                Some(towards(credit, &so_far, quantity, share(credit.points, q, n), share(credit.amount_minor, q, n)))
            })
            .collect(),
    };
    lines.into_iter().filter(records_something).collect()
}

fn by_amount(account: &OrderAccount, amount: i64) -> Vec<LineReversal> {
    let total = account
        .basis
        .order_total_minor
        .filter(|t| *t > 0)
        .unwrap_or_else(|| account.basis.lines.iter().map(|l| l.amount_minor).sum());
    let refunded = account.refunded_amount_minor.saturating_add(amount.max(0)).min(total);
    account
        .basis
        .lines
        .iter()
        .map(|credit| {
            let so_far = account.reversed_line(&credit.line_id);
            let points = share(credit.points, refunded, total);
            let amount = share(credit.amount_minor, refunded, total);
            towards(credit, &so_far, so_far.quantity, points, amount)
        })
        .collect()
}

/// Everything the order's lines have not yet given back (a cancellation or full refund).
pub fn remainder(account: &OrderAccount) -> Vec<LineReversal> {
    account
        .basis
        .lines
        .iter()
        .map(|credit| {
            towards(
                credit,
                &account.reversed_line(&credit.line_id),
                credit.quantity,
                credit.points,
                credit.amount_minor,
            )
        })
        .filter(records_something)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_floored_and_capped_at_the_whole() {
        assert_eq!(share(10, 1, 3), 3);
        assert_eq!(share(10, 2, 3), 6);
        assert_eq!(share(10, 3, 3), 10);
        assert_eq!(share(10, 5, 3), 10);
        assert_eq!(share(i64::MAX, 1, 1), i64::MAX);
        assert_eq!(share(7, 1, 0), 0);
    }
}
