//! Lots: every credit to the available balance is a lot that expires on its own date, and spending
//! consumes the oldest lots first.
//!
//! A debit names the lot it should take from first where it has one (a reversal takes back its
//! own order's points, an expiry its own lot), then takes the oldest. What no lot covers is debt
//! (the `debt` policy lets the balance go negative), and the next credits pay the debt before they
//! become lots. Invariant: the lots' remainders minus the debt are the available balance.

use chrono::{DateTime, Utc};

use super::entry::BusinessKey;
use crate::ids::OrderId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lot {
    /// The key of the entry that credited it.
    pub key: BusinessKey,
    pub credited_at: DateTime<Utc>,
    /// The order it came from, if any: its reversals take from this lot first.
    pub order_id: Option<OrderId>,
    pub remaining: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lots {
    /// Oldest first; a lot leaves when nothing remains of it.
    lots: Vec<Lot>,
    /// Points spent that no lot covered (never negative).
    debt: i64,
}

/// Which lot a debit takes from before the oldest.
#[derive(Clone, Copy, Debug)]
pub enum Prefer<'a> {
    Oldest,
    Order(&'a OrderId),
    Lot(&'a BusinessKey),
}

impl Lots {
    /// A credit: pays debt first, the rest becomes a lot.
    pub fn credit(&mut self, key: &BusinessKey, at: DateTime<Utc>, order_id: Option<&OrderId>, points: i64) {
        let paid = points.min(self.debt).max(0);
        self.debt -= paid;
        let rest = points - paid;
        if rest > 0 {
            self.lots.push(Lot { key: key.clone(), credited_at: at, order_id: order_id.cloned(), remaining: rest });
        }
    }

    /// A debit of `points`: from the preferred lot, then the oldest; the rest becomes debt.
    pub fn debit(&mut self, points: i64, prefer: Prefer<'_>) {
        let mut left = points.max(0);
        let first = self.lots.iter().position(|lot| match prefer {
            Prefer::Oldest => false,
            Prefer::Order(order) => lot.order_id.as_ref() == Some(order),
            Prefer::Lot(key) => &lot.key == key,
        });
        if let Some(index) = first {
            left = take(&mut self.lots[index], left);
        }
        for lot in self.lots.iter_mut() {
            if left == 0 {
                break;
            }
            left = take(lot, left);
        }
        self.lots.retain(|lot| lot.remaining > 0);
        self.debt += left;
    }

    /// The lots still holding points, oldest first.
    pub fn open(&self) -> &[Lot] {
        &self.lots
    }

    pub fn lot(&self, key: &BusinessKey) -> Option<&Lot> {
        self.lots.iter().find(|lot| &lot.key == key)
    }

    pub fn debt(&self) -> i64 {
        self.debt
    }

    /// What the lots hold, net of debt: must equal the available balance.
    pub fn net(&self) -> i64 {
        self.lots.iter().map(|lot| lot.remaining).sum::<i64>() - self.debt
    }
}

/// Takes up to `wanted` from the lot; returns what is still wanted.
fn take(lot: &mut Lot, wanted: i64) -> i64 {
    let taken = wanted.min(lot.remaining);
    lot.remaining -= taken;
    wanted - taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(k: &str) -> BusinessKey {
        BusinessKey::parse(k).unwrap_or_else(|e| panic!("{e}"))
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).single().unwrap_or_default()
    }

    #[test]
    fn spending_takes_the_oldest_lots_first() {
        let mut lots = Lots::default();
        lots.credit(&key("a"), day(1), None, 100);
        lots.credit(&key("b"), day(2), None, 50);
        lots.debit(120, Prefer::Oldest);
        assert_eq!(lots.open().iter().map(|l| (l.key.as_str(), l.remaining)).collect::<Vec<_>>(), vec![("b", 30)]);
        assert_eq!(lots.net(), 30);
    }

    #[test]
    fn a_reversal_takes_its_own_orders_lot_first() {
        let order = OrderId::parse("o2").unwrap_or_else(|e| panic!("{e}"));
        let mut lots = Lots::default();
        lots.credit(&key("a"), day(1), None, 100);
        lots.credit(&key("b"), day(2), Some(&order), 50);
        lots.debit(60, Prefer::Order(&order));
        assert_eq!(lots.open().iter().map(|l| (l.key.as_str(), l.remaining)).collect::<Vec<_>>(), vec![("a", 90)]);
    }

    #[test]
    fn debt_is_paid_by_the_next_credit_before_it_becomes_a_lot() {
        let mut lots = Lots::default();
        lots.credit(&key("a"), day(1), None, 10);
        lots.debit(25, Prefer::Oldest);
        assert_eq!((lots.debt(), lots.net()), (15, -15));
        lots.credit(&key("b"), day(2), None, 40);
        assert_eq!((lots.debt(), lots.net()), (0, 25));
        assert_eq!(lots.open().len(), 1);
    }
}
