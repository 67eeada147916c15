//! The help desk's routes through real HTTP, served by tenantry's server:
//! tenantry's identity, organization resolution and error format apply.

mod common;

use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_member_opens_comments_on_and_closes_a_ticket() {
    let desk = common::start().await;
    let acme = desk.customer("acme").await;

    let id = desk.open_ticket(&acme.pat, "Printer on fire").await;
    let comment = desk
        .send(
            Method::POST,
            &acme.session,
            &format!("/api/tickets/{id}/comments"),
            json!({ "body": "Have you tried water?" }),
        )
        .await;
    assert_eq!(comment.status, 201, "{:?}", comment.body);

    let closed = desk
        .send(
            Method::PATCH,
            &acme.pat,
            &format!("/api/tickets/{id}"),
            json!({ "status": "closed" }),
        )
        .await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["organizationId"], acme.organization_id.as_str());

    let open = desk.get(&acme.pat, "/api/tickets?status=open").await;
    assert_eq!(open.body, json!([]));
    let all = desk.get(&acme.pat, "/api/tickets").await;
    assert_eq!(all.body.as_array().unwrap().len(), 1);
    let comments = desk
        .get(&acme.pat, &format!("/api/tickets/{id}/comments"))
        .await;
    assert_eq!(comments.body[0]["body"], "Have you tried water?");
}

#[tokio::test]
async fn another_organizations_ticket_is_not_found_on_every_route() {
    let desk = common::start().await;
    let acme = desk.customer("acme").await;
    let globex = desk.customer("globex").await;
    let theirs = desk.open_ticket(&globex.pat, "Globex's secret").await;

    // Globex's ticket answers exactly as a ticket that does not exist.
    let missing = uuid::Uuid::new_v4().to_string();
    for path in ["/api/tickets/ID", "/api/tickets/ID/comments"] {
        let foreign = desk.get(&acme.pat, &path.replace("ID", &theirs)).await;
        let absent = desk.get(&acme.pat, &path.replace("ID", &missing)).await;
        assert_eq!(foreign.status, 404, "{path}");
        assert_eq!(
            (foreign.status, &foreign.body),
            (absent.status, &absent.body),
            "{path}"
        );
    }
    for id in [&theirs, &missing] {
        let reply = desk
            .send(
                Method::POST,
                &acme.pat,
                &format!("/api/tickets/{id}/comments"),
                json!({ "body": "sneaky" }),
            )
            .await;
        assert_eq!(reply.status, 404);
        assert_eq!(reply.body["error"]["message"], "ticket not found");
    }

    assert_eq!(
        desk.get(&acme.pat, &format!("/api/tickets/{theirs}"))
            .await
            .status,
        404
    );
    let patch = desk
        .send(
            Method::PATCH,
            &acme.pat,
            &format!("/api/tickets/{theirs}"),
            json!({ "status": "closed" }),
        )
        .await;
    assert_eq!(patch.status, 404);
    let comment = desk
        .send(
            Method::POST,
            &acme.pat,
            &format!("/api/tickets/{theirs}/comments"),
            json!({ "body": "sneaky" }),
        )
        .await;
    assert_eq!(comment.status, 404, "{:?}", comment.body);
    assert_eq!(comment.body["code"], "NOT_FOUND");
    assert_eq!(
        desk.get(&acme.pat, &format!("/api/tickets/{theirs}/comments"))
            .await
            .status,
        404
    );
    assert_eq!(desk.get(&acme.pat, "/api/tickets").await.body, json!([]));

    // Naming the other organization is a 404 too: acme's user is no member.
    let named = desk
        .api
        .http()
        .get(desk.api.url("/api/tickets"))
        .bearer_auth(&acme.pat)
        .header("x-organization-id", &globex.organization_id)
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 404);

    // And globex's ticket is as it was.
    let still = desk
        .get(&globex.pat, &format!("/api/tickets/{theirs}"))
        .await;
    assert_eq!(still.body["status"], "open");
    let none = desk
        .get(&globex.pat, &format!("/api/tickets/{theirs}/comments"))
        .await;
    assert_eq!(none.body, json!([]));
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field_in_tenantrys_error_format() {
    let desk = common::start().await;
    let acme = desk.customer("acme").await;
    let cases = [
        (
            Method::POST,
            "/api/tickets",
            json!({ "subject": " ", "body": "x" }),
            "subject",
        ),
        (
            Method::POST,
            "/api/tickets",
            json!({ "subject": "x".repeat(201), "body": "x" }),
            "subject",
        ),
        (
            Method::POST,
            "/api/tickets",
            json!({ "subject": "a\u{0}b", "body": "x" }),
            "subject",
        ),
        (
            Method::POST,
            "/api/tickets",
            json!({ "subject": "x" }),
            "body",
        ),
        (
            Method::POST,
            "/api/tickets",
            json!({ "subject": "x", "body": "y", "priority": 1 }),
            "priority",
        ),
        (
            Method::PATCH,
            "/api/tickets/not-a-uuid",
            json!({ "status": "closed" }),
            "id",
        ),
    ];
    for (method, path, body, field) in cases {
        let reply = desk.send(method, &acme.pat, path, body.clone()).await;
        assert_eq!(reply.status, 400, "{path} {body}: {:?}", reply.body);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{path} {body}: {message}");
        assert_eq!(reply.body["code"], reply.body["error"]["code"]);
    }
    let id = desk.open_ticket(&acme.pat, "ok").await;
    let bad_status = desk
        .send(
            Method::PATCH,
            &acme.pat,
            &format!("/api/tickets/{id}"),
            json!({ "status": "done" }),
        )
        .await;
    assert_eq!(bad_status.status, 400, "{:?}", bad_status.body);
    let limit = desk.get(&acme.pat, "/api/tickets?limit=1000").await;
    assert_eq!(limit.status, 400);
    assert!(
        limit.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
}

#[tokio::test]
async fn without_a_credential_the_routes_answer_401_and_are_in_the_openapi_document() {
    let desk = common::start().await;
    let anonymous = desk
        .api
        .call(Method::GET, "/api/tickets", None, None)
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["code"], "UNAUTHORIZED");

    let document = desk
        .api
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .unwrap()
        .body;
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/tickets",
        "/api/tickets/{id}",
        "/api/tickets/{id}/comments",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    // tenantry's own are still there, and the help desk's got tenantry's
    // error statuses and security.
    assert!(paths.contains_key("/api/projects"));
    let create = &paths["/api/tickets"]["post"];
    for status in ["400", "401", "404", "413", "429", "503"] {
        assert!(
            create["responses"].get(status).is_some(),
            "POST /api/tickets lacks {status}"
        );
    }
    assert!(document["components"]["schemas"].get("Ticket").is_some());
}

#[tokio::test]
async fn the_help_desks_schemas_are_its_own_and_a_name_tenantry_uses_is_refused() {
    let desk = common::start().await;
    let document = desk
        .api
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .unwrap()
        .body;
    let body = &document["paths"]["/api/tickets"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/NewTicket");
    let schema = &document["components"]["schemas"]["NewTicket"];
    assert!(schema["properties"].get("subject").is_some(), "{schema}");

    // An extension whose schema is named like one of tenantry's, with
    // another shape, would be documented as tenantry's: refused at start.
    use utoipa::openapi::{ComponentsBuilder, ObjectBuilder, OpenApiBuilder};
    let clashing = OpenApiBuilder::new()
        .components(Some(
            ComponentsBuilder::new()
                .schema("CreateBody", ObjectBuilder::new().build())
                .build(),
        ))
        .build();
    let mut extension = helpdesk::extension();
    extension.api.openapi = clashing;
    let settings = tenantry_server::Settings::new(
        desk.test.db.clone(),
        tenantry_server::AuthSettings::new(b"helpdesk-test-secret-of-32-characters".to_vec()),
    )
    .extension(extension);
    let refused = tenantry_server::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&refused, tenantry_server::ServerError::SchemaNameTaken(name) if name == "CreateBody"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_read_only_token_reads_tickets_and_writes_none() {
    let desk = common::start().await;
    let acme = desk.customer("acme").await;
    let id = desk.open_ticket(&acme.pat, "Readable").await;

    let listed = desk.get(&acme.read_only_pat, "/api/tickets").await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);

    let writes = [
        (
            Method::POST,
            "/api/tickets".to_owned(),
            json!({ "subject": "No", "body": "no" }),
        ),
        (
            Method::PATCH,
            format!("/api/tickets/{id}"),
            json!({ "status": "closed" }),
        ),
        (
            Method::POST,
            format!("/api/tickets/{id}/comments"),
            json!({ "body": "no" }),
        ),
    ];
    for (method, path, body) in writes {
        let refused = desk
            .send(method.clone(), &acme.read_only_pat, &path, body)
            .await;
        assert_eq!(refused.status, 403, "{method} {path}: {:?}", refused.body);
        assert_eq!(
            refused.body["error"]["code"], "INSUFFICIENT_SCOPE",
            "{method} {path}"
        );
        assert_eq!(
            refused.body["error"]["requiredScope"], "write",
            "{method} {path}"
        );
    }
    let after = desk.get(&acme.pat, &format!("/api/tickets/{id}")).await;
    assert_eq!(after.body["status"], "open");
    let comments = desk
        .get(&acme.pat, &format!("/api/tickets/{id}/comments"))
        .await;
    assert_eq!(comments.body, json!([]));
    assert_eq!(
        desk.get(&acme.pat, "/api/tickets")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
