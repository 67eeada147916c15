//! The out-of-process competitors: pgbench (C, libpq), the seed's Node.js
//! stack, and hand-written sqlx. Each runs one round per invocation and
//! reports its own throughput over its own measuring window.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::load::Sample;

/// Where the peers' sources live (bench/peers).
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// The best pgbench script for a tenant point read: every setting tenantry
/// sets, then the read, in one pipeline with a single Sync, so both run in
/// one implicit transaction (no BEGIN/COMMIT needed, one flush each way).
/// The statement timeout is a session default, as on tenantry's tenant pool
/// (`PGOPTIONS` in [`pgbench`]), not a fourth `set_config`.
pub fn pgbench_script(rows: u64, tenants: u64) -> String {
    format!(
        "\\set g random(1, {rows})\n\
         \\set org 1 + (:g % {tenants})\n\
         \\startpipeline\n\
         SELECT set_config('role', 'authenticated', true), \
         set_config('app.tenant_id', '00000000-0000-4000-a000-' || lpad(to_hex(:org::bigint), 12, '0'), true), \
         set_config('app.user_id', '', true);\n\
         SELECT name FROM project WHERE id = ('00000000-0000-4000-8000-' || lpad(to_hex(:g::bigint), 12, '0'))::uuid;\n\
         \\endpipeline\n"
    )
}

/// Find pgbench next to the cluster's server binaries, else on PATH.
pub fn find_pgbench() -> Option<PathBuf> {
    if let Ok(dir) = tenantry_cluster::find_bin_dir() {
        let candidate = dir.join("pgbench");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    which("pgbench")
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

pub struct PgbenchRun<'a> {
    pub pgbench: &'a Path,
    pub script: &'a Path,
    pub port: u16,
    pub database: &'a str,
    pub password: &'a str,
    pub clients: usize,
    pub statement_timeout_ms: u128,
}

/// The CPU pgbench spends before its first transaction (process start, one
/// SCRAM login per client, threads), measured once with `-t 1` and taken off
/// every round's, so that its CPU per transaction compares with the
/// in-process series, which are measured after their warm-up.
static START_UP_CPU: OnceLock<Duration> = OnceLock::new();

/// One pgbench round; its "tps = ..." line.
pub async fn pgbench(run: &PgbenchRun<'_>, duration: Duration) -> anyhow::Result<Sample> {
    let start_up = match START_UP_CPU.get() {
        Some(cpu) => *cpu,
        None => {
            let (_, cpu) = run_pgbench(run, ["-t", "1"]).await?;
            *START_UP_CPU.get_or_init(|| cpu)
        }
    };
    // pgbench takes whole seconds.
    let seconds = duration.as_secs_f64().ceil().max(1.0) as u64;
    let (stdout, cpu) = run_pgbench(run, ["-T", &seconds.to_string()]).await?;
    let cpu = cpu.saturating_sub(start_up);
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .with_context(|| format!("no 'tps = ' line in pgbench's output:\n{stdout}"))?;
    let failed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("0");
    if failed != "0" {
        bail!("pgbench: {failed} failed transactions\n{stdout}");
    }
    let transactions = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|&n| n > 0.0);
    Ok(Sample {
        tps,
        p50_us: None,
        cpu_us_per_op: transactions.map(|n| cpu.as_secs_f64() * 1e6 / n),
    })
}

/// Run pgbench with `limit` (`-T seconds` or `-t transactions`): its
/// standard output and the CPU it used.
async fn run_pgbench(run: &PgbenchRun<'_>, limit: [&str; 2]) -> anyhow::Result<(String, Duration)> {
    let cpu_before = crate::load::cpu_time(libc::RUSAGE_CHILDREN);
    let output = Command::new(run.pgbench)
        .args(["-n", "-h", "127.0.0.1", "-p", &run.port.to_string()])
        .args(["-U", tenantry_db::setup::APP_ROLE, "-M", "prepared"])
        .args(["-c", &run.clients.to_string(), "-j", "2"])
        .args(limit)
        .arg("-f")
        .arg(run.script)
        .arg(run.database)
        .env("PGPASSWORD", run.password)
        .env(
            "PGOPTIONS",
            format!("-c statement_timeout={}", run.statement_timeout_ms),
        )
        .stdin(Stdio::null())
        .output()
        .await
        .context("running pgbench")?;
    let cpu = crate::load::cpu_time(libc::RUSAGE_CHILDREN).saturating_sub(cpu_before);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok((String::from_utf8_lossy(&output.stdout).into_owned(), cpu))
}

/// `npm ci` in bench/peers/node unless its dependencies are already there.
pub async fn prepare_node() -> anyhow::Result<PathBuf> {
    let dir = peers_dir().join("node");
    if which("node").is_none() || which("npm").is_none() {
        bail!("node and npm are needed for the Node.js peer (apt-get install nodejs npm)");
    }
    let installed = ["drizzle-orm", "pg"].iter().all(|m| {
        dir.join("node_modules")
            .join(m)
            .join("package.json")
            .is_file()
    });
    if !installed {
        crate::progress("installing the Node.js peer (npm ci)".to_string());
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .status()
            .await
            .context("running npm ci")?;
        if !status.success() {
            bail!("npm ci failed in {}", dir.display());
        }
    }
    Ok(dir)
}

/// Build the sqlx peer (a no-op when it is up to date).
pub async fn prepare_sqlx() -> anyhow::Result<PathBuf> {
    let dir = peers_dir().join("sqlx");
    let binary = dir.join("target/release/tenantry-bench-sqlx-peer");
    crate::progress("building the sqlx peer (slow the first time)".to_string());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .status()
        .await
        .context("running cargo build for the sqlx peer")?;
    if !status.success() || !binary.is_file() {
        bail!("building the sqlx peer failed ({})", dir.display());
    }
    Ok(binary)
}

/// Run a peer that prints `{"tps": ...}` on its last line.
pub async fn json_peer(mut command: Command) -> anyhow::Result<Sample> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .context("running a peer")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "peer failed: {}\n{}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = stdout.lines().last().unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("peer printed {line:?}"))?;
    let tps = value["tps"]
        .as_f64()
        .with_context(|| format!("peer printed no tps: {line}"))?;
    Ok(Sample {
        tps,
        p50_us: None,
        cpu_us_per_op: None,
    })
}

/// The peers' common arguments: URL CLIENTS SECONDS ROWS TENANTS.
pub fn peer_args(
    command: &mut Command,
    url: &str,
    clients: usize,
    duration: Duration,
    rows: u64,
    tenants: u64,
) {
    let seconds = duration.as_secs_f64().ceil().max(1.0) as u64;
    command
        .arg(url)
        .arg(clients.to_string())
        .arg(seconds.to_string())
        .arg(rows.to_string())
        .arg(tenants.to_string());
}
