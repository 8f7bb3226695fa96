//! Mail a person asked for (a double opt-in's confirmation, a new link), sent at once.
//!
//! It goes through the same claim as every mail (send record `{campaign}` on the request's date):
//! first recorded as a deferred send due now, so that if this attempt cannot send (a mailer that
//! did not take it) the next sweep finds it in the due index and tries again; then considered at
//! once. One record per customer, campaign and day means one such mail per customer and day,
//! however often a form is sent: a form cannot be used to flood an inbox.

use chrono::NaiveDate;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::{Campaign, MailSend, SendState};

use super::send::Outcome;
use super::sources::Candidate;
use super::sweep::{MailSweep, MailSweepError};

impl MailSweep {
    /// True if the mail went out now. False when it went out before, cannot go (no address,
    /// suppressed, the shop's mail switched off), or waits for a later sweep.
    pub(super) async fn send_asked_for(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        campaign: Campaign,
        date: NaiveDate,
    ) -> Result<bool, MailSweepError> {
        if !shop.mail.enabled {
            return Ok(false);
        }
        let now = self.clock.now();
        let send = MailSend {
            shop: shop.id.clone(),
            customer_id: customer.clone(),
            campaign,
            date,
            state: SendState::Deferred { due: now },
        };
        // Already recorded (a redelivered event, a second request that day): its state decides.
        self.mail.create_send(&send).await?;
        let candidate = Candidate { customer_id: customer.clone(), campaign, date: Some(date) };
        let outcome = self.consider(shop, &candidate, now).await?;
        tracing::info!(shop = %shop.id, %customer, %campaign, ?outcome, "mail asked for");
        Ok(outcome == Outcome::Sent)
    }
}
