//! `EventBus` on EventBridge: PutEvents in chunks of at most 10 entries, failed entries retried a
//! bounded number of times.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use stammkunde_domain::error::BusError;
use stammkunde_domain::events::{DomainEvent, EVENT_SOURCE};
use stammkunde_domain::ports::EventBus;
use std::time::Duration;

use crate::sdk_error::{is_transient, is_transient_code};

/// PutEvents takes at most 10 entries per call.
const ENTRIES_PER_CALL_MAX: usize = 10;
/// EventBridge's limit on one entry, counted as source + detail-type + detail bytes.
pub const ENTRY_BYTES_MAX: usize = 256 * 1024;
/// Calls per chunk: the first plus retries of the entries that failed transiently.
const ATTEMPTS_MAX: u32 = 3;
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        EventBridgeBus { client, bus_name: bus_name.into() }
    }

    /// The entry for one event, refused before anything is sent if EventBridge would refuse it.
    fn entry(&self, event: &DomainEvent) -> Result<PutEventsRequestEntry, BusError> {
        let detail_type = event.detail_type();
        let detail = serde_json::to_string(event)
            .map_err(|e| BusError::Rejected(format!("{detail_type} cannot be serialised: {e}")))?;
        let size = EVENT_SOURCE.len() + detail_type.len() + detail.len();
        if size > ENTRY_BYTES_MAX {
            return Err(BusError::Rejected(format!(
                "{detail_type} for shop {} is {size} bytes, over EventBridge's {ENTRY_BYTES_MAX}",
                event.shop()
            )));
        }
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .build())
    }

    async fn put_chunk(&self, mut pending: Vec<PutEventsRequestEntry>) -> Result<(), BusError> {
        for attempt in 0..ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(RETRY_BACKOFF * 2u32.pow(attempt - 1)).await;
            }
            let out = self.client.put_events().set_entries(Some(pending.clone())).send().await.map_err(|err| {
                let message = if is_transient(&err) {
                    format!("PutEvents to bus {} failed, worth a retry", self.bus_name)
                } else {
                    format!("PutEvents to bus {} failed", self.bus_name)
                };
                BusError::Unavailable { message, source: Some(Box::new(err)) }
            })?;
            if out.failed_entry_count() == 0 {
                return Ok(());
            }
            let results = out.entries();
            let mut retry = Vec::new();
            for (index, entry) in pending.iter().enumerate() {
                // Results match entries by position; a missing result counts as a failure.
                let code = match results.get(index) {
                    Some(result) => result.error_code(),
                    None => Some("MissingResult"),
                };
                match code {
                    None => {}
                    Some(code) if is_transient_code(code) || code == "MissingResult" => retry.push(entry.clone()),
                    Some(code) => {
                        let message = results.get(index).and_then(|r| r.error_message()).unwrap_or_default();
                        let detail_type = entry.detail_type().unwrap_or_default();
                        return Err(BusError::Rejected(format!("{detail_type}: {code}: {message}")));
                    }
                }
            }
            if retry.is_empty() {
                return Ok(());
            }
            pending = retry;
        }
        Err(BusError::Unavailable {
            message: format!(
                "{} events not accepted by bus {} after {ATTEMPTS_MAX} attempts",
                pending.len(),
                self.bus_name
            ),
            source: None,
        })
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), BusError> {
        // Every entry is built (and size-checked) first so an oversized event publishes nothing.
        let entries = events.iter().map(|e| self.entry(e)).collect::<Result<Vec<_>, _>>()?;
        for chunk in entries.chunks(ENTRIES_PER_CALL_MAX) {
            self.put_chunk(chunk.to_vec()).await?;
        }
        Ok(())
    }
}
