//! The MCP server driven by the MCP Inspector's CLI (`@modelcontextprotocol/inspector`
//! from npm, pinned in `tests/mcp-inspector`) over streamable HTTP, against the
//! real server: `tools/list` and `tools/call` of a read and a write tool, on
//! the current protocol (`--protocol-era modern`, 2026-07-28) and on the
//! Inspector's default for a URL (`legacy`, with `initialize` and a session).
//!
//! Then with Alice's read-only token (no write tool listed, a forced write a
//! tool error naming the scope) and her token bound to Globex (acts there,
//! refused Acme though she owns it). A handful of invocations, each a Node start. `scripts/test` runs `npm ci`
//! there and sets TENANTRY_REQUIRE_NODE_TESTS, so in CI a missing install
//! fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tenantry_db::pats::{self, NewPat};
use tenantry_db::seed::demo;
use tenantry_db::{BoundedName, UserId};
use tenantry_server::Extension;
use tenantry_testkit::TestDb;
use tenantry_testkit::server::TestServer;

fn inspector() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/mcp-inspector/node_modules/.bin/mcp-inspector")
}

async fn pat_for(test: &TestDb, user: uuid::Uuid) -> String {
    scoped_pat_for(test, user, tenantry_app::Scopes::ALL, None).await
}

/// [`pat_for`], with `scopes` and bound to `organization` if given.
async fn scoped_pat_for(
    test: &TestDb,
    user: uuid::Uuid,
    scopes: tenantry_app::Scopes,
    organization: Option<uuid::Uuid>,
) -> String {
    let minted = tenantry_auth::pat::mint_pat();
    pats::create_pat(
        &test.db,
        NewPat {
            user_id: UserId::from_uuid(user),
            name: &BoundedName::parse("name", "inspector test", 100).unwrap(),
            token_prefix: &minted.lookup_prefix,
            token_hash: &minted.hash,
            expires_at: None,
            scopes,
            organization_id: organization.map(tenantry_db::OrganizationId::from_uuid),
        },
    )
    .await
    .unwrap();
    minted.token
}

/// One Inspector CLI run against `url` as the owner of `token`: the MCP
/// result its JSON envelope holds (`--format json`: `{"result": ...}`), or a
/// panic with what it printed.
async fn inspect(url: &str, token: &str, era: &str, method: &[&str]) -> Value {
    let (output, stdout, stderr) = run_inspector(url, token, era, method).await;
    assert!(
        output.status.success(),
        "the Inspector ({era}, {method:?}) failed: {}\n{stdout}\n{stderr}",
        output.status
    );
    // A legacy run ends its session with DELETE; a refused close would show here.
    let lower = stderr.to_lowercase();
    assert!(
        !(lower.contains("session") && (lower.contains("fail") || lower.contains("error"))),
        "the Inspector ({era}, {method:?}) reported a session error:\n{stderr}"
    );
    let envelope: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("the Inspector's output is not one JSON value ({e}):\n{stdout}\n{stderr}")
    });
    match envelope.get("result") {
        Some(result) => result.clone(),
        None => panic!("no result in the Inspector's output:\n{stdout}\n{stderr}"),
    }
}

/// An Inspector CLI run that fails: the error of its JSON envelope
/// (`{"error": {"code": ..., "message": ...}}`), and all it printed (a tool
/// error's result comes before that envelope).
async fn inspect_refused(url: &str, token: &str, era: &str, method: &[&str]) -> (Value, String) {
    let (output, stdout, stderr) = run_inspector(url, token, era, method).await;
    assert!(
        !output.status.success(),
        "the Inspector ({era}, {method:?}) succeeded:\n{stdout}\n{stderr}"
    );
    let text = format!("{stdout}\n{stderr}");
    let error = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .find_map(|envelope| envelope.get("error").cloned())
        .unwrap_or_else(|| panic!("no error envelope in the Inspector's output:\n{text}"));
    (error, text)
}

async fn run_inspector(
    url: &str,
    token: &str,
    era: &str,
    method: &[&str],
) -> (std::process::Output, String, String) {
    let mut command = Command::new(inspector());
    command
        .args(["--cli", url, "--transport", "http", "--protocol-era", era])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--format", "json", "--method"])
        .args(method)
        // Its catalog and client settings, away from the user's home.
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("the Inspector runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

fn tool_names(listed: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {listed}"))
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_mcp_inspector_cli_lists_and_calls_tools_on_both_protocol_eras() {
    if !inspector().exists() {
        assert!(
            std::env::var_os("TENANTRY_REQUIRE_NODE_TESTS").is_none(),
            "the MCP Inspector is not installed in {}",
            inspector().display()
        );
        eprintln!("skipped: run scripts/test to install the MCP Inspector");
        return;
    }
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.unwrap();
    let alice = pat_for(&test, demo::ALICE).await;
    let url = TestServer::start(&test, Extension::default())
        .await
        .mcp_url();

    let modern = inspect(&url, &alice, "modern", &["tools/list"]).await;
    let names = tool_names(&modern);
    assert!(
        names.contains(&"whoami") && names.contains(&"create_project"),
        "{modern}"
    );
    assert!(
        !names.contains(&"switch_organization"),
        "no sessions on 2026-07-28: {names:?}"
    );
    let legacy = inspect(&url, &alice, "legacy", &["tools/list"]).await;
    let with_sessions = tool_names(&legacy);
    assert!(with_sessions.contains(&"switch_organization"), "{legacy}");
    assert_eq!(
        with_sessions.len(),
        names.len() + 1,
        "{with_sessions:?} {names:?}"
    );

    let me = inspect(
        &url,
        &alice,
        "modern",
        &["tools/call", "--tool-name", "whoami"],
    )
    .await;
    assert_eq!(me["isError"], json!(false), "{me}");
    assert_eq!(
        me["structuredContent"]["organization"]["slug"], "acme",
        "{me}"
    );
    assert_eq!(
        me["structuredContent"]["user"]["email"], "alice@example.com",
        "{me}"
    );

    let arguments = json!({"name": "From the Inspector", "organization": demo::GLOBEX}).to_string();
    let created = inspect(
        &url,
        &alice,
        "modern",
        &[
            "tools/call",
            "--tool-name",
            "create_project",
            "--tool-args-json",
            &arguments,
        ],
    )
    .await;
    assert_eq!(created["isError"], json!(false), "{created}");
    assert_eq!(
        created["structuredContent"]["name"], "From the Inspector",
        "{created}"
    );
    assert_eq!(
        created["structuredContent"]["organizationId"],
        json!(demo::GLOBEX),
        "{created}"
    );

    // The write is there for a session-era client in that organization.
    let arguments = json!({"organization": demo::GLOBEX, "limit": 100}).to_string();
    let page = inspect(
        &url,
        &alice,
        "legacy",
        &[
            "tools/call",
            "--tool-name",
            "list_projects",
            "--tool-args-json",
            &arguments,
        ],
    )
    .await;
    let projects: Vec<&str> = page["structuredContent"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(projects.contains(&"From the Inspector"), "{page}");

    let reader = scoped_pat_for(&test, demo::ALICE, tenantry_app::Scopes::READ_ONLY, None).await;
    let listed = inspect(&url, &reader, "modern", &["tools/list"]).await;
    let readable = tool_names(&listed);
    assert!(
        readable.contains(&"list_projects") && !readable.contains(&"create_project"),
        "{readable:?}"
    );
    assert_eq!(readable.len(), names.len() - 3, "{readable:?} {names:?}");
    let arguments = json!({"name": "Read-only write"}).to_string();
    // The Inspector calls only a listed tool: unlisted, the write is refused
    // before it is sent (the Python SDK's run forces one through).
    let (forced, _) = inspect_refused(
        &url,
        &reader,
        "modern",
        &[
            "tools/call",
            "--tool-name",
            "create_project",
            "--tool-args-json",
            &arguments,
        ],
    )
    .await;
    assert_eq!(forced["code"], "tool_not_found", "{forced}");

    let bound = scoped_pat_for(
        &test,
        demo::ALICE,
        tenantry_app::Scopes::ALL,
        Some(demo::GLOBEX),
    )
    .await;
    let me = inspect(
        &url,
        &bound,
        "modern",
        &["tools/call", "--tool-name", "whoami"],
    )
    .await;
    assert_eq!(
        me["structuredContent"]["organization"]["slug"], "globex",
        "{me}"
    );
    let arguments = json!({"organization": demo::ACME}).to_string();
    let (elsewhere, printed) = inspect_refused(
        &url,
        &bound,
        "legacy",
        &[
            "tools/call",
            "--tool-name",
            "list_projects",
            "--tool-args-json",
            &arguments,
        ],
    )
    .await;
    // A tool error: the Inspector prints the result, then exits 5.
    assert_eq!(elsewhere["code"], "tool_is_error", "{printed}");
    assert!(
        printed.contains("this token is bound to organization"),
        "{printed}"
    );
}
