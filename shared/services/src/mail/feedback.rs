//! Bounces and complaints put addresses on the shop's suppression list, which the mail sweep
//! consults before every mail: a hard bounce and a complaint at once, soft bounces once an address
//! has had `SOFT_BOUNCES_MAX` of them.
//!
//! The shop is the one whose id the message's `shop` tag was made from. Every write is idempotent
//! (a suppression keeps its first reason; a soft bounce counts once per message), so a redelivered
//! or retried event changes nothing more, and a retry after a failure part-way through the
//! recipients finishes the job.

use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::{ShopConfig, ShopDirectory};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::feedback::{ses_tag_value, Feedback, FeedbackKind};
use stammkunde_domain::mail::{Suppression, SuppressionReason};
use stammkunde_domain::ports::MailStore;

/// Soft bounces of different messages after which an address is suppressed. One is bad luck (a
/// full mailbox, a server down for the day after SES retried for hours); three, of a shop that
/// sends a customer a few mails a year, mean the address does not take our mail, and mailing it
/// on hurts the sender's reputation with every provider.
pub const SOFT_BOUNCES_MAX: u32 = 3;

#[derive(Debug, Error)]
pub enum FeedbackError {
    /// No shop of this instance's configuration has this tag: a shop since removed, or a message
    /// another deployment sent through the same account. Nothing was written.
    #[error("no configured shop has the SES tag `{0}`")]
    UnknownShop(String),
    /// Two configured shops have the same tag (ids that differ only in characters SES does not
    /// allow in tags): which one's list to change cannot be known. Nothing was written.
    #[error("the SES tag `{tag}` is the tag of several shops: {shops}")]
    AmbiguousShop { tag: String, shops: String },
    #[error("a store call failed")]
    Store(#[from] StoreError),
}

impl FeedbackError {
    /// Whether handling the same feedback again may succeed: only a store failure can pass.
    pub fn is_retryable(&self) -> bool {
        matches!(self, FeedbackError::Store(_))
    }
}

/// What one bounce or complaint did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackReport {
    pub shop: ShopId,
    pub kind: FeedbackKind,
    /// Recipients now on the suppression list (with this reason, or the one they had already).
    pub suppressed: u32,
    /// Soft bounces counted below the limit: their addresses still get mail.
    pub soft_bounces_below_max: u32,
}

pub struct MailFeedback {
    pub shops: Arc<ShopDirectory>,
    pub mail: Arc<dyn MailStore>,
    pub clock: Arc<dyn Clock>,
}

impl MailFeedback {
    pub async fn handle(&self, feedback: &Feedback) -> Result<FeedbackReport, FeedbackError> {
        let shop = self.shop(&feedback.shop_tag)?;
        // SES's time of the bounce, unless it is ahead of ours: a suppression is never dated in
        // the future.
        let at = feedback.at.min(self.clock.now());
        let mut report =
            FeedbackReport { shop: shop.id.clone(), kind: feedback.kind, suppressed: 0, soft_bounces_below_max: 0 };
        for recipient in &feedback.recipients {
            let address = AddressDigest::of(&shop.id, recipient);
            let reason = match feedback.kind {
                FeedbackKind::HardBounce => SuppressionReason::HardBounce,
                FeedbackKind::Complaint => SuppressionReason::Complaint,
                FeedbackKind::SoftBounce => {
                    let count = self.mail.count_soft_bounce(&shop.id, &address, &feedback.message_id, at).await?;
                    if count < SOFT_BOUNCES_MAX {
                        report.soft_bounces_below_max += 1;
                        continue;
                    }
                    SuppressionReason::SoftBounces
                }
            };
            self.mail.suppress(&Suppression { shop: shop.id.clone(), address, reason, at }).await?;
            report.suppressed += 1;
        }
        // Ids and counts only: the recipients' addresses never reach a log.
        tracing::info!(
            shop = %shop.id, message = %feedback.message_id, kind = feedback.kind.as_str(),
            subtype = feedback.subtype.as_deref().unwrap_or(""), campaign = feedback.campaign_tag.as_deref().unwrap_or(""),
            recipients = feedback.recipients.len(), suppressed = report.suppressed,
            soft_bounces_below_max = report.soft_bounces_below_max, "mail feedback"
        );
        Ok(report)
    }

    /// The shop whose id makes this tag. A shop's id is known to the directory, its tag is not, so
    /// this looks at every shop: a deployment holds a handful.
    fn shop(&self, tag: &str) -> Result<&ShopConfig, FeedbackError> {
        let mut found = self.shops.shops().iter().filter(|shop| ses_tag_value(shop.id.as_str()) == tag);
        let first = found.next().ok_or_else(|| FeedbackError::UnknownShop(tag.to_owned()))?;
        let others: Vec<&str> = found.map(|shop| shop.id.as_str()).collect();
        if others.is_empty() {
            return Ok(first);
        }
        let shops = std::iter::once(first.id.as_str()).chain(others).collect::<Vec<_>>().join(", ");
        Err(FeedbackError::AmbiguousShop { tag: tag.to_owned(), shops })
    }
}
