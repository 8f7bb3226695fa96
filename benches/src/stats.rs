//! Latency samples and their percentiles. Samples are kept whole (microseconds, 4 bytes each):
//! a 10 s phase at 10,000/s is 400 KB, and exact percentiles need no histogram library.

use std::time::Duration;

/// Most samples one recorder keeps; beyond it samples are counted but not stored.
pub const SAMPLES_MAX: usize = 4_000_000;

#[derive(Clone, Debug, Default)]
pub struct Latencies {
    micros: Vec<u32>,
    dropped: u64,
}

impl Latencies {
    pub fn push(&mut self, latency: Duration) {
        if self.micros.len() >= SAMPLES_MAX {
            self.dropped += 1;
            return;
        }
        self.micros.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn merge(&mut self, other: Latencies) {
        self.dropped += other.dropped;
        let room = SAMPLES_MAX.saturating_sub(self.micros.len());
        let take = other.micros.len().min(room);
        self.dropped += (other.micros.len() - take) as u64;
        self.micros.extend_from_slice(&other.micros[..take]);
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// Sorted copy, for several percentiles at once.
    pub fn summary(&self) -> Summary {
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        Summary { sorted }
    }
}

pub struct Summary {
    sorted: Vec<u32>,
}

impl Summary {
    /// The `q` quantile (0.0–1.0), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q.clamp(0.0, 1.0) * self.sorted.len() as f64).ceil() as usize;
        let index = rank.saturating_sub(1).min(self.sorted.len() - 1);
        Duration::from_micros(u64::from(self.sorted[index]))
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().map(|m| Duration::from_micros(u64::from(*m))).unwrap_or_default()
    }
}

/// The median of a few timings (the upper one of the middle two for an even count).
pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// `0.84 ms`, `12.3 ms`, `1.20 s`.
pub fn ms(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1000.0;
    if millis >= 1000.0 {
        format!("{:.2} s", millis / 1000.0)
    } else if millis >= 10.0 {
        format!("{millis:.1} ms")
    } else {
        format!("{millis:.2} ms")
    }
}

/// `12,345`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let head = digits.len() % 3;
    let mut out = digits[..head].to_owned();
    for group in digits.as_bytes()[head..].chunks(3) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(std::str::from_utf8(group).unwrap_or_default());
    }
    out
}

/// `14.6 KB` (1 KB = 1024 bytes).
pub fn kib(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

/// `5.83 MB` (1 MB = 1024 × 1024 bytes).
pub fn mib(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / (1024.0 * 1024.0))
}
