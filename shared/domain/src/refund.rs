//! A refund as the platform reports it: which lines went back and how many of each (Shopify), or
//! only how much money (WooCommerce). Refunds are stored as they arrive, whether or not their
//! order is known yet, and reversed against the order's credit when both are there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{LineId, OrderId, RefundId, ShopId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_id: LineId,
    pub quantity: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub shop: ShopId,
    pub order_id: OrderId,
    pub refund_id: RefundId,
    pub created_at: DateTime<Utc>,
    /// The goods lines refunded. Empty with no `amount_minor`: a refund of shipping or a goodwill
    /// payment, which takes no points back.
    pub lines: Vec<RefundLine>,
    /// Only for platforms that report no lines: the money refunded (positive, minor units), which
    /// takes back points in proportion to the order's total.
    pub amount_minor: Option<i64>,
}

/// Most lines one refund may name, like an order's.
pub const REFUND_LINES_MAX: usize = crate::order::ORDER_LINES_MAX;
