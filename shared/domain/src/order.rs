//! An order as we keep it: normalised from any platform into goods lines in minor units, a payment
//! state, and a version that orders snapshots so a stale retry can never move an order backwards.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, LineId, OrderId, ShopId};
use crate::money::Currency;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Shopify,
    Woocommerce,
    Shopware,
}

impl Platform {
    pub fn as_str(&self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::Woocommerce => "woocommerce",
            Platform::Shopware => "shopware",
        }
    }
}

/// Where the money of an order stands. Refunded states imply the order was paid first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Created, authorised or awaiting payment.
    Pending,
    /// Authorisation released or payment failed: never paid.
    Voided,
    Paid,
    PartiallyRefunded,
    Refunded,
}

impl PaymentState {
    pub fn is_paid(&self) -> bool {
        matches!(self, PaymentState::Paid | PaymentState::PartiallyRefunded | PaymentState::Refunded)
    }

    /// How far along the payment life cycle this state is; breaks ties between snapshots that
    /// carry the same `updated_at`.
    pub fn rank(&self) -> u8 {
        match self {
            PaymentState::Pending => 0,
            PaymentState::Voided => 1,
            PaymentState::Paid => 2,
            PaymentState::PartiallyRefunded => 3,
            PaymentState::Refunded => 4,
        }
    }
}

/// Orders snapshots of one order: the platform's modification time first, then how far the order
/// has progressed. A snapshot is applied only if its version is greater than the stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderVersion {
    pub updated_at: DateTime<Utc>,
    pub progress: u8,
}

impl OrderVersion {
    pub fn of(updated_at: DateTime<Utc>, payment: PaymentState, cancelled: bool) -> Self {
        OrderVersion { updated_at, progress: payment.rank() + if cancelled { 8 } else { 0 } }
    }

    /// A sortable text form (`2026-11-23T08:00:00.000000Z#03`), used as the guard value in stores
    /// that compare strings.
    pub fn sort_key(&self) -> String {
        format!("{}#{:02}", self.updated_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), self.progress)
    }
}

/// One goods line. `amount_minor` is what the customer pays for the line after discounts, with or
/// without tax as the order's `taxes_included` says; `tax_minor` is the tax on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_id: LineId,
    pub product_id: Option<String>,
    pub quantity: u32,
    pub amount_minor: i64,
    pub tax_minor: i64,
}

impl OrderLine {
    pub fn net_minor(&self, taxes_included: bool) -> i64 {
        if taxes_included {
            self.amount_minor - self.tax_minor
        } else {
            self.amount_minor
        }
    }

    pub fn gross_minor(&self, taxes_included: bool) -> i64 {
        if taxes_included {
            self.amount_minor
        } else {
            self.amount_minor + self.tax_minor
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub shop: ShopId,
    pub platform: Platform,
    pub order_id: OrderId,
    /// The number the customer sees (`#1001`), for display only.
    pub order_number: Option<String>,
    /// `None` for guest orders: they are stored but earn nothing, as there is no account to credit.
    pub customer_id: Option<CustomerId>,
    pub currency: Currency,
    pub taxes_included: bool,
    pub lines: Vec<OrderLine>,
    pub shipping_minor: i64,
    pub payment: PaymentState,
    pub cancelled: bool,
    pub discount_codes: Vec<String>,
    pub placed_at: DateTime<Utc>,
    pub version: OrderVersion,
    /// When the platform says the order was paid, where it says so (WooCommerce `date_paid_gmt`).
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
    /// When the goods left or reached the customer, where the platform tells us (Shopify's last
    /// fulfilment of a fulfilled order, WooCommerce `completed`, Shopware's delivery shipped):
    /// the return window runs from here.
    #[serde(default)]
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// What the customer paid in all (goods, shipping, tax), where the platform gives it. Refunds
    /// that carry only an amount (WooCommerce) reverse points in proportion to it.
    #[serde(default)]
    pub total_minor: Option<i64>,
}

impl Order {
    /// The order as it is stored over an older version: every field from this newer version, except the
    /// customer. An order belongs to the first customer it was stored with. A shop can move an
    /// order to another customer afterwards, but its points were credited to the first one under
    /// the order's business key; following the move would credit the order a second time, to a
    /// second customer. A guest order that gains a customer takes that customer.
    /// `stored_customer` is the customer of the stored version, if there is one.
    pub fn keeping_customer(mut self, stored_customer: Option<&CustomerId>) -> Order {
        if let Some(customer) = stored_customer {
            self.customer_id = Some(customer.clone());
        }
        self
    }
}

/// Most lines an order may have. Real orders have a handful; this bounds work and item size.
pub const ORDER_LINES_MAX: usize = 1_000;
