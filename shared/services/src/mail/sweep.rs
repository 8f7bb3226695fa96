//! The mail sweep: for one shop, every source's candidates a bounded page at a time, each
//! considered and (if due, allowed and not capped) sent once.
//!
//! Cost follows the customers due, never the customer count: candidates come from the birthday
//! and last-order indexes for the few days that can be due, and from the due index (deferred
//! mail, claims past their lease). A run stops after `pages_max` pages, keeping each unfinished
//! source's cursor as a sweep mark, and says whether more is left. Running it twice, or twice at once, sends nothing twice: a mail is
//! sent only by whoever created its send record.

use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::{Duration, Instant};

use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::error::{cause_chain, InputError, StoreError};
use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::ports::{
    CodeStore, CustomerStore, LedgerStore, MailStore, Mailer, Page, PageRequest, ShopStore,
};

use crate::coupons::Coupons;

use super::message::MessageError;
use super::render::{MailRenderer, RenderError};
use super::send::Outcome;
use super::sources::{sources, Candidate, Source};

/// Candidates per index page.
pub const MAIL_PAGE_SIZE: u32 = 100;
/// Customers of a page considered at once.
const CANDIDATES_IN_FLIGHT: usize = 16;
/// The sweep mark of the hour's run: `{YYYY-MM-DDTHH}|{source index}` while unfinished, `|done`.
const RUN_MARK: &str = "mail:run";

#[derive(Debug, Error)]
pub enum MailSweepError {
    #[error("a store call failed")]
    Store(#[from] StoreError),
    #[error("rendering the mail failed")]
    Render(#[from] RenderError),
    #[error("building the message failed")]
    Message(#[from] MessageError),
    #[error("a key could not be formed")]
    Input(#[from] InputError),
}

pub struct MailSweep {
    pub customers: Arc<dyn CustomerStore>,
    pub mail: Arc<dyn MailStore>,
    pub codes: Arc<dyn CodeStore>,
    /// The ledger, for what the points mails say (how many points expire, were taken back).
    pub ledger: Arc<dyn LedgerStore>,
    pub marks: Arc<dyn ShopStore>,
    pub coupons: Arc<Coupons>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub renderer: Arc<MailRenderer>,
    /// Where the preference centre is reached (`https://…`), for the links in every mail.
    pub public_url: String,
    pub pacer: Pacer,
}

/// The resolution of tokio's timer.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// The send slot last taken, to pace sends below the account's rate.
#[derive(Debug, Default)]
pub struct Pacer(Mutex<Option<Instant>>);

impl Pacer {
    /// Each send takes the next free slot (one `1 / rate` after the last one taken, or now) and
    /// waits for it without holding the pacer, so concurrent sends keep the rate. A slot less than
    /// a timer tick ahead is not waited for (the timer ticks in milliseconds: a sleep of a
    /// microsecond would take one); the slots still move on, so the sends behind it wait once the
    /// lead passes a tick, and the rate holds over any second.
    pub async fn wait(&self, sends_per_second_max: u32) {
        let interval = Duration::from_secs(1) / sends_per_second_max.max(1);
        let slot = {
            let mut last = self.0.lock().await;
            let slot = next_slot(*last, Instant::now(), interval);
            *last = Some(slot);
            slot
        };
        if slot > Instant::now() + TIMER_TICK {
            tokio::time::sleep_until(slot).await;
        }
    }
}

/// The slot after `last`: `interval` later, but never in the past (an idle pacer saves up no
/// burst).
fn next_slot(last: Option<Instant>, now: Instant, interval: Duration) -> Instant {
    last.map_or(now, |last| (last + interval).max(now))
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailSweepReport {
    /// Candidates the sources returned.
    pub candidates: u32,
    pub sent: u32,
    /// Held back by the frequency cap (a send record waits in the due index).
    pub deferred: u32,
    /// Deferred past meaning (a birthday mail a week late).
    pub dropped: u32,
    /// Not allowed: no legal basis, unsubscribed, paused, declined topic, suppressed, no address.
    pub refused: u32,
    /// Claims found unconfirmed past their lease: flagged for a person, not sent again.
    pub review: u32,
    /// Could not be sent this time (an empty code pool, a mailer that did not take it, an error):
    /// nothing was sent and a later run tries again.
    pub retry: u32,
    /// Refused for good by the mailer.
    pub failed: u32,
    pub more: bool,
}

impl MailSweepReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Sent => self.sent += 1,
            Outcome::Deferred => self.deferred += 1,
            Outcome::Dropped => self.dropped += 1,
            Outcome::Refused(_) => self.refused += 1,
            Outcome::Review => self.review += 1,
            Outcome::Retry => self.retry += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NotDue | Outcome::Done | Outcome::LostRace => {}
        }
    }
}

impl MailSweep {
    pub async fn sweep_shop(&self, shop: &ShopConfig, pages_max: u32) -> Result<MailSweepReport, MailSweepError> {
        let mut report = MailSweepReport::default();
        if !shop.mail.enabled {
            return Ok(report);
        }
        let now = self.clock.now();
        let all = sources(&shop.mail, now);
        // A continuation resumes at the source the unfinished run of this hour stopped in, so
        // the sources it finished are not read again and every continuation makes progress. A
        // finished run (or one of an earlier hour) leaves nothing to resume: start at the first.
        let run = now.format("%Y-%m-%dT%H").to_string();
        let mark = self.marks.sweep_mark(&shop.id, RUN_MARK).await?;
        let first = match mark.as_deref().and_then(|m| m.split_once('|')) {
            Some((hour, index)) if hour == run => index.parse::<usize>().unwrap_or(0),
            _ => 0,
        };
        let mut pages_left = pages_max;
        for (index, source) in all.iter().enumerate().skip(first) {
            if !self.read_source(shop, source, now, &mut pages_left, &mut report).await? {
                self.marks.set_sweep_mark(&shop.id, RUN_MARK, &format!("{run}|{index}")).await?;
                report.more = true;
                return Ok(report);
            }
        }
        self.marks.set_sweep_mark(&shop.id, RUN_MARK, &format!("{run}|done")).await?;
        Ok(report)
    }

    /// Reads one source, from its mark, while pages are left. Returns whether it got to its end.
    async fn read_source(
        &self,
        shop: &ShopConfig,
        source: &Source,
        now: chrono::DateTime<chrono::Utc>,
        pages_left: &mut u32,
        report: &mut MailSweepReport,
    ) -> Result<bool, MailSweepError> {
        let mark = source.mark();
        let resumed = self.marks.sweep_mark(&shop.id, &mark).await?.filter(|cursor| !cursor.is_empty());
        let mut marked = resumed.is_some();
        let mut page = PageRequest { cursor: resumed, limit: MAIL_PAGE_SIZE };
        loop {
            if *pages_left == 0 {
                return Ok(false);
            }
            *pages_left -= 1;
            let found = self.page(shop, source, now, page.clone()).await?;
            let next = found.next;
            for (candidate, outcome) in self.consider_page(shop, found.items, now).await {
                report.candidates += 1;
                match outcome {
                    Ok(outcome) => report.count(outcome),
                    Err(error) => {
                        report.retry += 1;
                        tracing::error!(shop = %shop.id, customer = %candidate.customer_id, campaign = %candidate.campaign, error = %cause_chain(&error), "mail not sent");
                    }
                }
            }
            match next {
                Some(cursor) => {
                    self.marks.set_sweep_mark(&shop.id, &mark, &cursor).await?;
                    marked = true;
                    page = PageRequest { cursor: Some(cursor), limit: MAIL_PAGE_SIZE };
                }
                None => {
                    if marked {
                        self.marks.set_sweep_mark(&shop.id, &mark, "").await?;
                    }
                    return Ok(true);
                }
            }
        }
    }

    /// Considers a page's candidates, `CANDIDATES_IN_FLIGHT` customers at a time: their store
    /// writes then share group commits (SQLite) or overlap (DynamoDB), where one after another
    /// each mail waited for its own. One customer's candidates go one after another, so the
    /// frequency cap counts each claim before the next is decided.
    async fn consider_page(
        &self,
        shop: &ShopConfig,
        candidates: Vec<Candidate>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<(Candidate, Result<Outcome, MailSweepError>)> {
        let mut by_customer: BTreeMap<CustomerId, Vec<Candidate>> = BTreeMap::new();
        for candidate in candidates {
            by_customer.entry(candidate.customer_id.clone()).or_default().push(candidate);
        }
        let considered = stream::iter(by_customer.into_values())
            .map(|group: Vec<Candidate>| async move {
                let mut outcomes = Vec::with_capacity(group.len());
                for candidate in group {
                    let outcome = self.consider(shop, &candidate, now).await;
                    outcomes.push((candidate, outcome));
                }
                outcomes
            })
            .buffer_unordered(CANDIDATES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        considered.into_iter().flatten().collect()
    }

    async fn page(
        &self,
        shop: &ShopConfig,
        source: &Source,
        now: chrono::DateTime<chrono::Utc>,
        page: PageRequest,
    ) -> Result<Page<Candidate>, StoreError> {
        let customers = |page: Page<stammkunde_domain::ids::CustomerId>, campaign| Page {
            items: page.items.into_iter().map(|customer_id| Candidate { customer_id, campaign, date: None }).collect(),
            next: page.next,
        };
        Ok(match source {
            Source::Due => {
                let found = self.mail.due_sends(&shop.id, now, page).await?;
                Page {
                    items: found
                        .items
                        .into_iter()
                        .map(|send| Candidate {
                            customer_id: send.customer_id,
                            campaign: send.campaign,
                            date: Some(send.date),
                        })
                        .collect(),
                    next: found.next,
                }
            }
            Source::Birthday { month, day } => customers(
                self.customers.customers_by_birthday(&shop.id, *month, *day, page).await?,
                stammkunde_domain::mail::Campaign::Birthday,
            ),
            Source::LastOrder { campaign, date } => {
                customers(self.customers.customers_by_last_order_date(&shop.id, *date, page).await?, *campaign)
            }
        })
    }

    /// Waits until a message may go without passing the account's send rate.
    pub(super) async fn pace(&self, sends_per_second_max: u32) {
        self.pacer.wait(sends_per_second_max).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_each_other_by_the_interval_and_never_lie_in_the_past() {
        let now = Instant::now();
        let interval = Duration::from_millis(100);
        assert_eq!(next_slot(None, now, interval), now);
        assert_eq!(next_slot(Some(now), now, interval), now + interval);
        let ahead = now + Duration::from_secs(1);
        assert_eq!(next_slot(Some(ahead), now, interval), ahead + interval, "slots taken ahead queue up");
        let long_ago = now.checked_sub(Duration::from_secs(60)).unwrap_or(now);
        assert_eq!(next_slot(Some(long_ago), now, interval), now, "no burst saved up");
    }

    /// Real time: only lower bounds of the time sends must wait, and one generous upper bound that
    /// a sleep per send (a timer tick each, a second in all) would pass by far.
    #[tokio::test]
    async fn concurrent_sends_keep_the_rate_and_a_high_rate_waits_for_nothing() {
        let pacer = Pacer::default();
        let start = Instant::now();
        let send = |rate| {
            let pacer = &pacer;
            async move {
                pacer.wait(rate).await;
                Instant::now()
            }
        };
        let times = futures::future::join_all((0..10).map(|_| send(50))).await;
        let last = times.iter().max().copied().unwrap_or(start);
        assert!(last - start >= Duration::from_millis(180), "10 sends at 50/s take 180 ms: {:?}", last - start);
        // At a million per second the slots are a microsecond apart: no send waits a timer tick.
        let fast = Pacer::default();
        let before = Instant::now();
        for _ in 0..1_000 {
            fast.wait(1_000_000).await;
        }
        assert!(Instant::now() - before < Duration::from_millis(100), "{:?}", Instant::now() - before);
    }
}
