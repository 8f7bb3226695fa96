//! One write to a customer's ledger: read it, decide on exactly what was read, append at its end;
//! if another writer came first, read again and decide again (a bounded number of times). Then
//! publish an event per new entry and store the customer's timer.
//!
//! The timer doubles as the outbox watermark: it is written only after the events of every entry
//! up to its `ledger_len` were published. A run that finds entries beyond the watermark (an
//! earlier publish failed) publishes them first, and a failed publish sets the timer due at once,
//! so the sweep retries it even if no platform ever sends the fact again.

use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::error::{BusError, StoreError};
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::ledger::schedule::next_due;
use stammkunde_domain::ledger::{
    AppendOutcome, Decided, Decision, DecisionError, LedgerEntry, LedgerState, LedgerViolation, Refusal,
};
use stammkunde_domain::ports::{EventBus, LedgerStore, Timer, TimerStore};

/// Reads-and-decides one write may take before it gives up: more than this many other writers
/// appending to one customer's ledger at the same moment is not a real shop's traffic.
pub const APPEND_ATTEMPTS_MAX: usize = 16;

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("ledger store failed")]
    Store(#[from] StoreError),
    #[error("publishing ledger events failed")]
    Bus(#[from] BusError),
    #[error(transparent)]
    Violation(#[from] LedgerViolation),
    #[error("{attempts} writers in a row came first on this ledger")]
    Contention { attempts: usize },
}

impl LedgerError {
    /// Whether repeating the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            LedgerError::Store(e) => e.is_retryable(),
            LedgerError::Bus(_) | LedgerError::Contention { .. } => true,
            LedgerError::Refused(_) | LedgerError::Violation(_) => false,
        }
    }
}

impl From<DecisionError> for LedgerError {
    fn from(e: DecisionError) -> Self {
        match e {
            DecisionError::Refused(r) => LedgerError::Refused(r),
            DecisionError::Violation(v) => LedgerError::Violation(v),
        }
    }
}

#[derive(Debug)]
pub struct LedgerOutcome {
    /// What this run appended (empty if the facts were all on the ledger already).
    pub appended: Vec<LedgerEntry>,
    /// The whole ledger after the run, appended entries included.
    pub ledger: Vec<LedgerEntry>,
    /// The ledger's state after the run.
    pub state: LedgerState,
}

pub struct LedgerService {
    pub ledger: Arc<dyn LedgerStore>,
    pub timers: Arc<dyn TimerStore>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
}

impl LedgerService {
    /// Runs `decide` on the customer's ledger and appends what it decided.
    pub async fn run<F>(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        mut decide: F,
    ) -> Result<LedgerOutcome, LedgerError>
    where
        F: FnMut(&mut Decision<'_>) -> Result<(), DecisionError> + Send,
    {
        let timer = self.timers.timer(&shop.id, customer).await?;
        for _ in 0..APPEND_ATTEMPTS_MAX {
            let entries = self.ledger.entries(&shop.id, customer).await?;
            let read = LedgerState::replay(&shop.id, customer, &entries)?;
            let now = self.clock.now();
            let mut decision = Decision::new(shop, read.clone(), now);
            decide(&mut decision)?;
            let Decided { entries: new, state } = decision.finish()?;
            if !new.is_empty() && self.ledger.append_entries(&shop.id, customer, &new).await? == AppendOutcome::Moved {
                continue;
            }
            let unpublished = unpublished(&entries, timer.as_ref());
            self.publish_and_time(shop, customer, &state, unpublished.iter().chain(&new), timer.as_ref()).await?;
            let mut ledger = entries;
            ledger.extend(new.iter().cloned());
            return Ok(LedgerOutcome { appended: new, ledger, state });
        }
        Err(LedgerError::Contention { attempts: APPEND_ATTEMPTS_MAX })
    }

    async fn publish_and_time<'e>(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        state: &LedgerState,
        to_publish: impl Iterator<Item = &'e LedgerEntry>,
        timer: Option<&Timer>,
    ) -> Result<(), LedgerError> {
        let events: Vec<DomainEvent> =
            to_publish.map(|entry| DomainEvent::LedgerEntryAppended { entry: entry.clone() }).collect();
        let now = self.clock.now();
        if let Err(error) = self.bus.publish(&events).await {
            // Keep the watermark where it was and make the customer due now: the sweep (or the
            // platform's retry) publishes the backlog.
            let watermark = timer.map_or(0, |t| t.ledger_len);
            if let Err(e) = self.timers.set_timer(&shop.id, customer, Some(now), watermark).await {
                tracing::error!(shop = %shop.id, %customer, error = %e, "could not mark unpublished ledger events");
            }
            return Err(error.into());
        }
        let wanted = Timer { due: next_due(state, shop, now), ledger_len: state.len() };
        // No timer and nothing to time (a customer with an empty ledger): nothing to write.
        let nothing = wanted.due.is_none() && wanted.ledger_len == 0;
        if timer != Some(&wanted) && !(timer.is_none() && nothing) {
            self.timers.set_timer(&shop.id, customer, wanted.due, wanted.ledger_len).await?;
        }
        Ok(())
    }
}

/// Entries beyond the timer's watermark: appended, but their events not known to be published.
fn unpublished(entries: &[LedgerEntry], timer: Option<&Timer>) -> Vec<LedgerEntry> {
    let published = timer.map_or(0, |t| t.ledger_len) as usize;
    entries.iter().skip(published).cloned().collect()
}
