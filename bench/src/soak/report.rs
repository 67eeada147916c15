//! The soak's Markdown report: throughput and latency per kind of operation,
//! errors, the server's memory, and the consistency check's lines.

use std::fmt::Write as _;

use anyhow::Context;

use super::scenario::{Load, MIX, PINNED};

/// What the report is made of.
pub struct Run<'a> {
    pub seconds: f64,
    pub tenants: usize,
    pub clients: usize,
    pub setup_secs: f64,
    /// PostgreSQL's `server_version`.
    pub version: String,
    pub load: &'a Load,
    /// The server's VmRSS in KiB after start, after set-up and at the end.
    pub rss_after_start: u64,
    pub rss_at_load_start: u64,
    pub rss_at_end: u64,
    /// The server's VmHWM in KiB at the end.
    pub peak: u64,
    pub consistency: &'a [(bool, String)],
    pub passed: bool,
}

/// The report, Markdown.
pub fn render(run: Run<'_>) -> anyhow::Result<String> {
    let Run {
        seconds,
        tenants,
        clients,
        setup_secs,
        version,
        load,
        rss_after_start,
        rss_at_load_start,
        rss_at_end,
        peak,
        consistency,
        passed,
    } = run;
    let Load {
        tally,
        rss_samples,
        sample_every,
        elapsed,
    } = load;
    let errors: u64 = tally.errors.values().sum();
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let command: Vec<String> = std::env::args().skip(1).collect();
    writeln!(
        out,
        "## tenantry soak: {secs} s of mixed load over {tenants} organizations\n\n\
         - date: {date}\n\
         - machine: {cores} cores; PostgreSQL {version} on the same machine; server and load generator share them\n\
         - command: `cargo run --release -p bench -- {command}`\n\
         - {clients} closed-loop HTTP clients, each operation in one organization (owner PAT 40 %, member PAT 40 %, owner session 20 %)\n\
         - set-up through the API in {setup_secs:.1} s: per organization an owner and a member (sign-up, organization, invitation accepted after the member's email is marked verified in SQL), a PAT each, {PINNED} projects, one MCP session\n",
        secs = seconds,
        tenants = tenants,
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        command = command.join(" "),
        clients = clients,
    )?;
    writeln!(
        out,
        "| operation | what | ops | ops/s | p50 ms | p99 ms | max ms | errors |\n|---|---|---:|---:|---:|---:|---:|---:|"
    )?;
    let mut all = Vec::new();
    for (kind, _) in MIX {
        let mut l = tally.latencies.get(&kind).cloned().unwrap_or_default();
        l.sort_unstable();
        let errs: u64 = tally
            .errors
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, c)| c)
            .sum();
        writeln!(
            out,
            "| {kind:?} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {errs} |",
            kind.what(),
            l.len(),
            l.len() as f64 / elapsed,
            percentile(&l, 50.0),
            percentile(&l, 99.0),
            percentile(&l, 100.0),
        )?;
        all.extend(l);
    }
    all.sort_unstable();
    writeln!(
        out,
        "| **all** | | **{}** | **{:.0}** | {:.1} | **{:.1}** | {:.1} | **{errors}** |\n",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0),
    )?;
    if tally.errors.is_empty() {
        writeln!(out, "Errors: none.\n")?;
    } else {
        writeln!(
            out,
            "| errors: operation | status | count |\n|---|---|---:|"
        )?;
        for ((kind, what), count) in &tally.errors {
            writeln!(out, "| {kind:?} | {what} | {count} |")?;
        }
        out.push('\n');
    }
    let samples: Vec<String> = rss_samples.iter().map(|k| mib(*k)).collect();
    writeln!(
        out,
        "| server memory (child process) | |\n|---|---:|\n\
         | RSS after start (VmRSS) | {} |\n\
         | RSS at load start, after set-up (VmRSS) | {} |\n\
         | RSS at end of load (VmRSS) | {} |\n\
         | peak RSS (VmHWM) | {} |\n\n\
         RSS every {} s during the load: {}.\n",
        mib(rss_after_start),
        mib(rss_at_load_start),
        mib(rss_at_end),
        mib(peak),
        sample_every.as_secs(),
        if samples.is_empty() {
            "-".to_owned()
        } else {
            samples.join(", ")
        },
    )?;
    writeln!(out, "Consistency after the load:\n")?;
    for (ok, line) in consistency {
        writeln!(out, "- {} {line}", if *ok { "ok:" } else { "**FAILED**:" })?;
    }
    writeln!(
        out,
        "\n_Load {elapsed:.1} s; {}._",
        if passed { "passed" } else { "**FAILED**" }
    )?;
    Ok(out)
}

/// VmRSS or VmHWM of `pid`, in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}
