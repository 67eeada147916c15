//! `bench soak`: a bounded mixed load over many tenants (the reliability
//! issue, part 6).
//!
//! ```text
//! cargo run --release -p bench -- soak                      # 120 s, 100 organizations, 32 clients
//! cargo run --release -p bench -- soak --seconds 3 --tenants 5
//! ```
//!
//! The real server runs as a child process (`bench serve-child`, as for items
//! 7 and 8) over a fresh database on the bench cluster. Every organization is
//! set up through the API: an owner and a member (sign-up, organization,
//! invitation accepted; the member's email is marked verified in SQL first,
//! as the log mailer's links are not read), a PAT each, five projects and an
//! MCP session. Then
//! `--clients` closed-loop clients run a mixed load for `--seconds`: reads,
//! lists, creates, renames, deletes, usage records and reports, member lists,
//! MCP tool calls, and reads of another organization's project (which must be
//! 404). Each operation works in one organization at a time (a client takes
//! the organization's lock), so the expected answer of every request is known
//! and anything else is an error. At the end, every organization's projects
//! (through the API and in SQL) must be exactly the acknowledged creates
//! minus the acknowledged deletes, with no row of another organization and
//! none created by a non-member; usage events must match the acknowledged
//! records.
//!
//! Markdown goes to stdout: throughput, p50/p99 latency per kind of
//! operation, errors by status, and the server's RSS (VmRSS at start and end,
//! peak VmHWM). Any error or inconsistency makes the command fail.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tenantry_db::setup;
use tenantry_testkit::http_client::ApiClient;
use uuid::Uuid;

use crate::data::{BenchCluster, connect};
use crate::http::Server;
use crate::progress;

mod checks;
mod report;
mod scenario;

use report::{mib, proc_status_kib};

/// `bench soak` options.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// How long the mixed load runs, in seconds.
    #[arg(long, default_value_t = 120.0)]
    seconds: f64,
    /// Organizations, each with an owner and a member who hold a PAT each.
    #[arg(long, default_value_t = 100)]
    tenants: usize,
    /// Concurrent HTTP clients (closed loop).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Where the bench cluster lives (default: bench/.bench-cluster).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    ensure!(args.seconds > 0.0, "--seconds must be positive");
    ensure!(args.tenants >= 2, "--tenants must be at least 2");
    ensure!(args.clients >= 1, "--clients must be at least 1");
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".bench-cluster"));
    let cluster = BenchCluster::start(&data_dir).await?;
    let name = format!(
        "tenantry_soak_{}",
        &Uuid::new_v4().simple().to_string()[..8]
    );
    setup::ensure_database_exists(&cluster.owner_url("postgres")?, &name).await?;
    let owner_url = cluster.owner_url(&name)?;
    let db = tenantry_db::Database::connect(setup::config_from_owner_url(
        &owner_url,
        &cluster.passwords,
    )?)?;
    tenantry_db::migrate(&db).await?;
    setup::set_role_passwords(&db, &cluster.passwords).await?;
    // AI models and prices (what `tenantry serve` loads; its demo
    // organizations are more foreign rows for every tenant here).
    tenantry_db::seed(&db).await?;
    let server = Server::spawn(&cluster.root(), &name).await?;
    let outcome = soak(&args, &server, &owner_url).await;
    server.stop().await;
    match &outcome {
        Ok(true) => drop_database(&cluster, &name).await?,
        _ => progress(format!("keeping database {name} for inspection")),
    }
    match outcome? {
        true => Ok(()),
        false => bail!("the soak saw errors or inconsistencies (see the report)"),
    }
}

async fn drop_database(cluster: &BenchCluster, name: &str) -> anyhow::Result<()> {
    let maintenance = connect(&cluster.owner_url("postgres")?).await?;
    maintenance
        .batch_execute(&format!("drop database if exists \"{name}\" with (force)"))
        .await?;
    Ok(())
}

/// Set up, load, check, report. `Ok(false)`: the report shows a failure.
async fn soak(args: &SoakArgs, server: &Server, owner_url: &str) -> anyhow::Result<bool> {
    let pid = server.pid().context("server exited")?;
    let rss_after_start = proc_status_kib(pid, "VmRSS")?;
    progress(format!(
        "server child pid {pid} on {}; setting up {} organizations through the API",
        server.addr, args.tenants
    ));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients.max(8))
        .build()?;
    let api = ApiClient::with_http(http, server.url(""));

    let setup_started = Instant::now();
    let ctx = scenario::set_up(api, owner_url, server.url("/mcp"), args.tenants).await?;
    let setup_secs = setup_started.elapsed().as_secs_f64();
    let rss_at_load_start = proc_status_kib(pid, "VmRSS")?;
    progress(format!(
        "set up in {setup_secs:.1} s; RSS {}; {} clients for {} s",
        mib(rss_at_load_start),
        args.clients,
        args.seconds
    ));

    let ctx = Arc::new(ctx);
    let duration = Duration::from_secs_f64(args.seconds);
    let load = scenario::run_load(&ctx, args.clients, duration, pid).await?;
    let rss_at_end = proc_status_kib(pid, "VmRSS")?;
    let peak = proc_status_kib(pid, "VmHWM")?;
    progress(format!(
        "load done in {:.1} s; checking consistency",
        load.elapsed
    ));

    let consistency = checks::check_consistency(&ctx, owner_url).await?;
    let errors: u64 = load.tally.errors.values().sum();
    let passed = errors == 0 && consistency.iter().all(|(ok, _)| *ok);

    let owner = connect(owner_url).await?;
    let version: String = owner.query_one("show server_version", &[]).await?.get(0);
    let out = report::render(report::Run {
        seconds: args.seconds,
        tenants: args.tenants,
        clients: args.clients,
        setup_secs,
        version,
        load: &load,
        rss_after_start,
        rss_at_load_start,
        rss_at_end,
        peak,
        consistency: &consistency,
        passed,
    })?;
    println!("{out}");
    Ok(passed)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::report::percentile;
    use super::scenario::{Kind, MIX, pick_kind};
    use crate::load::Rng;

    #[test]
    fn the_mix_adds_up_to_one_hundred() {
        assert_eq!(MIX.iter().map(|(_, w)| w).sum::<u64>(), 100);
        let mut rng = Rng::new(3);
        let kinds: BTreeSet<Kind> = (0..10_000).map(|_| pick_kind(&mut rng)).collect();
        assert_eq!(kinds.len(), MIX.len());
    }

    #[test]
    fn percentiles_of_sorted_latencies() {
        let l: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&l, 50.0), 50.0);
        assert_eq!(percentile(&l, 99.0), 99.0);
        assert_eq!(percentile(&l, 100.0), 100.0);
    }
}
