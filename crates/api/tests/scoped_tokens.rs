//! Scoped personal access tokens over real HTTP: read-only tokens whose
//! writes PostgreSQL refuses even on a route that forgets to check,
//! organization-bound tokens that act nowhere else, and token management
//! left to sessions.

mod common;

use axum::routing::post;
use axum::{Json, Router};
use common::{TestApp, expect_error, expect_status, spawn_app_settings};
use serde_json::{Value, json};
use tenantry_api::error::ApiError;
use tenantry_api::extract::Scoped;
use tenantry_api::{ApiExtension, AppState, AuthSettings};
use tenantry_db::prelude::*;
use tenantry_server::Extension;
use tenantry_testkit::TestDb;

/// A route that writes a project without checking any scope: the kind of
/// handler an application might get wrong. Only the database stands between
/// a read-only token and the write.
async fn unchecked_write(
    axum::extract::State(state): axum::extract::State<AppState>,
    Scoped(actor): Scoped,
) -> Result<Json<Value>, ApiError> {
    let id: uuid::Uuid =
        tenantry_db::with_tenant_context(state.app.database(), actor.tenant(), async |tx| {
            let row = tx
                .query_one(
                    "insert into project (name) values ('written unchecked') returning id",
                    &[],
                )
                .await?;
            Ok::<_, tenantry_db::DbError>(row.get(0))
        })
        .await?;
    Ok(Json(json!({ "id": id })))
}

/// The same, one autocommit statement.
async fn unchecked_autocommit_write(
    axum::extract::State(state): axum::extract::State<AppState>,
    Scoped(actor): Scoped,
) -> Result<Json<Value>, ApiError> {
    let row = tenantry_db::autocommit(state.app.database(), actor.tenant())
        .query_one(
            "insert into project (name) values ('written unchecked, autocommit') returning id",
            &[],
        )
        .await?;
    Ok(Json(json!({ "id": row.get::<_, uuid::Uuid>(0) })))
}

async fn spawn() -> TestApp {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.expect("seed");
    let routes = Router::new()
        .route("/api/test/unchecked-write", post(unchecked_write))
        .route(
            "/api/test/unchecked-autocommit-write",
            post(unchecked_autocommit_write),
        );
    let extension = Extension {
        api: ApiExtension {
            routes,
            ..ApiExtension::default()
        },
        ..Extension::default()
    };
    spawn_app_settings(
        test,
        AuthSettings::new(common::SECRET.to_vec()),
        |settings| {
            settings
                .rate_limits(tenantry_server::RateLimits::off())
                .extension(extension)
        },
    )
    .await
}

async fn mint(app: &TestApp, session: &str, body: Value) -> Value {
    expect_status(
        app.post("/api/tokens", session, body).send().await.unwrap(),
        201,
    )
    .await
}

async fn project_count(app: &TestApp, name: &str) -> i64 {
    app.test
        .owner()
        .await
        .query_one("select count(*) from project where name = $1", &[&name])
        .await
        .unwrap()
        .get(0)
}

/// The 403 of a missing scope: code, message and the scope, by name.
async fn expect_missing_write(response: reqwest::Response) {
    let body = expect_status(response, 403).await;
    assert_eq!(body["error"]["code"], "INSUFFICIENT_SCOPE", "{body}");
    assert_eq!(body["error"]["requiredScope"], "write", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("write"),
        "{body}"
    );
}

#[tokio::test]
async fn a_read_only_token_reads_and_every_write_is_refused_naming_the_scope() {
    let app = spawn().await;
    let (owner, org) = app.owner_of("Rita", "rita@example.com", "ritas").await;
    app.create_project(&owner.session, "Existing").await;
    let minted = mint(
        &app,
        &owner.session,
        json!({ "name": "reader", "scopes": ["read"] }),
    )
    .await;
    assert_eq!(minted["scopes"], json!(["read"]), "{minted}");
    assert_eq!(minted["organizationId"], Value::Null, "{minted}");
    let token = minted["token"].as_str().unwrap();

    let listed = expect_status(app.get("/api/projects", token).send().await.unwrap(), 200).await;
    assert_eq!(listed["items"][0]["name"], "Existing", "{listed}");
    expect_status(
        app.get(
            "/api/usage/report?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z",
            token,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;

    // The handlers' own check: refused before any work.
    let create = app.post("/api/projects", token, json!({ "name": "Nope" }));
    expect_missing_write(create.send().await.unwrap()).await;
    let usage = app.post(
        "/api/usage",
        token,
        json!({ "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1 }),
    );
    expect_missing_write(usage.send().await.unwrap()).await;
    let org_create = app.post(
        "/api/auth/organization/create",
        token,
        json!({ "name": "Side project", "slug": "side" }),
    );
    expect_missing_write(org_create.send().await.unwrap()).await;
    let invite = app.post(
        "/api/auth/organization/invite-member",
        token,
        json!({ "email": "x@example.com", "role": "member", "organizationId": org }),
    );
    expect_missing_write(invite.send().await.unwrap()).await;
    assert_eq!(project_count(&app, "Nope").await, 0);

    // A route that never checks: PostgreSQL refuses, and the answer is the same 403.
    for route in [
        "/api/test/unchecked-write",
        "/api/test/unchecked-autocommit-write",
    ] {
        let response = app.post(route, token, json!({})).send().await.unwrap();
        expect_missing_write(response).await;
    }
    assert_eq!(project_count(&app, "written unchecked").await, 0);
    assert_eq!(
        project_count(&app, "written unchecked, autocommit").await,
        0
    );

    // The control: the same routes write for a full token and for the session.
    let full = app.create_pat(&owner.session, "full").await;
    expect_status(
        app.post("/api/test/unchecked-write", &full, json!({}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    expect_status(
        app.post(
            "/api/test/unchecked-autocommit-write",
            &owner.session,
            json!({}),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(project_count(&app, "written unchecked").await, 1);
    assert_eq!(
        project_count(&app, "written unchecked, autocommit").await,
        1
    );
}

#[tokio::test]
async fn a_bound_token_acts_only_in_its_organization() {
    let app = spawn().await;
    let (owner, home) = app.owner_of("Bea", "bea@example.com", "beas").await;
    // Bea is also in a second organization, which the token must not reach.
    let other = expect_status(
        app.post(
            "/api/auth/organization/create",
            &owner.session,
            json!({ "name": "Bea's other", "slug": "beas-other" }),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let minted = mint(
        &app,
        &owner.session,
        json!({ "name": "bound", "organizationId": home }),
    )
    .await;
    assert_eq!(minted["organizationId"], home, "{minted}");
    assert_eq!(minted["scopes"], json!(["read", "write"]), "{minted}");
    let token = minted["token"].as_str().unwrap().to_owned();

    // Its default is its organization, even though the session's active one is the other.
    let created = app.create_project(&token, "Bound work").await;
    let in_home = expect_status(
        app.get(
            &format!("/api/projects/{}", created["id"].as_str().unwrap()),
            &owner.session,
        )
        .header("x-organization-id", &home)
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(in_home["name"], "Bound work");

    // Naming the other organization is a 404, though Bea is a member there.
    let elsewhere = app
        .get("/api/projects", &token)
        .header("x-organization-id", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(elsewhere, 404).await, "NOT_FOUND");
    let orgs = expect_status(
        app.get("/api/auth/organization/list", &token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let ids: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [home.as_str()], "{orgs}");
    let create_org = app.post(
        "/api/auth/organization/create",
        &token,
        json!({ "name": "Escape", "slug": "escape" }),
    );
    assert_eq!(
        expect_error(create_org.send().await.unwrap(), 403).await,
        "TOKEN_BOUND_TO_ORGANIZATION"
    );

    // Shown in the listing.
    let tokens = expect_status(
        app.get("/api/tokens", &owner.session).send().await.unwrap(),
        200,
    )
    .await;
    let listed = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "bound")
        .unwrap();
    assert_eq!(listed["organizationId"], home, "{tokens}");
    assert_eq!(listed["scopes"], json!(["read", "write"]), "{tokens}");
}

#[tokio::test]
async fn a_bound_token_stops_working_there_when_its_user_leaves() {
    let app = spawn().await;
    let (owner, org) = app.owner_of("Ola", "ola@example.com", "olas").await;
    let member = app.sign_up("Max", "max@example.com").await;
    app.test
        .owner()
        .await
        .execute(
            "insert into member (organization_id, user_id, role) values ($1::text::uuid, $2::text::uuid, 'member')",
            &[&org, &member.id],
        )
        .await
        .unwrap();
    let token = mint(
        &app,
        &member.session,
        json!({ "name": "agent", "organizationId": org }),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_status(app.get("/api/projects", &token).send().await.unwrap(), 200).await;

    let remove = app.post(
        "/api/auth/organization/remove-member",
        &owner.session,
        json!({ "memberIdOrEmail": "max@example.com", "organizationId": org }),
    );
    expect_status(remove.send().await.unwrap(), 200).await;
    let after = app.get("/api/projects", &token).send().await.unwrap();
    assert_eq!(expect_error(after, 404).await, "NOT_FOUND");
}

#[tokio::test]
async fn scopes_and_bindings_are_checked_at_creation() {
    let app = spawn().await;
    let (owner, _org) = app.owner_of("Cy", "cy@example.com", "cys").await;
    let (_stranger, foreign) = app.owner_of("Di", "di@example.com", "dis").await;
    for (body, field) in [
        (json!({ "name": "t", "scopes": ["admin"] }), "scopes"),
        (json!({ "name": "t", "scopes": [] }), "scopes"),
        (
            json!({ "name": "t", "organizationId": "acme" }),
            "organizationId",
        ),
        // Misspelt or null narrowing fields must not mint a full, unbound token.
        (json!({ "name": "t", "scope": ["read"] }), "scope"),
        (
            json!({ "name": "t", "organization_id": "x" }),
            "organization_id",
        ),
        (json!({ "name": "t", "scopes": null }), "scopes"),
    ] {
        let response = app
            .post("/api/tokens", &owner.session, body.clone())
            .send()
            .await
            .unwrap();
        let error = expect_status(response, 400).await;
        assert_eq!(error["error"]["code"], "INVALID_INPUT", "{body}: {error}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(field),
            "{body}: {error}"
        );
    }
    let foreign_bound = app
        .post(
            "/api/tokens",
            &owner.session,
            json!({ "name": "t", "organizationId": foreign }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(foreign_bound, 404).await, "NOT_FOUND");
    // `write` brings `read`.
    let minted = mint(
        &app,
        &owner.session,
        json!({ "name": "w", "scopes": ["write"] }),
    )
    .await;
    assert_eq!(minted["scopes"], json!(["read", "write"]));
}

#[tokio::test]
async fn tokens_are_managed_from_a_session_and_a_token_revokes_only_itself() {
    let app = spawn().await;
    let (owner, _org) = app.owner_of("Ed", "ed@example.com", "eds").await;
    let first = mint(&app, &owner.session, json!({ "name": "first" })).await;
    let second = mint(&app, &owner.session, json!({ "name": "second" })).await;
    let first_token = first["token"].as_str().unwrap();

    let listing = app.get("/api/tokens", first_token).send().await.unwrap();
    assert_eq!(expect_error(listing, 403).await, "SESSION_REQUIRED");
    let minting = app.post("/api/tokens", first_token, json!({ "name": "child" }));
    assert_eq!(
        expect_error(minting.send().await.unwrap(), 403).await,
        "SESSION_REQUIRED"
    );
    let revoke_sibling = app
        .http
        .delete(app.url(&format!("/api/tokens/{}", second["id"].as_str().unwrap())))
        .bearer_auth(first_token)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(revoke_sibling, 403).await, "FORBIDDEN");
    let revoke_self = app
        .http
        .delete(app.url(&format!("/api/tokens/{}", first["id"].as_str().unwrap())))
        .bearer_auth(first_token)
        .send()
        .await
        .unwrap();
    expect_status(revoke_self, 204).await;
    let after = app.get("/api/projects", first_token).send().await.unwrap();
    expect_error(after, 401).await;
    let second_token = second["token"].as_str().unwrap();
    expect_status(
        app.get("/api/projects", second_token).send().await.unwrap(),
        200,
    )
    .await;
}
