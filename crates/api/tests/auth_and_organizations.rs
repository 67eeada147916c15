//! Sign-up, sign-in, sessions, organizations, invitations and roles over real HTTP.

mod common;

use common::{expect_error, expect_status, spawn_app};
use serde_json::json;

#[tokio::test]
async fn sign_up_sign_in_session_and_sign_out() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/api/auth/sign-up/email"))
        .json(&json!({ "name": "Ann", "email": "  Ann@Example.COM ", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("better-auth.session_token="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let signed = response
        .headers()
        .get("set-auth-token")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body = expect_status(response, 200).await;
    assert_eq!(
        body["user"]["email"], "ann@example.com",
        "emails are normalised"
    );
    assert_eq!(body["user"]["emailVerified"], false);

    // The cookie works like a browser would send it.
    let cookie_pair = cookie.split(';').next().unwrap();
    let session = app
        .http
        .get(app.url("/api/auth/get-session"))
        .header("cookie", cookie_pair)
        .send()
        .await
        .unwrap();
    let session = expect_status(session, 200).await;
    assert_eq!(session["user"]["email"], "ann@example.com");

    // So do the signed bearer token and the raw token.
    for bearer in [signed.as_str(), body["token"].as_str().unwrap()] {
        let session = expect_status(
            app.get("/api/auth/get-session", bearer)
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(session["session"]["userId"], body["user"]["id"]);
    }

    // Sign in with the same password (any case of the email).
    let signed_in = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({ "email": "ANN@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let signed_in = expect_status(signed_in, 200).await;
    assert_eq!(signed_in["redirect"], false);
    let token = signed_in["token"].as_str().unwrap().to_owned();

    // Sign out ends that session only.
    let out = app
        .post("/api/auth/sign-out", &token, json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_status(out, 200).await["success"], true);
    let gone = expect_status(
        app.get("/api/auth/get-session", &token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(gone.is_null(), "a signed-out session reads as null");
    let tenant_route = app.get("/api/projects", &token).send().await.unwrap();
    assert_eq!(expect_error(tenant_route, 401).await, "UNAUTHORIZED");
}

#[tokio::test]
async fn wrong_passwords_and_bad_input_get_clear_errors() {
    let app = spawn_app().await;
    app.sign_up("Ben", "ben@example.com").await;
    let sign_in = |email: &str, password: &str| {
        app.http
            .post(app.url("/api/auth/sign-in/email"))
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    assert_eq!(
        expect_error(
            sign_in("ben@example.com", "wrong password").await.unwrap(),
            401
        )
        .await,
        "UNAUTHORIZED"
    );
    assert_eq!(
        expect_error(
            sign_in("nobody@example.com", "whatever1").await.unwrap(),
            401
        )
        .await,
        "UNAUTHORIZED"
    );

    let sign_up = |body: serde_json::Value| {
        app.http
            .post(app.url("/api/auth/sign-up/email"))
            .json(&body)
            .send()
    };
    let taken =
        sign_up(json!({ "name": "B", "email": "BEN@example.com", "password": "long enough" }));
    assert_eq!(
        expect_error(taken.await.unwrap(), 409).await,
        "USER_ALREADY_EXISTS"
    );
    for (body, field) in [
        (
            json!({ "name": "B", "email": "not-an-email", "password": "long enough" }),
            "email",
        ),
        (
            json!({ "name": "B", "email": "b@example.com", "password": "short" }),
            "password",
        ),
        (
            json!({ "name": "", "email": "c@example.com", "password": "long enough" }),
            "name",
        ),
    ] {
        let response = sign_up(body).await.unwrap();
        let error = expect_status(response, 400).await;
        assert!(
            error["error"]["message"].as_str().unwrap().contains(field),
            "{error}"
        );
    }
    let missing_field = sign_up(json!({ "email": "d@example.com", "password": "long enough" }));
    assert_eq!(
        expect_error(missing_field.await.unwrap(), 400).await,
        "INVALID_INPUT"
    );

    let malformed = app
        .http
        .post(app.url("/api/auth/sign-up/email"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(malformed, 400).await, "MALFORMED_JSON");

    let huge = app
        .http
        .post(app.url("/api/auth/sign-up/email"))
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "x".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(huge, 413).await, "PAYLOAD_TOO_LARGE");

    let nowhere = app
        .http
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(nowhere, 404).await, "NOT_FOUND");
    let wrong_method = app
        .http
        .put(app.url("/api/auth/sign-up/email"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(wrong_method, 405).await, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn organizations_invitations_and_roles() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olgas").await;

    // The creator is the owner, and the new organization is the session's active one.
    let session = expect_status(
        app.get("/api/auth/get-session", &owner.session)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(session["session"]["activeOrganizationId"], org.as_str());
    let full = app
        .get(
            "/api/auth/organization/get-full-organization",
            &owner.session,
        )
        .send()
        .await
        .unwrap();
    let full = expect_status(full, 200).await;
    assert_eq!(full["members"][0]["role"], "owner");
    assert_eq!(full["members"][0]["user"]["email"], "olga@example.com");
    let listed = expect_status(
        app.get("/api/auth/organization/list", &owner.session)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // A slug is unique.
    let dupe = app
        .post(
            "/api/auth/organization/create",
            &owner.session,
            json!({ "name": "x", "slug": "olgas" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(dupe, 409).await, "ORGANIZATION_ALREADY_EXISTS");

    // Invite Pete, who signs up, verifies his email and accepts.
    let invite = app
        .post(
            "/api/auth/organization/invite-member",
            &owner.session,
            json!({ "email": "Pete@Example.com", "role": "member" }),
        )
        .send()
        .await
        .unwrap();
    let invitation = expect_status(invite, 200).await;
    assert_eq!(invitation["status"], "pending");
    assert!(app.mailer.sent().iter().any(|m| m.to == "pete@example.com"));
    let pete = app.sign_up("Pete", "pete@example.com").await;
    let stranger = app.sign_up("Sam", "sam@example.com").await;
    for email in ["pete@example.com", "sam@example.com"] {
        app.verify_email(email).await;
    }
    let accept = |token: &str| {
        app.post(
            "/api/auth/organization/accept-invitation",
            token,
            json!({ "invitationId": invitation["id"] }),
        )
        .send()
    };
    assert_eq!(
        expect_error(accept(&stranger.session).await.unwrap(), 404).await,
        "NOT_FOUND"
    );
    let accepted = expect_status(accept(&pete.session).await.unwrap(), 200).await;
    assert_eq!(accepted["member"]["role"], "member");
    assert_eq!(
        expect_error(accept(&pete.session).await.unwrap(), 400).await,
        "INVITATION_NOT_PENDING"
    );

    // Members cannot invite or remove; owners can change roles.
    let by_member = app
        .post(
            "/api/auth/organization/invite-member",
            &pete.session,
            json!({ "email": "z@example.com", "role": "member" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(by_member, 403).await, "FORBIDDEN");
    let owner_member_id = full["members"][0]["id"].as_str().unwrap().to_owned();
    let remove_owner = app
        .post(
            "/api/auth/organization/remove-member",
            &pete.session,
            json!({ "memberIdOrEmail": owner_member_id }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(remove_owner, 403).await, "FORBIDDEN");
    let promote = app
        .post(
            "/api/auth/organization/update-member-role",
            &owner.session,
            json!({ "memberId": accepted["member"]["id"], "role": "admin" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_status(promote, 200).await["role"], "admin");

    // The last owner can neither leave nor be demoted.
    let leave = app
        .post(
            "/api/auth/organization/remove-member",
            &owner.session,
            json!({ "memberIdOrEmail": "olga@example.com" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_error(leave, 400).await,
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER"
    );
    let demote = app
        .post(
            "/api/auth/organization/update-member-role",
            &owner.session,
            json!({ "memberId": owner_member_id, "role": "member" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_error(demote, 400).await,
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER"
    );

    // A member may leave.
    let pete_leaves = app
        .post(
            "/api/auth/organization/remove-member",
            &pete.session,
            json!({ "memberIdOrEmail": "pete@example.com" }),
        )
        .send()
        .await
        .unwrap();
    expect_status(pete_leaves, 200).await;

    // Setting an organization one does not belong to is a 404.
    let foreign = app
        .post(
            "/api/auth/organization/set-active",
            &stranger.session,
            json!({ "organizationId": org }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(foreign, 404).await, "NOT_FOUND");
}

#[tokio::test]
async fn password_reset_is_single_use_and_ends_old_sessions() {
    let app = spawn_app().await;
    let user = app.sign_up("Rita", "rita@example.com").await;
    let pat = app.create_pat(&user.session, "before the reset").await;
    // A reset link may only lead back here (or to a trusted origin).
    for target in [
        "https://evil.example/steal",
        "//evil.example/steal",
        "javascript:alert(1)",
    ] {
        let phishing = app
            .http
            .post(app.url("/api/auth/request-password-reset"))
            .json(&json!({ "email": "rita@example.com", "redirectTo": target }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            expect_error(phishing, 400).await,
            "INVALID_REDIRECT_URL",
            "{target}"
        );
    }
    assert!(
        app.mailer.sent().is_empty(),
        "no mail for a refused request"
    );
    let request = app
        .http
        .post(app.url("/api/auth/request-password-reset"))
        .json(&json!({ "email": "rita@example.com" }))
        .send()
        .await
        .unwrap();
    expect_status(request, 200).await;
    let mail = app
        .wait_for_mails(1, |m| m.to == "rita@example.com")
        .await
        .remove(0);
    let token = mail
        .body
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let reset = || {
        app.http
            .post(app.url("/api/auth/reset-password"))
            .json(&json!({ "token": token, "newPassword": "a brand new password" }))
            .send()
    };
    expect_status(reset().await.unwrap(), 200).await;
    assert_eq!(
        expect_error(reset().await.unwrap(), 400).await,
        "INVALID_TOKEN"
    );
    let old = expect_status(
        app.get("/api/auth/get-session", &user.session)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(old.is_null());
    // Tokens minted before the reset stop working too.
    expect_error(app.get("/api/projects", &pat).send().await.unwrap(), 401).await;
    let signed_in = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({ "email": "rita@example.com", "password": "a brand new password" }))
        .send()
        .await
        .unwrap();
    expect_status(signed_in, 200).await;
}

#[tokio::test]
async fn a_better_auth_scrypt_user_signs_in_and_is_upgraded_to_argon2id() {
    let app = spawn_app().await;
    let owner = app.test.owner().await;
    let hash = tenantry_auth::password::hash_password_scrypt_better_auth("imported password");
    let user_id = common::insert_password_user(&app.test, "Ivy", "ivy@example.com", &hash).await;
    let sign_in = |password: &str| {
        app.http
            .post(app.url("/api/auth/sign-in/email"))
            .json(&json!({ "email": "ivy@example.com", "password": password }))
            .send()
    };
    expect_error(sign_in("not it").await.unwrap(), 401).await;
    expect_status(sign_in("imported password").await.unwrap(), 200).await;
    let stored: String = owner
        .query_one(
            "select password from account where user_id = $1",
            &[&user_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    expect_status(sign_in("imported password").await.unwrap(), 200).await;
}

/// A stored hash no verifier understands is our fault, not a wrong password:
/// 500 `INTERNAL` with a fixed message, not 400 or 401, and nothing of the cause.
#[tokio::test]
async fn an_unreadable_stored_password_hash_is_a_500_without_its_cause() {
    let app = spawn_app().await;
    common::insert_password_user(
        &app.test,
        "Gus",
        "gus@example.com",
        "md5:not-a-hash-we-know",
    )
    .await;
    let response = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({ "email": "gus@example.com", "password": "any password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INTERNAL", "{body}");
    assert_eq!(body["error"]["message"], "internal error", "{body}");
    let text = body.to_string().to_lowercase();
    assert!(
        !text.contains("hash") && !text.contains("md5") && !text.contains("password"),
        "{body}"
    );
}

#[tokio::test]
async fn health_and_openapi() {
    let app = spawn_app().await;
    let health = expect_status(app.http.get(app.url("/health")).send().await.unwrap(), 200).await;
    assert_eq!(health["status"], "ok");
    assert!(health["databaseLatencyMs"].as_f64().unwrap() >= 0.0);
    let spec = expect_status(
        app.http.get(app.url("/openapi.json")).send().await.unwrap(),
        200,
    )
    .await;
    for path in [
        "/api/projects",
        "/api/projects/{id}",
        "/api/tokens",
        "/api/auth/sign-up/email",
        "/health",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
}

#[tokio::test]
async fn health_is_503_quickly_when_the_database_is_unreachable() {
    let test = tenantry_testkit::TestDb::new().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("postgresql://nobody:x@127.0.0.1:{port}/none");
    let down =
        tenantry_db::Database::connect(tenantry_db::DatabaseConfig::new(&url, &url)).unwrap();
    let app = tenantry_server::Application::build(
        tenantry_server::Settings::new(
            down,
            tenantry_api::AuthSettings::new(common::SECRET.to_vec()),
        )
        .migrate(false)
        .safety_check(tenantry_server::SafetyCheck::Skip),
    )
    .await
    .unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    drop(test);
    let started = std::time::Instant::now();
    let response = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}

#[tokio::test]
async fn demo_users_sign_in_and_act_in_their_organizations() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .json(
            &json!({ "email": "alice@example.com", "password": tenantry_db::seed::demo::PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    let token = expect_status(response, 200).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let orgs = expect_status(
        app.get("/api/auth/organization/list", &token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let slugs: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "globex"]);
    // No active organization yet: the oldest membership (Acme) applies.
    let projects = expect_status(app.get("/api/projects", &token).send().await.unwrap(), 200).await;
    let names: Vec<&str> = projects["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Website relaunch", "Support bot"]);
}

#[tokio::test]
async fn email_verification_links_are_single_use_and_purpose_bound() {
    let app = spawn_app().await;
    let user = app.sign_up("Vera", "vera@example.com").await;
    let send =
        |path: &str, body: serde_json::Value| app.http.post(app.url(path)).json(&body).send();
    expect_status(
        send(
            "/api/auth/send-verification-email",
            json!({ "email": "vera@example.com" }),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    expect_status(
        send(
            "/api/auth/request-password-reset",
            json!({ "email": "vera@example.com" }),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    let token_in = async |subject: &str| {
        let mail = app
            .wait_for_mails(1, |m| m.subject.contains(subject))
            .await
            .remove(0);
        let after = mail.body.split("token=").nth(1).unwrap();
        after.split(['&', ' ']).next().unwrap().to_owned()
    };
    let (verify, reset) = (token_in("Verify").await, token_in("Reset").await);
    let verify_with = |token: &str| {
        app.http
            .get(app.url(&format!("/api/auth/verify-email?token={token}")))
            .send()
    };
    // A reset token does not verify an email.
    assert_eq!(
        expect_error(verify_with(&reset).await.unwrap(), 400).await,
        "INVALID_TOKEN"
    );
    expect_status(verify_with(&verify).await.unwrap(), 200).await;
    assert_eq!(
        expect_error(verify_with(&verify).await.unwrap(), 400).await,
        "INVALID_TOKEN"
    );
    let session = expect_status(
        app.get("/api/auth/get-session", &user.session)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(session["user"]["emailVerified"], true);
}
