//! Work spread over tasks: filling a store with many concurrent writers, so that the store's
//! group commit has company to batch (one writer alone would pay an fsync per write).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

use crate::stats::thousands;
use crate::{BenchError, BenchResult};

/// Runs `work(i)` for every `i` in `0..count` on `tasks` tasks; the first error stops the run.
/// With `progress`, prints a line at every tenth of the way.
pub async fn for_each<F, Fut>(tasks: usize, count: u64, progress: Option<&str>, work: F) -> BenchResult<()>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = BenchResult<()>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    // Progress counts work finished, not started: tasks finish out of order.
    let done = Arc::new(AtomicU64::new(0));
    let work = Arc::new(work);
    let started = Instant::now();
    let step = (count / 10).max(1);
    let label = progress.map(str::to_owned);
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let (next, done, work, label) = (next.clone(), done.clone(), work.clone(), label.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<(), BenchError>(());
                }
                work(i).await?;
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(label) = label.as_deref().filter(|_| finished % step == 0) {
                    let secs = started.elapsed().as_secs_f64();
                    let rate = finished as f64 / secs.max(1e-9);
                    println!(
                        "  {label}: {} of {} ({secs:.1} s, ~{:.0}/s)",
                        thousands(finished),
                        thousands(count),
                        rate
                    );
                }
            }
        });
    }
    while let Some(joined) = set.join_next().await {
        if let Err(error) = joined? {
            set.abort_all();
            return Err(error);
        }
    }
    Ok(())
}
