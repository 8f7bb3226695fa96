//! Group commit: one thread owns the only write connection and commits many jobs at once.
//!
//! A durable commit costs an fsync, and one fsync per webhook caps throughput at the disk's sync
//! rate. So callers send jobs through a bounded queue; the writer takes the first job, drains
//! whatever else is queued (at most `BATCH_JOBS_MAX`), runs them all in ONE transaction, each in
//! its own savepoint so a failing job rolls back only itself, commits once, and only then
//! answers every job. An `Ok` answer therefore always means "on disk".

use chrono::{DateTime, Utc};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use stammkunde_domain::clock::Clock;
use stammkunde_domain::error::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::error::{writer_stopped, SqlResultExt, SqliteStoreError};
use crate::ingest;

/// Jobs waiting for the writer before senders wait too (backpressure instead of unbounded memory).
pub const QUEUE_JOBS_MAX: usize = 1024;
/// Most jobs in one transaction: bounds the latency one commit adds to the jobs behind it.
pub const BATCH_JOBS_MAX: usize = 256;
/// How often expired delivery records are pruned, at most.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Commit counts, for tests and metrics: `jobs / commits` is the batching factor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed (one fsync each).
    pub commits: u64,
    /// Jobs answered, successful or not.
    pub jobs: u64,
}

#[derive(Debug, Default)]
struct Counters {
    commits: AtomicU64,
    jobs: AtomicU64,
}

/// A job as the writer sees it: run inside the batch, answer after the commit.
trait Job: Send {
    /// Runs the work in its own savepoint. An `Err` here is about the savepoint itself, meaning
    /// the transaction is unusable and the whole batch must be abandoned.
    fn run(&mut self, tx: &Transaction<'_>) -> Result<(), rusqlite::Error>;
    /// Sends the job's result, or `failed` if the batch did not commit.
    fn answer(self: Box<Self>, failed: Option<&str>);
}

type Work<T> = Box<dyn FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send>;

struct Pending<T> {
    work: Option<Work<T>>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send> Job for Pending<T> {
    fn run(&mut self, tx: &Transaction<'_>) -> Result<(), rusqlite::Error> {
        let Some(work) = self.work.take() else { return Ok(()) };
        tx.prepare_cached("SAVEPOINT job")?.execute([])?;
        // A panicking job (a bug) must not take the writer thread, and with it the store, down.
        let result = catch_unwind(AssertUnwindSafe(|| work(tx))).unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(StoreError::backend("write job", SqliteStoreError::JobPanicked(message)))
        });
        if result.is_err() {
            tx.prepare_cached("ROLLBACK TO job")?.execute([])?;
        }
        tx.prepare_cached("RELEASE job")?.execute([])?;
        self.result = Some(result);
        Ok(())
    }

    fn answer(self: Box<Self>, failed: Option<&str>) {
        let Pending { result, reply, .. } = *self;
        let result = match (result, failed) {
            // A job that failed on its own keeps its own error; its writes were rolled back anyway.
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), None) => Ok(value),
            (Some(Ok(_)), Some(reason)) => Err(batch_failed(reason)),
            (None, reason) => Err(batch_failed(reason.unwrap_or("the batch ended before the job ran"))),
        };
        // The caller may have gone away (cancelled request); the write stands either way.
        let _ = reply.send(result);
    }
}

/// Retryable: the job itself was fine, it only shared a batch that could not commit.
fn batch_failed(reason: &str) -> StoreError {
    StoreError::unavailable("sqlite write", SqliteStoreError::BatchFailed(reason.to_owned()))
}

/// The handle callers use; dropping it stops the writer after it has finished every queued job.
pub struct Writer {
    sender: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Writer {
    pub fn start(conn: Connection, clock: Arc<dyn Clock>) -> Result<Writer, StoreError> {
        let (sender, receiver) = mpsc::channel(QUEUE_JOBS_MAX);
        let counters = Arc::new(Counters::default());
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, receiver, &thread_counters, clock.as_ref()))
            .map_err(|error| StoreError::backend("starting the sqlite writer thread", error))?;
        Ok(Writer { sender: Some(sender), thread: Some(thread), counters })
    }

    /// Runs `work` in the next batch and returns its result once the batch is durably committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let sender = self.sender.as_ref().ok_or_else(writer_stopped)?;
        let (reply, answer) = oneshot::channel();
        let job = Pending { work: Some(Box::new(work) as Work<T>), result: None, reply };
        sender.send(Box::new(job)).await.map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| writer_stopped())?
    }

    pub fn stats(&self) -> WriteStats {
        WriteStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            jobs: self.counters.jobs.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the writer's loop once it has drained it; joining makes sure the
        // connection is closed (and the WAL checkpointed) before the store is reopened.
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the sqlite writer thread panicked");
            }
        }
    }
}

fn run(mut conn: Connection, mut receiver: mpsc::Receiver<Box<dyn Job>>, counters: &Counters, clock: &dyn Clock) {
    let mut last_prune: Option<Instant> = None;
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = Vec::with_capacity(BATCH_JOBS_MAX);
        batch.push(first);
        while batch.len() < BATCH_JOBS_MAX {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let prune = last_prune.is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL).then(|| clock.now());
        if prune.is_some() {
            last_prune = Some(Instant::now());
        }
        let jobs = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        let committed = commit_batch(&mut conn, &mut batch, prune);
        if committed.is_ok() {
            counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        let failed = committed.as_ref().err().map(|error| error.to_string());
        if let Some(reason) = &failed {
            tracing::error!(jobs, reason, "sqlite batch failed");
        }
        // Counted before answering, so a caller that saw its answer also sees it counted.
        counters.jobs.fetch_add(jobs, Ordering::Relaxed);
        for job in batch {
            job.answer(failed.as_deref());
        }
    }
}

/// Runs the batch in one transaction and commits it. On error nothing of the batch is stored.
/// `prune`: the time to prune expired delivery records at, if this batch prunes.
fn commit_batch(
    conn: &mut Connection,
    batch: &mut [Box<dyn Job>],
    prune: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).or_store("starting a batch")?;
    for job in batch.iter_mut() {
        job.run(&tx).or_store("running a job's savepoint")?;
    }
    if let Some(now) = prune {
        prune_deliveries(&tx, now);
    }
    tx.commit().or_store("committing a batch")
}

/// Pruning is housekeeping: it runs in its own savepoint and its failure is logged, never passed
/// on to the batch it rides with.
fn prune_deliveries(tx: &Transaction<'_>, now: DateTime<Utc>) {
    let pruned = tx.execute_batch("SAVEPOINT prune").and_then(|()| {
        let result = ingest::prune_expired_deliveries(tx, now);
        let end = if result.is_ok() { "RELEASE prune" } else { "ROLLBACK TO prune; RELEASE prune" };
        tx.execute_batch(end).and(result)
    });
    match pruned {
        Ok(rows) if rows > 0 => tracing::debug!(rows, "pruned expired delivery records"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "pruning expired delivery records failed"),
    }
}
