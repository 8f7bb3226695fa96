//! An order and its refunds, reconciled with the ledger: the credit it earns, the fulfilment that
//! starts its return window, and a reversal for each refund and for a cancellation. Whatever the
//! order in which facts arrive, and however often, reconciling the same facts again appends
//! nothing; a refund that arrives before its order waits in the store and is reversed here when
//! the order is credited.

use super::{Decision, Draft};
use crate::coupon::CouponCode;
use crate::ledger::entry::{Bucket, BusinessKey, EntryDetail, EntryKind, LineReversal, ReversalCause, ReversalDetail};
use crate::ledger::reversal;
use crate::ledger::state::{LedgerViolation, OrderAccount};
use crate::order::{Order, PaymentState};
use crate::refund::Refund;

impl Decision<'_> {
    /// Everything the order's stored state and its stored refunds call for on this ledger.
    pub fn reconcile_order(&mut self, order: &Order, refunds: &[Refund]) -> Result<(), LedgerViolation> {
        if order.customer_id.as_ref() != Some(&self.state.customer_id) || order.shop != self.state.shop {
            return Ok(());
        }
        if !self.state.orders.contains_key(&order.order_id) {
            self.earn(order)?;
        }
        let Some(account) = self.state.orders.get(&order.order_id) else { return Ok(()) };
        if let (Some(fulfilled_at), None, None) = (order.fulfilled_at, account.fulfilled_at, account.released_at) {
            let key = BusinessKey::window_for_order(&order.order_id);
            let reason = format!("{} fulfilled", label(order));
            self.push(
                Draft::new(EntryKind::Window, key, reason, EntryDetail::Window { fulfilled_at }).order(&order.order_id),
            )?;
        }
        let mut refunds: Vec<&Refund> = refunds.iter().filter(|r| r.order_id == order.order_id).collect();
        refunds.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.refund_id.cmp(&b.refund_id)));
        for refund in refunds {
            self.reverse_refund(order, refund)?;
        }
        if order.cancelled {
            self.reverse_rest(order, ReversalCause::Cancellation)?;
        } else if order.payment == PaymentState::Refunded {
            self.reverse_rest(order, ReversalCause::FullRefund)?;
        }
        Ok(())
    }

    /// An order that used one of this customer's codes.
    pub fn code_used(&mut self, code: &CouponCode, order: &Order) -> Result<(), LedgerViolation> {
        match self.state.codes.get(code) {
            Some(account) if !account.used => {
                let reason = format!("code used on {}", label(order));
                let draft = Draft::new(
                    EntryKind::CodeUsed,
                    BusinessKey::code_used(code),
                    reason,
                    EntryDetail::Code { code: code.clone() },
                );
                self.push(draft.order(&order.order_id))
            }
            _ => Ok(()),
        }
    }

    fn earn(&mut self, order: &Order) -> Result<(), LedgerViolation> {
        // A cancelled or wholly refunded order that was never credited nets to nothing: credit
        // nothing rather than credit and reverse.
        if !order.payment.is_paid() || order.cancelled || order.payment == PaymentState::Refunded {
            return Ok(());
        }
        let level = self.tier_now();
        let multiplier = level.map_or(rust_decimal::Decimal::ONE, |l| l.multiplier);
        let Some(mut basis) = self.shop.earn.earn_with(order, multiplier) else { return Ok(()) };
        basis.tier = level.map(|l| l.id.clone());
        basis.paid_at = Some(order.paid_at.unwrap_or(self.now));
        basis.order_total_minor = order.total_minor;
        let points = basis.points();
        let bucket = if self.shop.hold.return_window_days > 0 { Bucket::Pending } else { Bucket::Available };
        let reason = format!("{} paid", label(order));
        let draft =
            Draft::new(EntryKind::Earn, BusinessKey::earn_for_order(&order.order_id), reason, EntryDetail::Earn(basis));
        self.push(draft.points(bucket, points).order(&order.order_id))
    }

    fn reverse_refund(&mut self, order: &Order, refund: &Refund) -> Result<(), LedgerViolation> {
        let Some(account) = self.state.orders.get(&order.order_id) else { return Ok(()) };
        if account.refunds.contains(&refund.refund_id) || account.fully_reversed {
            return Ok(());
        }
        let lines = reversal::for_refund(account, refund);
        let amount_minor = refund.amount_minor.filter(|_| refund.lines.is_empty());
        // A refund of shipping alone, or a goodwill payment, takes back nothing and records nothing.
        if lines.is_empty() && amount_minor.is_none_or(|m| m <= 0) {
            return Ok(());
        }
        let key = BusinessKey::reversal_for_refund(&order.order_id, &refund.refund_id);
        let cause = ReversalCause::Refund { refund_id: refund.refund_id.clone(), amount_minor };
        let reason = format!("refund {} of {}", refund.refund_id, label(order));
        self.push_reversal(order, key, cause, lines, reason)
    }

    fn reverse_rest(&mut self, order: &Order, cause: ReversalCause) -> Result<(), LedgerViolation> {
        let Some(account) = self.state.orders.get(&order.order_id) else { return Ok(()) };
        if account.fully_reversed {
            return Ok(());
        }
        let lines = reversal::remainder(account);
        if lines.is_empty() {
            return Ok(());
        }
        let (key, what) = match cause {
            ReversalCause::Cancellation => (BusinessKey::reversal_for_cancellation(&order.order_id), "cancelled"),
            _ => (BusinessKey::reversal_for_full_refund(&order.order_id), "refunded in full"),
        };
        let reason = format!("{} {what}", label(order));
        self.push_reversal(order, key, cause, lines, reason)
    }

    fn push_reversal(
        &mut self,
        order: &Order,
        key: BusinessKey,
        cause: ReversalCause,
        lines: Vec<LineReversal>,
        reason: String,
    ) -> Result<(), LedgerViolation> {
        let Some(account) = self.state.orders.get(&order.order_id) else { return Ok(()) };
        let points: i64 = lines.iter().map(|l| l.points).sum();
        let (from, taken) = self.source_of(account, points);
        let shortfall = points - taken;
        let detail = EntryDetail::Reversal(ReversalDetail { cause, from, lines, shortfall });
        self.push(Draft::new(EntryKind::Reversal, key, reason, detail).points(from, -taken).order(&order.order_id))
    }

    /// Where a reversal of `points` comes from and how much it can take: a held order's own
    /// pending points first; else the available balance, floored at zero under `clamp`.
    fn source_of(&self, account: &OrderAccount, points: i64) -> (Bucket, i64) {
        if account.released_at.is_none() && account.pending > 0 {
            return (Bucket::Pending, points.min(account.pending));
        }
        let available = self.state.balance().available;
        match self.shop.reversals.policy {
            crate::programme::ReversalPolicy::Clamp => (Bucket::Available, points.min(available.max(0))),
            crate::programme::ReversalPolicy::Debt => (Bucket::Available, points),
        }
    }
}

/// Longest order number a reason quotes; platforms allow long free text there.
const LABEL_NUMBER_CHARS_MAX: usize = 40;

/// How entries name an order: its number where the platform gave one (bounded).
fn label(order: &Order) -> String {
    let number = order.order_number.as_deref().unwrap_or(order.order_id.as_str());
    let shown: String = number.chars().take(LABEL_NUMBER_CHARS_MAX).collect();
    let ellipsis = if number.chars().count() > LABEL_NUMBER_CHARS_MAX { "…" } else { "" };
    format!("order {shown}{ellipsis}")
}
