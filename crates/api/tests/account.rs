//! The signed-in user's own sessions and account over real HTTP:
//! `list-sessions`, `revoke-session(s)`, `revoke-other-sessions`,
//! `update-user`, `change-password`, `change-email` (and the link it mails).

mod common;

use std::time::Duration;

use common::{Member, TestApp, expect_error, expect_status, spawn_app_on};
use serde_json::{Value, json};
use tenantry_testkit::TestDb;

const PASSWORD: &str = "correct horse battery";

/// The server on an empty database: no demo users to collide with.
async fn spawn_app() -> TestApp {
    spawn_app_on(TestDb::new().await).await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/auth/sign-in/email"))
        .header("user-agent", "second-device/1.0")
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

/// Another session of `member`, as from a second device.
async fn second_session(app: &TestApp, member: &Member) -> String {
    let body = expect_status(sign_in(app, &member.email, PASSWORD).await, 200).await;
    body["token"].as_str().unwrap().to_owned()
}

/// The user a session token belongs to, or `None` when it no longer works.
async fn session_user(app: &TestApp, token: &str) -> Option<Value> {
    let body = expect_status(
        app.get("/api/auth/get-session", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    (!body.is_null()).then(|| body["user"].clone())
}

async fn pat_works(app: &TestApp, pat: &str) -> bool {
    // A token may not list tokens (a session's job); it may list its organizations.
    let status = app
        .get("/api/auth/organization/list", pat)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status == 200 || status == 401, "{status}");
    status == 200
}

async fn list_sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let body = expect_status(
        app.get("/api/auth/list-sessions", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    body.as_array().expect("an array").clone()
}

fn tokens(sessions: &[Value]) -> Vec<&str> {
    let mut tokens: Vec<&str> = sessions
        .iter()
        .map(|s| s["token"].as_str().unwrap())
        .collect();
    tokens.sort_unstable();
    tokens
}

fn sorted(mut tokens: Vec<&str>) -> Vec<&str> {
    tokens.sort_unstable();
    tokens
}

#[tokio::test]
async fn list_sessions_shows_the_callers_live_sessions_and_nobody_elses() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let phone = second_session(&app, &alice).await;
    let bob = app.sign_up("Bob", "bob@example.com").await;

    let sessions = list_sessions(&app, &alice.session).await;
    assert_eq!(
        tokens(&sessions),
        sorted(vec![alice.session.as_str(), phone.as_str()])
    );
    for session in &sessions {
        assert_eq!(session["userId"], alice.id.as_str(), "{session}");
        for field in ["id", "expiresAt", "createdAt", "updatedAt"] {
            assert!(session[field].is_string(), "{field} in {session}");
        }
        assert!(session.get("activeOrganizationId").is_some(), "{session}");
        assert!(session.get("ipAddress").is_some(), "{session}");
    }
    let from_phone = sessions.iter().find(|s| s["token"] == phone.as_str());
    assert_eq!(from_phone.unwrap()["userAgent"], "second-device/1.0");
    assert_eq!(
        tokens(&list_sessions(&app, &bob.session).await),
        vec![bob.session.as_str()]
    );

    // An expired session is not live: not listed, though its row remains.
    let conn = app.test.owner().await;
    conn.execute(
        "update session set expires_at = now() - interval '1 minute' where token = $1",
        &[&phone],
    )
    .await
    .unwrap();
    assert_eq!(
        tokens(&list_sessions(&app, &alice.session).await),
        vec![alice.session.as_str()]
    );
}

#[tokio::test]
async fn session_routes_need_a_session_not_a_token_and_a_fresh_one_to_list() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let pat = app.create_pat(&alice.session, "ci").await;
    let no_credential = app
        .http
        .get(app.url("/api/auth/list-sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(no_credential, 401).await, "UNAUTHORIZED");
    for path in [
        "/api/auth/revoke-sessions",
        "/api/auth/revoke-other-sessions",
    ] {
        let anonymous = app.http.post(app.url(path)).send().await.unwrap();
        assert_eq!(expect_error(anonymous, 401).await, "UNAUTHORIZED", "{path}");
        let by_pat = app.post(path, &pat, json!({})).send().await.unwrap();
        assert_eq!(
            expect_error(by_pat, 403).await,
            "SESSION_REQUIRED",
            "{path}"
        );
    }
    let listed = app
        .get("/api/auth/list-sessions", &pat)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(listed, 403).await, "SESSION_REQUIRED");
    let revoke = app
        .post(
            "/api/auth/revoke-session",
            &pat,
            json!({ "token": alice.session }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(revoke, 403).await, "SESSION_REQUIRED");
    assert!(session_user(&app, &alice.session).await.is_some());

    // A session signed in more than a day ago may not collect the tokens.
    let conn = app.test.owner().await;
    conn.execute(
        "update session set created_at = now() - interval '25 hours' where token = $1",
        &[&alice.session],
    )
    .await
    .unwrap();
    let stale = app
        .get("/api/auth/list-sessions", &alice.session)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(stale, 403).await, "SESSION_NOT_FRESH");
    // Nor move the account to another address, where resets would then go.
    let move_away = app
        .post(
            "/api/auth/change-email",
            &alice.session,
            json!({ "newEmail": "intruder@example.com" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(move_away, 403).await, "SESSION_NOT_FRESH");
}

#[tokio::test]
async fn revoke_session_ends_only_the_callers_own_session() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let phone = second_session(&app, &alice).await;
    let bob = app.sign_up("Bob", "bob@example.com").await;
    let revoke = |token: &str| {
        app.post(
            "/api/auth/revoke-session",
            &alice.session,
            json!({ "token": token }),
        )
        .send()
    };

    // Bob's token, through Alice: the same answer as for any token, and
    // Bob stays signed in.
    let foreign = expect_status(revoke(&bob.session).await.unwrap(), 200).await;
    assert_eq!(foreign, json!({ "status": true }));
    assert!(session_user(&app, &bob.session).await.is_some());
    let unknown = expect_status(revoke("NoSuchSessionToken123").await.unwrap(), 200).await;
    assert_eq!(unknown, foreign);

    let own = expect_status(revoke(&phone).await.unwrap(), 200).await;
    assert_eq!(own, json!({ "status": true }));
    assert!(session_user(&app, &phone).await.is_none());
    let revoked = app
        .get("/api/auth/list-sessions", &phone)
        .send()
        .await
        .unwrap();
    expect_error(revoked, 401).await;
    assert!(session_user(&app, &alice.session).await.is_some());

    for bad in [
        json!({ "token": "" }),
        json!({ "token": "not a token!" }),
        json!({ "token": "abc\u{0}def" }),
        json!({ "token": "x".repeat(257) }),
        json!({ "token": 5 }),
        json!({}),
    ] {
        let response = app
            .post("/api/auth/revoke-session", &alice.session, bad.clone())
            .send()
            .await
            .unwrap();
        let body = expect_status(response, 400).await;
        assert_eq!(body["error"]["code"], "INVALID_INPUT", "{bad}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("token"),
            "{body}"
        );
    }

    // Revoking the current session ends it and clears its cookie.
    let current = revoke(&alice.session).await.unwrap();
    let cleared = current
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    expect_status(current, 200).await;
    assert!(
        cleared.is_some_and(|c| c.starts_with("better-auth.session_token=;")),
        "the cookie is cleared"
    );
    assert!(session_user(&app, &alice.session).await.is_none());
}

#[tokio::test]
async fn revoke_sessions_ends_all_and_revoke_other_sessions_keeps_the_current_one() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let phone = second_session(&app, &alice).await;
    let laptop = second_session(&app, &alice).await;
    let bob = app.sign_up("Bob", "bob@example.com").await;

    let others = app
        .post("/api/auth/revoke-other-sessions", &alice.session, json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_status(others, 200).await, json!({ "status": true }));
    assert!(session_user(&app, &alice.session).await.is_some());
    assert!(session_user(&app, &phone).await.is_none());
    assert!(session_user(&app, &laptop).await.is_none());
    assert_eq!(
        tokens(&list_sessions(&app, &alice.session).await),
        vec![alice.session.as_str()]
    );

    let phone = second_session(&app, &alice).await;
    let all = app
        .post("/api/auth/revoke-sessions", &alice.session, json!({}))
        .send()
        .await
        .unwrap();
    assert!(all.headers().get("set-cookie").is_some());
    assert_eq!(expect_status(all, 200).await, json!({ "status": true }));
    assert!(session_user(&app, &alice.session).await.is_none());
    assert!(session_user(&app, &phone).await.is_none());
    assert!(
        session_user(&app, &bob.session).await.is_some(),
        "another user's sessions are untouched"
    );
}

#[tokio::test]
async fn update_user_changes_name_and_image_and_refuses_bad_input() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let update = |body: Value| {
        app.post("/api/auth/update-user", &alice.session, body)
            .send()
    };
    let done = update(json!({ "name": "Alice Liddell", "image": "https://img.example/a.png" }))
        .await
        .unwrap();
    assert_eq!(expect_status(done, 200).await, json!({ "status": true }));
    let user = session_user(&app, &alice.session).await.unwrap();
    assert_eq!(user["name"], "Alice Liddell");
    assert_eq!(user["image"], "https://img.example/a.png");
    assert_eq!(user["email"], "alice@example.com");

    // An absent field stays; `null` removes the image.
    expect_status(update(json!({ "image": null })).await.unwrap(), 200).await;
    let user = session_user(&app, &alice.session).await.unwrap();
    assert_eq!(user["name"], "Alice Liddell");
    assert!(user["image"].is_null(), "{user}");

    let email = update(json!({ "name": "A", "email": "mallory@example.com" }))
        .await
        .unwrap();
    assert_eq!(expect_error(email, 400).await, "EMAIL_CAN_NOT_BE_UPDATED");
    let nothing = update(json!({})).await.unwrap();
    assert_eq!(expect_error(nothing, 400).await, "NO_FIELDS_TO_UPDATE");
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "   " }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "name": 42 }), "name"),
        (json!({ "image": "x".repeat(2049) }), "image"),
        (json!({ "image": "https://img.example/\u{0}.png" }), "image"),
        (json!({ "name": "Nul\u{0}Name" }), "name"),
        (json!({ "image": 7 }), "image"),
    ] {
        let response = update(body.clone()).await.unwrap();
        let error = expect_status(response, 400).await;
        assert_eq!(error["error"]["code"], "INVALID_INPUT", "{body}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(field),
            "{error}"
        );
    }
    let user = session_user(&app, &alice.session).await.unwrap();
    assert_eq!(
        user["name"], "Alice Liddell",
        "refused updates change nothing"
    );
    assert_eq!(user["email"], "alice@example.com");

    // The profile is not a credential: a personal access token may edit it.
    let pat = app.create_pat(&alice.session, "profile bot").await;
    let by_pat = app
        .post(
            "/api/auth/update-user",
            &pat,
            json!({ "name": "Alice (bot)" }),
        )
        .send()
        .await
        .unwrap();
    expect_status(by_pat, 200).await;
    let anonymous = app
        .http
        .post(app.url("/api/auth/update-user"))
        .json(&json!({ "name": "Nobody" }))
        .send()
        .await
        .unwrap();
    expect_error(anonymous, 401).await;
    assert_eq!(
        session_user(&app, &alice.session).await.unwrap()["name"],
        "Alice (bot)"
    );
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_keeps_other_access_unless_asked() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let phone = second_session(&app, &alice).await;
    let pat = app.create_pat(&alice.session, "ci").await;
    let change =
        |token: &str, body: Value| app.post("/api/auth/change-password", token, body).send();

    let wrong = change(
        &alice.session,
        json!({ "currentPassword": "not my password", "newPassword": "a new password" }),
    )
    .await
    .unwrap();
    assert_eq!(expect_error(wrong, 400).await, "INVALID_PASSWORD");
    let short = change(
        &alice.session,
        json!({ "currentPassword": PASSWORD, "newPassword": "short" }),
    )
    .await
    .unwrap();
    let short = expect_status(short, 400).await;
    assert!(
        short["error"]["message"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{short}"
    );
    let missing = change(&alice.session, json!({ "newPassword": "a new password" }))
        .await
        .unwrap();
    let missing = expect_status(missing, 400).await;
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("currentPassword"),
        "{missing}"
    );
    let by_pat = change(
        &pat,
        json!({ "currentPassword": PASSWORD, "newPassword": "a new password" }),
    )
    .await
    .unwrap();
    assert_eq!(expect_error(by_pat, 403).await, "SESSION_REQUIRED");
    expect_status(sign_in(&app, &alice.email, PASSWORD).await, 200).await;

    // A plain change: the old password stops working, nothing else ends.
    let changed = change(
        &alice.session,
        json!({ "currentPassword": PASSWORD, "newPassword": "a new password" }),
    )
    .await
    .unwrap();
    let changed = expect_status(changed, 200).await;
    assert!(changed["token"].is_null(), "{changed}");
    assert_eq!(changed["user"]["id"], alice.id.as_str());
    expect_error(sign_in(&app, &alice.email, PASSWORD).await, 401).await;
    expect_status(sign_in(&app, &alice.email, "a new password").await, 200).await;
    assert!(session_user(&app, &alice.session).await.is_some());
    assert!(session_user(&app, &phone).await.is_some());
    assert!(pat_works(&app, &pat).await);

    // With revokeOtherSessions every session and token ends; the caller
    // carries on with the fresh session handed back.
    let revoking = change(
        &alice.session,
        json!({
            "currentPassword": "a new password",
            "newPassword": "a third password",
            "revokeOtherSessions": true,
        }),
    )
    .await
    .unwrap();
    let header = revoking
        .headers()
        .get("set-auth-token")
        .map(|v| v.to_str().unwrap().to_owned());
    let revoking = expect_status(revoking, 200).await;
    let fresh = revoking["token"]
        .as_str()
        .expect("a fresh token")
        .to_owned();
    assert!(header.is_some_and(|h| h.starts_with(&format!("{fresh}."))));
    assert_ne!(fresh, alice.session);
    assert!(session_user(&app, &alice.session).await.is_none());
    assert!(session_user(&app, &phone).await.is_none());
    assert!(!pat_works(&app, &pat).await);
    assert_eq!(
        session_user(&app, &fresh).await.unwrap()["id"],
        alice.id.as_str()
    );
    assert_eq!(
        tokens(&list_sessions(&app, &fresh).await),
        vec![fresh.as_str()]
    );
    expect_status(sign_in(&app, &alice.email, "a third password").await, 200).await;
}

#[tokio::test]
async fn change_email_takes_effect_only_through_the_link_mailed_to_the_new_address() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let change = |token: &str, body: Value| app.post("/api/auth/change-email", token, body).send();

    let asked = change(
        &alice.session,
        json!({ "newEmail": "  Alice@New.Example ", "callbackURL": "/settings" }),
    )
    .await
    .unwrap();
    assert_eq!(expect_status(asked, 200).await, json!({ "status": true }));
    let mail = app
        .wait_for_mails(1, |m| m.to == "alice@new.example")
        .await
        .remove(0);
    assert!(
        mail.body.contains("/api/auth/verify-email?token="),
        "{mail:?}"
    );
    assert!(mail.body.contains("callbackURL="), "{mail:?}");
    assert!(
        app.mails_to("alice@example.com", "").is_empty(),
        "nothing goes to the old address"
    );
    let token = common::link_token(&mail.body).unwrap();

    // Nothing changes before the link is followed.
    let user = session_user(&app, &alice.session).await.unwrap();
    assert_eq!(user["email"], "alice@example.com");
    expect_status(sign_in(&app, "alice@example.com", PASSWORD).await, 200).await;

    let follow = |token: &str| {
        app.http
            .get(app.url(&format!("/api/auth/verify-email?token={token}")))
            .send()
    };
    let followed = expect_status(follow(&token).await.unwrap(), 200).await;
    assert_eq!(followed["status"], true);
    assert_eq!(followed["user"]["email"], "alice@new.example");
    assert_eq!(followed["user"]["emailVerified"], true);
    assert_eq!(
        expect_error(follow(&token).await.unwrap(), 400).await,
        "INVALID_TOKEN",
        "the link works once"
    );
    let user = session_user(&app, &alice.session)
        .await
        .expect("the session continues");
    assert_eq!(user["email"], "alice@new.example");
    assert_eq!(user["emailVerified"], true);
    expect_error(sign_in(&app, "alice@example.com", PASSWORD).await, 401).await;
    expect_status(sign_in(&app, "alice@new.example", PASSWORD).await, 200).await;
}

#[tokio::test]
async fn change_email_refuses_bad_input_and_does_not_tell_which_addresses_are_taken() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    app.sign_up("Bob", "bob@example.com").await;
    let pat = app.create_pat(&alice.session, "ci").await;
    let change = |token: &str, body: Value| app.post("/api/auth/change-email", token, body).send();

    let same = change(&alice.session, json!({ "newEmail": "ALICE@example.com" }))
        .await
        .unwrap();
    assert_eq!(expect_error(same, 400).await, "EMAIL_IS_THE_SAME");
    for (body, field) in [
        (json!({ "newEmail": "not an email" }), "newEmail"),
        (json!({ "newEmail": "nul\u{0}@new.example" }), "newEmail"),
        (json!({}), "newEmail"),
        (
            json!({ "newEmail": "a@new.example", "callbackURL": "https://evil.example/" }),
            "",
        ),
    ] {
        let response = change(&alice.session, body.clone()).await.unwrap();
        let error = expect_status(response, 400).await;
        assert!(
            error["error"]["message"].as_str().unwrap().contains(field),
            "{body}: {error}"
        );
    }
    let by_pat = change(&pat, json!({ "newEmail": "a@new.example" }))
        .await
        .unwrap();
    assert_eq!(expect_error(by_pat, 403).await, "SESSION_REQUIRED");
    let anonymous = app
        .http
        .post(app.url("/api/auth/change-email"))
        .json(&json!({ "newEmail": "a@new.example" }))
        .send()
        .await
        .unwrap();
    expect_error(anonymous, 401).await;

    // Bob's address: the same answer as a free one, and no mail to Bob.
    let taken = change(&alice.session, json!({ "newEmail": "bob@example.com" }))
        .await
        .unwrap();
    let free = change(&alice.session, json!({ "newEmail": "alice@free.example" }))
        .await
        .unwrap();
    assert_eq!(
        expect_status(taken, 200).await,
        expect_status(free, 200).await
    );
    app.wait_for_mails(1, |m| m.to == "alice@free.example")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.mails_to("bob@example.com", "").is_empty());
    assert!(
        app.mailer.sent().iter().all(|m| m.to != "bob@example.com"),
        "{:?}",
        app.mailer.sent()
    );
    let user = session_user(&app, &alice.session).await.unwrap();
    assert_eq!(user["email"], "alice@example.com");
}

#[tokio::test]
async fn a_change_email_link_issued_before_another_change_no_longer_applies() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let bob = app.sign_up("Bob", "bob@example.com").await;
    for new in ["first@new.example", "second@new.example"] {
        let asked = app
            .post(
                "/api/auth/change-email",
                &alice.session,
                json!({ "newEmail": new }),
            )
            .send()
            .await
            .unwrap();
        expect_status(asked, 200).await;
    }
    let first = app.next_mail_token("first@new.example", "Verify", 0).await;
    let second = app.next_mail_token("second@new.example", "Verify", 0).await;
    let follow = |token: &str| {
        app.http
            .get(app.url(&format!("/api/auth/verify-email?token={token}")))
            .send()
    };
    expect_status(follow(&second).await.unwrap(), 200).await;
    assert_eq!(
        expect_error(follow(&first).await.unwrap(), 400).await,
        "INVALID_TOKEN"
    );
    assert_eq!(
        session_user(&app, &alice.session).await.unwrap()["email"],
        "second@new.example"
    );

    // A link to an address someone signed up with in the meantime: 409,
    // and nobody's email changes.
    let asked = app
        .post(
            "/api/auth/change-email",
            &bob.session,
            json!({ "newEmail": "late@new.example" }),
        )
        .send()
        .await
        .unwrap();
    expect_status(asked, 200).await;
    let late = app.next_mail_token("late@new.example", "Verify", 0).await;
    app.sign_up("Late", "late@new.example").await;
    assert_eq!(
        expect_error(follow(&late).await.unwrap(), 409).await,
        "USER_ALREADY_EXISTS"
    );
    assert_eq!(
        session_user(&app, &bob.session).await.unwrap()["email"],
        "bob@example.com"
    );
}

#[tokio::test]
async fn following_a_change_email_link_ends_reset_links_sent_to_the_old_address() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let reset = app
        .http
        .post(app.url("/api/auth/request-password-reset"))
        .json(&json!({ "email": "alice@example.com" }))
        .send()
        .await
        .unwrap();
    expect_status(reset, 200).await;
    let reset_token = app.next_mail_token("alice@example.com", "Reset", 0).await;
    let asked = app
        .post(
            "/api/auth/change-email",
            &alice.session,
            json!({ "newEmail": "alice@new.example" }),
        )
        .send()
        .await
        .unwrap();
    expect_status(asked, 200).await;
    let token = app.next_mail_token("alice@new.example", "Verify", 0).await;
    let followed = app
        .http
        .get(app.url(&format!("/api/auth/verify-email?token={token}")))
        .send()
        .await
        .unwrap();
    expect_status(followed, 200).await;
    let late_reset = app
        .http
        .post(app.url("/api/auth/reset-password"))
        .json(&json!({ "token": reset_token, "newPassword": "taken over at last" }))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(late_reset, 400).await, "INVALID_TOKEN");
    expect_status(sign_in(&app, "alice@new.example", PASSWORD).await, 200).await;
}

#[tokio::test]
async fn the_new_routes_are_in_the_openapi_document() {
    let app = spawn_app().await;
    let spec = expect_status(
        app.http.get(app.url("/openapi.json")).send().await.unwrap(),
        200,
    )
    .await;
    for (path, method) in [
        ("/api/auth/list-sessions", "get"),
        ("/api/auth/revoke-session", "post"),
        ("/api/auth/revoke-sessions", "post"),
        ("/api/auth/revoke-other-sessions", "post"),
        ("/api/auth/update-user", "post"),
        ("/api/auth/change-password", "post"),
        ("/api/auth/change-email", "post"),
    ] {
        let operation = &spec["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} missing");
        assert!(operation["responses"]["401"].is_object(), "{path}: 401");
    }
}

/// An intruder with a session asks to move the account to their own
/// address; the owner changes the password (or resets it) to lock them out.
/// The link in the intruder's inbox must not then hand them the account.
#[tokio::test]
async fn a_password_change_or_reset_ends_pending_change_email_links() {
    let app = spawn_app().await;
    let alice = app.sign_up("Alice", "alice@example.com").await;
    let intruder = second_session(&app, &alice).await;
    let follow = |token: String| {
        app.http
            .get(app.url(&format!("/api/auth/verify-email?token={token}")))
            .send()
    };
    let ask = |session: String, new: &'static str| {
        app.post(
            "/api/auth/change-email",
            &session,
            json!({ "newEmail": new }),
        )
        .send()
    };

    expect_status(
        ask(intruder.clone(), "evil@intruder.example")
            .await
            .unwrap(),
        200,
    )
    .await;
    let stolen = app
        .next_mail_token("evil@intruder.example", "Verify", 0)
        .await;
    let changed = app
        .post(
            "/api/auth/change-password",
            &alice.session,
            json!({
                "currentPassword": PASSWORD,
                "newPassword": "locked the door",
                "revokeOtherSessions": true,
            }),
        )
        .send()
        .await
        .unwrap();
    let fresh = expect_status(changed, 200).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        expect_error(follow(stolen).await.unwrap(), 400).await,
        "INVALID_TOKEN"
    );

    // The same through a reset, and for a link of the owner's own: asked
    // for before the reset, it is gone after it.
    expect_status(ask(fresh, "evil2@intruder.example").await.unwrap(), 200).await;
    let stolen = app
        .next_mail_token("evil2@intruder.example", "Verify", 0)
        .await;
    let reset = app
        .http
        .post(app.url("/api/auth/request-password-reset"))
        .json(&json!({ "email": "alice@example.com" }))
        .send()
        .await
        .unwrap();
    expect_status(reset, 200).await;
    let reset_token = app.next_mail_token("alice@example.com", "Reset", 0).await;
    let reset = app
        .http
        .post(app.url("/api/auth/reset-password"))
        .json(&json!({ "token": reset_token, "newPassword": "locked it twice" }))
        .send()
        .await
        .unwrap();
    expect_status(reset, 200).await;
    assert_eq!(
        expect_error(follow(stolen).await.unwrap(), 400).await,
        "INVALID_TOKEN"
    );
    expect_status(
        sign_in(&app, "alice@example.com", "locked it twice").await,
        200,
    )
    .await;
}
