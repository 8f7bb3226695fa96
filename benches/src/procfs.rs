//! Readings from `/proc`: a process's peak and current memory, its CPU time in total and per
//! thread name, and the bytes it had written to storage.

use std::collections::BTreeMap;
use std::time::Duration;

/// A `kB` field of `/proc/<pid>/status` (`VmHWM` is the peak resident set, `VmRSS` the current),
/// in bytes.
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// User plus system CPU time of a process (all its threads).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time of a process to the nanosecond: the first field of each thread's `schedstat` (time
/// on a CPU), summed. `cpu_time` counts in 10 ms ticks, too coarse for a start-up of a few ms.
pub fn cpu_time_precise(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut nanos: u64 = 0;
    for task in tasks.flatten() {
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        nanos += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(nanos))
}

/// This process's CPU time: what the load generator itself costs.
pub fn own_cpu_time() -> Option<Duration> {
    cpu_time(std::process::id())
}

/// CPU time per thread name (`sqlite-writer`, `tokio-runtime-w`, …), threads of one name summed.
pub fn thread_cpu_times(pid: u32) -> BTreeMap<String, Duration> {
    let mut times = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return times };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let name = stat.split_once('(').and_then(|(_, rest)| rest.rsplit_once(')')).map(|(name, _)| name.to_owned());
        if let (Some(name), Some(cpu)) = (name, stat_cpu(&stat)) {
            *times.entry(name).or_insert(Duration::ZERO) += cpu;
        }
    }
    times
}

/// Bytes the process caused to be written to storage (`write_bytes` of `/proc/<pid>/io`).
pub fn written_bytes(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok())
}

/// `utime + stime` from a `stat` line. The command name may hold spaces and parentheses, so the
/// fields are counted from the last `)`: utime and stime are the 12th and 13th after it.
fn stat_cpu(stat: &str) -> Option<Duration> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second() as f64))
}

/// `USER_HZ`: 100 on every mainstream Linux build; asked of `getconf` to be sure.
fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|ticks| *ticks > 0)
            .unwrap_or(100)
    })
}
