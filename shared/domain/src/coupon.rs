//! Single-use coupon codes handed out for points.
//!
//! A code is either one of the merchant's own (created in the shop and imported into a reward's
//! pool) or one we generate; either way it is stored, bound to the redemption that took it, and
//! given out exactly once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::InputError;
use crate::ids::{CustomerId, IdempotencyKey, RewardId, ShopId};

/// Shortest and longest code accepted.
pub const CODE_LENGTH_MIN: usize = 4;
pub const CODE_LENGTH_MAX: usize = 64;

/// A coupon code, upper-cased: shops match codes case-insensitively, so one code has one form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CouponCode(String);

impl CouponCode {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let code = raw.trim().to_ascii_uppercase();
        let invalid = |reason: &str| InputError::Invalid { field: "code", reason: reason.into() };
        if code.len() < CODE_LENGTH_MIN || code.len() > CODE_LENGTH_MAX {
            return Err(invalid("must be 4 to 64 characters"));
        }
        if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid("may hold only letters, digits, '-' and '_'"));
        }
        Ok(CouponCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CouponCode {
    type Error = InputError;
    fn try_from(raw: String) -> Result<Self, InputError> {
        CouponCode::parse(&raw)
    }
}

impl From<CouponCode> for String {
    fn from(code: CouponCode) -> String {
        code.0
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who holds an issued code, and until when it is valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub customer_id: CustomerId,
    /// The redemption's idempotency key: the same redemption always gets the same code.
    pub redemption: IdempotencyKey,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A code as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    pub shop: ShopId,
    pub code: CouponCode,
    pub reward: RewardId,
    /// Whether we made the code (and the merchant must import it into the shop).
    pub generated: bool,
    /// `None` while the code waits in its reward's pool.
    pub issue: Option<Issue>,
}

/// The key a redemption's code is bound to in the code store. A client's idempotency key is unique
/// per customer ledger (`redeem:{key}`), not per shop, so two customers using the same key are two
/// redemptions and must get two codes: the binding is a digest of both, 128 bits, in the id
/// alphabet.
pub fn claim_key(customer: &CustomerId, key: &IdempotencyKey) -> IdempotencyKey {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(customer.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(key.as_str().as_bytes());
    let digest = hex::encode(&hasher.finalize()[..16]);
    match IdempotencyKey::parse(&format!("claim-{digest}")) {
        Ok(claim) => claim,
        // 38 characters of [a-z0-9-]: always a valid id.
        Err(_) => key.clone(),
    }
}

/// What a redemption asks a coupon issuer for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueRequest {
    pub shop: ShopId,
    pub reward: RewardId,
    pub code_prefix: String,
    pub issue: Issue,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_key_is_per_customer_and_stable() {
        let key = IdempotencyKey::parse("r-1").unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (
            CustomerId::parse("a").unwrap_or_else(|e| panic!("{e}")),
            CustomerId::parse("b").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(claim_key(&a, &key), claim_key(&a, &key));
        assert_ne!(claim_key(&a, &key), claim_key(&b, &key));
    }

    #[test]
    fn codes_are_upper_cased_and_bounded() {
        assert_eq!(CouponCode::parse(" sommer-10 ").map(|c| c.to_string()).ok(), Some("SOMMER-10".into()));
        assert!(CouponCode::parse("abc").is_err());
        assert!(CouponCode::parse("A B C D").is_err());
        assert!(CouponCode::parse(&"A".repeat(65)).is_err());
    }
}
