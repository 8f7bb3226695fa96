//! Re-permission: consent without proof here gets a deadline and one mail that asks the person to
//! confirm it. Two ways in: an import of the consents a shop's previous tool held (`import`), and
//! a run over the shop's customers that finds double opt-ins from before the consent ledger, which
//! have no confirmation on it (`unproven`).
//!
//! Scheduling one customer writes, in this order and each idempotently: the wording the
//! confirmation page will show, the `requested` record the mail's link confirms
//! (`reconsent-request:{date}`), the deadline on the mail settings (a deadline already set is
//! kept, so a retry never moves it), and a deferred send of `Campaign::Reconsent` under (customer,
//! date), due now. The mail sweep's due index finds that send (bounded pages, resumable, Query on
//! `by_deferred`) and its claim sends it exactly once; the deadline rule is `mail::contact`.

mod import;
mod unproven;

pub use import::{Import, ImportReport, ImportRow};
pub use unproven::UnprovenReport;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::{Locale, ShopConfig};
use stammkunde_domain::consent::{
    reconsent_request_key, reconsent_wording, Actor, ConsentAction, ConsentBasis, ConsentError, ConsentMethod,
    ConsentRecord, ConsentWording, RECONSENT_SOURCE,
};
use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::{Campaign, MailContact, MailSend, SendState};
use stammkunde_domain::ports::{ConsentStore, CustomerStore, MailStore};

/// Guarded writes of one customer's mail settings tried before giving up: each lost race is a
/// person changing their settings at that very moment.
const CONTACT_ATTEMPTS: usize = 8;

#[derive(Debug, Error)]
pub enum ReconsentError {
    #[error("a store call failed")]
    Store(#[from] StoreError),
    #[error("the shop's mail is switched off, so no re-permission mail could go out")]
    MailDisabled,
    #[error("{} customers are not known", .0.len())]
    UnknownCustomers(Vec<CustomerId>),
    #[error("the idempotency key was used for a different import (customer {0})")]
    KeyReused(CustomerId),
    #[error("a consent record would not be valid: {0}")]
    Invalid(#[from] ConsentError),
}

#[derive(Debug, Error)]
#[error("the mail settings changed {CONTACT_ATTEMPTS} times in a row")]
struct ContactContended;

pub struct Reconsent {
    pub customers: Arc<dyn CustomerStore>,
    pub mail: Arc<dyn MailStore>,
    pub consent: Arc<dyn ConsentStore>,
    pub clock: Arc<dyn Clock>,
}

/// Why a customer is left out of a re-permission, as the answers count them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    Deleted,
    NoAddress,
    Suppressed,
    /// An import never outweighs an unsubscribe made here.
    Unsubscribed,
    /// Proven already: a confirmed double opt-in on the consent ledger.
    AlreadyConfirmed,
    /// A re-permission is running for them already.
    AlreadyPending,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Deleted => "deleted",
            Skip::NoAddress => "no_address",
            Skip::Suppressed => "suppressed",
            Skip::Unsubscribed => "unsubscribed",
            Skip::AlreadyConfirmed => "already_confirmed",
            Skip::AlreadyPending => "already_pending",
        }
    }
}

impl Reconsent {
    /// Over one store that holds all of it (SQLite, DynamoDB).
    pub fn over<S>(store: Arc<S>, clock: Arc<dyn Clock>) -> Reconsent
    where
        S: CustomerStore + MailStore + ConsentStore + 'static,
    {
        Reconsent { customers: store.clone(), mail: store.clone(), consent: store, clock }
    }

    /// Whether the customer can be asked at all: live, with an address not on the suppression
    /// list, not unsubscribed.
    async fn reachable(
        &self,
        shop: &ShopConfig,
        customer: &Customer,
        contact: &MailContact,
    ) -> Result<Option<Skip>, StoreError> {
        if customer.deleted_at.is_some() {
            return Ok(Some(Skip::Deleted));
        }
        let Some(email) = &customer.profile.email else { return Ok(Some(Skip::NoAddress)) };
        if self.mail.suppression(&shop.id, &AddressDigest::of(&shop.id, email)).await?.is_some() {
            return Ok(Some(Skip::Suppressed));
        }
        Ok(contact.unsubscribed_at.is_some().then_some(Skip::Unsubscribed))
    }

    /// Schedules the customer's re-permission of `date` (see the module's doc); `imported_at` is
    /// an import's consent to record on the settings. Returns the deadline as stored.
    async fn schedule(
        &self,
        shop: &ShopConfig,
        customer: &Customer,
        date: NaiveDate,
        imported_at: Option<DateTime<Utc>>,
    ) -> Result<DateTime<Utc>, ReconsentError> {
        let now = self.clock.now();
        let id = &customer.profile.customer_id;
        let locale = Locale::for_customer(customer.profile.locale.as_deref(), shop.locale);
        let wording = ConsentWording::new(&shop.id, locale, &reconsent_wording(locale, &shop.mail.shop_name))?;
        let asked = ConsentRecord {
            shop: shop.id.clone(),
            customer_id: id.clone(),
            key: reconsent_request_key(date),
            at: now,
            topic: None,
            action: ConsentAction::Requested,
            method: ConsentMethod::ReconsentMail,
            source: RECONSENT_SOURCE.to_owned(),
            wording: Some(wording.digest.clone()),
            actor: Actor::default(),
            basis: ConsentBasis::Consent,
            claimed_at: None,
        };
        asked.check()?;
        // The wording first: a record never points at words that are not stored.
        self.consent.put_wording(&wording).await?;
        self.consent.record_consent(&asked).await?;
        let deadline = now + Duration::days(i64::from(shop.mail.reconsent.confirm_within_days));
        let deadline = self.set_deadline(shop, id, deadline, imported_at).await?;
        let send = MailSend {
            shop: shop.id.clone(),
            customer_id: id.clone(),
            campaign: Campaign::Reconsent,
            date,
            state: SendState::Deferred { due: now },
        };
        // Already recorded (a retry): its state decides, and the claim sends it once.
        self.mail.create_send(&send).await?;
        tracing::info!(shop = %shop.id, customer = %id, %date, "re-permission scheduled");
        Ok(deadline)
    }

    /// Sets the deadline unless one is set (a retry keeps the first), with the imported consent.
    async fn set_deadline(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        deadline: DateTime<Utc>,
        imported_at: Option<DateTime<Utc>>,
    ) -> Result<DateTime<Utc>, StoreError> {
        for _ in 0..CONTACT_ATTEMPTS {
            let contact = self.mail.contact(&shop.id, customer).await?.unwrap_or_default();
            if let Some(set) = contact.reconsent_by {
                return Ok(set);
            }
            let next = MailContact {
                reconsent_by: Some(deadline),
                imported_consent_at: contact.imported_consent_at.or(imported_at),
                ..contact.clone()
            };
            if self.mail.update_contact(&shop.id, customer, &next).await? {
                return Ok(deadline);
            }
        }
        Err(StoreError::unavailable("setting a re-permission deadline", ContactContended))
    }
}
