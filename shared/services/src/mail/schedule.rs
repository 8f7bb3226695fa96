//! The mails ledger entries call for (post-purchase, points expiring, refund notice), recorded as
//! deferred sends the next sweep finds in the due index.

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ledger::{EntryKind, LedgerEntry};
use stammkunde_domain::mail::ledger_mail::mail_for_entry;
use stammkunde_domain::mail::zone::customer_zone;
use stammkunde_domain::mail::{MailSend, SendState};
use stammkunde_domain::ports::CreateOutcome;

use super::sweep::{MailSweep, MailSweepError};

impl MailSweep {
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
