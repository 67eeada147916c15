//! Personal access tokens and the tenant resources over real HTTP, and what a
//! member of another organization sees of them: nothing.

mod common;

use common::{TestApp, expect_error, expect_status, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn personal_access_tokens_are_created_listed_used_and_revoked() {
    let app = spawn_app().await;
    let (owner, _org) = app.owner_of("Tia", "tia@example.com", "tias").await;
    let created = app
        .post(
            "/api/tokens",
            &owner.session,
            json!({ "name": "laptop", "expiresInDays": 30 }),
        )
        .send()
        .await
        .unwrap();
    let created = expect_status(created, 201).await;
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tnty_") && token.len() == 43, "{token}");
    assert!(token.starts_with(created["tokenPrefix"].as_str().unwrap()));

    let listed = expect_status(
        app.get("/api/tokens", &owner.session).send().await.unwrap(),
        200,
    )
    .await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].get("token").is_none(),
        "the secret is never listed"
    );
    for field in [
        "id",
        "name",
        "tokenPrefix",
        "lastUsedAt",
        "expiresAt",
        "createdAt",
    ] {
        assert!(listed[0].get(field).is_some(), "listUserPATs field {field}");
    }

    // A token cannot mint more tokens (they would outlive it).
    let minted_by_pat = app
        .post("/api/tokens", &token, json!({ "name": "forever" }))
        .send()
        .await
        .unwrap();
    expect_error(minted_by_pat, 403).await;

    // The token works on tenant endpoints and records its use.
    expect_status(app.get("/api/projects", &token).send().await.unwrap(), 200).await;
    let listed = expect_status(
        app.get("/api/tokens", &owner.session).send().await.unwrap(),
        200,
    )
    .await;
    assert!(listed[0]["lastUsedAt"].is_string());

    let id = created["id"].as_str().unwrap();
    let revoke = app
        .http
        .delete(app.url(&format!("/api/tokens/{id}")))
        .bearer_auth(&owner.session)
        .send();
    expect_status(revoke.await.unwrap(), 204).await;
    let refused = app.get("/api/projects", &token).send().await.unwrap();
    assert_eq!(refused.headers().get("www-authenticate").unwrap(), "Bearer");
    expect_error(refused, 401).await;
    let again = app
        .http
        .delete(app.url(&format!("/api/tokens/{id}")))
        .bearer_auth(&owner.session)
        .send();
    expect_error(again.await.unwrap(), 404).await;
}

#[tokio::test]
async fn expired_malformed_and_forged_tokens_get_401() {
    let app = spawn_app().await;
    let (owner, _org) = app.owner_of("Uma", "uma@example.com", "umas").await;
    let token = app.create_pat(&owner.session, "soon expired").await;
    expect_status(app.get("/api/projects", &token).send().await.unwrap(), 200).await;
    app.test
        .owner()
        .await
        .execute(
            "update personal_access_token set expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    let mut forged = token.clone().into_bytes();
    forged[20] = if forged[20] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).unwrap();
    let unknown = tenantry_auth::pat::mint_pat().token;
    for bad in [
        token.as_str(),
        "tnty_short",
        forged.as_str(),
        unknown.as_str(),
        "not a token at all",
    ] {
        let response = app.get("/api/projects", bad).send().await.unwrap();
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            "Bearer",
            "{bad}"
        );
        expect_error(response, 401).await;
    }
    let no_scheme = app
        .http
        .get(app.url("/api/projects"))
        .header("authorization", "Token x")
        .send();
    expect_error(no_scheme.await.unwrap(), 401).await;
    expect_error(
        app.http.get(app.url("/api/projects")).send().await.unwrap(),
        401,
    )
    .await;
}

#[tokio::test]
async fn projects_crud_with_pagination_and_audit() {
    let app = spawn_app().await;
    let (owner, _org) = app.owner_of("Vic", "vic@example.com", "vics").await;
    let token = app.create_pat(&owner.session, "api").await;
    for n in 0..5 {
        app.create_project(&token, &format!("project {n}")).await;
    }
    let duplicate = app
        .post("/api/projects", &token, json!({ "name": "project 0" }))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(duplicate, 409).await, "PROJECT_NAME_TAKEN");
    let unknown_field = app.post(
        "/api/projects",
        &token,
        json!({ "name": "x", "organizationId": "y" }),
    );
    assert_eq!(
        expect_error(unknown_field.send().await.unwrap(), 400).await,
        "INVALID_INPUT"
    );

    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/projects?limit=2&cursor={c}"),
            None => "/api/projects?limit=2".to_owned(),
        };
        let page = expect_status(app.get(&path, &token).send().await.unwrap(), 200).await;
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        names,
        (0..5).map(|n| format!("project {n}")).collect::<Vec<_>>()
    );
    expect_error(
        app.get("/api/projects?limit=0", &token)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    expect_error(
        app.get("/api/projects?cursor=garbage", &token)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    let project = app.create_project(&token, "renamed soon").await;
    let id = project["id"].as_str().unwrap();
    let patched = app
        .http
        .patch(app.url(&format!("/api/projects/{id}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "renamed", "description": "now with words" }))
        .send()
        .await
        .unwrap();
    let patched = expect_status(patched, 200).await;
    assert_eq!(
        (patched["name"].as_str(), patched["description"].as_str()),
        (Some("renamed"), Some("now with words"))
    );
    let shown = expect_status(
        app.get(&format!("/api/projects/{id}"), &token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(shown, patched);
    let deleted = app
        .http
        .delete(app.url(&format!("/api/projects/{id}")))
        .bearer_auth(&token)
        .send();
    expect_status(deleted.await.unwrap(), 204).await;
    expect_error(
        app.get(&format!("/api/projects/{id}"), &token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    expect_error(
        app.get("/api/projects/not-a-uuid", &token)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    // Every write left an entry, newest first, attributed to the caller.
    let audit = expect_status(
        app.get("/api/audit-log?limit=100", &token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        &actions[..3],
        ["project.delete", "project.update", "project.create"]
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "project.create").count(),
        6
    );
    assert_eq!(actions.last(), Some(&"organization.create"));
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actorUserId"] == owner.id.as_str())
    );
}

#[tokio::test]
async fn usage_is_recorded_and_priced_at_the_time_it_happened() {
    let app = spawn_app().await;
    let (owner, _org) = app.owner_of("Wes", "wes@example.com", "wess").await;
    let project = app.create_project(&owner.session, "bot").await;
    let record = |body: Value| app.post("/api/usage", &owner.session, body).send();
    // gpt-4o cost $5/$15 per million until 2024-08-06, then $2.50/$10.
    let before = record(
        json!({ "model": "gpt-4o", "projectId": project["id"], "inputTokens": 1_000_000,
                                "outputTokens": 100_000, "occurredAt": "2024-07-01T12:00:00Z" }),
    );
    expect_status(before.await.unwrap(), 201).await;
    let after = record(
        json!({ "model": "gpt-4o", "inputTokens": 1_000_000, "outputTokens": 100_000,
                               "occurredAt": "2024-09-01T12:00:00Z" }),
    );
    expect_status(after.await.unwrap(), 201).await;
    for (body, code) in [
        (
            json!({ "model": "no-such-model", "inputTokens": 1, "outputTokens": 1 }),
            "INVALID_INPUT",
        ),
        (
            json!({ "model": "gpt-4o", "inputTokens": -1, "outputTokens": 1 }),
            "INVALID_INPUT",
        ),
        (
            json!({ "model": "gpt-4o", "inputTokens": 1, "outputTokens": 1, "projectId": uuid::Uuid::new_v4() }),
            "INVALID_INPUT",
        ),
        (
            json!({ "model": "gpt-4o", "inputTokens": "many", "outputTokens": 1 }),
            "INVALID_INPUT",
        ),
    ] {
        assert_eq!(expect_error(record(body).await.unwrap(), 400).await, code);
    }
    let report = app
        .get(
            "/api/usage/report?from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z",
            &owner.session,
        )
        .send()
        .await
        .unwrap();
    let report = expect_status(report, 200).await;
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["day"], "2024-07-01");
    assert!(
        (days[0]["costUsd"].as_f64().unwrap() - 6.5).abs() < 1e-9,
        "{}",
        days[0]
    );
    assert!(
        (days[1]["costUsd"].as_f64().unwrap() - 3.5).abs() < 1e-9,
        "{}",
        days[1]
    );
    assert!((report["totalCostUsd"].as_f64().unwrap() - 10.0).abs() < 1e-9);
    assert_eq!(report["models"][0]["inputTokens"], 2_000_000);
    let backwards = app.get(
        "/api/usage/report?from=2024-12-31T00:00:00Z&to=2024-01-01T00:00:00Z",
        &owner.session,
    );
    expect_error(backwards.send().await.unwrap(), 400).await;
    expect_error(
        app.get("/api/usage/report?from=yesterday", &owner.session)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
}

/// Someone in another organization, with a session and with a PAT, against
/// every tenant endpoint of the first organization.
#[tokio::test]
async fn another_organization_sees_nothing_through_any_tenant_endpoint() {
    let app = spawn_app().await;
    let (alice, alice_org) = app.owner_of("Alice", "a@example.com", "alices").await;
    let (mallory, _) = app.owner_of("Mallory", "m@example.com", "mallorys").await;
    let project = app.create_project(&alice.session, "secret plans").await;
    let id = project["id"].as_str().unwrap().to_owned();
    let record = app.post(
        "/api/usage",
        &alice.session,
        json!({ "model": "gpt-4o-mini", "projectId": id, "inputTokens": 5, "outputTokens": 5 }),
    );
    expect_status(record.send().await.unwrap(), 201).await;
    let mallory_pat = app.create_pat(&mallory.session, "probe").await;

    for token in [mallory.session.as_str(), mallory_pat.as_str()] {
        check_sees_nothing_of(&app, token, &id, "secret plans").await;
        // Naming Alice's organization explicitly is a 404, not a 403.
        let named = app
            .get("/api/projects", token)
            .header("x-organization-id", &alice_org)
            .send();
        assert_eq!(expect_error(named.await.unwrap(), 404).await, "NOT_FOUND");
        let garbage = app
            .get("/api/projects", token)
            .header("x-organization-id", "nope")
            .send();
        expect_error(garbage.await.unwrap(), 400).await;
    }
    // Alice still has everything.
    let page = expect_status(
        app.get("/api/projects", &alice.session)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(page["items"][0]["name"], "secret plans");
    // The window the outsider asked for holds Alice's usage.
    let report = app.get(&report_around_now(), &alice.session).send();
    let report = expect_status(report.await.unwrap(), 200).await;
    assert_eq!(report["days"].as_array().unwrap().len(), 1, "{report}");
}

/// The usage report for the day before to the day after now.
fn report_around_now() -> String {
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let now = chrono::Utc::now();
    format!(
        "/api/usage/report?from={}&to={}",
        at(now - chrono::Duration::days(1)),
        at(now + chrono::Duration::days(1))
    )
}

async fn check_sees_nothing_of(app: &TestApp, token: &str, id: &str, name: &str) {
    let list = expect_status(app.get("/api/projects", token).send().await.unwrap(), 200).await;
    assert!(!list.to_string().contains(name), "{list}");
    expect_error(
        app.get(&format!("/api/projects/{id}"), token)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let patch = app
        .http
        .patch(app.url(&format!("/api/projects/{id}")))
        .bearer_auth(token)
        .json(&json!({ "name": "pwned" }));
    expect_error(patch.send().await.unwrap(), 404).await;
    let delete = app
        .http
        .delete(app.url(&format!("/api/projects/{id}")))
        .bearer_auth(token);
    expect_error(delete.send().await.unwrap(), 404).await;
    // Referencing the project from outside fails like a missing one.
    let usage = app.post(
        "/api/usage",
        token,
        json!({ "model": "gpt-4o", "projectId": id, "inputTokens": 1, "outputTokens": 1 }),
    );
    expect_error(usage.send().await.unwrap(), 400).await;
    // A window around now, when the usage was recorded: a leak would show.
    let report = app.get(&report_around_now(), token);
    let report = expect_status(report.send().await.unwrap(), 200).await;
    assert!(report["days"].as_array().unwrap().is_empty(), "{report}");
    let members = expect_status(app.get("/api/members", token).send().await.unwrap(), 200).await;
    assert_eq!(
        members.as_array().unwrap().len(),
        1,
        "only their own member row: {members}"
    );
    let audit = expect_status(
        app.get("/api/audit-log?limit=100", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(!audit.to_string().contains(id), "{audit}");
}

#[tokio::test]
async fn a_pat_user_in_two_organizations_chooses_with_a_header() {
    let app = spawn_app().await;
    let (carl, first) = app.owner_of("Carl", "carl@example.com", "carl-one").await;
    let second = app
        .post(
            "/api/auth/organization/create",
            &carl.session,
            json!({ "name": "Two", "slug": "carl-two" }),
        )
        .send()
        .await
        .unwrap();
    let second = expect_status(second, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pat = app.create_pat(&carl.session, "cli").await;
    app.post("/api/projects", &pat, json!({ "name": "in first" }))
        .header("x-organization-id", &first)
        .send()
        .await
        .unwrap();
    app.post("/api/projects", &pat, json!({ "name": "in second" }))
        .header("x-organization-id", &second)
        .send()
        .await
        .unwrap();
    for (org, name) in [(&first, "in first"), (&second, "in second")] {
        let page = app
            .get("/api/projects", &pat)
            .header("x-organization-id", org.as_str())
            .send();
        let page = expect_status(page.await.unwrap(), 200).await;
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, [name]);
    }
}
