//! `spawn_app()`: the real server on a free port, over a fresh database.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use tenantry_api::AuthSettings;
use tenantry_api::mailer::{MemoryMailer, Message};
use tenantry_server::{Application, Settings};
use tenantry_testkit::TestDb;

pub const SECRET: &[u8] = b"test-secret-at-least-32-characters-long";

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: Client,
    pub test: TestDb,
    pub mailer: Arc<MemoryMailer>,
}

pub async fn spawn_app() -> TestApp {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.expect("seed");
    spawn_app_on(test).await
}

pub async fn spawn_app_on(test: TestDb) -> TestApp {
    spawn_app_with(test, AuthSettings::new(SECRET.to_vec())).await
}

pub async fn spawn_app_with(test: TestDb, auth: AuthSettings) -> TestApp {
    // Tests sign up many users from 127.0.0.1; tests/rate_limits.rs turns them on.
    spawn_app_limited(test, auth, tenantry_server::RateLimits::off()).await
}

/// The real server under the abuse limits `limits`.
pub async fn spawn_app_limited(
    test: TestDb,
    auth: AuthSettings,
    limits: tenantry_server::RateLimits,
) -> TestApp {
    spawn_app_settings(test, auth, |settings| settings.rate_limits(limits)).await
}

/// The real server, its settings adjusted by `adjust` (an application's
/// extension, say) after the test mailer is in.
pub async fn spawn_app_settings(
    test: TestDb,
    auth: AuthSettings,
    adjust: impl FnOnce(Settings) -> Settings,
) -> TestApp {
    let mailer = Arc::new(MemoryMailer::default());
    let settings = adjust(Settings::new(test.db.clone(), auth).mailer(mailer.clone()));
    let app = Application::build(settings)
        .await
        .expect("the server starts");
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        addr,
        http: Client::new(),
        test,
        mailer,
    }
}

/// A signed-in user: their session token and, once made, a PAT.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub session: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str, token: &str) -> RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(token)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
    }

    /// The mails `wanted` picks once there are at least `count` (see
    /// [`wait_for_mails`]).
    pub async fn wait_for_mails(
        &self,
        count: usize,
        wanted: impl Fn(&Message) -> bool,
    ) -> Vec<Message> {
        wait_for_mails(&self.mailer, count, wanted).await
    }

    pub async fn sign_up(&self, name: &str, email: &str) -> Member {
        let response = self
            .http
            .post(self.url("/api/auth/sign-up/email"))
            .json(&json!({ "name": name, "email": email, "password": "correct horse battery" }))
            .send()
            .await
            .unwrap();
        let body = expect_status(response, 200).await;
        Member {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            email: email.to_lowercase(),
            session: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// Sign up and create an organization, which becomes the session's active one.
    pub async fn owner_of(&self, name: &str, email: &str, slug: &str) -> (Member, String) {
        let member = self.sign_up(name, email).await;
        let response = self
            .post(
                "/api/auth/organization/create",
                &member.session,
                json!({ "name": format!("{name}'s org"), "slug": slug }),
            )
            .send()
            .await
            .unwrap();
        let org = expect_status(response, 200).await;
        (member, org["id"].as_str().unwrap().to_owned())
    }

    pub async fn create_pat(&self, session: &str, name: &str) -> String {
        let response = self
            .post("/api/tokens", session, json!({ "name": name }))
            .send()
            .await
            .unwrap();
        expect_status(response, 201).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Prove `email` the way its owner does: ask for a verification link,
    /// take it from the mailbox and follow it.
    pub async fn verify_email(&self, email: &str) {
        let before = self.mails_to(email, "Verify").len();
        let response = self
            .http
            .post(self.url("/api/auth/send-verification-email"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        expect_status(response, 200).await;
        let token = self.next_mail_token(email, "Verify", before).await;
        let response = self
            .http
            .get(self.url(&format!("/api/auth/verify-email?token={token}")))
            .send()
            .await
            .unwrap();
        expect_status(response, 200).await;
    }

    /// Mail sent so far to `to` whose subject contains `subject`, oldest first.
    pub fn mails_to(&self, to: &str, subject: &str) -> Vec<Message> {
        self.mailer
            .sent()
            .into_iter()
            .filter(|m| is_mail_to(m, to, subject))
            .collect()
    }

    /// The link token of the first mail to `to` about `subject` after the
    /// `seen` already there (see [`wait_for_mail_token`]).
    pub async fn next_mail_token(&self, to: &str, subject: &str, seen: usize) -> String {
        wait_for_mail_token(&self.mailer, to, subject, seen).await
    }

    pub async fn create_project(&self, token: &str, name: &str) -> Value {
        let response = self
            .post("/api/projects", token, json!({ "name": name }))
            .send()
            .await
            .unwrap();
        expect_status(response, 201).await
    }
}

/// A user with an email/password account whose stored hash is `hash`,
/// written as the owner the way an import from Better Auth would.
pub async fn insert_password_user(
    test: &TestDb,
    name: &str,
    email: &str,
    hash: &str,
) -> uuid::Uuid {
    let owner = test.owner().await;
    let user_id: uuid::Uuid = owner
        .query_one(
            "insert into \"user\" (name, email) values ($1, $2) returning id",
            &[&name, &email],
        )
        .await
        .unwrap()
        .get(0);
    owner
        .execute(
            "insert into account (user_id, account_id, provider_id, password) values ($1, $2, 'credential', $3)",
            &[&user_id, &user_id.to_string(), &hash],
        )
        .await
        .unwrap();
    user_id
}

/// The npm directory `tests/<name>`, or None (the test skips) when any of
/// `packages` is not installed there and CI does not require it
/// (`TENANTRY_REQUIRE_NODE_TESTS`, set by scripts/test after its `npm ci`).
pub fn npm_dir(name: &str, packages: &[&str]) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join(name);
    if packages
        .iter()
        .all(|package| dir.join("node_modules").join(package).exists())
    {
        return Some(dir);
    }
    assert!(
        std::env::var_os("TENANTRY_REQUIRE_NODE_TESTS").is_none(),
        "npm dependencies missing in {}",
        dir.display()
    );
    eprintln!(
        "skipped: run `npm ci` in {} (scripts/test does)",
        dir.display()
    );
    None
}

/// How long a test waits for a mail to arrive.
pub const MAIL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `token=` value of a link in a mail body (link tokens are ASCII
/// letters and digits).
pub fn link_token(body: &str) -> Option<String> {
    let after = body.split("token=").nth(1)?;
    let token: String = after
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (!token.is_empty()).then_some(token)
}

fn is_mail_to(mail: &Message, to: &str, subject: &str) -> bool {
    mail.to == to && mail.subject.contains(subject)
}

/// The mails `wanted` picks once there are at least `count`, waiting up to
/// [`MAIL_WAIT`]: links are mailed after the response, not before it.
pub async fn wait_for_mails(
    mailer: &MemoryMailer,
    count: usize,
    wanted: impl Fn(&Message) -> bool,
) -> Vec<Message> {
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    loop {
        let found: Vec<Message> = mailer.sent().into_iter().filter(&wanted).collect();
        if found.len() >= count {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {count} mails after {MAIL_WAIT:?}; sent: {:?}",
            found.len(),
            mailer.sent()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The link token of the first mail to `to` about `subject` after the
/// `seen` already there.
pub async fn wait_for_mail_token(
    mailer: &MemoryMailer,
    to: &str,
    subject: &str,
    seen: usize,
) -> String {
    let mails = wait_for_mails(mailer, seen + 1, |m| is_mail_to(m, to, subject)).await;
    link_token(&mails[seen].body).unwrap_or_else(|| panic!("no token in {:?}", mails[seen].body))
}

/// Assert the status and return the JSON body (Null when empty).
pub async fn expect_status(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Assert an error response in our format, returning its code.
pub async fn expect_error(response: Response, status: u16) -> String {
    let body = expect_status(response, status).await;
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    code
}
