//! `Application::build` on a test database: what it serves, and what it
//! refuses to serve.

use std::sync::{Arc, Mutex};

use tenantry_server::{Application, AuthSettings, SafetyCheck, ServerError, Settings};
use tenantry_testkit::TestDb;

const SECRET: &[u8] = b"server-test-secret-at-least-32-characters";

fn settings(test: &TestDb) -> Settings {
    Settings::new(test.db.clone(), AuthSettings::new(SECRET.to_vec()))
        .rate_limits(tenantry_server::RateLimits::off())
}

/// Start `app` in the background; its base URL.
fn spawn(app: Application) -> String {
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    base
}

#[tokio::test]
async fn a_built_server_answers_health_and_guards_mcp_on_a_free_port() {
    let test = TestDb::new().await;
    let migrated = Arc::new(Mutex::new(None));
    let seen = migrated.clone();
    let app = Application::build(settings(&test).on_migrated(move |report| {
        *seen.lock().unwrap() = Some(report.clone());
    }))
    .await
    .expect("a migrated test database is safe to serve");
    assert_ne!(app.local_addr().port(), 0, "port 0 picks a free port");
    let report = migrated.lock().unwrap().take().expect("the observer ran");
    assert!(
        report.applied.is_empty() && !report.already_applied.is_empty(),
        "{report:?}"
    );
    let base = spawn(app);
    let http = reqwest::Client::new();

    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let mcp = http
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        mcp.status().as_u16(),
        401,
        "/mcp is mounted and wants a token"
    );

    let unknown = http.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn demo_data_is_loaded_when_asked() {
    let test = TestDb::new().await;
    let base = spawn(
        Application::build(settings(&test).demo_data(true))
            .await
            .unwrap(),
    );
    let response = reqwest::Client::new()
        .post(format!("{base}/api/auth/sign-in/email"))
        .json(&serde_json::json!({
            "email": "alice@example.com",
            "password": tenantry_db::seed::demo::PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn an_unsafe_database_is_refused_unless_allowed() {
    let test = TestDb::new().await;
    test.owner()
        .await
        .batch_execute("alter table project no force row level security")
        .await
        .unwrap();

    let refused = Application::build(settings(&test))
        .await
        .err()
        .expect("an unsafe database is refused");
    let findings = refused.unsafe_findings().expect("refused as unsafe");
    assert!(
        findings
            .iter()
            .any(|f| f.lint == "rls_not_forced" && f.object == "public.project"),
        "{findings:?}"
    );
    let message = refused.to_string();
    assert!(
        message.starts_with(
            "refusing to serve an unsafe database (1 security lint(s) failed; --allow-unsafe-database overrides):\n  rls_not_forced public.project: "
        ),
        "{message}"
    );
    assert!(
        message.ends_with("\n    fix: alter table public.project force row level security;"),
        "the refusal gives the fix: {message}"
    );

    let base = spawn(
        Application::build(settings(&test).safety_check(SafetyCheck::Warn))
            .await
            .expect("allowed to start anyway"),
    );
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn a_taken_address_is_a_bind_error_naming_it() {
    let test = TestDb::new().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let error = Application::build(settings(&test).address(address))
        .await
        .err()
        .expect("the address is taken");
    assert!(matches!(error, ServerError::Bind { .. }), "{error:?}");
    assert_eq!(error.to_string(), format!("cannot listen on {address}"));
}

#[tokio::test]
async fn an_unreachable_database_is_served_when_its_set_up_is_skipped() {
    let error = Application::build(Settings::new(
        tenantry_testkit::unreachable_database(),
        AuthSettings::new(SECRET.to_vec()),
    ))
    .await
    .err()
    .expect("migrating an unreachable database fails");
    assert!(matches!(error, ServerError::Migrate(_)), "{error:?}");

    let app = Application::build(
        Settings::new(
            tenantry_testkit::unreachable_database(),
            AuthSettings::new(SECRET.to_vec()),
        )
        .migrate(false)
        .safety_check(SafetyCheck::Skip),
    )
    .await
    .unwrap();
    let health = reqwest::get(format!("{}/health", spawn(app)))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 503);
}

#[tokio::test]
async fn run_until_returns_once_shutdown_completes() {
    let test = TestDb::new().await;
    let app = Application::build(settings(&test)).await.unwrap();
    let address = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let health = reqwest::get(format!("http://{address}/health"))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), running)
        .await
        .expect("the server stopped")
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "the listener is closed"
    );
}
