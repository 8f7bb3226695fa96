//! The coupon issuers: a reward's codes come from a pool the merchant filled with codes made in
//! their shop, or are generated here (unguessable, then imported into the shop from the CSV
//! export). Either way a redemption gets the same code on every retry.

use async_trait::async_trait;
use rand::Rng;
use std::sync::Arc;

use stammkunde_domain::coupon::{Coupon, CouponCode, IssueRequest};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ports::{CodeStore, CouponIssuer};
use stammkunde_domain::programme::CodeSource;

/// Hands out codes from the reward's pool.
pub struct CodePool {
    pub store: Arc<dyn CodeStore>,
}

#[async_trait]
impl CouponIssuer for CodePool {
    async fn issue(&self, request: &IssueRequest) -> Result<Option<Coupon>, StoreError> {
        self.store.claim_code(&request.shop, &request.reward, &request.issue).await
    }

    async fn withdraw(&self, coupon: &Coupon) -> Result<(), StoreError> {
        return_to_store(self.store.as_ref(), coupon).await
    }
}

/// Crockford's base32 without the letters people misread (I, L, O, U).
const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters drawn per code: 12 × 5 = 60 random bits, far beyond guessing at a shop's checkout.
const RANDOM_CHARS: usize = 12;
/// Draws before giving up: a collision among 2^60 codes is already a miracle.
const DRAWS_MAX: usize = 4;

/// Makes a fresh code per redemption: `{PREFIX}-XXXX-XXXX-XXXX`.
pub struct CodeGenerator {
    pub store: Arc<dyn CodeStore>,
}

impl CodeGenerator {
    fn draw(prefix: &str) -> Result<CouponCode, StoreError> {
        let mut rng = rand::thread_rng();
        let random: String =
            (0..RANDOM_CHARS).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
        let groups: Vec<&str> = [&random[0..4], &random[4..8], &random[8..12]].to_vec();
        let text = if prefix.is_empty() { groups.join("-") } else { format!("{prefix}-{}", groups.join("-")) };
        CouponCode::parse(&text).map_err(|e| StoreError::Invariant(format!("a generated code is invalid: {e}")))
    }
}

#[async_trait]
impl CouponIssuer for CodeGenerator {
    async fn issue(&self, request: &IssueRequest) -> Result<Option<Coupon>, StoreError> {
        for _ in 0..DRAWS_MAX {
            let coupon = Coupon {
                shop: request.shop.clone(),
                code: Self::draw(&request.code_prefix)?,
                reward: request.reward.clone(),
                generated: true,
                issue: Some(request.issue.clone()),
            };
            if let Some(bound) = self.store.insert_issued(&coupon).await? {
                return Ok(Some(bound));
            }
        }
        Err(StoreError::Invariant(format!("{DRAWS_MAX} generated codes in a row were taken")))
    }

    async fn withdraw(&self, coupon: &Coupon) -> Result<(), StoreError> {
        return_to_store(self.store.as_ref(), coupon).await
    }
}

async fn return_to_store(store: &dyn CodeStore, coupon: &Coupon) -> Result<(), StoreError> {
    match &coupon.issue {
        Some(issue) => store.return_code(&coupon.shop, &coupon.code, &issue.redemption).await,
        None => Ok(()),
    }
}

/// Both issuers, chosen per reward.
pub struct Coupons {
    pub pool: CodePool,
    pub generator: CodeGenerator,
}

impl Coupons {
    pub fn new(store: Arc<dyn CodeStore>) -> Self {
        Coupons { pool: CodePool { store: store.clone() }, generator: CodeGenerator { store } }
    }

    pub fn issuer(&self, source: CodeSource) -> &dyn CouponIssuer {
        match source {
            CodeSource::Pool => &self.pool,
            CodeSource::Generate => &self.generator,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_code_has_the_prefix_and_sixty_random_bits_in_three_groups() {
        let code = CodeGenerator::draw("SK").unwrap_or_else(|e| panic!("{e}"));
        let text = code.as_str();
        assert_eq!(text.len(), "SK-XXXX-XXXX-XXXX".len());
        assert!(text.starts_with("SK-"));
        assert!(text[3..].split('-').all(|g| g.len() == 4 && g.bytes().all(|b| ALPHABET.contains(&b))));
        assert_ne!(CodeGenerator::draw("SK").ok(), Some(code), "two draws differ");
    }
}
