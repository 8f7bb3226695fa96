//! Wires the mail sweep to the in-process bus, as the EventBridge rule on `LedgerEntryAppended`
//! (reversals, expiry notices, fulfilments), `SubscriptionRequested` (a double opt-in's
//! confirmation mail) and `LinkRequested` (a new link asked for) does on AWS.

use async_trait::async_trait;
use std::sync::Arc;

use stammkunde_domain::config::ShopDirectory;
use stammkunde_domain::error::cause_chain;
use stammkunde_domain::events::DomainEvent;
use stammkunde_local::Subscriber;
use stammkunde_services::mail::MailSweep;

pub struct MailSubscriber {
    pub shops: Arc<ShopDirectory>,
    pub mail: Arc<MailSweep>,
}

#[async_trait]
impl Subscriber for MailSubscriber {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        let Some(shop) = self.shops.by_id(event.shop()) else { return Ok(()) };
        let done = match event {
            DomainEvent::LedgerEntryAppended { entry } => self.mail.schedule_for_entry(shop, entry).await,
            DomainEvent::SubscriptionRequested { customer_id, date, .. } => {
                self.mail.send_confirmation(shop, customer_id, *date).await
            }
            DomainEvent::LinkRequested { customer_id, date, .. } => {
                self.mail.send_new_link(shop, customer_id, *date).await
            }
            _ => return Ok(()),
        };
        done.map(|_| ()).map_err(|e| cause_chain(&e))
    }
}
