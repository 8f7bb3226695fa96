//! The sweep's decision for one customer: everything that has fallen due by `now`. Holds end
//! (with the keep bonus for orders nothing was returned from), unused codes run out, customers
//! are told before points expire, and lots expire. Running it twice at the same time appends
//! nothing the second time.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Decision, Draft};
use crate::ledger::entry::{Bucket, BusinessKey, EntryDetail, EntryKind};
use crate::ledger::schedule::{lot_expiry, notice_due, release_due, review_release_due, CODE_EXPIRY_GRACE};
use crate::ledger::state::LedgerViolation;

impl Decision<'_> {
    pub fn tick(&mut self) -> Result<(), LedgerViolation> {
        self.release_orders()?;
        self.release_reviews()?;
        self.expire_codes()?;
        self.expire_lots()
    }

    fn release_orders(&mut self) -> Result<(), LedgerViolation> {
        let due: Vec<_> = self
            .state
            .orders
            .iter()
            .filter(|(_, a)| a.released_at.is_none() && a.pending > 0 && release_due(a, &self.shop.hold) <= self.now)
            .map(|(id, a)| (id.clone(), a.earn_key.clone(), a.pending, a.earned(), a.anything_returned()))
            .collect();
        for (order_id, earn_key, pending, earned, returned) in due {
            let reason = format!("return window of order {order_id} closed");
            let draft = Draft::new(
                EntryKind::Release,
                BusinessKey::release_for_order(&order_id),
                reason,
                EntryDetail::Release { of: earn_key },
            );
            let mut draft = draft.points(Bucket::Pending, -pending).order(&order_id);
            draft.available = pending;
            self.push(draft)?;
            let bonus = self.shop.hold.keep_bonus(earned);
            if !returned && bonus > 0 {
                let reason = format!("kept everything of order {order_id}");
                let key = BusinessKey::keep_bonus_for_order(&order_id);
                self.push(
                    Draft::new(EntryKind::KeepBonus, key, reason, EntryDetail::None)
                        .points(Bucket::Available, bonus)
                        .order(&order_id),
                )?;
            }
        }
        Ok(())
    }

    fn release_reviews(&mut self) -> Result<(), LedgerViolation> {
        let due: Vec<_> = self
            .state
            .reviews
            .iter()
            .filter(|(_, r)| {
                r.released_at.is_none() && r.pending > 0 && review_release_due(r, &self.shop.reviews) <= self.now
            })
            .map(|(product, r)| (product.clone(), r.key.clone(), r.pending))
            .collect();
        for (product, review_key, pending) in due {
            let reason = format!("review of product {product} kept");
            let draft = Draft::new(
                EntryKind::Release,
                BusinessKey::review_release(&product),
                reason,
                EntryDetail::Release { of: review_key },
            );
            let mut draft = draft.points(Bucket::Pending, -pending);
            draft.available = pending;
            self.push(draft)?;
        }
        Ok(())
    }

    fn expire_codes(&mut self) -> Result<(), LedgerViolation> {
        let due: Vec<_> = self
            .state
            .codes
            .iter()
            .filter(|(_, c)| !c.used && !c.expired && c.expires_at + CODE_EXPIRY_GRACE <= self.now)
            .map(|(code, c)| (code.clone(), c.reward.clone(), c.points))
            .collect();
        for (code, reward, points) in due {
            // A reward no longer configured still gives its points back: the customer paid them.
            let returns = self.shop.reward(&reward).is_none_or(|r| r.return_points_on_expiry);
            let back = if returns { points } else { 0 };
            let reason = format!("code {code} expired unused");
            let draft = Draft::new(
                EntryKind::CodeExpired,
                BusinessKey::code_expired(&code),
                reason,
                EntryDetail::Code { code },
            );
            self.push(draft.points(Bucket::Available, back))?;
        }
        Ok(())
    }

    fn expire_lots(&mut self) -> Result<(), LedgerViolation> {
        let rule = self.shop.expiry.clone();
        let lots: Vec<(BusinessKey, i64, DateTime<Utc>)> = self
            .state
            .lots
            .open()
            .iter()
            .filter_map(|lot| Some((lot.key.clone(), lot.remaining, lot_expiry(lot, &self.state, &rule)?)))
            .collect();
        let now = self.now;
        for (lot, remaining, _) in lots.iter().filter(|(_, _, at)| *at <= now) {
            let reason = format!("{remaining} points from {lot} expired");
            let draft = Draft::new(
                EntryKind::Expiry,
                BusinessKey::expiry(lot),
                reason,
                EntryDetail::Expiry { lot: lot.clone() },
            );
            self.push(draft.points(Bucket::Available, -remaining))?;
        }
        if rule.notice_days == 0 {
            return Ok(());
        }
        // One notice per expiry date, for everything expiring that day.
        let mut by_day: BTreeMap<NaiveDate, (i64, DateTime<Utc>)> = BTreeMap::new();
        for (_, remaining, expires_at) in lots.iter().filter(|(_, _, at)| *at > now && notice_due(*at, &rule) <= now) {
            let day = by_day.entry(expires_at.date_naive()).or_insert((0, *expires_at));
            day.0 += remaining;
            day.1 = day.1.min(*expires_at);
        }
        for (day, (points, expires_at)) in by_day {
            let key = BusinessKey::expiry_notice(day);
            if self.state.has_key(&key) {
                continue;
            }
            let reason = format!("{points} points expire on {day}");
            self.push(Draft::new(
                EntryKind::ExpiryNotice,
                key,
                reason,
                EntryDetail::ExpiryNotice { points, expires_at },
            ))?;
        }
        Ok(())
    }
}
