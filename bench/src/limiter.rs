//! `bench limiter`: the abuse limiter's table under a flood of distinct
//! addresses (RELIABILITY.md, "Abuse limits"). No database, no server: the
//! table is the whole cost of a check.
//!
//! ```text
//! cargo run --release -p bench -- limiter                # 5 rounds of 1,000,000 new addresses each
//! cargo run --release -p bench -- limiter --keys 200000 --rounds 2
//! ```
//!
//! Interleaved rounds (A B C A B C ...), each timing `--keys` checks:
//!
//! - A, the baseline: one address, its counter open (the cheapest check);
//! - B: distinct addresses into a table with room for all of them;
//! - C: distinct addresses never seen before, through one table of the
//!   default capacity that stays full for the whole run (the flood).
//!
//! Reported: ns per check (min / median / max over rounds) and the ratio of
//! medians to A; for C, the counters held and the bytes the table has
//! allocated before and after, and the process's RSS (VmRSS, peak VmHWM).
//! The run fails if C's table grows, holds more than its capacity, or lets
//! the flood reset an address it was limiting.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use anyhow::ensure;
use tenantry_app::limits::{ClientKey, DEFAULT_CAPACITY, RateLimiter, Rule};

/// `bench limiter` options.
#[derive(clap::Args, Debug)]
pub struct LimiterArgs {
    /// Checks per round (and new addresses per flood round).
    #[arg(long, default_value_t = 1_000_000)]
    keys: u32,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

/// Every window stays open for the run: nothing is swept, the table stays full.
const LONG: Rule = Rule::new(u32::MAX, Duration::from_secs(3600));
/// The sign-in rule, for the address being limited.
const SIGN_IN: Rule = Rule::new(3, Duration::from_secs(3600));

fn ipv4(n: u32) -> ClientKey {
    ClientKey::from(IpAddr::V4(Ipv4Addr::from(n)))
}

/// A distinct IPv6 /64 per `n` (the key drops the low 64 bits).
fn ipv6(n: u64) -> ClientKey {
    ClientKey::from(IpAddr::V6(Ipv6Addr::from(
        (0x2001_0db8_u128 << 96) | (u128::from(n) << 64),
    )))
}

pub fn run(args: LimiterArgs) -> anyhow::Result<()> {
    ensure!(
        args.keys > 0 && args.rounds > 0,
        "--keys and --rounds must be positive"
    );
    let rss_start = proc_status_kib("VmRSS");
    let flood = RateLimiter::new(DEFAULT_CAPACITY);
    let flood_bytes = flood.allocated_bytes();
    let victim = ipv4(0xcb00_7101);
    for _ in 0..3 {
        flood.hit(1, victim, &SIGN_IN).ok();
    }
    ensure!(
        flood.hit(1, victim, &SIGN_IN).is_err(),
        "the victim is limited"
    );
    let hot = RateLimiter::new(DEFAULT_CAPACITY);
    let mut next_flood_key: u64 = 0;
    let mut results = [Vec::new(), Vec::new(), Vec::new()];
    for round in 1..=args.rounds {
        // A: one address.
        let key = ipv4(0x0a00_0001);
        results[0].push(time(args.keys, |_| {
            let _ = hot.hit(7, key, &LONG);
        }));
        // B: a table with room for every address of the round.
        let roomy = RateLimiter::new(args.keys as usize);
        results[1].push(time(args.keys, |n| {
            let _ = roomy.hit(7, ipv4(0x0b00_0000 + n), &LONG);
        }));
        drop(roomy);
        // C: the flood, half IPv4 and half IPv6 networks, none seen before.
        results[2].push(time(args.keys, |_| {
            let n = next_flood_key;
            next_flood_key += 1;
            let key = if n.is_multiple_of(2) {
                ipv4(0x0c00_0000u32.wrapping_add((n / 2) as u32))
            } else {
                ipv6(n)
            };
            let _ = flood.hit(7, key, &LONG);
        }));
        crate::progress(format!(
            "limiter round {round}/{}: {:.0} / {:.0} / {:.0} ns per check",
            args.rounds,
            results[0].last().unwrap(),
            results[1].last().unwrap(),
            results[2].last().unwrap()
        ));
    }
    ensure!(
        flood.len() <= flood.capacity(),
        "the flood table outgrew its capacity"
    );
    ensure!(
        flood.allocated_bytes() == flood_bytes,
        "the flood table reallocated"
    );
    ensure!(
        flood.hit(1, victim, &SIGN_IN).is_err(),
        "the flood reset the limited address"
    );
    let rss_end = proc_status_kib("VmRSS");
    let hwm = proc_status_kib("VmHWM");

    let labels = [
        "A: one address (baseline)",
        "B: distinct addresses, table with room",
        "C: flood of new addresses, table full",
    ];
    let baseline = median(&results[0]);
    let mut out = String::from("#### The abuse limiter under a flood of distinct addresses\n\n");
    out.push_str(&format!(
        "- {} rounds of {} checks per variant; {} distinct addresses through table C ({} counters of capacity)\n\n",
        args.rounds, args.keys, next_flood_key, flood.capacity()
    ));
    out.push_str("| variant | ns per check (min / median / max) | median / A |\n|---|---|---|\n");
    for (label, samples) in labels.iter().zip(&results) {
        let (min, max) = samples
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        out.push_str(&format!(
            "| {label} | {min:.0} / {:.0} / {max:.0} | {:.2} |\n",
            median(samples),
            median(samples) / baseline
        ));
    }
    out.push_str(&format!(
        "\n- table C: {} counters held, capacity {}; {:.1} MiB allocated at start and at end (entries and control bytes)\n\
         - process RSS: {} at start, {} at end, peak {} (table B of the round is the largest allocation)\n\
         - the address limited before the flood is still limited after it\n",
        flood.len(),
        flood.capacity(),
        flood_bytes as f64 / 1_048_576.0,
        mib(rss_start),
        mib(rss_end),
        mib(hwm),
    ));
    println!("{out}");
    Ok(())
}

/// Mean ns per call of `check` over `n` calls.
fn time(n: u32, mut check: impl FnMut(u32)) -> f64 {
    let started = Instant::now();
    for i in 0..n {
        check(i);
    }
    started.elapsed().as_nanos() as f64 / f64::from(n)
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn proc_status_kib(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}
