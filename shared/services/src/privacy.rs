//! Data rights: the export of everything we hold on a customer (GDPR Art. 15 and 20), and erasure
//! (Art. 17). The merchant API, the preference centre and Shopify's privacy webhooks all go
//! through here, so they export and erase the same.
//!
//! Erasure puts the address on the shop's suppression list first (a salted digest, never the
//! address: no later import or platform update mails them again), then erases the customer in
//! the store, then the copies of their mail we keep (the local outbox). Each step is idempotent,
//! so a retry after a failure part-way finishes the job.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::consent::ConsentRecord;
use stammkunde_domain::coupon::CouponCode;
use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::{MailError, StoreError};
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ledger::{LedgerEntry, LedgerState};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::{MailContact, Suppression, SuppressionReason};
use stammkunde_domain::ports::{ConsentStore, MailArchive, MailStore, Store};

use crate::mailed_codes::code_of;

#[derive(Debug, Error)]
pub enum PrivacyError {
    #[error("a store call failed")]
    Store(#[from] StoreError),
    #[error("erasing kept mail failed")]
    Archive(#[from] MailError),
}

impl PrivacyError {
    pub fn is_retryable(&self) -> bool {
        match self {
            PrivacyError::Store(e) => e.is_retryable(),
            PrivacyError::Archive(_) => true,
        }
    }
}

/// What an erasure did.
#[derive(Debug, PartialEq, Eq)]
pub struct Erased {
    /// Whether an address was put on the suppression list (false: none was known).
    pub suppressed: bool,
    /// Kept mails deleted.
    pub mails: usize,
}

/// Keeps no mail: SES's copies are not ours to delete (and hold none after delivery).
pub struct NoMailArchive;

#[async_trait::async_trait]
impl MailArchive for NoMailArchive {
    async fn erase(
        &self,
        _: &ShopId,
        _: &CustomerId,
        _: Option<&stammkunde_domain::customer::Email>,
    ) -> Result<usize, MailError> {
        Ok(0)
    }

    async fn erase_shop(&self, _: &ShopId) -> Result<usize, MailError> {
        Ok(0)
    }
}

/// Records per batch of a shop-wide erasure: small enough that one batch stays well under a
/// second on DynamoDB (a customer is a Query and a few BatchWriteItems).
pub const SHOP_ERASURE_BATCH_LIMIT: u32 = 25;

/// What one run of a shop-wide erasure did.
#[derive(Debug, PartialEq, Eq)]
pub struct ShopErased {
    pub batches: u32,
    /// False: the run's batch budget ran out first; run it again (the event is re-published).
    pub done: bool,
    /// Kept mails deleted (once done).
    pub mails: usize,
}

pub struct Privacy {
    pub store: Arc<dyn Store>,
    pub mail: Arc<dyn MailStore>,
    pub consent: Arc<dyn ConsentStore>,
    pub archive: Arc<dyn MailArchive>,
    pub clock: Arc<dyn Clock>,
}

impl Privacy {
    /// Over one store that holds all of it (SQLite, DynamoDB).
    pub fn over<S>(store: Arc<S>, archive: Arc<dyn MailArchive>, clock: Arc<dyn Clock>) -> Privacy
    where
        S: Store + MailStore + ConsentStore + 'static,
    {
        Privacy { store: store.clone(), mail: store.clone(), consent: store, archive, clock }
    }

    /// Everything we hold on the customer, as JSON with stable field names; `None` for a customer
    /// we do not know.
    pub async fn export(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Value>, StoreError> {
        let Some(found) = self.store.customer(shop, customer).await? else { return Ok(None) };
        let entries = self.store.entries(shop, customer).await?;
        let state = LedgerState::replay(shop, customer, &entries).map_err(|e| StoreError::Invariant(e.to_string()))?;
        let contact = self.mail.contact(shop, customer).await?;
        let mut orders = Vec::new();
        let order_ids: BTreeSet<_> = entries.iter().filter_map(|e| e.order_id.clone()).collect();
        for id in &order_ids {
            if let Some(order) = self.store.order(shop, id).await? {
                orders.push(json!({
                    "order_id": order.order_id,
                    "order_number": order.order_number,
                    "currency": order.currency.code(),
                    "total_minor": order.total_minor,
                    "placed_at": order.placed_at,
                    "paid": order.payment.is_paid(),
                    "cancelled": order.cancelled,
                }));
            }
        }
        let records = self.consent.consents(shop, customer).await?;
        let mut consents = Vec::with_capacity(records.len());
        for record in &records {
            consents.push(self.consent_view(shop, record).await?);
        }
        let sends = self.mail.sends_claimed_since(shop, customer, DateTime::<Utc>::UNIX_EPOCH).await?;
        let mut mails: Vec<Value> = sends
            .iter()
            .map(|s| {
                json!({
                    "campaign": s.campaign.as_str(), "date": s.date, "state": s.state.kind().as_str(),
                    "handed_over_at": s.state.claimed_at(), "code": code_of(&s.state).map(CouponCode::as_str),
                })
            })
            .collect();
        mails.sort_by_key(|m| m["date"].as_str().map(str::to_owned));
        Ok(Some(json!({
            "shop": shop,
            "customer_id": customer,
            "exported_at": self.clock.now(),
            "profile": profile(&found),
            "mail_settings": contact.as_ref().map(settings),
            "points": { "available": state.balance().available, "pending": state.balance().pending },
            "ledger": entries.iter().map(entry).collect::<Vec<_>>(),
            "orders": orders,
            "codes": state.codes.iter().map(|(code, a)| json!({
                "code": code.as_str(), "reward": a.reward, "points": a.points, "expires_at": a.expires_at,
                "used": a.used, "expired": a.expired,
            })).collect::<Vec<_>>(),
            "consents": consents,
            "mails": mails,
        })))
    }

    async fn consent_view(&self, shop: &ShopId, record: &ConsentRecord) -> Result<Value, StoreError> {
        let wording = match &record.wording {
            Some(digest) => self.consent.wording(shop, digest).await?,
            None => None,
        };
        Ok(json!({
            "key": record.key, "at": record.at, "topic": record.topic, "action": record.action,
            "method": record.method, "source": record.source,
            "wording": wording.map(|w| json!({ "locale": w.locale.tag(), "text": w.text })),
            "ip": record.actor.ip, "user_agent": record.actor.user_agent, "basis": record.basis,
            "claimed_at": record.claimed_at,
        }))
    }

    /// Erases the customer: their address onto the suppression list, their personal data out of
    /// the store, their kept mail out of the archive.
    pub async fn erase(&self, shop: &ShopId, customer: &CustomerId) -> Result<Erased, PrivacyError> {
        let now = self.clock.now();
        let address = self.store.customer(shop, customer).await?.and_then(|c| c.profile.email);
        if let Some(email) = &address {
            let suppression = Suppression {
                shop: shop.clone(),
                address: AddressDigest::of(shop, email),
                reason: SuppressionReason::Erased,
                at: now,
            };
            self.mail.suppress(&suppression).await?;
        }
        self.store.erase_customer(shop, customer, now).await?;
        let mails = self.archive.erase(shop, customer, address.as_ref()).await?;
        tracing::info!(%shop, %customer, suppressed = address.is_some(), mails, "customer erased");
        Ok(Erased { suppressed: address.is_some(), mails })
    }
}

impl Privacy {
    /// The start of Shopify's `shop/redact`: the shop's tombstone, before it is answered. From
    /// then on ingest stores nothing more for the shop; `erase_shop` deletes what it left.
    pub async fn mark_shop_erased(&self, shop: &ShopId) -> Result<(), PrivacyError> {
        self.store.mark_shop_erased(shop, self.clock.now()).await?;
        tracing::info!(%shop, "shop marked erased");
        Ok(())
    }

    /// Deletes what the shop left, at most `batches_max` batches; then, once nothing is left, the
    /// kept mail. The tombstone is written first, so a run on its own (a continuation) is safe.
    pub async fn erase_shop(&self, shop: &ShopId, batches_max: u32) -> Result<ShopErased, PrivacyError> {
        self.store.mark_shop_erased(shop, self.clock.now()).await?;
        let mut batches = 0;
        while batches < batches_max {
            batches += 1;
            if !self.store.erase_shop_batch(shop, SHOP_ERASURE_BATCH_LIMIT).await? {
                let mails = self.archive.erase_shop(shop).await?;
                tracing::info!(%shop, batches, mails, "shop erased");
                return Ok(ShopErased { batches, done: true, mails });
            }
        }
        tracing::info!(%shop, batches, "shop erasure goes on");
        Ok(ShopErased { batches, done: false, mails: 0 })
    }
}

fn profile(c: &Customer) -> Value {
    let p = &c.profile;
    json!({
        "email": p.email, "first_name": p.first_name, "last_name": p.last_name, "locale": p.locale,
        "country": p.country,
        "birthday": p.birthday.map(|b| json!({ "month": b.month, "day": b.day, "year": b.year })),
        "accepts_email_marketing": p.accepts_email_marketing, "last_order_at": c.last_order_at,
        "deleted_at": c.deleted_at,
    })
}

fn settings(c: &MailContact) -> Value {
    json!({
        "double_opt_in_at": c.double_opt_in_at, "imported_consent_at": c.imported_consent_at,
        "reconsent_by": c.reconsent_by, "topics_declined": c.topics_declined,
        "unsubscribed_at": c.unsubscribed_at, "paused_until": c.paused_until,
        "time_zone": c.time_zone.map(|z| z.name()), "frequency": c.frequency.as_str(),
    })
}

fn entry(e: &LedgerEntry) -> Value {
    json!({
        "position": e.position, "key": e.key.as_str(), "kind": e.kind, "available": e.available,
        "pending": e.pending, "reason": e.reason, "customer_text": e.customer_text, "order_id": e.order_id,
        "created_at": e.created_at,
    })
}
