//! Which mail a ledger entry calls for: a reversal → the refund notice, an expiry notice → the
//! points-expiring mail, the fulfilment of the customer's first order → the post-purchase
//! thank-you. The mail is recorded as a deferred send, due at its slot, and the mail sweep sends
//! it like any other.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::ledger::{EntryDetail, EntryKind, LedgerEntry};
use crate::mail::campaign::Campaign;
use crate::mail::rule::MailRule;
use crate::mail::slot::{local, next_send_slot};

/// A mail to schedule: its campaign, the customer-local date that keys it, and when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduledMail {
    pub campaign: Campaign,
    pub date: NaiveDate,
    pub due: DateTime<Utc>,
}

/// The mail `entry` calls for, if the shop runs that campaign. `earlier_orders` is how many other
/// orders the customer's ledger credited (post-purchase is for the first order only, unless the
/// shop says otherwise).
pub fn mail_for_entry(entry: &LedgerEntry, earlier_orders: usize, zone: Tz, rule: &MailRule) -> Option<ScheduledMail> {
    let at = entry.created_at;
    let on = |campaign, due| Some(ScheduledMail { campaign, date: local(due, zone).date(), due });
    match (entry.kind, &entry.detail) {
        (EntryKind::Reversal, EntryDetail::Reversal(detail)) if rule.refund_notice.enabled && detail.points() > 0 => {
            // Transactional: due at once, and keyed by the day it happened.
            Some(ScheduledMail { campaign: Campaign::RefundNotice, date: local(at, zone).date(), due: at })
        }
        (EntryKind::ExpiryNotice, EntryDetail::ExpiryNotice { points, .. })
            if rule.points_expiring.enabled && *points > 0 =>
        {
            on(Campaign::PointsExpiring, next_send_slot(at, zone, rule))
        }
        (EntryKind::Window, EntryDetail::Window { fulfilled_at })
            if rule.post_purchase.enabled && (earlier_orders == 0 || rule.post_purchase.repeat_orders) =>
        {
            let after = (*fulfilled_at).max(at) + Duration::days(i64::from(rule.post_purchase.delay_days));
            on(Campaign::PostPurchase, next_send_slot(after, zone, rule))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustomerId, OrderId, ShopId};
    use crate::ledger::BusinessKey;

    fn at(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn window(fulfilled_at: &str, reported_at: &str) -> LedgerEntry {
        let order = OrderId::parse("1001").unwrap_or_else(|e| panic!("{e}"));
        LedgerEntry {
            shop: ShopId::parse("s").unwrap_or_else(|e| panic!("{e}")),
            customer_id: CustomerId::parse("c").unwrap_or_else(|e| panic!("{e}")),
            position: 2,
            key: BusinessKey::window_for_order(&order),
            kind: EntryKind::Window,
            available: 0,
            pending: 0,
            reason: "fulfilled".into(),
            customer_text: None,
            order_id: Some(order),
            detail: EntryDetail::Window { fulfilled_at: at(fulfilled_at) },
            created_at: at(reported_at),
        }
    }

    #[test]
    fn the_thank_you_follows_the_first_orders_fulfilment_only_unless_the_shop_wants_it_for_every_order() {
        let rule = MailRule::default();
        let zone = Tz::Europe__Berlin;
        let entry = window("2026-11-21T15:42:55Z", "2026-11-22T13:20:00Z");
        let mail = mail_for_entry(&entry, 0, zone, &rule).unwrap_or_else(|| panic!("a thank-you"));
        assert_eq!((mail.campaign, mail.due), (Campaign::PostPurchase, at("2026-11-25T13:20:00Z")));
        assert_eq!(mail_for_entry(&entry, 1, zone, &rule), None, "a repeat order");
        let mut every = MailRule::default();
        every.post_purchase.repeat_orders = true;
        assert!(mail_for_entry(&entry, 1, zone, &every).is_some());
        every.post_purchase.enabled = false;
        assert_eq!(mail_for_entry(&entry, 0, zone, &every), None, "switched off");
    }

    #[test]
    fn a_thank_you_due_at_night_waits_for_the_send_hour() {
        let rule = MailRule::default();
        // Reported at 22:30 in Berlin: three days later is quiet hours, so 09:00 the day after.
        let entry = window("2026-11-20T12:00:00Z", "2026-11-22T21:30:00Z");
        let mail = mail_for_entry(&entry, 0, Tz::Europe__Berlin, &rule).unwrap_or_else(|| panic!("a thank-you"));
        assert_eq!(mail.due, at("2026-11-26T08:00:00Z"));
        assert_eq!(mail.date.to_string(), "2026-11-26");
    }
}
