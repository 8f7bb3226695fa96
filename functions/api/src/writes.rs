//! Writes: manual adjustments, redemptions and reviews, each through the ledger service so it is
//! decided on the ledger as it stands and appended exactly once.

use bytes::Bytes;
use chrono::Duration;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::coupon::{claim_key, Issue, IssueRequest};
use stammkunde_domain::ids::{CustomerId, IdempotencyKey, ProductId, ReviewId, RewardId};
use stammkunde_domain::ledger::{
    AdjustmentRequest, BusinessKey, EntryKind, LedgerState, RedemptionRequest, Refusal, ReviewFact,
    ENTRY_TEXT_LENGTH_MAX,
};
use stammkunde_http::Reply;

use crate::{body, replies, views, ApiService};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustmentBody {
    idempotency_key: IdempotencyKey,
    points: i64,
    reason: String,
    #[serde(default)]
    customer_text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedemptionBody {
    idempotency_key: IdempotencyKey,
    reward: RewardId,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReviewStatus {
    Published,
    Unpublished,
    Pending,
    Rejected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    customer_id: CustomerId,
    product_id: ProductId,
    review_id: ReviewId,
    status: ReviewStatus,
}

/// 201 for a write this request made, 200 for a repeat that found it made.
fn made(appended: bool, body: serde_json::Value) -> Reply {
    let status = if appended { StatusCode::CREATED } else { StatusCode::OK };
    Reply { status, body }
}

impl ApiService {
    pub(crate) async fn adjust(&self, shop: &ShopConfig, customer: &CustomerId, raw: &Bytes) -> Result<Reply, Reply> {
        let request: AdjustmentBody = body::json(raw)?;
        let adjustment = AdjustmentRequest {
            key: request.idempotency_key,
            points: request.points,
            reason: body::text("reason", &request.reason, ENTRY_TEXT_LENGTH_MAX)?,
            customer_text: request
                .customer_text
                .map(|t| body::text("customer_text", &t, ENTRY_TEXT_LENGTH_MAX))
                .transpose()?,
        };
        self.known_customer(shop, customer).await?;
        let outcome =
            self.ledger.run(shop, customer, |d| d.adjust(&adjustment)).await.map_err(replies::ledger_error)?;
        let key = BusinessKey::adjustment(&adjustment.key);
        let entry = outcome.ledger.iter().find(|e| e.key == key).map(views::entry);
        let body = json!({ "key": key, "entry": entry, "points": views::points(outcome.state.balance()) });
        Ok(made(!outcome.appended.is_empty(), body))
    }

    pub(crate) async fn redeem(&self, shop: &ShopConfig, customer: &CustomerId, raw: &Bytes) -> Result<Reply, Reply> {
        let request: RedemptionBody = body::json(raw)?;
        let reward = shop
            .reward(&request.reward)
            .filter(|r| r.points > 0)
            .ok_or_else(|| replies::refusal(&Refusal::UnknownReward))?;
        self.known_customer(shop, customer).await?;
        let key = BusinessKey::redemption(&request.idempotency_key);
        let state = self.read_state(shop, customer).await?;
        if let Some((code, account)) = state.code_of_redemption(&key) {
            if account.reward != reward.id {
                return Err(replies::refusal(&Refusal::KeyReused));
            }
            // A retry of a redemption that was booked: it appends nothing, but it goes through the
            // ledger service so that what the first attempt may not have finished (publishing the
            // debit's event, storing the timer for the code's expiry) is finished now.
            let repeat = RedemptionRequest {
                key: request.idempotency_key.clone(),
                reward: reward.id.clone(),
                code: code.clone(),
                expires_at: account.expires_at,
            };
            let outcome =
                self.ledger.run(shop, customer, |d| d.redeem(&repeat)).await.map_err(replies::ledger_error)?;
            let body = json!({ "code": repeat.code, "reward": repeat.reward, "points": account.points, "expires_at": repeat.expires_at, "balance": views::points(outcome.state.balance()) });
            return Ok(made(false, body));
        }
        // Checked again, authoritatively, when the debit is appended; this only spares the pool a
        // claim that cannot be paid for.
        let available = state.balance().available;
        if available < reward.points {
            return Err(replies::refusal(&Refusal::InsufficientPoints { available, needed: reward.points }));
        }
        let now = self.clock.now();
        let issue = IssueRequest {
            shop: shop.id.clone(),
            reward: reward.id.clone(),
            code_prefix: reward.code_prefix.clone(),
            issue: Issue {
                customer_id: customer.clone(),
                redemption: claim_key(customer, &request.idempotency_key),
                issued_at: now,
                expires_at: now + Duration::days(i64::from(reward.valid_days)),
            },
        };
        let issuer = self.coupons.issuer(reward.codes);
        let Some(coupon) = issuer.issue(&issue).await? else {
            let reason = format!("reward {} has no codes left; import more", reward.id);
            return Err(Reply::error(StatusCode::CONFLICT, "no_codes_left", reason));
        };
        if coupon.reward != reward.id {
            // An earlier attempt under this key claimed a code of another reward: the same key for
            // a different request.
            return Err(replies::refusal(&Refusal::KeyReused));
        }
        let expires_at = coupon.issue.as_ref().map_or(issue.issue.expires_at, |i| i.expires_at);
        let redemption = RedemptionRequest {
            key: request.idempotency_key,
            reward: reward.id.clone(),
            code: coupon.code.clone(),
            expires_at,
        };
        match self.ledger.run(shop, customer, |d| d.redeem(&redemption)).await {
            Ok(outcome) => {
                let body = json!({ "code": coupon.code, "reward": reward.id, "points": reward.points, "expires_at": expires_at, "balance": views::points(outcome.state.balance()) });
                Ok(made(!outcome.appended.is_empty(), body))
            }
            Err(error) => {
                self.withdraw_unbooked(shop, customer, &key, issuer, &coupon).await;
                Err(replies::ledger_error(error))
            }
        }
    }

    pub(crate) async fn review(&self, shop: &ShopConfig, raw: &Bytes) -> Result<Reply, Reply> {
        let request: ReviewBody = body::json(raw)?;
        self.known_customer(shop, &request.customer_id).await?;
        let fact = ReviewFact {
            product_id: request.product_id,
            review_id: request.review_id,
            published: matches!(request.status, ReviewStatus::Published),
        };
        let outcome =
            self.ledger.run(shop, &request.customer_id, |d| d.review(&fact)).await.map_err(replies::ledger_error)?;
        let status = match outcome
            .appended
            .iter()
            .map(|e| e.kind)
            .find(|k| matches!(k, EntryKind::Review | EntryKind::ReviewReversal))
        {
            Some(EntryKind::Review) => "credited",
            Some(_) => "reversed",
            None => "unchanged",
        };
        Ok(Reply::json(json!({ "status": status, "points": views::points(outcome.state.balance()) })))
    }

    /// After a failed redemption: the code goes back to its pool, so the pool loses nothing, but
    /// only if the ledger does not hold the redemption. A failure after the debit was appended
    /// (publishing its event) leaves the code with it; a failure that leaves it unknown (the
    /// ledger unreadable) keeps the claim, which a retry under the same key finds again.
    async fn withdraw_unbooked(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        key: &BusinessKey,
        issuer: &dyn stammkunde_domain::ports::CouponIssuer,
        coupon: &stammkunde_domain::coupon::Coupon,
    ) {
        match self.read_state(shop, customer).await {
            Ok(state) if !state.has_key(key) => {
                if let Err(e) = issuer.withdraw(coupon).await {
                    tracing::error!(shop = %shop.id, %customer, error = %e, "could not return a code to its pool");
                }
            }
            Ok(_) => {}
            Err(_) => tracing::warn!(shop = %shop.id, %customer, "a failed redemption keeps its code until a retry"),
        }
    }

    async fn read_state(&self, shop: &ShopConfig, customer: &CustomerId) -> Result<LedgerState, Reply> {
        let entries = self.store.entries(&shop.id, customer).await?;
        LedgerState::replay(&shop.id, customer, &entries)
            .map_err(|v| replies::ledger_error(stammkunde_services::LedgerError::Violation(v)))
    }
}
