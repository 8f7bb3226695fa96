//! Wires shop-wide erasure to the in-process bus, as the EventBridge rule on
//! `ShopErasureRequested` feeds the ledger sweep function on AWS. Locally there is no time limit
//! to stay under, so it runs the erasure to its end before the `shop/redact` is answered.

use async_trait::async_trait;
use std::sync::Arc;

use stammkunde_domain::error::cause_chain;
use stammkunde_domain::events::DomainEvent;
use stammkunde_local::Subscriber;
use stammkunde_services::privacy::Privacy;

/// Batches one event runs, bounded like every loop: far above a local shop (of
/// `SHOP_ERASURE_BATCH_LIMIT` records each); a bigger one is asked for again on the bus.
const BATCHES_MAX: u32 = 100_000;

pub struct ErasureSubscriber {
    pub privacy: Arc<Privacy>,
}

#[async_trait]
impl Subscriber for ErasureSubscriber {
    async fn on_event(&self, event: &DomainEvent) -> Result<(), String> {
        let DomainEvent::ShopErasureRequested { shop } = event else { return Ok(()) };
        let erased = self.privacy.erase_shop(shop, BATCHES_MAX).await.map_err(|e| cause_chain(&e))?;
        if erased.done {
            Ok(())
        } else {
            Err(format!("the erasure of shop {shop} did not finish in {BATCHES_MAX} batches; send it again"))
        }
    }
}
