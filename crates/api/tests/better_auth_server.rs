//! Better Auth's own server library and tenantry on one database, with one
//! secret (docs/better-auth.md).
//!
//! Runs `tests/better-auth-server/server.mjs` (better-auth 1.7.25 on `pg`,
//! with the field mappings of docs/better-auth.md) as the `better_auth`
//! login of `tests/better-auth-server/role.sql`, beside tenantry with
//! `--password-hash scrypt`, and checks over real HTTP that each side
//! accepts what the other made: passwords (sign-ins alternating, so neither
//! side locks a user out), session cookies, organizations, members and
//! invitations. `scripts/test` installs the npm dependencies and sets
//! TENANTRY_REQUIRE_NODE_TESTS, so in CI a missing install fails the test.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{SECRET, TestApp, expect_error, expect_status, spawn_app_with};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use tenantry_api::{AuthSettings, PasswordHashing};
use tenantry_testkit::TestDb;

const PASSWORD: &str = "correct horse battery";
const COOKIE: &str = "better-auth.session_token";

/// tenantry, sharing its database with a Better Auth app.
async fn spawn_shared_app(test: TestDb) -> TestApp {
    let mut auth = AuthSettings::new(SECRET.to_vec());
    auth.password_hashing = PasswordHashing::BetterAuthScrypt;
    spawn_app_with(test, auth).await
}

#[tokio::test]
async fn better_auths_server_and_tenantry_accept_each_others_users_sessions_and_organizations() {
    let Some(dir) = common::npm_dir("better-auth-server", &["better-auth", "pg"]) else {
        return;
    };
    let test = TestDb::new().await;
    let login = better_auth_login(&test).await;
    let app = spawn_shared_app(test).await;
    let better_auth = BetterAuth::start(&dir, &login);
    let t = Side::new("tenantry", app.url(""));
    let b = Side::new("Better Auth", better_auth.base_url.clone());

    // Signed up on one side, signed in on both, alternately: a sign-in on
    // either side leaves a hash the other still verifies.
    for (home, away, name) in [(&t, &b, "ada"), (&b, &t, "bo")] {
        let email = format!("{name}@example.com");
        home.sign_up(name, &email).await;
        for _ in 0..3 {
            away.sign_in(&email).await;
            home.sign_in(&email).await;
        }
        for side in [home, away] {
            let wrong = side.sign_in_response(&email, "wrong horse battery").await;
            assert_eq!(wrong.status(), 401, "{} let a wrong password in", side.name);
        }
    }
    let owner = app.test.owner().await;
    let argon2: i64 = owner
        .query_one(
            "select count(*) from account where password like '$argon2%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(argon2, 0, "tenantry wrote argon2id in scrypt mode");

    // A reset link mailed by tenantry is redeemed at Better Auth (both keep
    // it as a `reset-password:<token>` verification row), and the new
    // password works on both sides.
    let gil = t.sign_up("gil", "gil@example.com").await;
    let before = app.mails_to("gil@example.com", "Reset").len();
    expect_status(
        t.post(
            "/api/auth/request-password-reset",
            "",
            json!({ "email": "gil@example.com" }),
        )
        .await,
        200,
    )
    .await;
    let token = app
        .next_mail_token("gil@example.com", "Reset", before)
        .await;
    expect_status(
        b.post(
            "/api/auth/reset-password",
            "",
            json!({ "token": token, "newPassword": "a new horse battery" }),
        )
        .await,
        200,
    )
    .await;
    for side in [&t, &b, &t] {
        let signed_in = side
            .sign_in_response("gil@example.com", "a new horse battery")
            .await;
        expect_status(signed_in, 200).await;
    }
    let old = t.get("/api/auth/get-session", &gil.cookie).await;
    assert_eq!(
        expect_status(old, 200).await,
        Value::Null,
        "a reset at Better Auth left tenantry's session alive"
    );

    // An argon2id hash from before the mode was on: Better Auth cannot read
    // it (it logs "Invalid password hash" with a stack trace: expected);
    // one sign-in at tenantry rewrites it in Better Auth's format.
    let cy = t.sign_up("cy", "cy@example.com").await;
    let argon = tenantry_auth::password::hash_password(PASSWORD).unwrap();
    owner
        .execute(
            "update account set password = $2 where user_id = $1::text::uuid",
            &[&cy.user_id, &argon],
        )
        .await
        .unwrap();
    let refused = b.sign_in_response("cy@example.com", PASSWORD).await;
    assert_eq!(refused.status(), 500);
    t.sign_in("cy@example.com").await;
    b.sign_in("cy@example.com").await;

    // A session cookie made by either side works at the other.
    let ada_b = b.sign_in("ada@example.com").await;
    let ada_t = t.sign_in("ada@example.com").await;
    for (side, cookie) in [(&t, &ada_b), (&b, &ada_t)] {
        let session = expect_status(side.get("/api/auth/get-session", cookie).await, 200).await;
        assert_eq!(session["user"]["email"], "ada@example.com", "{}", side.name);
    }

    // An organization created on one side is listed on the other, and the
    // active organization Better Auth set is the one tenant routes act in.
    let made_b = expect_status(
        b.post(
            "/api/auth/organization/create",
            &ada_b,
            json!({ "name": "Made at Better Auth", "slug": "made-at-better-auth" }),
        )
        .await,
        200,
    )
    .await;
    let made_b = made_b["id"].as_str().unwrap().to_owned();
    let bo_t = t.sign_in("bo@example.com").await;
    let made_t = expect_status(
        t.post(
            "/api/auth/organization/create",
            &bo_t,
            json!({ "name": "Made at tenantry", "slug": "made-at-tenantry" }),
        )
        .await,
        200,
    )
    .await;
    let made_t = made_t["id"].as_str().unwrap().to_owned();
    for (side, cookie, slug) in [
        (&t, &ada_b, "made-at-better-auth"),
        (&b, &bo_t, "made-at-tenantry"),
    ] {
        let list = expect_status(side.get("/api/auth/organization/list", cookie).await, 200).await;
        let slugs: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, [slug], "{}", side.name);
    }
    let members = expect_status(t.get("/api/members", &ada_b).await, 200).await;
    assert_eq!(members[0]["user"]["email"], "ada@example.com", "{members}");
    assert_eq!(members[0]["role"], "owner", "{members}");

    // An invitation made on one side is accepted on the other. Both sides
    // ask for a verified email first; the invitee verifies at tenantry, and
    // Better Auth reads the same `email_verified`.
    let to_b = expect_status(
        b.post(
            "/api/auth/organization/invite-member",
            &ada_b,
            json!({ "email": "dee@example.com", "role": "member", "organizationId": made_b }),
        )
        .await,
        200,
    )
    .await;
    let dee = t.sign_up("dee", "dee@example.com").await;
    app.verify_email("dee@example.com").await;
    expect_status(
        t.post(
            "/api/auth/organization/accept-invitation",
            &dee.cookie,
            json!({ "invitationId": to_b["id"] }),
        )
        .await,
        200,
    )
    .await;
    let to_t = expect_status(
        t.post(
            "/api/auth/organization/invite-member",
            &bo_t,
            json!({ "email": "eve@example.com", "role": "admin", "organizationId": made_t }),
        )
        .await,
        200,
    )
    .await;
    let eve = b.sign_up("eve", "eve@example.com").await;
    app.verify_email("eve@example.com").await;
    expect_status(
        b.post(
            "/api/auth/organization/accept-invitation",
            &eve.cookie,
            json!({ "invitationId": to_t["id"] }),
        )
        .await,
        200,
    )
    .await;

    // Members as the other side sees them, then changed on one side and
    // seen on the other.
    let dee_member = member_of(&b, &ada_b, &made_b, "dee@example.com").await;
    assert_eq!(dee_member["role"], "member");
    let eve_member = member_of(&t, &bo_t, &made_t, "eve@example.com").await;
    assert_eq!(eve_member["role"], "admin");
    expect_status(
        b.post(
            "/api/auth/organization/update-member-role",
            &ada_b,
            json!({ "memberId": dee_member["id"], "role": "admin", "organizationId": made_b }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        member_of(&t, &ada_b, &made_b, "dee@example.com").await["role"],
        "admin"
    );
    expect_status(
        t.post(
            "/api/auth/organization/remove-member",
            &bo_t,
            json!({ "memberIdOrEmail": "eve@example.com", "organizationId": made_t }),
        )
        .await,
        200,
    )
    .await;
    let list = expect_status(b.get("/api/auth/organization/list", &eve.cookie).await, 200).await;
    assert_eq!(list, json!([]), "Better Auth still lists the organization");
}

/// Without Node: what tenantry itself writes and keeps in scrypt mode.
#[tokio::test]
async fn in_scrypt_mode_tenantry_writes_better_auths_format_and_never_argon2id() {
    let app = spawn_shared_app(TestDb::new().await).await;
    let t = Side::new("tenantry", app.url(""));
    let owner = app.test.owner().await;
    let stored = |user_id: String| {
        let owner = &owner;
        async move {
            let hash: String = owner
                .query_one(
                    "select password from account where user_id = $1::text::uuid",
                    &[&user_id],
                )
                .await
                .unwrap()
                .get(0);
            hash
        }
    };
    let is_scrypt = |hash: &str| {
        hash.len() == 32 + 1 + 128 && hash.as_bytes()[32] == b':' && !hash.starts_with("$argon2")
    };

    let fay = t.sign_up("fay", "fay@example.com").await;
    let signed_up = stored(fay.user_id.clone()).await;
    assert!(is_scrypt(&signed_up), "{signed_up}");
    t.sign_in("fay@example.com").await;
    assert_eq!(
        stored(fay.user_id.clone()).await,
        signed_up,
        "a scrypt hash was replaced"
    );

    let argon = tenantry_auth::password::hash_password(PASSWORD).unwrap();
    owner
        .execute(
            "update account set password = $2 where user_id = $1::text::uuid",
            &[&fay.user_id, &argon],
        )
        .await
        .unwrap();
    let wrong = t
        .sign_in_response("fay@example.com", "wrong horse battery")
        .await;
    expect_error(wrong, 401).await;
    assert_eq!(stored(fay.user_id.clone()).await, argon);
    t.sign_in("fay@example.com").await;
    let rewritten = stored(fay.user_id.clone()).await;
    assert!(is_scrypt(&rewritten), "{rewritten}");
    t.sign_in("fay@example.com").await;

    // A reset writes the new password in the same format.
    let before = app.mails_to("fay@example.com", "Reset").len();
    let requested = app
        .http
        .post(app.url("/api/auth/request-password-reset"))
        .json(&json!({ "email": "fay@example.com" }))
        .send()
        .await
        .unwrap();
    expect_status(requested, 200).await;
    let token = app
        .next_mail_token("fay@example.com", "Reset", before)
        .await;
    let reset = app
        .http
        .post(app.url("/api/auth/reset-password"))
        .json(&json!({ "token": token, "newPassword": "a new horse battery" }))
        .send()
        .await
        .unwrap();
    expect_status(reset, 200).await;
    let after_reset = stored(fay.user_id.clone()).await;
    assert!(
        is_scrypt(&after_reset) && after_reset != rewritten,
        "{after_reset}"
    );
    assert!(
        tenantry_auth::password::verify_password("a new horse battery", &after_reset)
            .unwrap()
            .is_valid()
    );
}

/// The member with this email, as `side` lists the organization's members.
async fn member_of(side: &Side, cookie: &str, organization_id: &str, email: &str) -> Value {
    let full = expect_status(
        side.get(
            &format!(
                "/api/auth/organization/get-full-organization?organizationId={organization_id}"
            ),
            cookie,
        )
        .await,
        200,
    )
    .await;
    full["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["email"] == email)
        .unwrap_or_else(|| panic!("{} lists no member {email}: {full}", side.name))
        .clone()
}

/// Creates the `better_auth` login as docs/better-auth.md says (role.sql,
/// then a password), and returns its URL for this test's database.
async fn better_auth_login(test: &TestDb) -> String {
    let role_sql = include_str!("../../../tests/better-auth-server/role.sql");
    let owner = test.owner().await;
    owner.batch_execute(role_sql).await.expect("role.sql");
    let password = uuid::Uuid::new_v4().simple().to_string();
    owner
        .batch_execute(&format!("alter role better_auth password '{password}'"))
        .await
        .unwrap();
    format!(
        "postgresql://better_auth:{password}@{}/{}",
        test.server_addr(),
        test.name()
    )
}

/// The Node server; stopped when dropped (and, should the test process die
/// first, when its stdin closes).
struct BetterAuth {
    child: Child,
    base_url: String,
}

impl BetterAuth {
    fn start(dir: &Path, database_url: &str) -> BetterAuth {
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(dir)
            .env("DATABASE_URL", database_url)
            .env("BETTER_AUTH_SECRET", std::str::from_utf8(SECRET).unwrap())
            .env("BETTER_AUTH_TELEMETRY", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let Some(base_url) = first.strip_prefix("listening ") else {
            let _ = child.kill();
            panic!("the Better Auth server did not start: {first:?}");
        };
        let base_url = base_url.to_owned();
        // Whatever it logs later goes to the test's output, and never fills
        // the pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("better-auth: {line}");
            }
        });
        BetterAuth { child, base_url }
    }
}

impl Drop for BetterAuth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One of the two servers, driven as a browser would: a session cookie, and
/// the server's own origin on every request.
struct Side {
    name: &'static str,
    base_url: String,
    http: Client,
}

/// A user signed up on some side, and the session cookie that gave them.
struct SignedUp {
    user_id: String,
    cookie: String,
}

impl Side {
    fn new(name: &'static str, base_url: String) -> Side {
        Side {
            name,
            base_url,
            http: Client::new(),
        }
    }

    /// A write; `cookie` empty for none.
    async fn post(&self, path: &str, cookie: &str, body: Value) -> Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("origin", &self.base_url)
            .json(&body);
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str, cookie: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base_url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn sign_up(&self, name: &str, email: &str) -> SignedUp {
        let response = self
            .post(
                "/api/auth/sign-up/email",
                "",
                json!({ "name": name, "email": email, "password": PASSWORD }),
            )
            .await;
        let cookie = session_cookie(&response);
        let body = expect_status(response, 200).await;
        SignedUp {
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            cookie: cookie.unwrap_or_else(|| panic!("{} set no session cookie", self.name)),
        }
    }

    async fn sign_in_response(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/sign-in/email",
            "",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs in with [`PASSWORD`]; the session cookie.
    async fn sign_in(&self, email: &str) -> String {
        let response = self.sign_in_response(email, PASSWORD).await;
        let status = response.status();
        let cookie = session_cookie(&response);
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{} refused {email}: {body}", self.name);
        cookie.unwrap_or_else(|| panic!("{} set no session cookie", self.name))
    }
}

/// `name=value` of the session cookie a response sets.
fn session_cookie(response: &Response) -> Option<String> {
    let prefix = format!("{COOKIE}=");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&prefix))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}
