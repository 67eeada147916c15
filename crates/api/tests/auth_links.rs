//! Emailed links (password reset, email verification) and the cookie-write
//! guard: where a link may lead, how long an old link lives, what a response
//! time can tell about an address, and which origins count as our own.

mod common;

use std::time::Duration;

use common::{TestApp, expect_error, expect_status, spawn_app, spawn_app_with};
use serde_json::json;
use tenantry_api::AuthSettings;
use tenantry_api::mailer::Message;
use tenantry_api::origin::TrustedOrigins;
use tenantry_testkit::TestDb;

const TRUSTED: &str = "https://app.example";

async fn app_trusting_one_origin() -> TestApp {
    let test = TestDb::new().await;
    let mut auth = AuthSettings::new(common::SECRET.to_vec());
    auth.trusted_origins = TrustedOrigins::parse(&[TRUSTED.into()]).unwrap();
    spawn_app_with(test, auth).await
}

const RESET: &str = "/api/auth/request-password-reset";
const VERIFY: &str = "/api/auth/send-verification-email";

/// Ask for a link mail (without a session, as one does).
async fn request_link(app: &TestApp, path: &str, body: serde_json::Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The link in a mail: the one word that carries a token.
fn link_in(mail: &Message) -> String {
    mail.body
        .split_whitespace()
        .find(|word| word.contains("token="))
        .unwrap_or_else(|| panic!("no link in {mail:?}"))
        .to_owned()
}

fn token_in(mail: &Message) -> String {
    let link = link_in(mail);
    let after = link.split("token=").nth(1).unwrap();
    after.split(['&', '#']).next().unwrap().to_owned()
}

fn contains_control(mail: &Message) -> bool {
    [&mail.to, &mail.subject, &mail.body]
        .iter()
        .any(|text| text.chars().any(char::is_control))
}

/// Targets that must never end up in a mailed link: control characters a
/// URL parser drops or that break the mail's text, and everything that
/// resolves outside this server and the trusted origin.
const REFUSED_TARGETS: &[&str] = &[
    "/reset\tpassword",
    "/reset\npassword",
    "/reset\rpassword",
    "/reset\r\nBcc: evil@evil.example",
    "/reset\u{0000}",
    "/reset\u{007f}",
    "/reset\u{0085}",
    "/\t/evil.example/r",
    "/\n/evil.example/r",
    "\t//evil.example/r",
    "//evil.example/r",
    "/\\evil.example/r",
    "\\\\evil.example/r",
    // Dot segments that leave an empty first path segment: on our origin,
    // but written out as `//evil.example/r`.
    "/.//evil.example/r",
    "/a/..//evil.example/r",
    ".//evil.example/r",
    "/.\\/evil.example/r",
    "http://tenantry.invalid//evil.example/r",
    "https://evil.example/r",
    "https://app.example.evil.example/r",
    "https://app.example@evil.example/r",
    "javascript:alert(1)",
    "data:text/html,hi",
    "https://app.example:8443/welcome",
    "http://app.example/welcome",
];

#[tokio::test]
async fn link_targets_with_control_characters_or_foreign_origins_are_refused() {
    let app = app_trusting_one_origin().await;
    app.sign_up("Bob", "bob@example.com").await;
    for target in REFUSED_TARGETS {
        for (path, field) in [(RESET, "redirectTo"), (VERIFY, "callbackURL")] {
            let mut body = json!({ "email": "bob@example.com" });
            body[field] = json!(target);
            assert_eq!(
                expect_error(request_link(&app, path, body).await, 400).await,
                "INVALID_REDIRECT_URL",
                "{field} {target:?}"
            );
        }
    }
    // A refused request starts no mail job. Mail leaves after the response,
    // so look once a later, accepted request's mail has arrived: a job
    // started by any of the refused requests before it would have had the
    // whole loop's time to arrive too.
    let accepted = request_link(&app, RESET, json!({ "email": "bob@example.com" })).await;
    expect_status(accepted, 200).await;
    let mails = app.wait_for_mails(1, |_| true).await;
    assert_eq!(
        mails.len(),
        1,
        "only the accepted request was mailed: {mails:?}"
    );
}

#[tokio::test]
async fn links_lead_to_our_own_paths_and_to_trusted_origins() {
    let app = app_trusting_one_origin().await;
    app.sign_up("Bob", "bob@example.com").await;
    let cases = [
        (None, "/reset-password?token="),
        (Some("/reset"), "/reset?token="),
        (Some("/a/b?c=d"), "/a/b?c=d&token="),
        (Some("/a b"), "/a%20b?token="),
        (
            Some("https://app.example/welcome"),
            "https://app.example/welcome?token=",
        ),
        (
            Some("https://app.example:443/welcome"),
            "https://app.example/welcome?token=",
        ),
    ];
    for (i, (target, expected)) in cases.iter().enumerate() {
        let mut body = json!({ "email": "bob@example.com" });
        if let Some(target) = target {
            body["redirectTo"] = json!(target);
        }
        expect_status(request_link(&app, RESET, body).await, 200).await;
        let mails = app
            .wait_for_mails(i + 1, |m| m.subject.contains("Reset"))
            .await;
        let link = link_in(&mails[i]);
        assert!(link.starts_with(expected), "{target:?} gave {link}");
        assert_eq!(token_in(&mails[i]).len(), 32, "{link}");
    }

    expect_status(
        request_link(
            &app,
            VERIFY,
            json!({ "email": "bob@example.com", "callbackURL": "https://app.example/welcome?x=1" }),
        )
        .await,
        200,
    )
    .await;
    let mail = app
        .wait_for_mails(1, |m| m.subject.contains("Verify"))
        .await
        .remove(0);
    let link = link_in(&mail);
    assert!(link.starts_with("/api/auth/verify-email?token="), "{link}");
    assert!(
        link.ends_with("&callbackURL=https%3A%2F%2Fapp.example%2Fwelcome%3Fx%3D1"),
        "{link}"
    );
    assert!(!app.mailer.sent().iter().any(contains_control));
}

#[tokio::test]
async fn redeeming_a_reset_link_ends_every_older_one() {
    let app = spawn_app().await;
    let user = app.sign_up("Rita", "rita@example.com").await;
    for count in 1..=3 {
        expect_status(
            request_link(&app, RESET, json!({ "email": "rita@example.com" })).await,
            200,
        )
        .await;
        app.wait_for_mails(count, |m| m.to == user.email).await;
    }
    let tokens: Vec<String> = app
        .wait_for_mails(3, |m| m.to == user.email)
        .await
        .iter()
        .map(token_in)
        .collect();
    let reset = |token: &str, password: &str| {
        app.http
            .post(app.url("/api/auth/reset-password"))
            .json(&json!({ "token": token, "newPassword": password }))
            .send()
    };
    expect_status(
        reset(&tokens[1], "the second link's password")
            .await
            .unwrap(),
        200,
    )
    .await;
    for (which, token) in [("first", &tokens[0]), ("third", &tokens[2])] {
        assert_eq!(
            expect_error(reset(token, "an attacker's password").await.unwrap(), 400).await,
            "INVALID_TOKEN",
            "the {which} link still works after the second was redeemed"
        );
    }
    let sign_in = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({ "email": "rita@example.com", "password": "the second link's password" }))
        .send()
        .await
        .unwrap();
    expect_status(sign_in, 200).await;
}

/// Holding a lock on `verification` stalls the token insert; the answer
/// must not wait for it (it would say that the address has an account).
#[tokio::test]
async fn link_requests_are_answered_before_the_lookup_and_the_mail() {
    let app = spawn_app().await;
    app.sign_up("Lena", "lena@example.com").await;
    let owner = app.test.owner().await;
    owner
        .batch_execute("begin; lock table verification in access exclusive mode")
        .await
        .unwrap();
    for (path, subject) in [(RESET, "Reset"), (VERIFY, "Verify")] {
        let request = request_link(&app, path, json!({ "email": "lena@example.com" }));
        let response = tokio::time::timeout(Duration::from_secs(5), request)
            .await
            .unwrap_or_else(|_| panic!("{path} waited for the token insert before answering"));
        expect_status(response, 200).await;
        assert!(
            !app.mailer
                .sent()
                .iter()
                .any(|m| m.subject.contains(subject)),
            "the {subject} mail went out while its token could not be stored"
        );
    }
    owner.batch_execute("commit").await.unwrap();
    app.wait_for_mails(1, |m| m.subject.contains("Reset")).await;
    app.wait_for_mails(1, |m| m.subject.contains("Verify"))
        .await;
}

#[tokio::test]
async fn cookie_writes_count_as_our_own_only_with_our_scheme() {
    let app = |secure_cookies: bool| async move {
        let mut auth = AuthSettings::new(common::SECRET.to_vec());
        auth.secure_cookies = secure_cookies;
        auth.trusted_origins = TrustedOrigins::parse(&["https://app.example:8443".into()]).unwrap();
        spawn_app_with(TestDb::new().await, auth).await
    };
    for secure in [false, true] {
        let app = app(secure).await;
        let user = app.sign_up("Cora", "cora@example.com").await;
        let signed = tenantry_auth::token::sign_cookie_value(&user.session, common::SECRET);
        let cookie = format!("better-auth.session_token={signed}");
        let host = app.addr.to_string();
        let (own, other) = if secure {
            (format!("https://{host}"), format!("http://{host}"))
        } else {
            (format!("http://{host}"), format!("https://{host}"))
        };
        let create = |origin: String, slug: &'static str| {
            app.http
                .post(app.url("/api/auth/organization/create"))
                .header("cookie", &cookie)
                .header("origin", origin)
                .json(&json!({ "name": "Cora Co", "slug": slug }))
                .send()
        };
        for refused in [
            other,
            "https://app.example".to_owned(),
            "http://app.example:8443".to_owned(),
        ] {
            assert_eq!(
                expect_error(create(refused.clone(), "refused").await.unwrap(), 403).await,
                "INVALID_ORIGIN",
                "secure_cookies={secure}, origin {refused}"
            );
        }
        expect_status(create(own, "own").await.unwrap(), 200).await;
        expect_status(
            create("https://app.example:8443".into(), "trusted")
                .await
                .unwrap(),
            200,
        )
        .await;
    }
}
