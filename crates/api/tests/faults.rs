//! Faults under load (the reliability issue, part 3).
//!
//! The production server (`tenantry_server::Application`, built as `tenantry
//! serve` builds it: embedded cluster, migrations, role passwords, demo data,
//! the safety check, default pool sizes and timeouts) runs on a private
//! PostgreSQL cluster of its own in `target/tenantry-faults-<uuid>` (removed
//! afterwards, kept when the test fails), never on the shared test cluster.
//! Ten organizations (five users owning two each) take steady, concurrent project
//! writes over real HTTP, half with a personal access token and half with a
//! session, each naming its organization with `X-Organization-Id`.
//! Meanwhile the test:
//!
//! 1. kills the application's backends with `pg_terminate_backend`, three times;
//! 2. restarts PostgreSQL: `pg_ctl stop -m fast`, a second down, start again
//!    (same port, same data directory);
//! 3. exhausts the tenant pool: a superuser holds `LOCK TABLE project IN
//!    EXCLUSIVE MODE` past the pool's wait timeout, so every pooled connection
//!    is stuck behind the lock and the requests queued for one time out.
//!
//! The writers retry a failed write (5xx) with the same project name, which
//! is unique per organization: a retry of a write that did commit gets 409
//! and cannot duplicate it. Afterwards it asserts that
//!
//! - every failure was a 503 with a JSON `{"error": {"code", "message"}}`
//!   body, no request hung (bounded latency), no connection was dropped
//!   (a panic in a handler would drop it);
//! - after each fault the service recovered by itself within
//!   [`RECOVERY_BOUND`] (from the end of the fault to the last failure it
//!   caused), and `/health` answered 200 again;
//! - every acknowledged write (201, with its id) is in the database, in the
//!   organization it was written for, with its audit-log row; no row is in
//!   another organization than the one named in its request; no row exists
//!   that no request asked for; listing through the API shows each
//!   organization exactly its own rows. Writes whose outcome the client never
//!   learnt ("in doubt": a 5xx, then a retry answered 409) are counted and
//!   reported.
//!
//! `an_unreachable_database_gets_503_with_a_json_error` checks the same
//! answer with no database at all; `crates/db/tests/unavailable.rs` holds the
//! data layer's regression tests for it.
//!
//! Short by default (one round of five faults; about 30 s with setup), so it
//! runs in `cargo test --workspace`. The long version repeats rounds (about
//! 19 s each) until the load has run for the given number of seconds, and
//! prints the figures:
//!
//! ```sh
//! TENANTRY_FAULT_SECONDS=600 cargo test -p tenantry-api --test faults -- --nocapture
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tenantry_api::AuthSettings;
use tenantry_api::mailer::MemoryMailer;
use tenantry_cluster::Cluster;
use tenantry_db::setup::{self, RolePasswords};
use tenantry_db::{Database, DatabaseConfig};
use tenantry_server::{Application, SafetyCheck, ServerError, Settings};
use tokio::task::JoinSet;
use uuid::Uuid;

const SECRET: &[u8] = b"fault-test-secret-at-least-32-characters";
/// Users; each owns two organizations.
const USERS: usize = 5;
/// Writers per organization: one with a PAT, one with a session.
const WRITERS_PER_ORG: usize = 2;
/// Pause between one writer's writes: steady load, not a flood.
const PACE: Duration = Duration::from_millis(20);
/// How long a writer keeps retrying one write before giving up on it.
const RETRY_BUDGET: Duration = Duration::from_secs(20);
/// The service must be back this soon after a fault ends.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);
/// No request may take longer than this (the pool-exhaustion fault holds its
/// lock for the pool's wait timeout plus a margin, so requests stuck behind
/// the lock take that long, and no longer).
const LATENCY_BOUND: Duration = Duration::from_secs(15);
/// The client gives up on a request after this: a timeout is a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Load before the first fault, and after each fault before the next.
const QUIET: Duration = Duration::from_millis(2000);
/// How long PostgreSQL stays down during a restart.
const DOWNTIME: Duration = Duration::from_secs(1);
/// Name prefix of every project this test writes.
const PREFIX: &str = "fault";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_survive_killed_backends_restarts_and_an_exhausted_pool() {
    let test_started = Instant::now();
    let load_for = Duration::from_secs(
        std::env::var("TENANTRY_FAULT_SECONDS")
            .ok()
            .map(|s| {
                s.parse()
                    .expect("TENANTRY_FAULT_SECONDS is a number of seconds")
            })
            .unwrap_or(0),
    );
    let server = Server::start().await;
    let orgs = server.organizations().await;
    let setup_took = test_started.elapsed();

    let run = run_load_with_faults(&server, &orgs, load_for).await;

    let mut problems = Vec::new();
    check_answers(&run, &mut problems);
    let recoveries = check_recovery(&run, &mut problems);
    let stored = server.stored_projects().await;
    let tally = check_writes(&run, &orgs, &stored, &mut problems);
    let audit_mismatches = server.projects_without_one_audit_row().await;
    if audit_mismatches > 0 {
        problems.push(format!(
            "{audit_mismatches} projects without exactly one audit-log row (a partial write)"
        ));
    }
    server.check_reads(&orgs, &stored, &mut problems).await;

    println!(
        "faults: {} rounds over {:.1}s of load (setup {:.1}s)",
        run.rounds,
        run.load_end.as_secs_f64(),
        setup_took.as_secs_f64()
    );
    tally.print(&run);
    for recovery in &recoveries {
        println!("  {recovery}");
    }
    println!(
        "database: {} rows, lost acknowledged writes {}, wrong-tenant rows {}, audit mismatches {audit_mismatches}",
        stored.len(),
        tally.lost,
        tally.wrong_tenant
    );
    server.shut_down().await;
    println!("test took {:.1}s", test_started.elapsed().as_secs_f64());

    assert!(tally.acknowledged > 0, "no write was acknowledged at all");
    assert!(
        run.attempts.iter().any(|a| !a.outcome.is_ok()),
        "no request failed: the faults did not bite"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems[..problems.len().min(40)].join("\n")
    );
}

/// Everything that happened while the load ran.
struct Run {
    attempts: Vec<Attempt>,
    writes: Vec<Write>,
    faults: Vec<Fault>,
    rounds: usize,
    load_end: Duration,
}

/// Two writers per organization, and rounds of faults until `load_for` has
/// passed (one round at least).
async fn run_load_with_faults(server: &Server, orgs: &[Org], load_for: Duration) -> Run {
    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for (index, org) in orgs.iter().enumerate() {
        for (slot, token) in [&org.pat, &org.session].into_iter().enumerate() {
            let writer = Writer {
                http: server.http.clone(),
                base: server.base.clone(),
                org: index,
                org_id: org.id.clone(),
                token: token.clone(),
                worker: index * WRITERS_PER_ORG + slot,
                epoch,
                stop: stop.clone(),
            };
            writers.spawn(writer.run());
        }
    }

    let mut faults = Vec::new();
    let mut rounds = 0;
    tokio::time::sleep(QUIET).await;
    while rounds == 0 || epoch.elapsed() < load_for {
        rounds += 1;
        for _ in 0..3 {
            faults.push(server.kill_backends(epoch).await);
            tokio::time::sleep(QUIET).await;
        }
        faults.push(server.restart(epoch).await);
        tokio::time::sleep(QUIET).await;
        faults.push(server.exhaust_pool(epoch).await);
        tokio::time::sleep(QUIET).await;
    }
    stop.store(true, Ordering::Release);
    let load_end = epoch.elapsed();

    let mut run = Run {
        attempts: Vec::new(),
        writes: Vec::new(),
        faults,
        rounds,
        load_end,
    };
    while let Some(log) = writers.join_next().await {
        let log = log.expect("a writer panicked");
        run.attempts.extend(log.attempts);
        run.writes.extend(log.writes);
    }
    run
}

/// Clear errors only: every failure a 503 with our JSON body; nothing hung,
/// no connection dropped, no answer that makes no sense.
fn check_answers(run: &Run, problems: &mut Vec<String>) {
    for attempt in &run.attempts {
        match &attempt.outcome {
            Outcome::Created(_) | Outcome::Conflict => {}
            Outcome::Failed {
                status: 503,
                code,
                message,
                ..
            } if code == "UNAVAILABLE" && !message.is_empty() => {}
            other => problems.push(format!(
                "unclear failure at {:.3}s for {}: {other:?}",
                attempt.start.as_secs_f64(),
                attempt.name
            )),
        }
        if attempt.latency() > LATENCY_BOUND {
            problems.push(format!(
                "request took {:?} (bound {LATENCY_BOUND:?}): {} {:?}",
                attempt.latency(),
                attempt.name,
                attempt.outcome
            ));
        }
    }
    for write in &run.writes {
        if let WriteResult::Unexpected(why) = &write.result {
            problems.push(format!("unexpected answer for {}: {why}", write.name));
        }
    }
}

/// How one fault went, for the report.
struct Recovery<'a> {
    fault: &'a Fault,
    failed_requests: usize,
    /// From the end of the fault to the end of the last request that failed
    /// because of it (zero when none failed after it ended).
    errors_after: Duration,
    /// From the end of the fault to the first acknowledged write after it.
    first_ack: Option<Duration>,
    /// The slowest request in flight during the fault or the second after it.
    max_latency: Duration,
}

impl std::fmt::Display for Recovery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fault = self.fault;
        write!(
            f,
            "{:>14} at {:6.2}s, lasted {:.3}s: {}; {} requests failed, errors ended {:.3}s after it, \
             first write acknowledged {:.3}s after it, /health 200 after {:.3}s, max latency {:.3}s",
            fault.kind,
            fault.start.as_secs_f64(),
            (fault.end - fault.start).as_secs_f64(),
            fault.detail,
            self.failed_requests,
            self.errors_after.as_secs_f64(),
            self.first_ack.map_or(f64::NAN, |d| d.as_secs_f64()),
            fault.health_back.map_or(f64::NAN, |d| d.as_secs_f64()),
            self.max_latency.as_secs_f64(),
        )
    }
}

/// No failure without a fault; after each fault the errors stop within
/// [`RECOVERY_BOUND`], writes succeed again and `/health` answers 200.
fn check_recovery<'a>(run: &'a Run, problems: &mut Vec<String>) -> Vec<Recovery<'a>> {
    let failed: Vec<&Attempt> = run.attempts.iter().filter(|a| !a.outcome.is_ok()).collect();
    let first_fault = run.faults.first().map_or(run.load_end, |f| f.start);
    let before_faults = failed.iter().filter(|a| a.end < first_fault).count();
    if before_faults > 0 {
        problems.push(format!("{before_faults} requests failed before any fault"));
    }
    let mut recoveries = Vec::new();
    for (i, fault) in run.faults.iter().enumerate() {
        let at = format!("{} at {:.1}s", fault.kind, fault.start.as_secs_f64());
        if let Some(problem) = &fault.problem {
            problems.push(format!("{at}: {problem}"));
        }
        // A failure belongs to the latest fault that began before it ended.
        let window_end = run.faults.get(i + 1).map_or(run.load_end, |f| f.start);
        let in_window = |t: Duration| t >= fault.start && t < window_end;
        let failures: Vec<&&Attempt> = failed.iter().filter(|a| in_window(a.end)).collect();
        let last_failure = failures.iter().map(|a| a.end).max();
        let errors_after = last_failure.map_or(Duration::ZERO, |t| t.saturating_sub(fault.end));
        let back_from = last_failure.unwrap_or(fault.end).max(fault.end);
        let first_ack = run
            .attempts
            .iter()
            .filter(|a| a.outcome.is_ok() && a.start >= back_from && in_window(a.start))
            .map(|a| a.end - fault.end)
            .min();
        let max_latency = run
            .attempts
            .iter()
            .filter(|a| a.end >= fault.start && a.start <= fault.end + Duration::from_secs(1))
            .map(Attempt::latency)
            .max()
            .unwrap_or_default();
        if errors_after > RECOVERY_BOUND {
            problems.push(format!(
                "{at}: errors went on for {errors_after:?} after it ended"
            ));
        }
        if fault.must_bite && failures.is_empty() {
            problems.push(format!("{at}: no request failed, the fault did not bite"));
        }
        if first_ack.is_none() {
            problems.push(format!("{at}: no write succeeded after it"));
        }
        if fault.health_back.is_none_or(|back| back > RECOVERY_BOUND) {
            problems.push(format!(
                "{at}: /health was not 200 within {RECOVERY_BOUND:?} ({:?})",
                fault.health_back
            ));
        }
        recoveries.push(Recovery {
            fault,
            failed_requests: failures.len(),
            errors_after,
            first_ack,
            max_latency,
        });
    }
    recoveries
}

/// The writes, counted against what the database holds.
struct Tally {
    acknowledged: usize,
    committed_unacknowledged: usize,
    gave_up: usize,
    gave_up_committed: usize,
    retried: usize,
    lost: usize,
    wrong_tenant: usize,
}

impl Tally {
    fn print(&self, run: &Run) {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        for attempt in &run.attempts {
            *statuses.entry(attempt.outcome.label()).or_default() += 1;
        }
        let max_latency = run
            .attempts
            .iter()
            .map(Attempt::latency)
            .max()
            .unwrap_or_default();
        println!(
            "writes: {} attempted, {} acknowledged (201), {} retried after a 5xx, {} in doubt and committed \
             (a 5xx, then 409 on retry), {} given up ({} of them committed)",
            run.writes.len(),
            self.acknowledged,
            self.retried,
            self.committed_unacknowledged,
            self.gave_up,
            self.gave_up_committed,
        );
        println!(
            "requests: {} {statuses:?}, max latency {:.3}s",
            run.attempts.len(),
            max_latency.as_secs_f64()
        );
        if let Some(failure) = run.attempts.iter().find(|a| !a.outcome.is_ok()) {
            println!("a failure as the client saw it: {}", failure.body());
        }
    }
}

/// Every acknowledged write is stored, in its organization, under its id;
/// every stored row is in the organization its request named, and some
/// request asked for it.
fn check_writes(
    run: &Run,
    orgs: &[Org],
    stored: &HashMap<String, StoredRow>,
    problems: &mut Vec<String>,
) -> Tally {
    let count =
        |wanted: fn(&WriteResult) -> bool| run.writes.iter().filter(|w| wanted(&w.result)).count();
    let mut tally = Tally {
        acknowledged: count(|r| matches!(r, WriteResult::Acknowledged(_))),
        committed_unacknowledged: count(|r| matches!(r, WriteResult::CommittedUnacknowledged)),
        gave_up: count(|r| matches!(r, WriteResult::GaveUp)),
        gave_up_committed: run
            .writes
            .iter()
            .filter(|w| matches!(w.result, WriteResult::GaveUp) && stored.contains_key(&w.name))
            .count(),
        retried: run.writes.iter().filter(|w| w.attempts > 1).count(),
        lost: 0,
        wrong_tenant: 0,
    };
    for write in &run.writes {
        let expected_org = &orgs[write.org].id;
        match (&write.result, stored.get(&write.name)) {
            (WriteResult::Acknowledged(id), Some(row)) => {
                // A row in the wrong organization is counted below, once.
                if &row.organization_id != expected_org {
                    problems.push(format!(
                        "{} acknowledged for {expected_org}, stored in {}",
                        write.name, row.organization_id
                    ));
                } else if row.id != *id {
                    problems.push(format!(
                        "{} acknowledged as {id}, stored as {}",
                        write.name, row.id
                    ));
                }
            }
            (WriteResult::Acknowledged(id), None) => {
                tally.lost += 1;
                problems.push(format!(
                    "acknowledged write {} ({id}) is not in the database",
                    write.name
                ));
            }
            (WriteResult::CommittedUnacknowledged, None) => problems.push(format!(
                "{} answered 409 on retry, but is not in the database",
                write.name
            )),
            _ => {}
        }
    }
    let attempted: HashSet<&str> = run.writes.iter().map(|w| w.name.as_str()).collect();
    for (name, row) in stored {
        if !attempted.contains(name.as_str()) {
            problems.push(format!(
                "{name} is in the database but no request asked for it"
            ));
        }
        let written_for = org_of_name(name).and_then(|i| orgs.get(i)).map(|o| &o.id);
        if written_for != Some(&row.organization_id) {
            tally.wrong_tenant += 1;
            problems.push(format!(
                "{name} is stored in {}, not in the organization it was written for",
                row.organization_id
            ));
        }
    }
    let committed = tally.acknowledged + tally.committed_unacknowledged + tally.gave_up_committed;
    if stored.len() != committed {
        problems.push(format!(
            "{} rows stored, but {committed} writes are known to have committed",
            stored.len()
        ));
    }
    tally
}

/// With the database unreachable, every kind of request that needs it gets a
/// prompt 503 in our JSON format (not a 500, not a hang), and `/health` says so.
#[tokio::test]
async fn an_unreachable_database_gets_503_with_a_json_error() {
    let db = tenantry_testkit::unreachable_database();
    let app = Application::build(
        Settings::new(db, AuthSettings::new(SECRET.to_vec()))
            .migrate(false)
            .safety_check(SafetyCheck::Skip),
    )
    .await
    .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let http = Client::builder().timeout(CLIENT_TIMEOUT).build().unwrap();
    let pat = tenantry_auth::pat::mint_pat().token;
    let requests = [
        http.post(format!("{base}/api/auth/sign-in/email"))
            .json(&json!({ "email": "a@example.com", "password": "correct horse battery" })),
        http.get(format!("{base}/api/projects"))
            .bearer_auth("sessiontoken0123456789"),
        http.post(format!("{base}/api/projects"))
            .bearer_auth(&pat)
            .json(&json!({ "name": "x" })),
    ];
    for request in requests {
        let started = Instant::now();
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "UNAVAILABLE", "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
    }
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
}

// ---- the server under test --------------------------------------------------

/// The production application on a private cluster, set up as `tenantry serve` does.
struct Server {
    cluster: ClusterDir,
    db: Database,
    http: Client,
    base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServerError>>>,
}

/// One organization under load, and the two credentials its writers use.
struct Org {
    id: String,
    pat: String,
    session: String,
}

#[derive(Debug)]
struct Fault {
    kind: &'static str,
    start: Duration,
    end: Duration,
    detail: String,
    /// From the end of the fault until `/health` answered 200.
    health_back: Option<Duration>,
    /// Something the fault itself found wrong.
    problem: Option<String>,
    /// Requests must fail during it (else it did not happen as planned).
    must_bite: bool,
}

impl Server {
    async fn start() -> Server {
        // Beside the shared test cluster (a directory the cluster user can
        // reach), but a cluster of its own: this test stops and starts it.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
            });
        let root = target.join(format!("tenantry-faults-{}", Uuid::new_v4().simple()));
        let cluster = ClusterDir(Cluster::new(&root));
        blocking_cluster(&cluster.0, Cluster::start)
            .await
            .expect("start the private cluster");
        // As `tenantry serve` with the embedded cluster: the default database,
        // the role passwords kept beside the cluster, the default pools.
        let owner_url = cluster
            .0
            .owner_url(tenantry_cluster::DEFAULT_DATABASE)
            .unwrap();
        let kept =
            tenantry_cluster::secrets::load_or_create_role_passwords(cluster.0.root()).unwrap();
        let passwords = RolePasswords {
            app: kept.app,
            bare: kept.bare,
        };
        let config: DatabaseConfig = setup::config_from_owner_url(&owner_url, &passwords).unwrap();
        let db = Database::connect(config).unwrap();
        let app = Application::build(
            Settings::new(db.clone(), AuthSettings::new(SECRET.to_vec()))
                .role_passwords(passwords)
                .demo_data(true)
                .mailer(Arc::new(MemoryMailer::default()))
                .rate_limits(tenantry_server::RateLimits::off()),
        )
        .await
        .expect("the server starts as `tenantry serve` starts it");
        let addr = app.local_addr();
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = signal.await;
        }));
        Server {
            cluster,
            db,
            http: Client::builder().timeout(CLIENT_TIMEOUT).build().unwrap(),
            base: format!("http://{addr}"),
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Users, each owning two organizations, with a session and a PAT.
    async fn organizations(&self) -> Vec<Org> {
        let mut users = JoinSet::new();
        for user in 0..USERS {
            let http = self.http.clone();
            let url = self.url("/api/auth/sign-up/email");
            users.spawn(async move {
                let body = json!({
                    "name": format!("Fault {user}"),
                    "email": format!("fault-{user}@example.com"),
                    "password": "correct horse battery",
                });
                let response = http.post(url).json(&body).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let body: Value = response.json().await.unwrap();
                (user, body["token"].as_str().unwrap().to_owned())
            });
        }
        let mut sessions = users.join_all().await;
        sessions.sort();
        let mut orgs = Vec::new();
        for (user, session) in sessions {
            let pat = self
                .post("/api/tokens", &session, json!({ "name": "faults" }))
                .await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            for n in 0..2 {
                let org = self
                    .post(
                        "/api/auth/organization/create",
                        &session,
                        json!({ "name": format!("Fault {user}/{n}"), "slug": format!("fault-{user}-{n}") }),
                    )
                    .await;
                orgs.push(Org {
                    id: org["id"].as_str().unwrap().to_owned(),
                    pat: pat.clone(),
                    session: session.clone(),
                });
            }
        }
        orgs
    }

    /// The superuser's URL; each use connects afresh (a restart kills connections).
    fn owner_url(&self) -> String {
        self.cluster
            .0
            .owner_url(tenantry_cluster::DEFAULT_DATABASE)
            .unwrap()
    }

    /// Wait for `/health` to answer 200; how long that took.
    async fn health_back(&self) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < RECOVERY_BOUND * 2 {
            let response = self.http.get(self.url("/health")).send().await;
            if response.is_ok_and(|r| r.status() == StatusCode::OK) {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        None
    }

    async fn kill_backends(&self, epoch: Instant) -> Fault {
        let owner = tenantry_testkit::connect(&self.owner_url()).await;
        let start = epoch.elapsed();
        let row = owner
            .query_one(
                &format!(
                    "select count(*) filter (where pg_terminate_backend(pid)), \
                            count(*) filter (where xact_start is not null) \
                     from pg_stat_activity where usename in ('{}', '{}')",
                    setup::APP_ROLE,
                    setup::BARE_ROLE
                ),
                &[],
            )
            .await
            .unwrap();
        let end = epoch.elapsed();
        let killed: i64 = row.get(0);
        let in_transaction: i64 = row.get(1);
        let health_back = self.health_back().await;
        Fault {
            kind: "kill backends",
            start,
            end,
            detail: format!(
                "{killed} backends terminated, {in_transaction} of them in a transaction"
            ),
            health_back,
            problem: (killed == 0).then(|| "no backend to kill".to_owned()),
            // Idle connections may all be replaced before anyone notices.
            must_bite: false,
        }
    }

    async fn restart(&self, epoch: Instant) -> Fault {
        let port = self.cluster.0.port().unwrap();
        let start = epoch.elapsed();
        blocking_cluster(&self.cluster.0, Cluster::stop)
            .await
            .expect("stop");
        tokio::time::sleep(DOWNTIME).await;
        blocking_cluster(&self.cluster.0, Cluster::start)
            .await
            .expect("start");
        let end = epoch.elapsed();
        let port_after = self.cluster.0.port().unwrap();
        let health_back = self.health_back().await;
        Fault {
            kind: "restart",
            start,
            end,
            detail: format!(
                "PostgreSQL stopped (fast), down {DOWNTIME:?}, started on port {port_after}"
            ),
            health_back,
            problem: (port != port_after)
                .then(|| format!("port moved from {port} to {port_after}")),
            must_bite: true,
        }
    }

    async fn exhaust_pool(&self, epoch: Instant) -> Fault {
        let config = self.db.config();
        let hold = config.acquire_timeout + Duration::from_millis(1500);
        let mut owner = tenantry_testkit::connect(&self.owner_url()).await;
        let start = epoch.elapsed();
        let tx = owner.transaction().await.unwrap();
        tx.batch_execute("lock table project in exclusive mode")
            .await
            .unwrap();
        tokio::time::sleep(hold - Duration::from_millis(200)).await;
        let (open, idle) = self.db.tenant_pool_status();
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.commit().await.unwrap();
        let end = epoch.elapsed();
        let health_back = self.health_back().await;
        let problem = (open != config.app_pool_size || idle != 0).then(|| {
            format!(
                "the pool was not exhausted: {open} open, {idle} idle of {}",
                config.app_pool_size
            )
        });
        Fault {
            kind: "exhausted pool",
            start,
            end,
            detail: format!(
                "writes locked out for {hold:?} (pool wait timeout {:?}); {open} of {} connections open, {idle} idle",
                config.acquire_timeout, config.app_pool_size
            ),
            health_back,
            problem,
            must_bite: true,
        }
    }

    /// Every project this test wrote, by name, as the superuser sees it.
    async fn stored_projects(&self) -> HashMap<String, StoredRow> {
        let owner = tenantry_testkit::connect(&self.owner_url()).await;
        owner
            .query(
                "select name, organization_id::text, id from project where name like $1",
                &[&format!("{PREFIX} %")],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row.get::<_, String>(0),
                    StoredRow {
                        organization_id: row.get(1),
                        id: row.get(2),
                    },
                )
            })
            .collect()
    }

    /// Projects whose creation did not leave exactly one audit row in the
    /// same organization, plus audit rows for projects that do not exist.
    async fn projects_without_one_audit_row(&self) -> i64 {
        let owner = tenantry_testkit::connect(&self.owner_url()).await;
        owner
            .query_one(
                "with created as (
                   select organization_id, target_id, count(*) as n from audit_log
                    where action = 'project.create' group by organization_id, target_id)
                 select (select count(*) from project p
                           left join created c on c.organization_id = p.organization_id
                                              and c.target_id = p.id::text
                          where p.name like $1 and coalesce(c.n, 0) <> 1)
                      + (select count(*) from created c
                          where not exists (select 1 from project p
                                             where p.organization_id = c.organization_id
                                               and p.id::text = c.target_id))",
                &[&format!("{PREFIX} %")],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Through the API, after the faults, each organization lists exactly
    /// the projects the database holds for it (every page), and nothing else.
    async fn check_reads(
        &self,
        orgs: &[Org],
        stored: &HashMap<String, StoredRow>,
        problems: &mut Vec<String>,
    ) {
        for (index, org) in orgs.iter().enumerate() {
            let mut listed = HashSet::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut request = self
                    .http
                    .get(self.url("/api/projects"))
                    .query(&[("limit", "100")])
                    .bearer_auth(&org.pat)
                    .header("x-organization-id", &org.id);
                if let Some(cursor) = &cursor {
                    request = request.query(&[("cursor", cursor)]);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                if status != StatusCode::OK {
                    problems.push(format!("listing organization {index}: {status} {body}"));
                    break;
                }
                for item in body["items"].as_array().expect("a page has items") {
                    listed.insert(item["name"].as_str().unwrap_or_default().to_owned());
                }
                match body["nextCursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
            let own: HashSet<String> = stored
                .iter()
                .filter(|(_, row)| row.organization_id == org.id)
                .map(|(name, _)| name.clone())
                .collect();
            let listed_ours: HashSet<String> = listed
                .iter()
                .filter(|n| n.starts_with(PREFIX))
                .cloned()
                .collect();
            if listed_ours != own {
                problems.push(format!(
                    "organization {index} lists {} of this test's projects, the database holds {} for it",
                    listed_ours.len(),
                    own.len()
                ));
            }
            if let Some(stray) = listed_ours.iter().find(|n| org_of_name(n) != Some(index)) {
                problems.push(format!("organization {index} lists {stray}"));
            }
        }
    }

    async fn shut_down(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// The private cluster: stopped and removed when the test ends (kept, with
/// its log, when the test fails).
struct ClusterDir(Cluster);

impl Drop for ClusterDir {
    fn drop(&mut self) {
        let _ = self.0.stop();
        if std::thread::panicking() {
            eprintln!(
                "private cluster kept for inspection: {}",
                self.0.root().display()
            );
        } else {
            let _ = std::fs::remove_dir_all(self.0.root());
        }
    }
}

async fn blocking_cluster(
    cluster: &Cluster,
    action: fn(&Cluster) -> Result<(), tenantry_cluster::Error>,
) -> Result<(), tenantry_cluster::Error> {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || action(&cluster))
        .await
        .expect("cluster task")
}

struct StoredRow {
    organization_id: String,
    id: Uuid,
}

/// The organization index a project name was written for: `fault o3 w7 n12` -> 3.
fn org_of_name(name: &str) -> Option<usize> {
    name.strip_prefix(PREFIX)?
        .trim_start()
        .strip_prefix('o')?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

// ---- the writers ------------------------------------------------------------

struct Writer {
    http: Client,
    base: String,
    org: usize,
    org_id: String,
    token: String,
    worker: usize,
    epoch: Instant,
    stop: Arc<AtomicBool>,
}

#[derive(Default)]
struct WriterLog {
    attempts: Vec<Attempt>,
    writes: Vec<Write>,
}

/// One HTTP request.
#[derive(Clone, Debug)]
struct Attempt {
    name: String,
    start: Duration,
    end: Duration,
    outcome: Outcome,
}

impl Attempt {
    fn latency(&self) -> Duration {
        self.end - self.start
    }

    fn body(&self) -> &str {
        match &self.outcome {
            Outcome::Failed { body, .. } | Outcome::Rejected { body, .. } => body,
            Outcome::Transport(error) => error,
            _ => "",
        }
    }
}

#[derive(Clone, Debug)]
enum Outcome {
    /// 201 with the new project's id.
    Created(Uuid),
    /// 409: a project with this name exists already.
    Conflict,
    /// 5xx.
    Failed {
        status: u16,
        code: String,
        message: String,
        body: String,
    },
    /// Any other status.
    Rejected { status: u16, body: String },
    /// No HTTP answer at all (a hang, a dropped connection).
    Transport(String),
}

impl Outcome {
    fn is_ok(&self) -> bool {
        matches!(self, Outcome::Created(_) | Outcome::Conflict)
    }

    fn label(&self) -> String {
        match self {
            Outcome::Created(_) => "201".into(),
            Outcome::Conflict => "409".into(),
            Outcome::Failed { status, code, .. } => format!("{status} {code}"),
            Outcome::Rejected { status, .. } => status.to_string(),
            Outcome::Transport(_) => "transport error".into(),
        }
    }
}

/// One logical write: a project name, tried until it is settled.
#[derive(Clone, Debug)]
struct Write {
    org: usize,
    name: String,
    attempts: u32,
    result: WriteResult,
}

#[derive(Clone, Debug)]
enum WriteResult {
    /// 201: the server said it is stored.
    Acknowledged(Uuid),
    /// A 5xx, then 409 on retry: an attempt the client never heard back from committed.
    CommittedUnacknowledged,
    /// Still failing after the retry budget; committed or not, the database says.
    GaveUp,
    /// An answer that should not happen (a 409 on a first attempt, a 4xx).
    Unexpected(String),
}

impl Writer {
    async fn run(self) -> WriterLog {
        let mut log = WriterLog::default();
        let mut seq = 0u64;
        while !self.stop.load(Ordering::Acquire) {
            seq += 1;
            let name = format!("{PREFIX} o{} w{} n{seq}", self.org, self.worker);
            let write = self.write(&name, &mut log.attempts).await;
            log.writes.push(write);
            tokio::time::sleep(PACE).await;
        }
        log
    }

    async fn write(&self, name: &str, attempts: &mut Vec<Attempt>) -> Write {
        let began = Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut count = 0;
        let result = loop {
            count += 1;
            let start = self.epoch.elapsed();
            let outcome = self.attempt(name).await;
            let end = self.epoch.elapsed();
            attempts.push(Attempt {
                name: name.to_owned(),
                start,
                end,
                outcome: outcome.clone(),
            });
            match outcome {
                Outcome::Created(id) => break WriteResult::Acknowledged(id),
                Outcome::Conflict if count > 1 => break WriteResult::CommittedUnacknowledged,
                Outcome::Conflict => {
                    break WriteResult::Unexpected("409 on the first attempt".into());
                }
                Outcome::Rejected { status, body } => {
                    break WriteResult::Unexpected(format!("{status} {body}"));
                }
                Outcome::Failed { .. } | Outcome::Transport(_) => {
                    if began.elapsed() > RETRY_BUDGET {
                        break WriteResult::GaveUp;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(800));
                }
            }
        };
        Write {
            org: self.org,
            name: name.to_owned(),
            attempts: count,
            result,
        }
    }

    async fn attempt(&self, name: &str) -> Outcome {
        let sent = self
            .http
            .post(format!("{}/api/projects", self.base))
            .bearer_auth(&self.token)
            .header("x-organization-id", &self.org_id)
            .json(&json!({ "name": name }))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Outcome::Transport(error.to_string()),
        };
        let status = response.status().as_u16();
        let body = match response.text().await {
            Ok(body) => body,
            Err(error) => return Outcome::Transport(error.to_string()),
        };
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        match status {
            201 => match json["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()) {
                Some(id) => Outcome::Created(id),
                None => Outcome::Rejected { status, body },
            },
            409 if json["error"]["code"] == "PROJECT_NAME_TAKEN" => Outcome::Conflict,
            500..=599 => Outcome::Failed {
                status,
                code: json["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                message: json["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                body,
            },
            _ => Outcome::Rejected { status, body },
        }
    }
}
