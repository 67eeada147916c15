//! Better Auth's own client library against the real server.
//!
//! Runs the scripts in `tests/better-auth-client` with Node (their shared
//! client set-up, mail and step reporting are `harness.mjs`). `scripts/test`
//! installs its npm dependencies and sets TENANTRY_REQUIRE_NODE_TESTS, so in
//! CI a missing install fails the test instead of skipping it. The script
//! asks for verification links on stdout (`mailbox? <email>`); this test answers
//! on its stdin with the token from the server's mailer.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::{spawn_app, wait_for_mail_token};

/// `client.mjs`: sign-up, sign-in, sessions, organizations, invitations.
#[tokio::test]
async fn better_auths_client_signs_up_signs_in_and_manages_organizations() {
    run_client_script("client.mjs", 14).await;
}

/// `account.mjs`: listSessions, revokeSession(s), revokeOtherSessions,
/// updateUser, changePassword, changeEmail.
#[tokio::test]
async fn better_auths_client_manages_sessions_password_and_email() {
    run_client_script("account.mjs", 10).await;
}

/// `organization.mjs`: the organization administration routes and
/// delete-user (update, delete, leave, checkSlug, listMembers,
/// getActiveMember, hasPermission, listInvitations, listUserInvitations,
/// getInvitation, rejectInvitation, cancelInvitation, deleteUser).
#[tokio::test]
async fn better_auths_client_administers_organizations_and_deletes_accounts() {
    run_client_script("organization.mjs", 11).await;
}

/// Run one script of `tests/better-auth-client` against a fresh server,
/// answering its `mailbox?` questions from the server's mailer, and require
/// `passed` steps and no failure.
async fn run_client_script(script: &'static str, passed: usize) {
    let Some(dir) = common::npm_dir("better-auth-client", &["better-auth"]) else {
        return;
    };
    let app = spawn_app().await;
    let (base_url, mailer) = (app.url(""), app.mailer.clone());
    let runtime = tokio::runtime::Handle::current();
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let mut node = Command::new("node")
            .arg(script)
            .arg(base_url)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs");
        let mut answers = node.stdin.take().unwrap();
        let mut stdout = String::new();
        for line in BufReader::new(node.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(email) = line.strip_prefix("mailbox? ") {
                let token = runtime.block_on(wait_for_mail_token(&mailer, email, "Verify", 0));
                writeln!(answers, "{token}").unwrap();
            }
            stdout.push_str(&line);
            stdout.push('\n');
        }
        let output = node.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status, stdout, stderr)
    })
    .await
    .unwrap();
    eprintln!("{stdout}");
    assert!(status.success(), "client failed:\n{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|line| line == format!("{passed} passed, 0 failed")),
        "{stdout}"
    );
}

#[tokio::test]
async fn cookie_writes_from_another_origin_are_refused() {
    let app = spawn_app().await;
    let user = app.sign_up("Cora", "cora@example.com").await;
    let signed = tenantry_auth::token::sign_cookie_value(&user.session, common::SECRET);
    let cookie = format!("better-auth.session_token={signed}");
    let create = |origin: Option<&str>| {
        let mut request = app
            .http
            .post(app.url("/api/auth/organization/create"))
            .header("cookie", &cookie)
            .json(&serde_json::json!({ "name": "Cora Co", "slug": format!("cora-{}", origin.is_some()) }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(
        common::expect_error(create(None).await.unwrap(), 403).await,
        "MISSING_OR_NULL_ORIGIN"
    );
    let evil = create(Some("https://evil.example")).await.unwrap();
    assert_eq!(common::expect_error(evil, 403).await, "INVALID_ORIGIN");
    let own = create(Some(&app.url(""))).await.unwrap();
    common::expect_status(own, 200).await;
    // Reads with the cookie need no origin.
    let read = app
        .http
        .get(app.url("/api/auth/get-session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        common::expect_status(read, 200).await["user"]["email"],
        "cora@example.com"
    );
}
