//! Bad input the schemathesis run of `scripts/bad-input` and the fuzz
//! targets found, kept as regression tests against the real server on a real
//! database: every answer is a 4xx with our JSON error body naming the
//! problem (docs/architecture.md invariant 8), and the OpenAPI document lists the
//! statuses the server answers.

mod common;

use common::{TestApp, expect_error, spawn_app};
use serde_json::{Value, json};

/// An error in our format whose message names `needle`.
async fn expect_named_error(response: reqwest::Response, status: u16, needle: &str) -> String {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let url = response.url().clone();
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{url}: {text}");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{url}: not JSON ({e}, content-type {content_type}): {text}"));
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "{url}: {message:?} does not name {needle:?}"
    );
    assert!(content_type.starts_with("application/json"), "{url}");
    body["error"]["code"].as_str().unwrap().to_owned()
}

async fn owner_with_pat(app: &TestApp) -> String {
    let (owner, _) = app.owner_of("Nul", "nul@example.com", "nul-org").await;
    app.create_pat(&owner.session, "bad input").await
}

#[tokio::test]
async fn unreadable_query_strings_and_paths_get_json_errors() {
    let app = spawn_app().await;
    let pat = owner_with_pat(&app).await;
    let cases = [
        ("/api/projects?limit=abc", "limit"),
        ("/api/projects?limit=99999999999999999999", "limit"),
        ("/api/audit-log?limit=1.5", "limit"),
        ("/api/usage/report?from=yesterday&to=today", "from"),
        ("/api/usage/report", "from"),
        ("/api/projects/%FF%FE", "UTF-8"),
        ("/api/projects/%C0", "UTF-8"),
        (
            "/api/auth/organization/get-full-organization?organizationId=%FF",
            "organizationId",
        ),
        ("/api/auth/verify-email", "token"),
    ];
    for (path, needle) in cases {
        let response = app.get(path, &pat).send().await.unwrap();
        let code = expect_named_error(response, 400, needle).await;
        assert_eq!(code, "INVALID_INPUT", "{path}");
    }
    let response = app
        .http
        .delete(app.url("/api/tokens/%FF"))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    expect_named_error(response, 400, "UTF-8").await;
}

/// Every id in a path is parsed in one place, and a malformed one is the
/// same 400 naming the `id` segment, whichever route and method it came by.
#[tokio::test]
async fn a_malformed_path_id_is_one_400_naming_the_id_on_every_route() {
    let app = spawn_app().await;
    let pat = owner_with_pat(&app).await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/projects/not-a-uuid"),
        (reqwest::Method::PATCH, "/api/projects/1234"),
        (reqwest::Method::DELETE, "/api/projects/not-a-uuid"),
        (reqwest::Method::DELETE, "/api/tokens/not-a-uuid"),
    ] {
        let mut request = app
            .http
            .request(method.clone(), app.url(path))
            .bearer_auth(&pat);
        if method == reqwest::Method::PATCH {
            request = request.json(&json!({ "name": "fine" }));
        }
        let response = request.send().await.unwrap();
        let code = expect_named_error(response, 400, "invalid id: must be a UUID").await;
        assert_eq!(code, "INVALID_INPUT", "{method} {path}");
    }
}

#[tokio::test]
async fn text_postgres_cannot_store_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let (owner, _) = app.owner_of("Nul", "nul@example.com", "nul-org").await;
    let pat = app.create_pat(&owner.session, "bad input").await;

    // Before: these reached PostgreSQL, which refused the NUL byte, and the
    // answer named no field ("invalid value: invalid byte sequence ...").
    let response = app
        .post(
            "/api/projects",
            &pat,
            json!({"name": "ok", "description": "a\u{0}b"}),
        )
        .send()
        .await
        .unwrap();
    expect_named_error(response, 400, "description").await;

    let project = app.create_project(&pat, "Fine").await;
    let id = project["id"].as_str().unwrap();
    let response = app
        .http
        .patch(app.url(&format!("/api/projects/{id}")))
        .bearer_auth(&pat)
        .json(&json!({"description": "\u{0}"}))
        .send()
        .await
        .unwrap();
    expect_named_error(response, 400, "description").await;
    let unchanged = app
        .get(&format!("/api/projects/{id}"), &pat)
        .send()
        .await
        .unwrap();
    assert_eq!(
        common::expect_status(unchanged, 200).await["description"],
        ""
    );

    let response = app
        .post(
            "/api/usage",
            &pat,
            json!({"model": "gpt-4o\u{0}", "inputTokens": 1, "outputTokens": 1}),
        )
        .send()
        .await
        .unwrap();
    expect_named_error(response, 400, "model").await;

    for (body, field) in [
        (json!({"name": "Nul\u{0}Org", "slug": "nul-two"}), "name"),
        (json!({"name": "Tab\tOrg", "slug": "nul-three"}), "name"),
        (
            json!({"name": "Logo", "slug": "nul-four", "logo": "https://x/\u{0}.png"}),
            "logo",
        ),
    ] {
        let response = app
            .post(
                "/api/auth/organization/create",
                &owner.session,
                body.clone(),
            )
            .send()
            .await
            .unwrap();
        expect_named_error(response, 400, field).await;
    }

    // Link tokens are checked for shape before the bare lookup.
    let response = app
        .http
        .post(app.url("/api/auth/reset-password"))
        .json(&json!({"newPassword": "correct horse battery", "token": "abc\u{0}def"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(response, 400).await, "INVALID_TOKEN");
    let response = app
        .http
        .get(app.url("/api/auth/verify-email?token=%00abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(response, 400).await, "INVALID_TOKEN");
}

#[tokio::test]
async fn the_openapi_document_lists_the_error_statuses() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    let spec = common::expect_status(response, 200).await;
    let public = ["/api/auth/sign-up/email", "/health"];
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            let at = format!("{method} {path}");
            assert!(has("503"), "{at}");
            if operation.get("requestBody").is_some() {
                assert!(has("400") && has("413"), "{at}");
            }
            // Writes (the origin check), and reads that refuse plain members.
            if method != "get" || path == "/api/audit-log" {
                assert!(has("403"), "{at}");
            }
            if public.contains(&path.as_str()) {
                assert_eq!(operation["security"], json!([]), "{at}");
            } else if path.starts_with("/api/projects") || path == "/api/members" {
                assert!(has("400") && has("401") && has("404"), "{at}");
            }
        }
    }
    assert!(operations >= 29, "{operations} operations");
}
