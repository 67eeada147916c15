//! The MCP server driven by the official Python SDK (`mcp` from PyPI), over
//! streamable HTTP (the real server, API and `/mcp` together) and over stdio
//! (the real `tenantry mcp --stdio` binary), once on the current protocol
//! (2026-07-28, no sessions) and once on 2025-11-25 (sessions), each a whole
//! run of `client.py` on a database of its own. Neither run may print a
//! session error (the SDK logs "Session termination failed" when closing a
//! session is answered with anything but 200 or 204). Besides full tokens,
//! each run uses a read-only token and a token bound to one organization.
//!
//! `scripts/test` installs the SDK into `tests/mcp-client/.venv` and sets
//! TENANTRY_REQUIRE_PYTHON_TESTS, so in CI a missing install fails the test
//! instead of skipping it.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use serde_json::json;
use tenantry_db::pats::{self, NewPat};
use tenantry_db::seed::demo;
use tenantry_db::{BoundedName, PatId, UserId};
use tenantry_server::Extension;
use tenantry_testkit::TestDb;
use tenantry_testkit::server::TestServer;

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp-client")
}

/// Mint and store a PAT for `user` directly (as `tenantry pat create` does).
async fn pat_for(
    test: &TestDb,
    user: uuid::Uuid,
    expires_in: Option<Duration>,
) -> (String, uuid::Uuid) {
    scoped_pat_for(test, user, expires_in, tenantry_app::Scopes::ALL, None).await
}

/// [`pat_for`], with `scopes` and bound to `organization` if given.
async fn scoped_pat_for(
    test: &TestDb,
    user: uuid::Uuid,
    expires_in: Option<Duration>,
    scopes: tenantry_app::Scopes,
    organization: Option<uuid::Uuid>,
) -> (String, uuid::Uuid) {
    let minted = tenantry_auth::pat::mint_pat();
    let summary = pats::create_pat(
        &test.db,
        NewPat {
            user_id: UserId::from_uuid(user),
            name: &BoundedName::parse("name", "mcp test", 100).unwrap(),
            token_prefix: &minted.lookup_prefix,
            token_hash: &minted.hash,
            expires_at: expires_in.map(|d| Utc::now() + d),
            scopes,
            organization_id: organization.map(tenantry_db::OrganizationId::from_uuid),
        },
    )
    .await
    .unwrap();
    (minted.token, summary.id)
}

#[tokio::test]
async fn the_official_python_client_drives_every_tool_on_the_current_protocol() {
    python_client_run("2026-07-28").await;
}

#[tokio::test]
async fn the_official_python_client_drives_every_tool_on_2025_11_25_with_sessions() {
    python_client_run("2025-11-25").await;
}

/// A whole run of `client.py` speaking `protocol`, over HTTP and stdio.
async fn python_client_run(protocol: &str) {
    let python = client_dir().join(".venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("TENANTRY_REQUIRE_PYTHON_TESTS").is_none(),
            "the MCP Python SDK is not installed in {}",
            python.display()
        );
        eprintln!("skipped: run scripts/test to install the MCP Python SDK");
        return;
    }
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.unwrap();
    let (alice, _) = pat_for(&test, demo::ALICE, None).await;
    let (carol, _) = pat_for(&test, demo::CAROL, None).await;
    let (reader, _) = scoped_pat_for(
        &test,
        demo::ALICE,
        None,
        tenantry_app::Scopes::READ_ONLY,
        None,
    )
    .await;
    let (bound, _) = scoped_pat_for(
        &test,
        demo::ALICE,
        None,
        tenantry_app::Scopes::ALL,
        Some(demo::GLOBEX),
    )
    .await;
    let (expired, expired_id) = pat_for(&test, demo::BOB, Some(Duration::days(1))).await;
    test.owner()
        .await
        .execute(
            "update personal_access_token set expires_at = now() - interval '1 minute' where id = $1",
            &[&expired_id],
        )
        .await
        .unwrap();
    let (revoked, revoked_id) = pat_for(&test, demo::BOB, None).await;
    pats::revoke_pat(
        &test.db,
        UserId::from_uuid(demo::BOB),
        PatId::from_uuid(revoked_id),
    )
    .await
    .unwrap();
    let mut wrong_checksum = alice.clone().into_bytes();
    wrong_checksum[10] = if wrong_checksum[10] == b'A' {
        b'B'
    } else {
        b'A'
    };
    // A live session of Alice's: valid for the HTTP API, not for MCP.
    let session_token = tenantry_auth::token::random_token(32);
    tenantry_db::users::create_session(
        &test.db,
        tenantry_db::users::NewSession {
            user_id: UserId::from_uuid(demo::ALICE),
            token: &session_token,
            expires_at: Utc::now() + Duration::days(1),
            ip_address: None,
            user_agent: None,
            active_organization_id: None,
        },
    )
    .await
    .unwrap();

    let url = TestServer::start(&test, Extension::default())
        .await
        .mcp_url();

    let config = test.db.config();
    let config = json!({
        "protocol": protocol,
        "url": url,
        "alice_token": alice,
        "alice_id": demo::ALICE,
        "carol_token": carol,
        "reader_token": reader,
        "bound_token": bound,
        "acme_id": demo::ACME,
        "globex_id": demo::GLOBEX,
        "initech_id": demo::INITECH,
        "refused_tokens": {
            "malformed": "tnty_short",
            "wrong-checksum": String::from_utf8(wrong_checksum).unwrap(),
            "unknown": tenantry_auth::pat::mint_pat().token,
            "expired": expired,
            "revoked": revoked,
            "session (not a PAT)": session_token,
        },
        "stdio": {
            "command": env!("CARGO_BIN_EXE_tenantry"),
            "env": {
                "DATABASE_URL": config.owner_url.clone().unwrap(),
                "TENANTRY_APP_DATABASE_URL": config.app_url,
                "TENANTRY_BARE_DATABASE_URL": config.bare_url,
                "RUST_LOG": "warn",
                "PATH": std::env::var("PATH").unwrap_or_default(),
            },
        },
    });
    let config_path =
        std::env::temp_dir().join(format!("tenantry-mcp-{}-{protocol}.json", test.name()));
    std::fs::write(&config_path, config.to_string()).unwrap();

    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg("client.py")
            .arg(&config_path)
            .current_dir(client_dir())
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "MCP client checks failed:\n{stdout}\n{stderr}"
    );
    let passed = whole_run(&stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}\n{stderr}"));
    assert!(
        passed >= MIN_CHECKS,
        "client.py made {passed} checks, fewer than the {MIN_CHECKS} it had:\n{stdout}"
    );
    if let Some(line) = session_error(&stderr) {
        panic!("the Python SDK reported a session error on {protocol}: {line}\n{stderr}");
    }
}

/// A line of the client's stderr reporting a failed or refused session.
fn session_error(stderr: &str) -> Option<&str> {
    stderr.lines().find(|line| {
        let line = line.to_lowercase();
        line.contains("session") && (line.contains("fail") || line.contains("error"))
    })
}

#[test]
fn a_failed_session_close_is_a_session_error() {
    assert_eq!(
        session_error("WARNING:mcp.client.streamable_http:Session termination failed: 202\n"),
        Some("WARNING:mcp.client.streamable_http:Session termination failed: 202")
    );
    assert_eq!(session_error("INFO: closed\n"), None);
}

/// The checks `client.py` made when this floor was last raised; a plan
/// shrunk below it (checks lost with the plan edited to match) fails.
const MIN_CHECKS: usize = 68;

/// How many checks passed, if `report` is a whole run of `client.py` that
/// passed: its plan `1..N` first (N > 0), then exactly N `ok` lines and no `not ok`,
/// and `N passed, 0 failed` last. An early exit, a skipped branch or a
/// swallowed failure leaves one of these out.
fn whole_run(report: &str) -> Result<usize, String> {
    let mut lines = report.lines().map(str::trim).filter(|l| !l.is_empty());
    let planned: usize = lines
        .next()
        .and_then(|first| first.strip_prefix("1.."))
        .and_then(|n| n.parse().ok())
        .ok_or("no plan (`1..N`) on the first line")?;
    if planned == 0 {
        return Err("a plan of no checks".into());
    }
    let lines: Vec<&str> = lines.collect();
    let ok = lines.iter().filter(|l| l.starts_with("ok - ")).count();
    let not_ok = lines.iter().filter(|l| l.starts_with("not ok - ")).count();
    let summary = format!("{planned} passed, 0 failed");
    if not_ok > 0 {
        return Err(format!("{not_ok} checks failed"));
    }
    if ok != planned {
        return Err(format!("{planned} checks planned, {ok} passed"));
    }
    if lines.last() != Some(&summary.as_str()) {
        return Err(format!("the last line is not `{summary}`"));
    }
    Ok(planned)
}

#[test]
fn only_a_whole_passing_run_of_the_python_checks_counts() {
    let whole = "1..2\nok - a\nok - b\n2 passed, 0 failed\n";
    assert_eq!(whole_run(whole), Ok(2));
    for (case, report) in [
        ("nothing ran", "0 passed, 0 failed\n"),
        ("an empty plan", "1..0\n0 passed, 0 failed\n"),
        ("an early exit", "1..2\nok - a\n"),
        ("a skipped check", "1..2\nok - a\n1 passed, 0 failed\n"),
        (
            "a failure",
            "1..2\nok - a\nnot ok - b  [x]\n1 passed, 1 failed\n",
        ),
        (
            "a summary that lies",
            "1..2\nok - a\nok - b\n2 passed, 1 failed\n",
        ),
    ] {
        assert!(whole_run(report).is_err(), "{case}: accepted");
    }
}

/// POST an MCP `initialize` to `addr` as the owner of `token`, over plain
/// HTTP/1.1: the whole answer, head and body.
fn initialize_over_tcp(addr: std::net::SocketAddr, token: &str) -> String {
    use std::io::{Read, Write};
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "log-test", "version": "1"}}})
    .to_string();
    let mut tcp = std::net::TcpStream::connect(addr).expect("the server listens");
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        tcp,
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         accept: application/json, text/event-stream\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).expect("a whole answer");
    answer
}

#[tokio::test]
async fn serve_logs_at_info_without_mcp_session_ids() {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.unwrap();
    let (alice, _) = pat_for(&test, demo::ALICE, None).await;
    let config = test.db.config();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", tenantry_testkit::free_port())
        .parse()
        .unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args([
            "serve",
            "--no-seed",
            "--rate-limit",
            "off",
            "--bind",
            &addr.to_string(),
        ])
        .env("DATABASE_URL", config.owner_url.clone().unwrap())
        .env("TENANTRY_APP_DATABASE_URL", &config.app_url)
        .env("TENANTRY_BARE_DATABASE_URL", &config.bare_url)
        .env(
            "TENANTRY_AUTH_SECRET",
            "log-test-secret-at-least-32-characters",
        )
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tenantry serve starts");
    // A bounded wait for the listener (migrations and the safety check run first).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "tenantry serve did not listen on {addr}"
        );
        assert!(
            server.try_wait().unwrap().is_none(),
            "tenantry serve exited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let answer = tokio::task::spawn_blocking(move || initialize_over_tcp(addr, &alice))
        .await
        .unwrap();
    let session = answer
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("mcp-session-id")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no session id in {answer}"));
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("serving the HTTP API"),
        "INFO lines are logged by default: {log}"
    );
    assert!(
        !log.contains(&session),
        "the log holds the session id {session}: {log}"
    );
}
