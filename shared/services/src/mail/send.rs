//! One candidate, considered: is the mail due in the customer's local time, allowed, within the
//! cap? Then claim it (the send record's conditional create), issue its code, render, hand it to
//! the mailer, and record what happened.
//!
//! The order of those steps is what makes a mail go out once: nothing is sent without a claim,
//! a claim is released only when the mail certainly did not go out, and a claim that was never
//! confirmed (the sender died) is flagged for review, never sent again with a new code.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use stammkunde_domain::config::{Locale, ShopConfig};
use stammkunde_domain::coupon::{Coupon, Issue, IssueRequest};
use stammkunde_domain::customer::Customer;
use stammkunde_domain::error::{cause_chain, MailError};
use stammkunde_domain::ledger::{EntryDetail, EntryKind, LedgerEntry};
use stammkunde_domain::mail::cap::{cap_frees_at, is_capped};
use stammkunde_domain::mail::contact::{permission, AddressDigest};
use stammkunde_domain::mail::due::{birthday_due, birthday_earns_code, due_on, win_back_date};
use stammkunde_domain::mail::feedback::ses_tag_value;
use stammkunde_domain::mail::ledger_mail::mail_for_entry;
use stammkunde_domain::mail::send::CLAIM_LEASE_MINUTES;
use stammkunde_domain::mail::slot::{in_quiet_hours, local, next_send_slot};
use stammkunde_domain::mail::zone::customer_zone;
use stammkunde_domain::mail::{Campaign, LegalBasis, MailClass, MailSend, Refusal, SendState, SendStateKind};
use stammkunde_domain::ports::{CreateOutcome, OutgoingMail};

use super::links::mint_links;
use super::message::{build_message, parse_sender, Envelope};
use super::render::MailView;
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

/// A claimed send, ready to go.
struct Prepared {
    mail: OutgoingMail,
    coupon: Option<Coupon>,
    /// Whether this send issued the coupon (a reminder repeats the win-back's code).
    coupon_is_new: bool,
    link_digest: String,
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
        let basis = match permission(class, topic, &customer, &contact, suppressed, shop.mail.marketing_basis, now) {
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
            let since = now - Duration::days(i64::from(shop.mail.cap_days));
            let claimed: Vec<DateTime<Utc>> = self
                .mail
                .sends_claimed_since(&shop.id, &candidate.customer_id, since)
                .await?
                .into_iter()
                .filter(|s| is_capped(s.campaign.class()) && !(s.campaign == candidate.campaign && s.date == date))
                .filter_map(|s| s.state.claimed_at())
                .collect();
            if let Err(frees_at) = cap_frees_at(now, &claimed, &shop.mail) {
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
            // Scheduled from ledger entries as deferred sends: no index finds them otherwise.
            Campaign::PostPurchase | Campaign::PointsExpiring | Campaign::RefundNotice => None,
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

    /// The code, the links and the finished message. `None`: the reward's pool is empty.
    async fn prepare(
        &self,
        shop: &ShopConfig,
        customer: &Customer,
        claim: &MailSend,
        basis: LegalBasis,
        zone: Tz,
        now: DateTime<Utc>,
    ) -> Result<Option<Prepared>, MailSweepError> {
        let Some(email) = customer.profile.email.as_ref() else { return Ok(None) };
        let (coupon, coupon_is_new) = match self.coupon(shop, customer, claim, zone, now).await? {
            CouponChoice::None => (None, false),
            CouponChoice::PoolEmpty => {
                tracing::warn!(send = %claim.label(), "the reward's code pool is empty: the mail waits for codes");
                return Ok(None);
            }
            CouponChoice::Issued(coupon) => (Some(coupon), true),
            CouponChoice::Repeated(coupon) => (Some(coupon), false),
        };
        let (amount, amount_date) = self.amount(shop, claim, zone).await?;
        let links = mint_links(&self.public_url);
        let rule = &shop.mail;
        let view = MailView {
            campaign: claim.campaign,
            locale: customer_locale(customer, shop),
            shop_name: rule.shop_name.clone(),
            shop_url: rule.shop_url.clone(),
            colour: rule.colour.clone(),
            logo_url: rule.logo_url.clone(),
            imprint: rule.imprint.clone(),
            first_name: customer.profile.first_name.clone(),
            points_available: customer.balance.available,
            points_pending: customer.balance.pending,
            code: coupon.as_ref().map(|c| c.code.to_string()),
            code_valid_until: coupon
                .as_ref()
                .and_then(|c| c.issue.as_ref())
                .map(|i| i.expires_at.with_timezone(&zone).date_naive()),
            amount,
            amount_date,
            unsubscribe_url: links.unsubscribe_url.clone(),
            preferences_url: links.preferences_url.clone(),
            objection_notice: basis == LegalBasis::ExistingCustomer,
        };
        let rendered = self.renderer.render(&view)?;
        let label = format!("{}-{}-{}-{}", shop.id, claim.customer_id, claim.campaign, claim.date);
        let message_id = message_id(&label, now);
        let raw = build_message(
            &Envelope {
                shop: &shop.id,
                campaign: claim.campaign,
                from: &rule.from,
                reply_to: rule.reply_to.as_deref(),
                to: email,
                to_name: customer.profile.first_name.as_deref(),
                unsubscribe_url: &links.unsubscribe_url,
                unsubscribe_mailto: rule.unsubscribe_mailto.as_deref(),
                shop_name: &rule.shop_name,
                date: now,
                message_id: &message_id,
            },
            &rendered,
        )?;
        let (_, from_address) = parse_sender(&rule.from)?;
        let mail = OutgoingMail {
            shop: shop.id.clone(),
            from_address,
            to: email.clone(),
            raw,
            configuration_set: rule.configuration_set.clone(),
            tags: vec![
                ("shop".into(), ses_tag_value(shop.id.as_str())),
                ("campaign".into(), claim.campaign.as_str().into()),
            ],
            label,
        };
        Ok(Some(Prepared { mail, coupon, coupon_is_new, link_digest: links.token_digest }))
    }

    async fn coupon(
        &self,
        shop: &ShopConfig,
        customer: &Customer,
        claim: &MailSend,
        zone: Tz,
        now: DateTime<Utc>,
    ) -> Result<CouponChoice, MailSweepError> {
        let rule = &shop.mail;
        let reward_id = match claim.campaign {
            Campaign::Birthday => rule
                .birthday
                .reward
                .as_ref()
                .filter(|_| birthday_earns_code(customer.birthday_since, claim.date, zone, &rule.birthday)),
            Campaign::WinBack => rule.win_back.reward.as_ref(),
            Campaign::PostPurchase | Campaign::PointsExpiring | Campaign::RefundNotice => None,
            Campaign::WinBackReminder => {
                // The reminder repeats the win-back mail's code while it is valid.
                let win_back = claim.date - Duration::days(i64::from(rule.win_back.reminder_after_days.unwrap_or(0)));
                let sent = self.mail.send(&shop.id, &claim.customer_id, Campaign::WinBack, win_back).await?;
                let code = sent.and_then(|s| match s.state {
                    SendState::Sent { code, .. } => code,
                    _ => None,
                });
                return Ok(match code {
                    Some(code) => match self.codes.code(&shop.id, &code).await? {
                        Some(coupon) if coupon.issue.as_ref().is_some_and(|i| i.expires_at > now) => {
                            CouponChoice::Repeated(coupon)
                        }
                        _ => CouponChoice::None,
                    },
                    None => CouponChoice::None,
                });
            }
        };
        let Some(reward) = reward_id.and_then(|id| shop.reward(id)) else { return Ok(CouponChoice::None) };
        let request = IssueRequest {
            shop: shop.id.clone(),
            reward: reward.id.clone(),
            code_prefix: reward.code_prefix.clone(),
            issue: Issue {
                customer_id: claim.customer_id.clone(),
                redemption: claim.coupon_key()?,
                issued_at: now,
                expires_at: now + Duration::days(i64::from(reward.valid_days)),
            },
        };
        Ok(match self.coupons.issuer(reward.codes).issue(&request).await? {
            Some(coupon) => CouponChoice::Issued(coupon),
            None => CouponChoice::PoolEmpty,
        })
    }

    /// What a points mail reports, from the ledger: the points expiring (and when), or the points
    /// reversals took back on the mail's day.
    async fn amount(
        &self,
        shop: &ShopConfig,
        claim: &MailSend,
        zone: Tz,
    ) -> Result<(Option<i64>, Option<NaiveDate>), MailSweepError> {
        if !matches!(claim.campaign, Campaign::PointsExpiring | Campaign::RefundNotice) {
            return Ok((None, None));
        }
        let entries = self.ledger.entries(&shop.id, &claim.customer_id).await?;
        let on_day = |e: &&LedgerEntry| e.created_at.with_timezone(&zone).date_naive() == claim.date;
        Ok(match claim.campaign {
            // The day's latest notice.
            Campaign::PointsExpiring => entries
                .iter()
                .rev()
                .filter(on_day)
                .find_map(|e| match &e.detail {
                    EntryDetail::ExpiryNotice { points, expires_at } => {
                        Some((Some(*points), Some(expires_at.with_timezone(&zone).date_naive())))
                    }
                    _ => None,
                })
                .unwrap_or((None, None)),
            _ => {
                let taken: i64 = entries
                    .iter()
                    .filter(on_day)
                    .filter_map(|e| match &e.detail {
                        EntryDetail::Reversal(detail) => Some(detail.points()),
                        _ => None,
                    })
                    .sum();
                ((taken > 0).then_some(taken), Some(claim.date))
            }
        })
    }

    /// Records the mail a ledger entry calls for as a deferred send, due at its slot (once: the
    /// send's key is its campaign and local date, so a redelivered event changes nothing).
    pub async fn schedule_for_entry(&self, shop: &ShopConfig, entry: &LedgerEntry) -> Result<bool, MailSweepError> {
        if !shop.mail.enabled
            || !matches!(entry.kind, EntryKind::Reversal | EntryKind::ExpiryNotice | EntryKind::Window)
        {
            return Ok(false);
        }
        let Some(customer) = self.customers.customer(&shop.id, &entry.customer_id).await? else { return Ok(false) };
        let contact = self.mail.contact(&shop.id, &entry.customer_id).await?.unwrap_or_default();
        let zone = customer_zone(contact.time_zone, customer.profile.country.as_deref(), shop.time_zone);
        let earlier_orders = if entry.kind == EntryKind::Window {
            let entries = self.ledger.entries(&shop.id, &entry.customer_id).await?;
            entries.iter().filter(|e| e.kind == EntryKind::Earn && e.order_id != entry.order_id).count()
        } else {
            0
        };
        let Some(mail) = mail_for_entry(entry, earlier_orders, zone, &shop.mail) else { return Ok(false) };
        let send = MailSend {
            shop: shop.id.clone(),
            customer_id: entry.customer_id.clone(),
            campaign: mail.campaign,
            date: mail.date,
            state: SendState::Deferred { due: mail.due },
        };
        Ok(self.mail.create_send(&send).await? == CreateOutcome::Created)
    }
}

/// Who a claimed mail goes to: the customer, the legal basis it goes on, their zone.
struct Recipient<'a> {
    customer: &'a Customer,
    basis: LegalBasis,
    zone: Tz,
}

enum CouponChoice {
    None,
    PoolEmpty,
    Issued(Coupon),
    Repeated(Coupon),
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

/// The customer's language if we write it (German or English), else the shop's.
fn customer_locale(customer: &Customer, shop: &ShopConfig) -> Locale {
    match customer.profile.locale.as_deref().map(|l| l.get(..2).unwrap_or(l).to_ascii_lowercase()) {
        Some(l) if l == "de" => Locale::De,
        Some(l) if l == "en" => Locale::En,
        _ => shop.locale,
    }
}

/// A Message-ID local part: unique per message, no PII.
fn message_id(label: &str, now: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{label}|{}", now.timestamp_nanos_opt().unwrap_or_default()).as_bytes());
    format!("sk.{}", hex::encode(&digest[..12]))
}
