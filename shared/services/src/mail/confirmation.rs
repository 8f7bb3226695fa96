//! The double opt-in's confirmation mail, sent when a subscription is requested (see `asked`:
//! at once, through the usual claim, one per customer and day).

use chrono::NaiveDate;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::Campaign;

use super::sweep::{MailSweep, MailSweepError};

impl MailSweep {
    /// Sends the confirmation mail for the customer's request of `date`; true if it went out
    /// now. False when it went out before, cannot go (no address, suppressed, the shop's mail
    /// switched off), or waits for a later sweep.
    pub async fn send_confirmation(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        date: NaiveDate,
    ) -> Result<bool, MailSweepError> {
        self.send_asked_for(shop, customer, Campaign::ConsentConfirmation, date).await
    }
}
