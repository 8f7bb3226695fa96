//! What the figures depend on, printed before them: the CPU count, the data directory's file
//! system (it must be a real disk, since the embedded store's figures are fsync-bound) and what a
//! durable 4 KB append costs there.

use std::path::Path;
use std::time::Instant;

use crate::embedded::file_system;
use crate::stats::{ms, Latencies};
use crate::BenchResult;

/// 4 KB appends each fsync probe times.
pub const FSYNC_PROBES: usize = 200;

/// Prints the machine line and the disk line; refuses a data directory on a tmpfs or ramfs, whose
/// "fsync" costs nothing and would make every figure meaningless.
pub fn print_machine(data_parent: &Path) -> BenchResult<()> {
    let fs = file_system(data_parent).unwrap_or_else(|| "unknown".into());
    if fs == "tmpfs" || fs == "ramfs" {
        return Err(format!("{} is on {fs}: pass --data-parent on a real disk", data_parent.display()).into());
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cpus} CPUs; data in {} ({fs})", data_parent.display());
    print_disk("disk", data_parent)
}

/// What a durable 4 KB append costs in `dir` now, after `label`: on a shared disk it changes
/// between the start of a run and its measured part.
pub fn print_disk(label: &str, dir: &Path) -> BenchResult<()> {
    let fsync = fsync_probe(dir)?.summary();
    println!(
        "{label}: 4 KB append + fdatasync p50 {}, p99 {} ({FSYNC_PROBES} probes)",
        ms(fsync.quantile(0.50)),
        ms(fsync.quantile(0.99))
    );
    Ok(())
}

/// Makes every file in `dir` (not recursive) and the directory itself durable: what a filled
/// store left in the page cache is written now, not during the measured work that follows (an
/// fsync then would wait for it).
pub fn sync_directory(dir: &Path) -> BenchResult<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::File::open(entry.path())?.sync_all()?;
        }
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// How long a durable 4 KB append takes on the disk under `dir`: every SQLite group commit pays
/// one of these.
pub fn fsync_probe(dir: &Path) -> BenchResult<Latencies> {
    use std::io::Write;
    let file = tempfile::NamedTempFile::new_in(dir)?;
    let mut handle = file.as_file();
    let block = [0u8; 4096];
    let mut latencies = Latencies::default();
    for _ in 0..FSYNC_PROBES {
        let started = Instant::now();
        handle.write_all(&block)?;
        handle.sync_data()?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}
