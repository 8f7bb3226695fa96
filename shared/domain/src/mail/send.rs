//! The send record: one per (shop, customer, campaign, date), created before the mailer is called,
//! so that no retry, re-run or second sweep sends a mail twice.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::coupon::CouponCode;
use crate::error::InputError;
use crate::ids::{CustomerId, IdempotencyKey, ShopId};
use crate::mail::campaign::Campaign;

/// How long a claim may stay unconfirmed before the sweep assumes its sender died. Far longer than
/// any send takes, so a slow sweep is never mistaken for a dead one.
pub const CLAIM_LEASE_MINUTES: i64 = 15;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSend {
    pub shop: ShopId,
    pub customer_id: CustomerId,
    pub campaign: Campaign,
    /// The customer-local date the mail is for (the birthday, the day the win-back became due).
    pub date: NaiveDate,
    pub state: SendState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SendState {
    /// Held back by the frequency cap until `due`.
    Deferred { due: DateTime<Utc> },
    /// Claimed for sending at `at`; the mailer is being (or was) called. The code, if the mail has
    /// one, is drawn after the claim and bound to the send's key (`MailSend::coupon_key`).
    Claimed { at: DateTime<Utc> },
    /// The mailer accepted it.
    Sent {
        at: DateTime<Utc>,
        claimed_at: DateTime<Utc>,
        message_id: String,
        code: Option<CouponCode>,
        /// SHA-256 of the mail's preference-centre token (the token itself is only in the mail).
        #[serde(default)]
        link_digest: Option<String>,
    },
    /// A claim that was never confirmed: the sender died between claim and confirmation, and the
    /// mail may or may not have gone out. Never sent again automatically; a person looks. `code`
    /// is the one bound to the send when it was flagged: the customer may hold it.
    Review { at: DateTime<Utc>, claimed_at: DateTime<Utc>, code: Option<CouponCode> },
    /// The mailer refused it for good (a malformed address, a rejected message).
    Failed { at: DateTime<Utc>, reason: String },
    /// Deferred past the point where it still means anything (a birthday mail a week late).
    Dropped { at: DateTime<Utc> },
}

/// A state's name, for conditional updates ("replace only if it is still …").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendStateKind {
    Deferred,
    Claimed,
    Sent,
    Review,
    Failed,
    Dropped,
}

impl SendStateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SendStateKind::Deferred => "deferred",
            SendStateKind::Claimed => "claimed",
            SendStateKind::Sent => "sent",
            SendStateKind::Review => "review",
            SendStateKind::Failed => "failed",
            SendStateKind::Dropped => "dropped",
        }
    }
}

impl SendState {
    pub fn kind(&self) -> SendStateKind {
        match self {
            SendState::Deferred { .. } => SendStateKind::Deferred,
            SendState::Claimed { .. } => SendStateKind::Claimed,
            SendState::Sent { .. } => SendStateKind::Sent,
            SendState::Review { .. } => SendStateKind::Review,
            SendState::Failed { .. } => SendStateKind::Failed,
            SendState::Dropped { .. } => SendStateKind::Dropped,
        }
    }

    /// When the mail was (or is being) handed to the mailer: what the frequency cap counts.
    pub fn claimed_at(&self) -> Option<DateTime<Utc>> {
        match self {
            SendState::Claimed { at, .. } => Some(*at),
            SendState::Sent { claimed_at, .. } | SendState::Review { claimed_at, .. } => Some(*claimed_at),
            SendState::Deferred { .. } | SendState::Failed { .. } | SendState::Dropped { .. } => None,
        }
    }

    /// When a sweep must look at the record again (what the due index holds): a deferred mail at
    /// its due time; a claim when its lease runs out, to flag it for review if it was never
    /// confirmed, which no other source would do for a mail whose date has passed (a deferred
    /// one, a birthday claimed just before the day ended). Settled records need no sweep.
    pub fn sweep_due(&self) -> Option<DateTime<Utc>> {
        match self {
            SendState::Deferred { due } => Some(*due),
            SendState::Claimed { at, .. } => Some(*at + chrono::Duration::minutes(CLAIM_LEASE_MINUTES)),
            SendState::Sent { .. }
            | SendState::Review { .. }
            | SendState::Failed { .. }
            | SendState::Dropped { .. } => None,
        }
    }
}

/// A send record the due index lists: its key and when it became due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueSend {
    pub customer_id: CustomerId,
    pub campaign: Campaign,
    pub date: NaiveDate,
    pub due: DateTime<Utc>,
}

impl MailSend {
    /// The key the mail's coupon is bound to: the send is one redemption of the campaign's reward,
    /// so a retry after the code was drawn gets the same code.
    pub fn coupon_key(&self) -> Result<IdempotencyKey, InputError> {
        let raw = format!("mail-{}-{}", self.campaign.as_str().replace('_', "-"), self.date.format("%Y%m%d"));
        IdempotencyKey::parse(&raw).map(|key| crate::coupon::claim_key(&self.customer_id, &key))
    }

    /// A short id for logs and file names: no PII, only ids.
    pub fn label(&self) -> String {
        format!("{}/{}/{}/{}", self.shop, self.customer_id, self.campaign, self.date)
    }
}
