//! Closed-loop load: a fixed number of clients, each running one operation
//! after another for a fixed time, and the statistics over rounds.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What one round of one variant measured.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Operations per second.
    pub tps: f64,
    /// Median latency of one operation, when the driver measured it.
    pub p50_us: Option<f64>,
    /// CPU time (user + system) the load generator spent per operation:
    /// this process for in-process series, the child for pgbench.
    pub cpu_us_per_op: Option<f64>,
}

/// CPU time (user + system) used so far by this process (`RUSAGE_SELF`) or
/// by the children it has waited for (`RUSAGE_CHILDREN`).
pub fn cpu_time(who: libc::c_int) -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; it is only read when
    // the call succeeded.
    if unsafe { libc::getrusage(who, usage.as_mut_ptr()) } != 0 {
        return Duration::ZERO;
    }
    // SAFETY: getrusage returned 0, so it initialised the struct.
    let usage = unsafe { usage.assume_init() };
    let of = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    of(usage.ru_utime) + of(usage.ru_stime)
}

/// A tiny xorshift generator: one per client, no shared state, no dependency.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in 1..=n.
    pub fn one_to(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        1 + self.0 % n
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(42)
}

/// Run `op` (given its client's index and random state) in `clients` concurrent loops; count only what completes inside
/// the `duration` window that follows a short warm-up (which opens the pool's
/// connections and fills their statement caches).
pub async fn drive<F, Fut>(clients: usize, duration: Duration, op: F) -> anyhow::Result<Sample>
where
    F: Fn(usize, Rng) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Rng>> + Send + 'static,
{
    let warmup = (duration / 5).clamp(Duration::from_millis(100), Duration::from_millis(500));
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let (op, counting, stop) = (op.clone(), counting.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed() ^ (client as u64 + 1));
            let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                rng = op(client, rng).await?;
                if counting.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    latencies.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    tokio::time::sleep(warmup).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let cpu_at_start = cpu_time(libc::RUSAGE_SELF);
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_time(libc::RUSAGE_SELF).saturating_sub(cpu_at_start);
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let ops = all.len() as f64;
    all.sort_unstable();
    let p50 = all.get(all.len() / 2).map(|&us| f64::from(us));
    Ok(Sample {
        tps: ops / elapsed,
        p50_us: p50,
        cpu_us_per_op: (ops > 0.0).then(|| cpu.as_secs_f64() * 1e6 / ops),
    })
}

/// min / median / max of some rounds.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Stats {
            min: sorted[0],
            median,
            max: sorted[n - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_rounds() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
        assert_eq!(Stats::of(&[1.0, 2.0, 4.0, 3.0]).unwrap().median, 2.5);
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn rng_stays_in_range() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            let v = rng.one_to(10);
            assert!((1..=10).contains(&v));
        }
    }
}
