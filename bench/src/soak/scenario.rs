//! What the soak does: set every organization up through the API, then run
//! the closed-loop mixed load, each operation with a known expected answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use tenantry_testkit::http_client::{ApiClient, ApiError, Reply};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::report::proc_status_kib;
use crate::data::connect;
use crate::http::McpSession;
use crate::load::Rng;

/// Projects each organization starts with (never deleted: reads, renames,
/// usage and other organizations' probes aim at them).
pub const PINNED: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
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
pub const MIX: [(Kind, u64); 10] = [
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
    pub fn what(self) -> &'static str {
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
pub struct Fixed {
    pub org_id: String,
    pub owner_pat: String,
    pub member_pat: String,
    pub owner_session: String,
    pub pinned: Vec<Uuid>,
    pub mcp: McpSession,
}

/// Changed under the organization's lock, by acknowledged writes only.
#[derive(Default)]
pub struct State {
    /// Projects created during the load and not deleted.
    pub created: Vec<Uuid>,
    pub creates: u64,
    pub deletes: u64,
    pub usage_events: u64,
    next_name: u64,
}

pub struct Tenant {
    pub fixed: Fixed,
    pub state: Mutex<State>,
}

pub struct Ctx {
    pub api: ApiClient,
    pub tenants: Vec<Tenant>,
    report_query: String,
}

/// What one client saw.
#[derive(Default)]
pub struct Tally {
    pub latencies: BTreeMap<Kind, Vec<u32>>,
    /// (kind, what went wrong) -> count.
    pub errors: BTreeMap<(Kind, String), u64>,
}

/// The load's outcome: the clients' tallies merged, the server's RSS every
/// `sample_every`, and how long it ran.
pub struct Load {
    pub tally: Tally,
    pub rss_samples: Vec<u64>,
    pub sample_every: Duration,
    pub elapsed: f64,
}

/// Set up `tenants` organizations through `api`, eight at a time.
pub async fn set_up(
    api: ApiClient,
    owner_url: &str,
    mcp_url: String,
    tenants: usize,
) -> anyhow::Result<Ctx> {
    let api = Arc::new(api);
    let owner_sql = Arc::new(connect(owner_url).await?);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8.min(tenants) {
        let (api, owner_sql, next, mcp_url) = (
            api.clone(),
            owner_sql.clone(),
            next.clone(),
            mcp_url.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= tenants {
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
    let now = chrono::Utc::now();
    let report_query = format!(
        "from={}&to={}",
        (now - chrono::Duration::days(30)).format("%Y-%m-%dT00:00:00Z"),
        (now + chrono::Duration::days(1)).format("%Y-%m-%dT00:00:00Z")
    );
    Ok(Ctx {
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
    })
}

const PASSWORD: &str = "correct horse battery staple";

/// One organization through the API: owner, organization, member
/// (invited, verified through `owner_sql`, accepted), a PAT each, the pinned
/// projects, an MCP session.
async fn set_up_tenant(
    api: &ApiClient,
    owner_sql: &tokio_postgres::Client,
    n: usize,
    mcp_url: &str,
) -> anyhow::Result<Fixed> {
    let email = |label: &str| format!("{label}-{}@example.com", Uuid::new_v4().simple());
    let owner_label = format!("soak-owner-{n}");
    let owner = api
        .sign_up(&owner_label, &email(&owner_label), PASSWORD)
        .await?;
    let slug = format!("soak-{n}-{}", Uuid::new_v4().simple());
    let org_id = api
        .create_organization(&owner.session, &format!("Soak {n}"), &slug)
        .await?;
    let member_label = format!("soak-member-{n}");
    let member = api
        .sign_up(&member_label, &email(&member_label), PASSWORD)
        .await?;
    let invitation = api
        .invite_member(&owner.session, &org_id, &member.email, "member")
        .await?;
    // Accepting needs a verified email; the server's mail goes to its log.
    let verified = owner_sql
        .execute(
            "update \"user\" set email_verified = true where email = $1",
            &[&member.email],
        )
        .await?;
    ensure!(verified == 1, "no user {} to verify", member.email);
    api.accept_invitation(&member.session, &invitation).await?;
    let owner_pat = api.create_pat(&owner.session, "soak").await?;
    let member_pat = api.create_pat(&member.session, "soak").await?;
    let mut pinned = Vec::new();
    for p in 0..PINNED {
        let project = api
            .create_project(&owner_pat, &format!("pinned {p}"))
            .await?
            .expect("create project", 201)?;
        ensure!(
            str_of(&project, "organizationId") == org_id,
            "project created in another organization: {project}"
        );
        pinned.push(Uuid::try_parse(&str_of(&project, "id"))?);
    }
    let mcp = McpSession::open(api.http().clone(), mcp_url.to_owned(), owner_pat.clone()).await?;
    Ok(Fixed {
        org_id,
        owner_pat,
        member_pat,
        owner_session: owner.session,
        pinned,
        mcp,
    })
}

pub fn str_of(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_owned()
}

/// `clients` closed-loop clients for `duration`, sampling the RSS of the
/// server `pid` every ten seconds.
pub async fn run_load(
    ctx: &Arc<Ctx>,
    clients: usize,
    duration: Duration,
    pid: u32,
) -> anyhow::Result<Load> {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut running = Vec::new();
    for client in 0..clients {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        running.push(tokio::spawn(async move {
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
    let mut rss_samples = Vec::new();
    let sample_every = Duration::from_secs(10).min(duration);
    while started.elapsed() + sample_every <= duration {
        tokio::time::sleep(sample_every).await;
        rss_samples.push(proc_status_kib(pid, "VmRSS")?);
    }
    tokio::time::sleep(duration.saturating_sub(started.elapsed())).await;
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for client in running {
        let one = client.await?;
        for (kind, mut l) in one.latencies {
            tally.latencies.entry(kind).or_default().append(&mut l);
        }
        for (key, count) in one.errors {
            *tally.errors.entry(key).or_default() += count;
        }
    }
    Ok(Load {
        tally,
        rss_samples,
        sample_every,
        elapsed: started.elapsed().as_secs_f64(),
    })
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
    let status = |reply: &Reply| reply.status.to_string();
    let in_org = |project: &Value| str_of(project, "organizationId") == fixed.org_id;
    // A transport failure is an error too.
    let sent = |reply: Result<Reply, ApiError>| reply.map_err(|e| e.to_string());
    match kind {
        Kind::Read => {
            let id = any_project(rng, state);
            let reply = sent(api.get_project(bearer, &id.to_string()).await)?;
            match reply.status {
                200 if in_org(&reply.body) => Ok(()),
                200 => Err("ISOLATION: a project of another organization".into()),
                _ => Err(status(&reply)),
            }
        }
        Kind::List => {
            let reply = sent(api.list_projects(bearer, 20, None).await)?;
            let items = reply.body["items"].as_array().cloned().unwrap_or_default();
            match reply.status {
                200 if items.iter().all(in_org) => Ok(()),
                200 => Err("ISOLATION: another organization's project listed".into()),
                _ => Err(status(&reply)),
            }
        }
        Kind::Create => {
            state.next_name += 1;
            let name = format!("load {}", state.next_name);
            let reply = sent(api.create_project(bearer, &name).await)?;
            if reply.status != 201 {
                return Err(status(&reply));
            }
            if !in_org(&reply.body) {
                return Err("ISOLATION: created in another organization".into());
            }
            let id = Uuid::try_parse(&str_of(&reply.body, "id")).map_err(|e| e.to_string())?;
            state.created.push(id);
            state.creates += 1;
            Ok(())
        }
        Kind::Update => {
            let id = any_project(rng, state);
            state.next_name += 1;
            let name = format!("renamed {}", state.next_name);
            let reply = sent(api.rename_project(bearer, &id.to_string(), &name).await)?;
            match reply.status {
                200 if in_org(&reply.body) => Ok(()),
                200 => Err("ISOLATION: renamed another organization's project".into()),
                _ => Err(status(&reply)),
            }
        }
        Kind::Delete => {
            let i = (rng.one_to(state.created.len() as u64) - 1) as usize;
            let id = state.created[i];
            let reply = sent(api.delete_project(bearer, &id.to_string()).await)?;
            if reply.status != 204 {
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
            let reply = sent(api.record_usage(bearer, &body).await)?;
            if reply.status != 201 {
                return Err(status(&reply));
            }
            state.usage_events += 1;
            Ok(())
        }
        Kind::Report => {
            let reply = sent(api.usage_report(bearer, &ctx.report_query).await)?;
            match reply.status {
                200 => Ok(()),
                _ => Err(status(&reply)),
            }
        }
        Kind::Members => {
            let reply = sent(api.list_members(bearer).await)?;
            let members = reply.body.as_array().cloned().unwrap_or_default();
            match reply.status {
                200 if members.len() == 2 && members.iter().all(in_org) => Ok(()),
                200 => Err(format!("ISOLATION: members {}", reply.body)),
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
            let reply = sent(api.get_project(bearer, &id.to_string()).await)?;
            match reply.status {
                404 => Ok(()),
                200 => Err("ISOLATION: read another organization's project".into()),
                _ => Err(status(&reply)),
            }
        }
    }
}

pub fn pick_kind(rng: &mut Rng) -> Kind {
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
