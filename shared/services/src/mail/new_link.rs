//! The new-link mail: a fresh link to the preference centre, asked for on its "send me a new
//! link" form (`DomainEvent::LinkRequested`) by a person whose mail's link expired. Sent as the
//! confirmation mail is (see `asked`): at once, through the usual claim, one per customer and
//! day; the form's own limits come before that.

use chrono::NaiveDate;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::Campaign;

use super::sweep::{MailSweep, MailSweepError};

impl MailSweep {
    /// Sends the new-link mail asked for on `date`; true if it went out now. False when one went
    /// out that day before, it cannot go, or it waits for a later sweep.
    pub async fn send_new_link(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        date: NaiveDate,
    ) -> Result<bool, MailSweepError> {
        self.send_asked_for(shop, customer, Campaign::NewLink, date).await
    }
}
