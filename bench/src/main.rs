//! tenantry's benchmark runner.
//!
//! ```text
//! cargo run --release -p bench -- --quick        # about a minute and a half
//! cargo run --release -p bench --                # the full suite (BENCHMARKS.md)
//! cargo run --release -p bench -- limiter        # the abuse limiter under a flood (no database)
//! ```
//!
//! It starts its own PostgreSQL cluster (`bench/.bench-cluster`, or
//! `--data-dir`), creates one database per scale, loads it, and measures
//! each figure over interleaved rounds (A B C A B C ...) with a fixed client
//! count, reporting min / median / max and the ratio of medians against the
//! baseline measured in the same run. Tables go to stdout (Markdown),
//! progress to stderr.

mod data;
mod http;
mod limiter;
mod load;
mod ops;
mod peers;
mod report;
mod soak;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::process::Command;

use crate::data::{BenchCluster, Dataset};
use crate::load::Sample;
use crate::ops::TenantForm;
use crate::report::{Goal, Series, ratio, table};

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "tenantry's benchmark suite",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Internal>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Internal {
    /// The HTTP server under test, as a child process (used by items 7-8).
    #[command(hide = true)]
    ServeChild {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        database: String,
        #[arg(long)]
        bind: std::net::SocketAddr,
    },
    /// A bounded mixed load over many organizations, with a consistency check (src/soak/).
    Soak(soak::SoakArgs),
    /// The abuse limiter's table under a flood of distinct addresses (src/limiter.rs).
    Limiter(limiter::LimiterArgs),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// A short run: 100k rows, 2 s rounds, 3 rounds (under two minutes once
    /// the peers are installed).
    #[arg(long)]
    quick: bool,
    /// The CI smoke run: items 1 and 5 only, tiny data, sub-second rounds,
    /// no external tools. Its figures mean nothing.
    #[arg(long, conflicts_with = "quick")]
    smoke: bool,
    /// Projects in the main dataset (items 1-5, and the largest table of item 6).
    #[arg(long)]
    rows: Option<u64>,
    /// Organizations in the main dataset.
    #[arg(long, default_value_t = 1000)]
    tenants: u64,
    /// Concurrent clients (and pool size) for the database items.
    #[arg(long)]
    clients: Option<usize>,
    /// Seconds per round.
    #[arg(long)]
    seconds: Option<f64>,
    /// Interleaved rounds per item.
    #[arg(long)]
    rounds: Option<usize>,
    /// Which items to run, e.g. `--items 1,5` (default: all).
    #[arg(long, value_delimiter = ',')]
    items: Vec<u8>,
    /// HTTP connections for item 7 (wrk).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Concurrent MCP sessions for item 8.
    #[arg(long, default_value_t = 16)]
    mcp_sessions: usize,
    /// Experiment: measure against copies of the databases where
    /// `app.current_tenant()` has no `SET search_path` clause (so the
    /// planner can inline it). Never touches the product's migrations.
    #[arg(long)]
    inlinable_tenant_function: bool,
    /// Item 1 also measures the tenant read rebuilt from its parts with one
    /// part changed (no per-transaction role switch; the setup without RLS on
    /// the read), to show where the gap to the bare read goes.
    #[arg(long)]
    decompose: bool,
    /// Where the bench cluster lives (default: bench/.bench-cluster).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// The resolved settings of one run.
struct Plan {
    rows: u64,
    tenants: u64,
    clients: usize,
    duration: Duration,
    rounds: usize,
    items: Vec<u8>,
    connections: usize,
    mcp_sessions: usize,
    data_dir: PathBuf,
    mode: &'static str,
    inlinable_tenant_function: bool,
    decompose: bool,
}

impl Plan {
    fn from(args: RunArgs) -> anyhow::Result<Plan> {
        let (mode, rows, seconds, rounds, clients, tenants) = if args.smoke {
            ("smoke", 2_000, 0.3, 1, 4, args.tenants.min(20))
        } else if args.quick {
            ("quick", 100_000, 2.0, 3, 16, args.tenants)
        } else {
            ("full", 1_000_000, 5.0, 5, 16, args.tenants)
        };
        let mut items = if args.items.is_empty() {
            if args.smoke {
                vec![1, 5]
            } else {
                (1..=8).collect()
            }
        } else {
            args.items
        };
        items.sort_unstable();
        items.dedup();
        if let Some(bad) = items.iter().find(|i| !(1..=8).contains(*i)) {
            anyhow::bail!("--items: there is no item {bad} (1 to 8)");
        }
        let seconds = args.seconds.unwrap_or(seconds);
        anyhow::ensure!(seconds > 0.0, "--seconds must be positive");
        let rounds = args.rounds.unwrap_or(rounds);
        anyhow::ensure!(rounds > 0, "--rounds must be at least 1");
        let clients = args.clients.unwrap_or(clients);
        anyhow::ensure!(clients > 0, "--clients must be at least 1");
        Ok(Plan {
            rows: args.rows.unwrap_or(rows),
            tenants,
            clients,
            duration: Duration::from_secs_f64(seconds),
            rounds,
            items,
            connections: args.connections,
            mcp_sessions: args.mcp_sessions,
            data_dir: args.data_dir.unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".bench-cluster")
            }),
            mode,
            inlinable_tenant_function: args.inlinable_tenant_function,
            decompose: args.decompose,
        })
    }

    fn wants(&self, item: u8) -> bool {
        self.items.contains(&item)
    }

    fn smoke(&self) -> bool {
        self.mode == "smoke"
    }
}

/// Progress on stderr, so stdout stays the report.
pub fn progress(message: String) {
    eprintln!("[bench] {message}");
}

type RoundFuture = Pin<Box<dyn Future<Output = anyhow::Result<Sample>> + Send>>;

/// One competitor in an interleaved comparison.
struct Variant {
    series: Series,
    run: Box<dyn Fn(Duration) -> RoundFuture + Send + Sync>,
}

impl Variant {
    fn new<F, Fut>(label: &str, what: &str, run: F) -> Variant
    where
        F: Fn(Duration) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Sample>> + Send + 'static,
    {
        Variant {
            series: Series::new(label, what),
            run: Box::new(move |d| Box::pin(run(d))),
        }
    }
}

/// Run every variant once per round, in order, for `rounds` rounds.
async fn interleave(group: &str, variants: &mut [Variant], plan: &Plan) -> anyhow::Result<()> {
    for round in 1..=plan.rounds {
        for v in variants.iter_mut() {
            let sample = (v.run)(plan.duration)
                .await
                .with_context(|| format!("{group}: {}", v.series.label))?;
            progress(format!(
                "{group} round {round}/{}: {} {:.0}/s{}{}",
                plan.rounds,
                v.series.label,
                sample.tps,
                sample
                    .p50_us
                    .map(|p| format!(", p50 {p:.0} µs"))
                    .unwrap_or_default(),
                sample
                    .cpu_us_per_op
                    .map(|c| format!(", load generator CPU {c:.1} µs/op"))
                    .unwrap_or_default()
            ));
            v.series.tps.push(sample.tps);
            if let Some(p) = sample.p50_us {
                v.series.p50_us.push(p);
            }
            if let Some(cpu) = sample.cpu_us_per_op {
                v.series.cpu_us.push(cpu);
            }
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Some(Internal::ServeChild {
            data_dir,
            database,
            bind,
        }) => runtime.block_on(http::serve_child(&data_dir, &database, bind)),
        Some(Internal::Soak(args)) => runtime.block_on(soak::run(args)),
        Some(Internal::Limiter(args)) => limiter::run(args),
        None => {
            let plan = Plan::from(cli.run)?;
            runtime.block_on(run(plan))
        }
    }
}

async fn run(plan: Plan) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut cluster = BenchCluster::start(&plan.data_dir).await?;
    cluster.inlinable_tenant_function = plan.inlinable_tenant_function;
    let main = cluster
        .dataset(plan.rows, plan.tenants, plan.clients)
        .await?;
    let mut out = header(&plan, &main).await?;
    out.push_str(&point_items(&plan, &cluster, &main).await?);
    if plan.wants(5) {
        out.push_str(&list_item(&plan, &main).await?);
    }
    if plan.wants(6) {
        out.push_str(&scale_item(&plan, &mut cluster, &main).await?);
    }
    if plan.wants(7) || plan.wants(8) {
        out.push_str(&http_items(&plan, &cluster, &main).await?);
    }
    out.push_str(&format!(
        "_Total wall time: {:.0} s._\n",
        started.elapsed().as_secs_f64()
    ));
    println!("{out}");
    Ok(())
}

async fn header(plan: &Plan, main: &Dataset) -> anyhow::Result<String> {
    let owner = data::connect(&main.owner_url).await?;
    let version: String = owner.query_one("show server_version", &[]).await?.get(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map(|kib| format!("{:.1} GiB", kib as f64 / 1048576.0))
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let command: Vec<String> = std::env::args().skip(1).collect();
    Ok(format!(
        "## tenantry benchmarks ({mode} run{experiment})\n\n\
         - date: {date}\n\
         - machine: {cores} cores, {cpu}, {mem} RAM; PostgreSQL {version} on the same machine\n\
         - command: `cargo run --release -p bench -- {command}`\n\
         - data: {rows} projects over {tenants} organizations; {clients} clients; {rounds} interleaved rounds of {secs} s\n\n",
        mode = plan.mode,
        experiment = if plan.inlinable_tenant_function {
            ", EXPERIMENT: app.current_tenant() without SET search_path"
        } else {
            ""
        },
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        command = command.join(" "),
        rows = main.rows,
        tenants = main.tenants,
        clients = plan.clients,
        rounds = plan.rounds,
        secs = plan.duration.as_secs_f64(),
    ))
}

/// The `--decompose` series of item 1: label, shape, what it measures.
const DECOMPOSED: [(&str, ops::Decomposed, &str); 3] = [
    (
        "hand-built",
        ops::Decomposed::Full,
        "EXPERIMENT: tenantry's setup and read, hand-built",
    ),
    (
        "no-role-switch",
        ops::Decomposed::NoRoleSwitch,
        "EXPERIMENT, not a tenantry mode: the hand-built read with the role as a session default (start-up option) instead of set per transaction (docs/architecture.md invariant 3)",
    ),
    (
        "setup-no-rls",
        ops::Decomposed::SetupThenBareRead,
        "EXPERIMENT: tenantry's setup statement, then the bare read of the RLS-free twin, under one Sync",
    ),
];

/// Items 1-4: one interleaved group, so every ratio compares rounds that ran
/// side by side.
async fn point_items(
    plan: &Plan,
    cluster: &BenchCluster,
    main: &Dataset,
) -> anyhow::Result<String> {
    if !(1..=4).any(|i| plan.wants(i)) {
        return Ok(String::new());
    }
    let (rows, tenants, clients) = (main.rows, main.tenants, plan.clients);
    let mut variants = Vec::new();
    let mut notes = Vec::new();
    let db = main.db.clone();
    variants.push(Variant::new(
        "tenantry",
        "`autocommit(db, tenant).query_opt(\"select name from project where id = $1\")`: setup + read under one Sync, RLS",
        move |d| ops::point_tenant(db.clone(), TenantForm::Autocommit, rows, tenants, clients, d),
    ));
    let db = main.db.clone();
    variants.push(Variant::new(
        "closure",
        "the same read in `with_tenant_context(db, tenant, |tx| tx.query_opt(..))`: BEGIN + setup + read, then COMMIT",
        move |d| ops::point_tenant(db.clone(), TenantForm::Closure, rows, tenants, clients, d),
    ));
    if plan.wants(1) && !plan.smoke() {
        // The pooler-compatible mode, measured against the same server with
        // no pooler in between: what unnamed statements cost by themselves.
        let unnamed = tenantry_db::Database::connect(tenantry_db::DatabaseConfig {
            statement_mode: tenantry_db::StatementMode::Unnamed,
            ..main.db.config().clone()
        })?;
        variants.push(Variant::new(
            "unnamed",
            "the `autocommit` read in `StatementMode::Unnamed` (for PgBouncer in transaction mode), direct to PostgreSQL",
            move |d| ops::point_tenant(unnamed.clone(), TenantForm::Autocommit, rows, tenants, clients, d),
        ));
    }
    if plan.wants(1) {
        let pool = ops::bare_pool(main.app_url(), clients)?;
        variants.push(Variant::new(
            "bare",
            "same pool shape and login, no tenant context: `select name from project_norls where organization_id = $1 and id = $2`",
            move |d| ops::point_bare(pool.clone(), rows, tenants, clients, d),
        ));
    }
    if plan.wants(1) && plan.decompose {
        let timeout_ms = main
            .db
            .config()
            .statement_timeout
            .map_or(0, |t| t.as_millis());
        for (label, shape, measures) in DECOMPOSED {
            let options = shape.options(timeout_ms);
            let pool = ops::pool_with_options(main.app_url(), clients, Some(&options))?;
            variants.push(Variant::new(label, measures, move |d| {
                ops::point_decomposed(pool.clone(), shape, rows, tenants, clients, d)
            }));
        }
    }
    if plan.wants(2) && !plan.smoke() {
        match peers::find_pgbench() {
            Some(pgbench) => {
                let timeout_ms = main
                    .db
                    .config()
                    .statement_timeout
                    .map_or(0, |t| t.as_millis());
                let script = cluster.root().join("pgbench_point_one_sync.sql");
                std::fs::write(&script, peers::pgbench_script(rows, tenants))
                    .with_context(|| format!("writing {}", script.display()))?;
                let (port, database) = (cluster.port()?, main.name.clone());
                let password = cluster.passwords.app.clone();
                variants.push(Variant::new(
                    "pgbench",
                    "pgbench -M prepared -j 2, one pipeline with one Sync: set_config x3 (role, tenant, user) ; SELECT (as tenantry_app, statement_timeout as a session default)",
                    move |d| {
                        let (pgbench, script, database, password) =
                            (pgbench.clone(), script.clone(), database.clone(), password.clone());
                        async move {
                            peers::pgbench(
                                &peers::PgbenchRun {
                                    pgbench: &pgbench,
                                    script: &script,
                                    port,
                                    database: &database,
                                    password: &password,
                                    clients,
                                    statement_timeout_ms: timeout_ms,
                                },
                                d,
                            )
                            .await
                        }
                    },
                ));
            }
            None => notes.push("pgbench not found: item 2 skipped".to_owned()),
        }
    }
    if plan.wants(3) && !plan.smoke() {
        match peers::prepare_node().await {
            Ok(dir) => {
                let url = main.app_url().to_owned();
                variants.push(Variant::new(
                    "node",
                    "the seed's stack: drizzle-orm + pg, `db.transaction` → set_config(tenant) → set local role → select",
                    move |d| {
                        let mut command = Command::new("node");
                        command.current_dir(&dir).arg("bench.mjs");
                        peers::peer_args(&mut command, &url, clients, d, rows, tenants);
                        peers::json_peer(command)
                    },
                ));
            }
            Err(e) => notes.push(format!("Node.js peer skipped: {e:#}")),
        }
    }
    if plan.wants(4) && !plan.smoke() {
        match peers::prepare_sqlx().await {
            Ok(binary) => {
                let url = main.app_url().to_owned();
                variants.push(Variant::new(
                    "sqlx",
                    "hand-written sqlx 0.8: `pool.begin()` → set_config(role, tenant) → read → `commit()`",
                    move |d| {
                        let mut command = Command::new(&binary);
                        peers::peer_args(&mut command, &url, clients, d, rows, tenants);
                        peers::json_peer(command)
                    },
                ));
            }
            Err(e) => notes.push(format!("sqlx peer skipped: {e:#}")),
        }
    }
    interleave("point read", &mut variants, plan).await?;

    let find = |label: &str| {
        variants
            .iter()
            .find(|v| v.series.label == label)
            .map(|v| &v.series)
    };
    let tenant = find("tenantry").context("tenantry series")?;
    let closure = find("closure").context("closure series")?;
    let unnamed = find("unnamed");
    let decomposed: Vec<&Series> = DECOMPOSED
        .iter()
        .filter_map(|(label, ..)| find(label))
        .collect();
    let mut out = String::new();
    let peer_items: [(u8, &str, &str, Goal); 4] = [
        (
            1,
            "bare",
            "Item 1 — tenant point read vs bare point read (same pool, same clients)",
            Goal::AtLeast(0.80),
        ),
        (
            2,
            "pgbench",
            "Item 2 — tenant point read vs pgbench (best equivalent script)",
            Goal::AtLeast(0.90),
        ),
        (
            3,
            "node",
            "Item 3 — vs the seed's stack (Node.js, drizzle-orm + pg)",
            Goal::AtLeast(2.5),
        ),
        (
            4,
            "sqlx",
            "Item 4 — vs hand-written sqlx",
            Goal::AtLeast(1.5),
        ),
    ];
    for (item, label, title, goal) in peer_items {
        if !plan.wants(item) || (plan.smoke() && item > 1) {
            continue;
        }
        let other = find(label);
        let unnamed = unnamed.filter(|_| item == 1);
        let decomposed: &[&Series] = if item == 1 { &decomposed } else { &[] };
        let series: Vec<&Series> = [tenant, closure]
            .into_iter()
            .chain(unnamed)
            .chain(decomposed.iter().copied())
            .chain(other)
            .collect();
        let item_notes: Vec<String> = notes
            .iter()
            .filter(|n| n.to_lowercase().contains(label) || (item == 3 && n.contains("Node")))
            .cloned()
            .collect();
        out.push_str(&table(
            title,
            &series,
            "tps",
            &[
                ratio(
                    &format!("tenantry / {label} (medians)"),
                    tenant.median_tps(),
                    other.and_then(Series::median_tps),
                    goal,
                ),
                ratio(
                    &format!("closure form / {label} (medians; multi-statement transactions)"),
                    closure.median_tps(),
                    other.and_then(Series::median_tps),
                    goal,
                ),
            ]
            .into_iter()
            .chain(unnamed.map(|u| {
                ratio(
                    "unnamed (pooler mode) / tenantry (medians): the cost of the pooler-compatible mode",
                    u.median_tps(),
                    tenant.median_tps(),
                    Goal::Track,
                )
            }))
            .chain(decomposed.iter().map(|d| {
                ratio(
                    &format!("experiment {} / {label} (medians)", d.label),
                    d.median_tps(),
                    other.and_then(Series::median_tps),
                    Goal::Track,
                )
            }))
            .collect::<Vec<_>>(),
            &item_notes,
        ));
    }
    Ok(out)
}

/// Item 5: 100 rows by RLS vs by an explicit predicate.
async fn list_item(plan: &Plan, main: &Dataset) -> anyhow::Result<String> {
    let (tenants, clients) = (main.tenants, plan.clients);
    let (db1, db2) = (main.db.clone(), main.db.clone());
    let mut variants = vec![
        Variant::new(
            "rls",
            "in `with_tenant_context`: `select id, name from project order by id limit 100` (RLS filters)",
            move |d| ops::list(db1.clone(), tenants, false, clients, d),
        ),
        Variant::new(
            "explicit",
            "in `with_tenant_context`: the same on the RLS-free twin with `where organization_id = $1`",
            move |d| ops::list(db2.clone(), tenants, true, clients, d),
        ),
    ];
    interleave("list 100", &mut variants, plan).await?;
    let (rls, explicit) = (&variants[0].series, &variants[1].series);
    Ok(table(
        "Item 5 — RLS-filtered list of 100 rows vs explicit `WHERE organization_id = $1`",
        &[rls, explicit],
        "tps",
        &[ratio(
            "cost ratio RLS / explicit (= explicit tps / RLS tps, medians)",
            explicit.median_tps(),
            rls.median_tps(),
            Goal::AtMost(1.10),
        )],
        &[],
    ))
}

/// Item 6: the tenant point read as the table and the tenant count grow.
async fn scale_item(
    plan: &Plan,
    cluster: &mut BenchCluster,
    main: &Dataset,
) -> anyhow::Result<String> {
    let mut row_scales = vec![10_000u64, 1_000_000, main.rows];
    row_scales.retain(|&r| r <= main.rows && r >= main.tenants);
    row_scales.sort_unstable();
    row_scales.dedup();
    let tenant_scales = [10u64, 10_000];
    let mut scales: Vec<(u64, u64)> = row_scales.iter().map(|&r| (r, main.tenants)).collect();
    for t in tenant_scales {
        if t <= main.rows && !scales.contains(&(main.rows, t)) {
            scales.push((main.rows, t));
        }
    }
    let mut datasets = Vec::new();
    for &(rows, tenants) in &scales {
        if (rows, tenants) == (main.rows, main.tenants) {
            datasets.push(None);
        } else {
            datasets.push(Some(cluster.dataset(rows, tenants, plan.clients).await?));
        }
    }
    let clients = plan.clients;
    let mut variants = Vec::new();
    for (&(rows, tenants), dataset) in scales.iter().zip(&datasets) {
        let db = dataset
            .as_ref()
            .map_or_else(|| main.db.clone(), |d| d.db.clone());
        variants.push(Variant::new(
            &format!("{} rows / {} tenants", human(rows), human(tenants)),
            "`autocommit` tenant point read",
            move |d| {
                ops::point_tenant(
                    db.clone(),
                    TenantForm::Autocommit,
                    rows,
                    tenants,
                    clients,
                    d,
                )
            },
        ));
    }
    interleave("scale", &mut variants, plan).await?;
    let pick = |rows: u64, tenants: u64| {
        scales
            .iter()
            .position(|&s| s == (rows, tenants))
            .map(|i| &variants[i].series)
    };
    let (smallest, largest) = (row_scales[0], *row_scales.last().unwrap_or(&main.rows));
    let series: Vec<&Series> = variants.iter().map(|v| &v.series).collect();
    let lat = |s: Option<&Series>| s.and_then(Series::median_p50);
    let out = table(
        &format!("Item 6 — point-read latency as the table and the tenant count grow ({clients} clients)"),
        &series,
        "tps",
        &[
            ratio(
                &format!("p50 latency {} rows / {} rows", human(largest), human(smallest)),
                lat(pick(largest, main.tenants)),
                lat(pick(smallest, main.tenants)),
                Goal::AtMost(1.2),
            ),
            ratio(
                &format!("p50 latency 10k tenants / 10 tenants ({} rows)", human(main.rows)),
                lat(pick(main.rows, 10_000)),
                lat(pick(main.rows, 10)),
                Goal::AtMost(1.2),
            ),
        ],
        &["latency is per operation under the same closed-loop load as the throughput (all clients busy), so it is dominated by CPU cost per read".to_owned()],
    );
    Ok(out)
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Items 7 and 8, against one server child.
async fn http_items(plan: &Plan, cluster: &BenchCluster, main: &Dataset) -> anyhow::Result<String> {
    let server = http::Server::spawn(&cluster.root(), &main.name).await?;
    progress(format!(
        "server child pid {:?} on {}",
        server.pid(),
        server.addr
    ));
    let result = http_rounds(plan, &server).await;
    server.stop().await;
    result
}

async fn http_rounds(plan: &Plan, server: &http::Server) -> anyhow::Result<String> {
    let caller = http::make_caller(server).await?;
    let url = server.url(&format!("/api/projects/{}", caller.project_id));
    let mut variants = Vec::new();
    let mut out = String::new();
    if plan.wants(7) {
        let wrk = http::find_wrk().await?;
        let connections = plan.connections;
        for (label, token, what) in [
            (
                "PAT",
                caller.pat.clone(),
                "`GET /api/projects/{id}`, `Authorization: Bearer <PAT>`",
            ),
            (
                "session",
                caller.session.clone(),
                "`GET /api/projects/{id}`, `Authorization: Bearer <session token>`",
            ),
        ] {
            let (wrk, url) = (wrk.clone(), url.clone());
            variants.push(Variant::new(label, what, move |d| {
                let (wrk, url, token) = (wrk.clone(), url.clone(), token.clone());
                async move { http::wrk(&wrk, &url, &token, connections, d).await }
            }));
        }
    }
    if plan.wants(8) {
        let (mcp_url, pat, sessions) = (server.url("/mcp"), caller.pat.clone(), plan.mcp_sessions);
        variants.push(Variant::new(
            "mcp",
            "`tools/call list_projects {limit: 1}` over streamable HTTP, one session per client",
            move |d| http::mcp_round(mcp_url.clone(), pat.clone(), sessions, d),
        ));
    }
    interleave("http", &mut variants, plan).await?;
    let rss_kib = server.peak_rss_kib()?;
    let rss_mib = rss_kib as f64 / 1024.0;
    if plan.wants(7) {
        let (pat, session) = (&variants[0].series, &variants[1].series);
        out.push_str(&table(
            &format!("Item 7 — tenant-scoped GET, PAT vs session, wrk at {} connections", plan.connections),
            &[pat, session],
            "req/s",
            &[
                ratio("PAT / session (medians)", pat.median_tps(), session.median_tps(), Goal::AtLeast(0.95)),
                ratio("server peak RSS (VmHWM) in MiB", Some(rss_mib), Some(1.0), Goal::AtMost(64.0)),
            ],
            &[format!("peak RSS {rss_kib} KiB over all HTTP and MCP rounds, read from /proc/<pid>/status of the server process")],
        ));
    }
    if plan.wants(8) {
        let mcp = &variants.last().context("mcp series")?.series;
        out.push_str(&table(
            &format!(
                "Item 8 — MCP tool calls/s over streamable HTTP ({} sessions)",
                plan.mcp_sessions
            ),
            &[mcp],
            "calls/s",
            &[],
            &["no goal was set for this item: a figure to track".to_owned()],
        ));
    }
    Ok(out)
}
