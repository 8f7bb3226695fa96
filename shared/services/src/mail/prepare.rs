//! What a claimed send becomes before it goes to the mailer: its code (issued under the send's
//! key, or the win-back's repeated), the amount a points mail reports, fresh preference-centre
//! links, and the rendered MIME message.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use stammkunde_domain::config::{Locale, ShopConfig};
use stammkunde_domain::consent::{reconsent_request_key, request_key};
use stammkunde_domain::coupon::{Coupon, Issue, IssueRequest};
use stammkunde_domain::customer::Customer;
use stammkunde_domain::ledger::{EntryDetail, LedgerEntry};
use stammkunde_domain::mail::due::birthday_earns_code;
use stammkunde_domain::mail::feedback::ses_tag_value;
use stammkunde_domain::mail::link::{LinkToken, LINK_VALID_DAYS};
use stammkunde_domain::mail::{Campaign, LegalBasis, MailSend, SendState};
use stammkunde_domain::ports::OutgoingMail;

use super::links::mint_links;
use super::message::{build_message, parse_sender, Envelope};
use super::render::MailView;
use super::sweep::{MailSweep, MailSweepError};

/// A claimed send, ready to go.
pub(super) struct Prepared {
    pub(super) mail: OutgoingMail,
    pub(super) coupon: Option<Coupon>,
    /// Whether this send issued the coupon (a reminder repeats the win-back's code).
    pub(super) coupon_is_new: bool,
    pub(super) link_digest: String,
}

impl MailSweep {
    /// The code, the links and the finished message. `None`: the reward's pool is empty.
    pub(super) async fn prepare(
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
        // Only a confirmation or re-permission mail's link confirms, and only the request it was
        // sent for.
        let confirms = match claim.campaign {
            Campaign::ConsentConfirmation => Some(request_key(claim.date)),
            Campaign::Reconsent => Some(reconsent_request_key(claim.date)),
            _ => None,
        };
        // Stored before the mail goes out, so its links work the moment it arrives.
        let link = LinkToken {
            shop: shop.id.clone(),
            customer_id: claim.customer_id.clone(),
            issued_at: now,
            expires_at: now + Duration::days(LINK_VALID_DAYS),
            confirms: confirms.clone(),
        };
        self.mail.put_link(&links.token_digest, &link).await?;
        let rule = &shop.mail;
        let view = MailView {
            campaign: claim.campaign,
            locale: Locale::for_customer(customer.profile.locale.as_deref(), shop.locale),
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
            confirm_url: confirms.map(|_| links.confirm_url.clone()),
            preferences_button: claim.campaign == Campaign::NewLink,
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
            Campaign::PostPurchase
            | Campaign::PointsExpiring
            | Campaign::RefundNotice
            | Campaign::ConsentConfirmation
            | Campaign::NewLink
            | Campaign::Reconsent => None,
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
    /// reversals took back on the mail's day. A re-permission mail's day is its deadline.
    async fn amount(
        &self,
        shop: &ShopConfig,
        claim: &MailSend,
        zone: Tz,
    ) -> Result<(Option<i64>, Option<NaiveDate>), MailSweepError> {
        if claim.campaign == Campaign::Reconsent {
            // The day the re-permission must come by, in the customer's zone.
            let contact = self.mail.contact(&shop.id, &claim.customer_id).await?.unwrap_or_default();
            return Ok((None, contact.reconsent_by.map(|by| by.with_timezone(&zone).date_naive())));
        }
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
}

enum CouponChoice {
    None,
    PoolEmpty,
    Issued(Coupon),
    Repeated(Coupon),
}

/// A Message-ID local part: unique per message, no PII.
fn message_id(label: &str, now: DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{label}|{}", now.timestamp_nanos_opt().unwrap_or_default()).as_bytes());
    format!("sk.{}", hex::encode(&digest[..12]))
}
