//! One candidate, considered: is the mail due in the customer's local time, allowed, within the
//! cap? Then claim it (the send record's conditional create), have it prepared (`prepare`: its
//! code and message), hand it to the mailer, and record what happened.
//!
//! The order of those steps is what makes a mail go out once: nothing is sent without a claim,
//! a claim is released only when the mail certainly did not go out, and a claim that was never
//! confirmed (the sender died) is flagged for review, never sent again with a new code.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::{cause_chain, MailError};
use stammkunde_domain::mail::cap::{cap_frees_at, cap_window_days, is_capped};
use stammkunde_domain::mail::contact::{permission, reconsent_permission, AddressDigest};
use stammkunde_domain::mail::due::{birthday_due, due_on, win_back_date};
use stammkunde_domain::mail::send::CLAIM_LEASE_MINUTES;
use stammkunde_domain::mail::slot::{in_quiet_hours, local, next_send_slot};
use stammkunde_domain::mail::zone::customer_zone;
use stammkunde_domain::mail::{Campaign, LegalBasis, MailClass, MailSend, Refusal, SendState, SendStateKind};
use stammkunde_domain::ports::CreateOutcome;

use super::sources::Candidate;
use super::sweep::{MailSweep, MailSweepError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Sent,
    Deferred,
    Dropped,
    Refused(Refusal),
    Review,
    Retry,
    Failed,
    /// Not due today, or not in the customer's sending hours now.
    NotDue,
    /// Sent (or settled) before.
    Done,
    /// Another sweep claimed it first.
    LostRace,
}

impl MailSweep {
    pub(super) async fn consider(
        &self,
        shop: &ShopConfig,
        candidate: &Candidate,
        now: DateTime<Utc>,
    ) -> Result<Outcome, MailSweepError> {
        let Some(customer) = self.customers.customer(&shop.id, &candidate.customer_id).await? else {
            return Ok(Outcome::NotDue);
        };
        let contact = self.mail.contact(&shop.id, &candidate.customer_id).await?.unwrap_or_default();
        let zone = customer_zone(contact.time_zone, customer.profile.country.as_deref(), shop.time_zone);
        let today = local(now, zone).date();
        let date = match candidate.date {
            Some(date) => date,
            None => match self.due_date(shop, &customer, candidate.campaign, zone, today).await? {
                Some(date) => date,
                None => return Ok(Outcome::NotDue),
            },
        };
        let send = |state| MailSend {
            shop: shop.id.clone(),
            customer_id: candidate.customer_id.clone(),
            campaign: candidate.campaign,
            date,
            state,
        };
        let expected = match self.mail.send(&shop.id, &candidate.customer_id, candidate.campaign, date).await? {
            None => None,
            Some(MailSend { state: SendState::Deferred { due }, .. }) if due <= now => Some(SendStateKind::Deferred),
            Some(MailSend { state: SendState::Claimed { at }, .. })
                if now - at > Duration::minutes(CLAIM_LEASE_MINUTES) =>
            {
                // The code the customer may hold, for the person who looks.
                let key = send(SendState::Claimed { at }).coupon_key()?;
                let code = self.codes.code_for_redemption(&shop.id, &key).await?.map(|c| c.code);
                let review = send(SendState::Review { at: now, claimed_at: at, code });
                if self.mail.replace_send(&review, SendStateKind::Claimed).await? {
                    tracing::warn!(send = %review.label(), "a claimed mail was never confirmed: flagged for review, not sent again");
                    return Ok(Outcome::Review);
                }
                return Ok(Outcome::LostRace);
            }
            Some(_) => return Ok(Outcome::Done),
        };
        let class = candidate.campaign.class();
        if !in_sending_hours(class, now, zone, shop) {
            return Ok(Outcome::NotDue);
        }
        if is_late(candidate.campaign, date, today) {
            return self.settle(send(SendState::Dropped { at: now }), expected, Outcome::Dropped).await;
        }
        let suppressed = match &customer.profile.email {
            Some(email) => self.mail.suppression(&shop.id, &AddressDigest::of(&shop.id, email)).await?.is_some(),
            None => false,
        };
        let topic = candidate.campaign.topic();
        let allowed = permission(class, topic, &customer, &contact, suppressed, shop.mail.marketing_basis, now)
            .and_then(|basis| match candidate.campaign {
                Campaign::Reconsent => reconsent_permission(&contact, basis, now).map(|()| basis),
                _ => Ok(basis),
            });
        let basis = match allowed {
            Ok(basis) => basis,
            Err(refusal) => {
                tracing::debug!(shop = %shop.id, customer = %candidate.customer_id, ?refusal, "mail refused");
                if expected.is_some() {
                    // A deferred mail that may no longer go is settled, so the index lets it go.
                    self.settle(send(SendState::Dropped { at: now }), expected, Outcome::Dropped).await?;
                }
                return Ok(Outcome::Refused(refusal));
            }
        };
        if is_capped(class) {
            let since = now - Duration::days(i64::from(cap_window_days(&shop.mail, contact.frequency)));
            let claimed: Vec<DateTime<Utc>> = self
                .mail
                .sends_claimed_since(&shop.id, &candidate.customer_id, since)
                .await?
                .into_iter()
                .filter(|s| is_capped(s.campaign.class()) && !(s.campaign == candidate.campaign && s.date == date))
                .filter_map(|s| s.state.claimed_at())
                .collect();
            if let Err(frees_at) = cap_frees_at(now, &claimed, &shop.mail, contact.frequency) {
                let due = next_send_slot(frees_at, zone, &shop.mail);
                if is_late(candidate.campaign, date, local(due, zone).date()) {
                    return self.settle(send(SendState::Dropped { at: now }), expected, Outcome::Dropped).await;
                }
                return self.settle(send(SendState::Deferred { due }), expected, Outcome::Deferred).await;
            }
        }
        let claim = send(SendState::Claimed { at: now });
        if !self.write(&claim, expected).await? {
            return Ok(Outcome::LostRace);
        }
        // A deferred mail's date is past: no index finds it again, so a released claim of one
        // goes back to the due index as deferred instead of away.
        let from_deferred = expected == Some(SendStateKind::Deferred);
        self.deliver(shop, Recipient { customer: &customer, basis, zone }, claim, now, from_deferred).await
    }

    /// The local date of the mail a campaign has due for the customer today, if any.
    async fn due_date(
        &self,
        shop: &ShopConfig,
        customer: &Customer,
        campaign: Campaign,
        zone: Tz,
        today: NaiveDate,
    ) -> Result<Option<NaiveDate>, MailSweepError> {
        let rule = &shop.mail;
        Ok(match campaign {
            Campaign::Birthday => customer.profile.birthday.and_then(|b| birthday_due(&b, today, &rule.birthday)),
            Campaign::WinBack => customer
                .last_order_at
                .map(|last| win_back_date(last, zone, &rule.win_back))
                .filter(|date| due_on(*date, today)),
            Campaign::WinBackReminder => {
                let (Some(last), Some(reminder)) = (customer.last_order_at, rule.win_back.reminder_after_days) else {
                    return Ok(None);
                };
                let win_back = win_back_date(last, zone, &rule.win_back);
                let date = win_back + Duration::days(i64::from(reminder));
                if !due_on(date, today) {
                    return Ok(None);
                }
                // Only after a win-back mail that went out, for this same last order.
                let sent = self.mail.send(&shop.id, &customer.profile.customer_id, Campaign::WinBack, win_back).await?;
                sent.filter(|s| matches!(s.state, SendState::Sent { .. })).map(|_| date)
            }
            // Scheduled as deferred sends (from ledger entries, a subscription request, a link
            // request or a re-permission): no index finds them otherwise.
            Campaign::PostPurchase
            | Campaign::PointsExpiring
            | Campaign::RefundNotice
            | Campaign::ConsentConfirmation
            | Campaign::NewLink
            | Campaign::Reconsent => None,
        })
    }

    /// Creates (no `expected` state) or moves on (from `expected`) a send record; true if this
    /// call's write took effect.
    async fn write(&self, send: &MailSend, expected: Option<SendStateKind>) -> Result<bool, MailSweepError> {
        Ok(match expected {
            None => self.mail.create_send(send).await? == CreateOutcome::Created,
            Some(kind) => self.mail.replace_send(send, kind).await?,
        })
    }

    async fn settle(
        &self,
        send: MailSend,
        expected: Option<SendStateKind>,
        outcome: Outcome,
    ) -> Result<Outcome, MailSweepError> {
        Ok(if self.write(&send, expected).await? { outcome } else { Outcome::LostRace })
    }

    async fn deliver(
        &self,
        shop: &ShopConfig,
        to: Recipient<'_>,
        claim: MailSend,
        now: DateTime<Utc>,
        from_deferred: bool,
    ) -> Result<Outcome, MailSweepError> {
        let Recipient { customer, basis, zone } = to;
        let prepared = match self.prepare(shop, customer, &claim, basis, zone, now).await {
            Ok(Some(prepared)) => prepared,
            // Nothing went out: let a later run try again.
            Ok(None) => return self.release(&claim, from_deferred, now).await,
            Err(error) => {
                self.release(&claim, from_deferred, now).await?;
                return Err(error);
            }
        };
        self.pace(shop.mail.sends_per_second_max).await;
        let claimed_at = now;
        match self.mailer.send(&prepared.mail).await {
            Ok(message_id) => {
                let sent = MailSend {
                    state: SendState::Sent {
                        at: self.clock.now(),
                        claimed_at,
                        message_id,
                        code: prepared.coupon.map(|c| c.code),
                        link_digest: Some(prepared.link_digest),
                    },
                    ..claim
                };
                // If this fails the claim stays unconfirmed and is flagged for review later:
                // the mail went out, so it must never be sent again.
                self.mail.replace_send(&sent, SendStateKind::Claimed).await?;
                tracing::info!(send = %sent.label(), "mail sent");
                Ok(Outcome::Sent)
            }
            Err(MailError::Rejected(reason)) => {
                tracing::warn!(send = %claim.label(), %reason, "the mailer refused the mail for good");
                if let (Some(coupon), true) = (&prepared.coupon, prepared.coupon_is_new) {
                    if let Some(reward) = shop.reward(&coupon.reward) {
                        self.coupons.issuer(reward.codes).withdraw(coupon).await?;
                    }
                }
                let failed = MailSend { state: SendState::Failed { at: now, reason }, ..claim };
                self.mail.replace_send(&failed, SendStateKind::Claimed).await?;
                Ok(Outcome::Failed)
            }
            Err(error @ MailError::NotSent { .. }) => {
                tracing::warn!(send = %claim.label(), error = %cause_chain(&error), "the mailer did not take the mail; a later run tries again");
                // The code stays bound to this send's key: the retry gets the same code.
                self.release(&claim, from_deferred, now).await
            }
            Err(error) => {
                tracing::error!(send = %claim.label(), error = %cause_chain(&error), "the mailer's answer was lost; the claim stays and will be flagged for review");
                Ok(Outcome::Retry)
            }
        }
    }

    /// Gives up a claim whose mail certainly did not go out, for a later run: a mail from an
    /// index is found there again (the same day, or within the catch-up days); a deferred one
    /// is deferred again by an hour.
    async fn release(
        &self,
        claim: &MailSend,
        from_deferred: bool,
        now: DateTime<Utc>,
    ) -> Result<Outcome, MailSweepError> {
        if from_deferred {
            let again = MailSend { state: SendState::Deferred { due: now + Duration::hours(1) }, ..claim.clone() };
            self.mail.replace_send(&again, SendStateKind::Claimed).await?;
        } else {
            self.mail.delete_send(claim, SendStateKind::Claimed).await?;
        }
        Ok(Outcome::Retry)
    }
}

/// Who a claimed mail goes to: the customer, the legal basis it goes on, their zone.
struct Recipient<'a> {
    customer: &'a Customer,
    basis: LegalBasis,
    zone: Tz,
}

/// Marketing and points mail go from the send hour until quiet hours; transactional at any hour.
fn in_sending_hours(class: MailClass, now: DateTime<Utc>, zone: Tz, shop: &ShopConfig) -> bool {
    use chrono::Timelike;
    if class == MailClass::Transactional {
        return true;
    }
    let hour = local(now, zone).hour();
    hour >= shop.mail.send_hour && !in_quiet_hours(hour, &shop.mail)
}

/// Whether a mail for `date` arriving on `day` would be meaningless.
fn is_late(campaign: Campaign, date: NaiveDate, day: NaiveDate) -> bool {
    campaign.late_days_max().is_some_and(|max| (day - date).num_days() > max)
}
