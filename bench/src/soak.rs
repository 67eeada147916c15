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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use reqwest::Method;
use serde_json::{Value, json};
use tenantry_db::setup;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::data::{BenchCluster, connect};
use crate::http::{McpSession, Server};
use crate::load::Rng;
use crate::progress;

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

/// Projects each organization starts with (never deleted: reads, renames,
/// usage and other organizations' probes aim at them).
const PINNED: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Read,
    List,
    Create,
    Update,
    Delete,
    Usage,
    Report,
    Members,
    Mcp,
    ForeignRead,
}

/// The mix, in percent.
const MIX: [(Kind, u64); 10] = [
    (Kind::Read, 30),
    (Kind::List, 14),
    (Kind::Create, 12),
    (Kind::Update, 10),
    (Kind::Delete, 6),
    (Kind::Usage, 12),
    (Kind::Report, 3),
    (Kind::Members, 5),
    (Kind::Mcp, 5),
    (Kind::ForeignRead, 3),
];

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Read => "`GET /api/projects/{id}`",
            Kind::List => "`GET /api/projects?limit=20`",
            Kind::Create => "`POST /api/projects`",
            Kind::Update => "`PATCH /api/projects/{id}` (rename)",
            Kind::Delete => "`DELETE /api/projects/{id}`",
            Kind::Usage => "`POST /api/usage`",
            Kind::Report => "`GET /api/usage/report` (31 days)",
            Kind::Members => "`GET /api/members`",
            Kind::Mcp => "MCP `tools/call list_projects`",
            Kind::ForeignRead => "`GET /api/projects/{id}` of another organization (must be 404)",
        }
    }
}

/// Set once per organization.
struct Fixed {
    org_id: String,
    owner_pat: String,
    member_pat: String,
    owner_session: String,
    pinned: Vec<Uuid>,
    mcp: McpSession,
}

/// Changed under the organization's lock, by acknowledged writes only.
#[derive(Default)]
struct State {
    /// Projects created during the load and not deleted.
    created: Vec<Uuid>,
    creates: u64,
    deletes: u64,
    usage_events: u64,
    next_name: u64,
}

struct Tenant {
    fixed: Fixed,
    state: Mutex<State>,
}

/// The server's HTTP API.
struct Api {
    http: reqwest::Client,
    base: String,
}

struct Ctx {
    api: Api,
    tenants: Vec<Tenant>,
    report_query: String,
}

type Reply = (u16, Value);

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }
}

/// The body of a successful reply, or an error naming the request.
fn ok(what: &str, reply: Reply, status: u16) -> anyhow::Result<Value> {
    ensure!(reply.0 == status, "{what}: {} {}", reply.0, reply.1);
    Ok(reply.1)
}

fn str_of(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_owned()
}

async fn sign_up(api: &Api, label: &str) -> anyhow::Result<(String, String)> {
    let email = format!("{label}-{}@example.com", Uuid::new_v4().simple());
    let response = api
        .http
        .post(format!("{}/api/auth/sign-up/email", api.base))
        .header("content-type", "application/json")
        .body(
            json!({ "name": label, "email": email, "password": "correct horse battery staple" })
                .to_string(),
        )
        .send()
        .await?;
    let status = response.status().as_u16();
    let body: Value = serde_json::from_str(&response.text().await?)?;
    let body = ok("sign-up", (status, body), 200)?;
    Ok((email, str_of(&body, "token")))
}

/// One organization through the API: owner, organization, member
/// (invited, verified through `owner_sql`, accepted), a PAT each, the pinned
/// projects, an MCP session.
async fn set_up_tenant(
    api: &Api,
    owner_sql: &tokio_postgres::Client,
    n: usize,
    mcp_url: &str,
) -> anyhow::Result<Fixed> {
    let (_, owner_session) = sign_up(api, &format!("soak-owner-{n}")).await?;
    let slug = format!("soak-{n}-{}", Uuid::new_v4().simple());
    let created = api
        .call(
            Method::POST,
            "/api/auth/organization/create",
            &owner_session,
            Some(&json!({ "name": format!("Soak {n}"), "slug": slug })),
        )
        .await?;
    let org_id = str_of(&ok("create organization", created, 200)?, "id");
    let (member_email, member_session) = sign_up(api, &format!("soak-member-{n}")).await?;
    let invitation = api
        .call(
            Method::POST,
            "/api/auth/organization/invite-member",
            &owner_session,
            Some(&json!({ "email": member_email, "role": "member", "organizationId": org_id })),
        )
        .await?;
    let invitation = str_of(&ok("invite", invitation, 200)?, "id");
    // Accepting needs a verified email; the server's mail goes to its log.
    let verified = owner_sql
        .execute(
            "update \"user\" set email_verified = true where email = $1",
            &[&member_email],
        )
        .await?;
    ensure!(verified == 1, "no user {member_email} to verify");
    let accepted = api
        .call(
            Method::POST,
            "/api/auth/organization/accept-invitation",
            &member_session,
            Some(&json!({ "invitationId": invitation })),
        )
        .await?;
    ok("accept", accepted, 200)?;
    let mut pats = Vec::new();
    for session in [&owner_session, &member_session] {
        let pat = api
            .call(
                Method::POST,
                "/api/tokens",
                session,
                Some(&json!({ "name": "soak" })),
            )
            .await?;
        pats.push(str_of(&ok("create PAT", pat, 201)?, "token"));
    }
    let mut pinned = Vec::new();
    for p in 0..PINNED {
        let project = api
            .call(
                Method::POST,
                "/api/projects",
                &pats[0],
                Some(&json!({ "name": format!("pinned {p}") })),
            )
            .await?;
        let project = ok("create project", project, 201)?;
        ensure!(
            str_of(&project, "organizationId") == org_id,
            "project created in another organization: {project}"
        );
        pinned.push(Uuid::try_parse(&str_of(&project, "id"))?);
    }
    let mcp = McpSession::open(api.http.clone(), mcp_url.to_owned(), pats[0].clone()).await?;
    let member_pat = pats.pop().context("member PAT")?;
    let owner_pat = pats.pop().context("owner PAT")?;
    Ok(Fixed {
        org_id,
        owner_pat,
        member_pat,
        owner_session,
        pinned,
        mcp,
    })
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    latencies: BTreeMap<Kind, Vec<u32>>,
    /// (kind, what went wrong) -> count.
    errors: BTreeMap<(Kind, String), u64>,
}

/// Run one operation of kind `kind` (a create when there is nothing to
/// delete) in a free organization: the kind it ran, its latency in µs (the
/// requests only, not the wait for the organization), and how it went.
async fn operate(ctx: &Ctx, rng: &mut Rng, kind: Kind) -> (Kind, u32, Result<(), String>) {
    let n = ctx.tenants.len() as u64;
    // Take a free organization (a few tries), else wait for one.
    let mut pick = (rng.one_to(n) - 1) as usize;
    let mut guard = None;
    for _ in 0..8 {
        if let Ok(g) = ctx.tenants[pick].state.try_lock() {
            guard = Some(g);
            break;
        }
        pick = (rng.one_to(n) - 1) as usize;
    }
    let mut state = match guard {
        Some(g) => g,
        None => ctx.tenants[pick].state.lock().await,
    };
    let kind = match kind {
        Kind::Delete if state.created.is_empty() => Kind::Create,
        other => other,
    };
    let started = Instant::now();
    let outcome = operate_in(ctx, rng, kind, pick, &mut state).await;
    let micros = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
    (kind, micros, outcome)
}

async fn operate_in(
    ctx: &Ctx,
    rng: &mut Rng,
    kind: Kind,
    pick: usize,
    state: &mut State,
) -> Result<(), String> {
    let api = &ctx.api;
    let n = ctx.tenants.len() as u64;
    let fixed = &ctx.tenants[pick].fixed;
    let bearer = match rng.one_to(10) {
        1..=4 => &fixed.owner_pat,
        5..=8 => &fixed.member_pat,
        _ => &fixed.owner_session,
    };
    let any_project = |rng: &mut Rng, state: &State| {
        let total = (fixed.pinned.len() + state.created.len()) as u64;
        let i = (rng.one_to(total) - 1) as usize;
        fixed
            .pinned
            .get(i)
            .copied()
            .unwrap_or_else(|| state.created[i - fixed.pinned.len()])
    };
    let status = |reply: &Reply| reply.0.to_string();
    let in_org = |project: &Value| str_of(project, "organizationId") == fixed.org_id;
    // One request as this operation's user; a transport failure is an error too.
    let request = async |method: Method, path: &str, body: Option<&Value>| {
        api.call(method, path, bearer, body)
            .await
            .map_err(|e| format!("transport: {e}"))
    };
    match kind {
        Kind::Read => {
            let id = any_project(rng, state);
            let path = format!("/api/projects/{id}");
            let reply = request(Method::GET, &path, None).await?;
            match reply.0 {
                200 if in_org(&reply.1) => Ok(()),
                200 => Err("ISOLATION: a project of another organization".into()),
                _ => Err(status(&reply)),
            }
        }
        Kind::List => {
            let path = "/api/projects?limit=20";
            let reply = request(Method::GET, path, None).await?;
            let items = reply.1["items"].as_array().cloned().unwrap_or_default();
            match reply.0 {
                200 if items.iter().all(in_org) => Ok(()),
                200 => Err("ISOLATION: another organization's project listed".into()),
                _ => Err(status(&reply)),
            }
        }
        Kind::Create => {
            state.next_name += 1;
            let body = json!({ "name": format!("load {}", state.next_name) });
            let reply = request(Method::POST, "/api/projects", Some(&body)).await?;
            if reply.0 != 201 {
                return Err(status(&reply));
            }
            if !in_org(&reply.1) {
                return Err("ISOLATION: created in another organization".into());
            }
            let id = Uuid::try_parse(&str_of(&reply.1, "id")).map_err(|e| e.to_string())?;
            state.created.push(id);
            state.creates += 1;
            Ok(())
        }
        Kind::Update => {
            let id = any_project(rng, state);
            state.next_name += 1;
            let body = json!({ "name": format!("renamed {}", state.next_name) });
            let path = format!("/api/projects/{id}");
            let reply = request(Method::PATCH, &path, Some(&body)).await?;
            match reply.0 {
                200 if in_org(&reply.1) => Ok(()),
                200 => Err("ISOLATION: renamed another organization's project".into()),
                _ => Err(status(&reply)),
            }
        }
        Kind::Delete => {
            let i = (rng.one_to(state.created.len() as u64) - 1) as usize;
            let id = state.created[i];
            let path = format!("/api/projects/{id}");
            let reply = request(Method::DELETE, &path, None).await?;
            if reply.0 != 204 {
                return Err(status(&reply));
            }
            state.created.swap_remove(i);
            state.deletes += 1;
            Ok(())
        }
        Kind::Usage => {
            let mut body = json!({ "model": "gpt-4o-mini", "inputTokens": rng.one_to(5000),
                                   "outputTokens": rng.one_to(1000) });
            if rng.one_to(2) == 1 {
                let p = (rng.one_to(fixed.pinned.len() as u64) - 1) as usize;
                body["projectId"] = json!(fixed.pinned[p]);
            }
            let reply = request(Method::POST, "/api/usage", Some(&body)).await?;
            if reply.0 != 201 {
                return Err(status(&reply));
            }
            state.usage_events += 1;
            Ok(())
        }
        Kind::Report => {
            let path = format!("/api/usage/report?{}", ctx.report_query);
            let reply = request(Method::GET, &path, None).await?;
            match reply.0 {
                200 => Ok(()),
                _ => Err(status(&reply)),
            }
        }
        Kind::Members => {
            let reply = request(Method::GET, "/api/members", None).await?;
            let members = reply.1.as_array().cloned().unwrap_or_default();
            match reply.0 {
                200 if members.len() == 2 && members.iter().all(in_org) => Ok(()),
                200 => Err(format!("ISOLATION: members {}", reply.1)),
                _ => Err(status(&reply)),
            }
        }
        Kind::Mcp => {
            let id = rng.one_to(1 << 50);
            fixed.mcp.call_list_projects(id).await.map_err(|e| {
                format!(
                    "mcp: {}",
                    e.to_string().chars().take(80).collect::<String>()
                )
            })
        }
        Kind::ForeignRead => {
            let mut other = (rng.one_to(n) - 1) as usize;
            if other == pick {
                other = (other + 1) % ctx.tenants.len();
            }
            let foreign = &ctx.tenants[other].fixed;
            let id = foreign.pinned[(rng.one_to(PINNED as u64) - 1) as usize];
            let path = format!("/api/projects/{id}");
            let reply = request(Method::GET, &path, None).await?;
            match reply.0 {
                404 => Ok(()),
                200 => Err("ISOLATION: read another organization's project".into()),
                _ => Err(status(&reply)),
            }
        }
    }
}

fn pick_kind(rng: &mut Rng) -> Kind {
    let total: u64 = MIX.iter().map(|(_, w)| w).sum();
    let mut r = rng.one_to(total);
    for (kind, weight) in MIX {
        if r <= weight {
            return kind;
        }
        r -= weight;
    }
    Kind::Read
}

/// VmRSS or VmHWM of `pid`, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
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
    let now = chrono::Utc::now();
    let report_query = format!(
        "from={}&to={}",
        (now - chrono::Duration::days(30)).format("%Y-%m-%dT00:00:00Z"),
        (now + chrono::Duration::days(1)).format("%Y-%m-%dT00:00:00Z")
    );
    let api = Arc::new(Api {
        http,
        base: server.url(""),
    });

    // Set-up, eight organizations at a time.
    let setup_started = Instant::now();
    let mcp_url = server.url("/mcp");
    let owner_sql = Arc::new(connect(owner_url).await?);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8.min(args.tenants) {
        let (api, owner_sql, next, mcp_url, total) = (
            api.clone(),
            owner_sql.clone(),
            next.clone(),
            mcp_url.clone(),
            args.tenants,
        );
        workers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(made);
                }
                let fixed = set_up_tenant(&api, &owner_sql, n, &mcp_url)
                    .await
                    .with_context(|| format!("setting up organization {n}"))?;
                made.push((n, fixed));
            }
        }));
    }
    let mut made = Vec::new();
    for worker in workers {
        made.extend(worker.await??);
    }
    made.sort_by_key(|(n, _)| *n);
    let ctx = Ctx {
        api: Arc::try_unwrap(api)
            .ok()
            .context("set-up workers finished")?,
        tenants: made
            .into_iter()
            .map(|(_, fixed)| Tenant {
                fixed,
                state: Mutex::new(State::default()),
            })
            .collect(),
        report_query,
    };
    let setup_secs = setup_started.elapsed().as_secs_f64();
    let rss_at_load_start = proc_status_kib(pid, "VmRSS")?;
    progress(format!(
        "set up in {setup_secs:.1} s; RSS {}; {} clients for {} s",
        mib(rss_at_load_start),
        args.clients,
        args.seconds
    ));

    // The load.
    let ctx = Arc::new(ctx);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..args.clients {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let seed = Uuid::new_v4().as_u128() as u64 ^ client as u64;
            let mut rng = Rng::new(seed);
            let mut tally = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                let kind = pick_kind(&mut rng);
                let (kind, micros, outcome) = operate(&ctx, &mut rng, kind).await;
                tally.latencies.entry(kind).or_default().push(micros);
                if let Err(what) = outcome {
                    *tally.errors.entry((kind, what)).or_default() += 1;
                }
            }
            tally
        }));
    }
    let duration = Duration::from_secs_f64(args.seconds);
    let mut rss_samples = Vec::new();
    let sample_every = Duration::from_secs(10).min(duration);
    while started.elapsed() + sample_every <= duration {
        tokio::time::sleep(sample_every).await;
        rss_samples.push(proc_status_kib(pid, "VmRSS")?);
    }
    tokio::time::sleep(duration.saturating_sub(started.elapsed())).await;
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for client in clients {
        let one = client.await?;
        for (kind, mut l) in one.latencies {
            tally.latencies.entry(kind).or_default().append(&mut l);
        }
        for (key, count) in one.errors {
            *tally.errors.entry(key).or_default() += count;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss_at_end = proc_status_kib(pid, "VmRSS")?;
    let peak = proc_status_kib(pid, "VmHWM")?;
    progress(format!("load done in {elapsed:.1} s; checking consistency"));

    let consistency = check_consistency(&ctx, owner_url).await?;
    let errors: u64 = tally.errors.values().sum();
    let passed = errors == 0 && consistency.iter().all(|(ok, _)| *ok);

    // The report.
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let owner = connect(owner_url).await?;
    let version: String = owner.query_one("show server_version", &[]).await?.get(0);
    let command: Vec<String> = std::env::args().skip(1).collect();
    writeln!(
        out,
        "## tenantry soak: {secs} s of mixed load over {tenants} organizations\n\n\
         - date: {date}\n\
         - machine: {cores} cores; PostgreSQL {version} on the same machine; server and load generator share them\n\
         - command: `cargo run --release -p bench -- {command}`\n\
         - {clients} closed-loop HTTP clients, each operation in one organization (owner PAT 40 %, member PAT 40 %, owner session 20 %)\n\
         - set-up through the API in {setup_secs:.1} s: per organization an owner and a member (sign-up, organization, invitation accepted after the member's email is marked verified in SQL), a PAT each, {PINNED} projects, one MCP session\n",
        secs = args.seconds,
        tenants = args.tenants,
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        command = command.join(" "),
        clients = args.clients,
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
    for (ok, line) in &consistency {
        writeln!(out, "- {} {line}", if *ok { "ok:" } else { "**FAILED**:" })?;
    }
    writeln!(
        out,
        "\n_Load {elapsed:.1} s; {}._",
        if passed { "passed" } else { "**FAILED**" }
    )?;
    println!("{out}");
    Ok(passed)
}

/// Every organization holds exactly the acknowledged projects and usage
/// events, through the API and in SQL; nothing foreign, nothing by outsiders.
async fn check_consistency(ctx: &Ctx, owner_url: &str) -> anyhow::Result<Vec<(bool, String)>> {
    let api = &ctx.api;
    let mut lines = Vec::new();
    let (mut expected_projects, mut listed_projects, mut wrong) = (0usize, 0usize, Vec::new());
    let (mut creates, mut deletes, mut usage) = (0u64, 0u64, 0u64);
    for (n, tenant) in ctx.tenants.iter().enumerate() {
        let state = tenant.state.lock().await;
        let expected: BTreeSet<String> = tenant
            .fixed
            .pinned
            .iter()
            .chain(&state.created)
            .map(Uuid::to_string)
            .collect();
        (creates, deletes, usage) = (
            creates + state.creates,
            deletes + state.deletes,
            usage + state.usage_events,
        );
        let mut listed = BTreeSet::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/api/projects?limit=100{cursor}");
            let page = ok(
                "final listing",
                api.call(Method::GET, &path, &tenant.fixed.owner_pat, None)
                    .await?,
                200,
            )?;
            for item in page["items"].as_array().cloned().unwrap_or_default() {
                if str_of(&item, "organizationId") != tenant.fixed.org_id {
                    wrong.push(format!("organization {n} lists a foreign project {item}"));
                }
                listed.insert(str_of(&item, "id"));
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        if listed != expected {
            wrong.push(format!(
                "organization {n}: {} listed, {} acknowledged",
                listed.len(),
                expected.len()
            ));
        }
        expected_projects += expected.len();
        listed_projects += listed.len();
    }
    lines.push((
        wrong.is_empty(),
        format!(
            "API: {listed_projects} projects listed in {} organizations = {} set-up + {creates} acknowledged creates - {deletes} acknowledged deletes ({expected_projects}), each listed only in its own organization{}",
            ctx.tenants.len(),
            ctx.tenants.len() * PINNED,
            if wrong.is_empty() {
                String::new()
            } else {
                format!("; {}", wrong.join("; "))
            }
        ),
    ));

    // In SQL, as the owner (a superuser: RLS does not filter it).
    let owner = connect(owner_url).await?;
    let orgs: Vec<Uuid> = ctx
        .tenants
        .iter()
        .map(|t| Uuid::try_parse(&t.fixed.org_id))
        .collect::<Result<_, _>>()?;
    let count = |sql: &'static str| {
        let (owner, orgs) = (&owner, &orgs);
        async move {
            let row = owner.query_one(sql, &[orgs]).await?;
            anyhow::Ok(row.get::<_, i64>(0))
        }
    };
    let in_sql = count("select count(*) from project where organization_id = any($1)").await?;
    lines.push((
        in_sql as usize == expected_projects,
        format!("SQL: {in_sql} project rows in these organizations, {expected_projects} expected"),
    ));
    let events = count("select count(*) from usage_event where organization_id = any($1)").await?;
    lines.push((
        events as u64 == usage,
        format!("SQL: {events} usage events, {usage} acknowledged records"),
    ));
    let by_outsiders = count(
        "select count(*) from project p where organization_id = any($1) and not exists
           (select 1 from member m where m.organization_id = p.organization_id and m.user_id = p.created_by)",
    )
    .await?;
    lines.push((
        by_outsiders == 0,
        format!(
            "SQL: {by_outsiders} projects created by someone not a member of their organization"
        ),
    ));
    let members = count("select count(*) from member where organization_id = any($1)").await?;
    lines.push((
        members as usize == 2 * ctx.tenants.len(),
        format!(
            "SQL: {members} memberships, {} expected (an owner and a member each)",
            2 * ctx.tenants.len()
        ),
    ));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

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
