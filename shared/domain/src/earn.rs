//! The earn rule: how many points a paid order is worth.
//!
//! Rounding is per line and always down (floor), so the sum of what lines earned is exactly the
//! entry's points and a refund of a line can take back at most what that line gave.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::ids::LineId;
use crate::ledger::{EarnBasis, LineCredit};
use crate::order::Order;

/// A shop's earn rule. Defaults: 1 point per whole unit of currency on the goods, tax and shipping
/// excluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarnRule {
    /// Points per whole unit of the shop's currency (e.g. 1 point per 1 EUR). A decimal, e.g. "0.5".
    #[serde(with = "rust_decimal::serde::str")]
    pub points_per_unit: Decimal,
    /// Overrides per currency code for shops that sell in several (`CHF = "1.1"`).
    pub points_per_unit_by_currency: BTreeMap<String, String>,
    /// Count tax as part of the goods (German shops show gross prices).
    pub include_tax: bool,
    /// Count shipping as a line of its own.
    pub include_shipping: bool,
}

impl Default for EarnRule {
    fn default() -> Self {
        EarnRule {
            points_per_unit: Decimal::ONE,
            points_per_unit_by_currency: BTreeMap::new(),
            include_tax: false,
            include_shipping: false,
        }
    }
}

/// Highest earn rate accepted: far above any real programme (1 point per cent), and low enough that
/// no line amount times the rate can overflow.
pub const POINTS_PER_UNIT_MAX: i64 = 1_000;

fn check_rate(name: &str, rate: Decimal) -> Result<(), String> {
    if rate.is_sign_negative() || rate > Decimal::from(POINTS_PER_UNIT_MAX) {
        return Err(format!("{name} must be between 0 and {POINTS_PER_UNIT_MAX}"));
    }
    Ok(())
}

/// The pseudo line id under which shipping earns, when the rule counts it.
pub const SHIPPING_LINE_ID: &str = "shipping";

impl EarnRule {
    /// Checks the rule once, at configuration load.
    pub fn validate(&self) -> Result<(), String> {
        check_rate("earn.points_per_unit", self.points_per_unit)?;
        for (code, rate) in &self.points_per_unit_by_currency {
            crate::money::Currency::parse(code).map_err(|e| e.to_string())?;
            let rate: Decimal = rate.parse().map_err(|_| format!("earn rate for {code} is not a decimal"))?;
            check_rate(code, rate)?;
        }
        Ok(())
    }

    fn rate_for(&self, currency_code: &str) -> Decimal {
        self.points_per_unit_by_currency.get(currency_code).and_then(|r| r.parse().ok()).unwrap_or(self.points_per_unit)
    }

    /// What a paid order earns, line by line; `None` when it earns nothing.
    pub fn earn(&self, order: &Order) -> Option<EarnBasis> {
        self.earn_with(order, Decimal::ONE)
    }

    /// The same, with a tier's earn multiplier applied to the rate before flooring.
    pub fn earn_with(&self, order: &Order, multiplier: Decimal) -> Option<EarnBasis> {
        let base_rate = self.rate_for(order.currency.code());
        let rate = base_rate.checked_mul(multiplier)?;
        let unit = Decimal::from(10_i64.pow(order.currency.exponent()));
        let credit = |line_id: LineId, product_id: Option<String>, quantity: u32, amount_minor: i64| {
            let amount_minor = amount_minor.max(0);
            // Checked: amounts are bounded by the parsers and rates by `validate`, so `None` cannot
            // happen for a configured rule; if it ever did, the line earns nothing rather than panic.
            let points = Decimal::from(amount_minor)
                .checked_mul(rate)
                .and_then(|p| p.checked_div(unit))
                .and_then(|p| p.floor().to_i64())
                .unwrap_or(0);
            LineCredit { line_id, product_id, quantity, amount_minor, points }
        };
        let mut lines: Vec<LineCredit> = order
            .lines
            .iter()
            .map(|l| {
                let amount = if self.include_tax {
                    l.gross_minor(order.taxes_included)
                } else {
                    l.net_minor(order.taxes_included)
                };
                credit(l.line_id.clone(), l.product_id.clone(), l.quantity, amount)
            })
            .collect();
        if self.include_shipping && order.shipping_minor > 0 {
            if let Ok(id) = LineId::parse(SHIPPING_LINE_ID) {
                lines.push(credit(id, None, 1, order.shipping_minor));
            }
        }
        lines.retain(|l| l.points > 0);
        if lines.is_empty() {
            return None;
        }
        Some(EarnBasis {
            currency: order.currency,
            points_per_unit: base_rate,
            tax_included: self.include_tax,
            multiplier,
            tier: None,
            order_total_minor: None,
            paid_at: None,
            lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrderId, ShopId};
    use crate::money::Currency;
    use crate::order::{OrderLine, OrderVersion, PaymentState, Platform};
    use chrono::{TimeZone, Utc};

    fn order(taxes_included: bool, lines: &[(i64, i64)]) -> Option<Order> {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).single()?;
        Some(Order {
            shop: ShopId::parse("s").ok()?,
            platform: Platform::Shopify,
            order_id: OrderId::parse("1").ok()?,
            order_number: None,
            customer_id: None,
            currency: Currency::parse("EUR").ok()?,
            taxes_included,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (amount, tax))| OrderLine {
                    line_id: LineId::parse(&format!("l{i}")).unwrap_or_else(|e| panic!("{e}")),
                    product_id: None,
                    quantity: 1,
                    amount_minor: *amount,
                    tax_minor: *tax,
                })
                .collect(),
            shipping_minor: 495,
            payment: PaymentState::Paid,
            cancelled: false,
            discount_codes: vec![],
            placed_at: at,
            version: OrderVersion::of(at, PaymentState::Paid, false),
            paid_at: None,
            fulfilled_at: None,
            total_minor: None,
        })
    }

    #[test]
    fn points_are_floored_per_line_and_exclude_tax_and_shipping_by_default() {
        // Gross 119.00 incl. 19.00 tax → net 100.00 → 100 points; 9.99 → 9 points.
        let o = order(true, &[(11900, 1900), (999, 0)]).unwrap_or_else(|| panic!("fixture"));
        let basis = EarnRule::default().earn(&o).unwrap_or_else(|| panic!("earns"));
        assert_eq!(basis.lines.iter().map(|l| l.points).collect::<Vec<_>>(), vec![100, 9]);
    }

    #[test]
    fn a_shop_can_count_tax_and_shipping() {
        let o = order(false, &[(10000, 1900)]).unwrap_or_else(|| panic!("fixture"));
        let rule = EarnRule { include_tax: true, include_shipping: true, ..EarnRule::default() };
        let basis = rule.earn(&o).unwrap_or_else(|| panic!("earns"));
        assert_eq!(basis.lines.iter().map(|l| l.points).sum::<i64>(), 119 + 4);
    }

    #[test]
    fn an_order_worth_less_than_one_point_earns_nothing() {
        let o = order(false, &[(99, 0)]).unwrap_or_else(|| panic!("fixture"));
        assert_eq!(EarnRule::default().earn(&o), None);
    }

    #[test]
    fn a_rate_per_currency_overrides_the_default() {
        let o = order(false, &[(1000, 0)]).unwrap_or_else(|| panic!("fixture"));
        let mut rule = EarnRule::default();
        rule.points_per_unit_by_currency.insert("EUR".into(), "2.5".into());
        assert_eq!(rule.earn(&o).map(|b| b.lines[0].points), Some(25));
    }
}
