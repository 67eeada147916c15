//! Items 7 and 8: the real HTTP server (the API plus `/mcp`, composed as
//! `tenantry serve` composes them) in a child process of its own, so that
//! its peak RSS is its own, loaded by wrk (PAT vs session) and by an
//! in-process MCP client over streamable HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use tenantry_server::{Application, AuthSettings, SafetyCheck, Settings};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::load::{Rng, Sample, drive};

/// The env var the parent hands the child's cookie-signing secret in.
pub const SECRET_ENV: &str = "TENANTRY_BENCH_AUTH_SECRET";
/// The MCP protocol version the server negotiates with sessions.
const MCP_PROTOCOL: &str = "2025-11-25";

/// The child side: serve the API and `/mcp` on `bind` over `database` in the
/// bench cluster, print the address, run until killed.
pub async fn serve_child(data_dir: &Path, database: &str, bind: SocketAddr) -> anyhow::Result<()> {
    let cluster = tenantry_cluster::Cluster::new(data_dir);
    let owner_url = cluster.owner_url(database)?;
    let kept = tenantry_cluster::secrets::load_or_create_role_passwords(cluster.root())?;
    let passwords = tenantry_db::setup::RolePasswords {
        app: kept.app,
        bare: kept.bare,
    };
    // Default pool sizes: what `tenantry serve` runs with.
    let config = tenantry_db::setup::config_from_owner_url(&owner_url, &passwords)?;
    let db = tenantry_db::Database::connect(config)?;
    let secret = std::env::var(SECRET_ENV).context("the parent sets the auth secret")?;
    let settings = Settings::new(db, AuthSettings::new(secret.into_bytes()))
        .address(bind)
        // The comparison tables beside tenantry's (`project_norls`, ...) have
        // no row-level security on purpose, and the check would refuse them.
        .safety_check(SafetyCheck::Skip)
        // The load signs up and signs in many users from 127.0.0.1.
        .rate_limits(tenantry_server::RateLimits::off());
    let app = Application::build(settings).await?;
    println!("listening on {}", app.local_addr());
    app.run_until(std::future::pending()).await?;
    Ok(())
}

/// The running child server.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub async fn spawn(data_dir: &Path, database: &str) -> anyhow::Result<Server> {
        let exe = std::env::current_exe().context("locating the bench binary")?;
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut child = Command::new(exe)
            .arg("serve-child")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--database", database, "--bind", "127.0.0.1:0"])
            .env(SECRET_ENV, secret)
            // The server's request log would only cost CPU here.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server child")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("the server did not start within 30s")??
            .context("the server exited before listening")?;
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("unexpected server output {line:?}"))?;
        Ok(Server { child, addr })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.pid().context("server exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmHWM in /proc/<pid>/status")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A user with an organization, a session and a PAT, and one project to GET.
pub struct Caller {
    pub session: String,
    pub pat: String,
    pub project_id: String,
}

async fn post(
    http: &reqwest::Client,
    url: String,
    bearer: Option<&str>,
    body: Value,
) -> anyhow::Result<Value> {
    let mut request = http
        .post(&url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    ensure!(status.is_success(), "POST {url}: {status}: {text}");
    Ok(serde_json::from_str(&text)?)
}

/// Sign up through the API, create an organization (the session's active
/// one), a PAT and a project.
pub async fn make_caller(server: &Server) -> anyhow::Result<Caller> {
    let http = reqwest::Client::new();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let signed_up = post(
        &http,
        server.url("/api/auth/sign-up/email"),
        None,
        json!({ "name": "Bench", "email": format!("bench-{tag}@example.com"), "password": "correct horse battery staple" }),
    )
    .await?;
    let session = signed_up["token"]
        .as_str()
        .context("sign-up returned no token")?
        .to_owned();
    post(
        &http,
        server.url("/api/auth/organization/create"),
        Some(&session),
        json!({ "name": "Bench org", "slug": format!("bench-{tag}") }),
    )
    .await?;
    let pat = post(
        &http,
        server.url("/api/tokens"),
        Some(&session),
        json!({ "name": "bench" }),
    )
    .await?["token"]
        .as_str()
        .context("no PAT in the response")?
        .to_owned();
    let mut project_id = String::new();
    for i in 0..5 {
        let created = post(
            &http,
            server.url("/api/projects"),
            Some(&pat),
            json!({ "name": format!("bench project {i}") }),
        )
        .await?;
        project_id = created["id"].as_str().context("no project id")?.to_owned();
    }
    Ok(Caller {
        session,
        pat,
        project_id,
    })
}

/// wrk, installed from the distribution when missing (we may be root).
pub async fn find_wrk() -> anyhow::Result<PathBuf> {
    if let Some(path) = crate::peers::which("wrk") {
        return Ok(path);
    }
    crate::progress("wrk missing: apt-get install -y wrk".to_string());
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "wrk"])
        .stdout(Stdio::null())
        .status()
        .await;
    match (status, crate::peers::which("wrk")) {
        (Ok(s), Some(path)) if s.success() => Ok(path),
        _ => bail!("wrk is needed for item 7 (apt-get install wrk)"),
    }
}

/// One wrk round at `connections` connections; its Requests/sec.
pub async fn wrk(
    wrk: &Path,
    url: &str,
    token: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    let seconds = duration.as_secs_f64().ceil().max(1.0) as u64;
    let output = Command::new(wrk)
        .args(["-t", "2", "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s")])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(output.status.success(), "wrk failed: {stdout}");
    if let Some(line) = stdout.lines().find(|l| l.contains("Non-2xx")) {
        bail!("wrk saw error responses ({}):\n{stdout}", line.trim());
    }
    let tps = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("no Requests/sec in wrk's output:\n{stdout}"))?;
    Ok(Sample {
        tps,
        p50_us: None,
        cpu_us_per_op: None,
    })
}

/// The JSON-RPC message in a response that may be plain JSON or SSE.
fn rpc_message(body: &str) -> anyhow::Result<Value> {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        return Ok(serde_json::from_str(trimmed)?);
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
        .with_context(|| format!("no JSON-RPC response in {body:?}"))
}

pub struct McpSession {
    http: reqwest::Client,
    url: String,
    pat: String,
    id: String,
}

impl McpSession {
    pub async fn open(http: reqwest::Client, url: String, pat: String) -> anyhow::Result<Self> {
        let response = http
            .post(&url)
            .bearer_auth(&pat)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(
                json!({
                    "jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {
                        "protocolVersion": MCP_PROTOCOL,
                        "capabilities": {},
                        "clientInfo": { "name": "tenantry-bench", "version": "0" }
                    }
                })
                .to_string(),
            )
            .send()
            .await?;
        let status = response.status();
        let id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await?;
        ensure!(status.is_success(), "MCP initialize: {status}: {body}");
        let id = id.context("MCP initialize returned no mcp-session-id")?;
        rpc_message(&body)?;
        let session = McpSession { http, url, pat, id };
        let ack = session
            .request(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .send()
            .await?;
        ensure!(
            ack.status().is_success(),
            "notifications/initialized: {}",
            ack.status()
        );
        Ok(session)
    }

    fn request(&self, body: Value) -> reqwest::RequestBuilder {
        self.http
            .post(&self.url)
            .bearer_auth(&self.pat)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", MCP_PROTOCOL)
            .header("mcp-session-id", &self.id)
            .body(body.to_string())
    }

    pub async fn call_list_projects(&self, id: u64) -> anyhow::Result<()> {
        let response = self
            .request(json!({
                "jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": { "name": "list_projects", "arguments": { "limit": 1 } }
            }))
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        ensure!(status.is_success(), "tools/call: {status}: {body}");
        let message = rpc_message(&body)?;
        ensure!(
            message["result"]["isError"] != json!(true) && message.get("error").is_none(),
            "tools/call failed: {message}"
        );
        Ok(())
    }
}

/// One round of `sessions` concurrent MCP sessions calling `list_projects`.
pub async fn mcp_round(
    server_url: String,
    pat: String,
    sessions: usize,
    duration: Duration,
) -> anyhow::Result<Sample> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(sessions)
        .build()?;
    let mut opened = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        opened.push(McpSession::open(http.clone(), server_url.clone(), pat.clone()).await?);
    }
    let opened = Arc::new(opened);
    drive(sessions, duration, move |client, mut rng: Rng| {
        let opened = opened.clone();
        async move {
            // A random JSON-RPC id: unique enough within one session.
            let id = rng.one_to(1 << 50);
            opened[client].call_list_projects(id).await?;
            Ok(rng)
        }
    })
    .await
}
