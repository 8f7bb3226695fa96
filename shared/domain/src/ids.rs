//! Identifier newtypes. Each is parsed once at the edge ("parse, don't validate") and bounded in
//! length and alphabet, so a hostile id can never reach a store key or a log line unchecked.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::InputError;

/// Longest identifier we accept. Platform ids are at most a few dozen characters; anything longer
/// is an attack or a bug, and store keys (DynamoDB: 1 KiB for a partition key) must stay small.
pub const ID_LENGTH_MAX: usize = 128;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '@' | '+')
}

fn parse_id(kind: &'static str, raw: &str) -> Result<String, InputError> {
    if raw.is_empty() {
        return Err(InputError::Invalid { field: kind, reason: "is empty".into() });
    }
    if raw.len() > ID_LENGTH_MAX {
        return Err(InputError::Invalid { field: kind, reason: format!("is longer than {ID_LENGTH_MAX} bytes") });
    }
    if !raw.chars().all(is_id_char) {
        return Err(InputError::Invalid {
            field: kind,
            reason: "contains characters outside [A-Za-z0-9-_.:/@+]".into(),
        });
    }
    Ok(raw.to_owned())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, InputError> {
                parse_id($kind, raw).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// Our id for a shop, chosen by the merchant in the configuration (e.g. `demo-shopify`).
    ShopId, "shop id"
);
id_type!(
    /// The platform's customer id (Shopify `customer.id`, WooCommerce `customer_id`, Shopware
    /// `orderCustomer.customerId`).
    CustomerId, "customer id"
);
id_type!(
    /// The platform's order id.
    OrderId, "order id"
);
id_type!(
    /// The platform's line item id, unique within its order.
    LineId, "line id"
);
id_type!(
    /// A delivery or event id from the platform (Shopify webhook and event ids, WooCommerce delivery
    /// ids, Shopware `source.eventId`), or a digest of the body where the platform sends none.
    DeliveryId, "delivery id"
);

id_type!(
    /// The platform's refund id (Shopify `refund.id`, WooCommerce `refunds[].id`).
    RefundId, "refund id"
);
id_type!(
    /// The platform's product id, as order lines and reviews name it.
    ProductId, "product id"
);
id_type!(
    /// A review's id on the review platform, kept with the credit for the merchant.
    ReviewId, "review id"
);
id_type!(
    /// A reward the shop offers for points, as configured (`[[shops.rewards]] id`).
    RewardId, "reward id"
);
id_type!(
    /// A tier of the shop's programme, as configured (`[[shops.tiers.levels]] id`).
    TierId, "tier id"
);
id_type!(
    /// A client-made key that makes an API write idempotent: the same key twice is one write.
    IdempotencyKey, "idempotency key"
);

/// A platform id that may arrive as a JSON number or a string. Numbers are taken from their exact
/// textual form (serde_json's arbitrary precision), never through f64, so 64-bit ids survive.
pub fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_with_hostile_characters_is_refused() {
        assert!(CustomerId::parse("12'; DROP TABLE").is_err());
        assert!(CustomerId::parse("a\u{0}b").is_err());
        assert!(CustomerId::parse("").is_err());
        assert!(CustomerId::parse(&"9".repeat(ID_LENGTH_MAX + 1)).is_err());
        assert_eq!(
            CustomerId::parse("gid://shopify/Customer/1").map(|c| c.to_string()).ok(),
            Some("gid://shopify/Customer/1".into())
        );
    }

    #[test]
    fn a_large_numeric_id_keeps_every_digit() {
        let v: serde_json::Value = serde_json::from_str(r#"{"id": 820982911946154508}"#).unwrap_or_default();
        assert_eq!(id_text(&v["id"]).as_deref(), Some("820982911946154508"));
    }
}
