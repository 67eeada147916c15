//! Cross-tenant attempts on the organization and token routes that take an
//! id of something outside the caller's organization: each must answer as
//! if the thing did not exist (404), and must change nothing, which is
//! checked by reading the target back as the owner afterwards.
//!
//! The attacker is Carol, owner of Initech in the demo data: a manager with
//! every right in her own organization and none in Acme or Globex. Alice is
//! the multi-organization case: owner of Acme, plain member of Globex.

mod common;

use common::{TestApp, expect_error, expect_status, spawn_app};
use serde_json::{Value, json};
use tenantry_db::seed::demo;
use uuid::Uuid;

async fn sign_in(app: &TestApp, email: &str) -> String {
    let response = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({ "email": email, "password": demo::PASSWORD }))
        .send()
        .await
        .unwrap();
    expect_status(response, 200).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The membership id and role of `user` in `organization`, read as the owner.
async fn membership(app: &TestApp, organization: Uuid, user: Uuid) -> Option<(Uuid, String)> {
    app.test
        .owner()
        .await
        .query_opt(
            "select id, role from member where organization_id = $1 and user_id = $2",
            &[&organization, &user],
        )
        .await
        .unwrap()
        .map(|row| (row.get(0), row.get(1)))
}

#[tokio::test]
async fn a_foreign_organization_is_not_found_by_id_or_slug() {
    let app = spawn_app().await;
    let carol = sign_in(&app, "carol@example.com").await;
    let foreign = format!(
        "/api/auth/organization/get-full-organization?organizationId={}",
        demo::ACME
    );
    let body = expect_status(app.get(&foreign, &carol).send().await.unwrap(), 404).await;
    assert!(!body.to_string().contains("acme"), "{body}");

    let before = session_of(&app, &carol).await;
    for body in [
        json!({ "organizationSlug": "acme" }),
        json!({ "organizationId": demo::GLOBEX }),
    ] {
        let response = app
            .post("/api/auth/organization/set-active", &carol, body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(expect_error(response, 404).await, "NOT_FOUND", "{body}");
    }
    assert_eq!(
        session_of(&app, &carol).await["activeOrganizationId"],
        before["activeOrganizationId"],
        "a refused set-active changed the session"
    );
}

async fn session_of(app: &TestApp, token: &str) -> Value {
    let response = app
        .get("/api/auth/get-session", token)
        .send()
        .await
        .unwrap();
    expect_status(response, 200).await["session"].clone()
}

#[tokio::test]
async fn members_of_another_organization_cannot_be_changed_or_removed() {
    let app = spawn_app().await;
    let carol = sign_in(&app, "carol@example.com").await;
    let (dave, role) = membership(&app, demo::ACME, demo::DAVE).await.unwrap();
    assert_eq!(role, "member");
    // Named in Carol's own organization (the default) and in Acme itself.
    for organization in [None, Some(demo::ACME)] {
        let mut update = json!({ "memberId": dave, "role": "owner" });
        let mut remove = json!({ "memberIdOrEmail": dave });
        let mut remove_by_email = json!({ "memberIdOrEmail": "dave@example.com" });
        if let Some(id) = organization {
            for body in [&mut update, &mut remove, &mut remove_by_email] {
                body["organizationId"] = json!(id);
            }
        }
        let attempts = [
            ("/api/auth/organization/update-member-role", update),
            ("/api/auth/organization/remove-member", remove),
            ("/api/auth/organization/remove-member", remove_by_email),
        ];
        for (path, body) in attempts {
            let response = app.post(path, &carol, body.clone()).send().await.unwrap();
            assert_eq!(
                expect_error(response, 404).await,
                "NOT_FOUND",
                "{path} {body}"
            );
        }
    }
    assert_eq!(
        membership(&app, demo::ACME, demo::DAVE).await,
        Some((dave, "member".into())),
        "Dave's membership changed"
    );
}

#[tokio::test]
async fn owning_one_organization_gives_no_power_over_members_of_another() {
    let app = spawn_app().await;
    // Alice owns Acme (her oldest membership, so the default) and is a plain
    // member of Globex, whose owner is Bob.
    let alice = sign_in(&app, "alice@example.com").await;
    let (bob, _) = membership(&app, demo::GLOBEX, demo::BOB).await.unwrap();
    let in_acme = app
        .post(
            "/api/auth/organization/update-member-role",
            &alice,
            json!({ "memberId": bob, "role": "member", "organizationId": demo::ACME }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(in_acme, 404).await, "NOT_FOUND");
    let in_globex = app
        .post(
            "/api/auth/organization/remove-member",
            &alice,
            json!({ "memberIdOrEmail": bob, "organizationId": demo::GLOBEX }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(in_globex, 403).await, "FORBIDDEN");
    assert_eq!(
        membership(&app, demo::GLOBEX, demo::BOB).await,
        Some((bob, "owner".into()))
    );
}

#[tokio::test]
async fn another_users_token_cannot_be_revoked() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice@example.com").await;
    let carol = sign_in(&app, "carol@example.com").await;
    let created = app
        .post("/api/tokens", &alice, json!({ "name": "alice's laptop" }))
        .send()
        .await
        .unwrap();
    let created = expect_status(created, 201).await;
    let (id, pat) = (
        created["id"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap().to_owned(),
    );
    let revoke = app
        .http
        .delete(app.url(&format!("/api/tokens/{id}")))
        .bearer_auth(&carol)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(revoke, 404).await, "NOT_FOUND");
    // Nor is it in Carol's list, and it still works for Alice.
    let listed = expect_status(app.get("/api/tokens", &carol).send().await.unwrap(), 200).await;
    assert!(!listed.to_string().contains(&id), "{listed}");
    let projects = app.get("/api/projects", &pat).send().await.unwrap();
    expect_status(projects, 200).await;
}

#[tokio::test]
async fn another_addresses_invitation_cannot_be_accepted() {
    let app = spawn_app().await;
    let carol = sign_in(&app, "carol@example.com").await;
    // The demo invitation of bob@example.com to Acme.
    let invitation: Uuid = app
        .test
        .owner()
        .await
        .query_one(
            "select id from invitation where organization_id = $1 and email = 'bob@example.com'",
            &[&demo::ACME],
        )
        .await
        .unwrap()
        .get(0);
    let response = app
        .post(
            "/api/auth/organization/accept-invitation",
            &carol,
            json!({ "invitationId": invitation }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(response, 404).await, "NOT_FOUND");
    assert_eq!(membership(&app, demo::ACME, demo::CAROL).await, None);
}
