//! Running an organization (issue 12, item 3) and deleting an account
//! (item 2's delete-user), over real HTTP against a real server.
//!
//! Each test runs on its own database; what a route must have written or
//! removed is read back through the owner connection, so a refusal that
//! still wrote a row, or a deletion that left one, fails.

mod common;

use common::{Member, TestApp, expect_error, expect_status, spawn_app, spawn_app_with};
use reqwest::Response;
use serde_json::{Value, json};
use tenantry_api::AuthSettings;
use uuid::Uuid;

async fn post(app: &TestApp, who: &str, path: &str, body: Value) -> Response {
    app.post(&format!("/api/auth/organization/{path}"), who, body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, who: &str, path: &str) -> Response {
    app.get(&format!("/api/auth/organization/{path}"), who)
        .send()
        .await
        .unwrap()
}

async fn invite(app: &TestApp, inviter: &Member, email: &str, role: &str) -> String {
    let response = post(
        app,
        &inviter.session,
        "invite-member",
        json!({ "email": email, "role": role }),
    )
    .await;
    expect_status(response, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn verified(app: &TestApp, name: &str, email: &str) -> Member {
    let member = app.sign_up(name, email).await;
    app.verify_email(email).await;
    member
}

/// A verified `email` invited by `inviter` as `role`, who has accepted.
async fn join(app: &TestApp, inviter: &Member, name: &str, email: &str, role: &str) -> Member {
    let invitation = invite(app, inviter, email, role).await;
    let member = verified(app, name, email).await;
    let response = post(
        app,
        &member.session,
        "accept-invitation",
        json!({ "invitationId": invitation }),
    )
    .await;
    expect_status(response, 200).await;
    member
}

/// `select count(*)` through the owner connection, with one uuid parameter.
async fn count(app: &TestApp, sql: &str, id: &str) -> i64 {
    let id = Uuid::parse_str(id).unwrap();
    app.test
        .owner()
        .await
        .query_one(sql, &[&id])
        .await
        .unwrap()
        .get(0)
}

/// Every row an organization holds, table by table.
async fn tenant_rows(app: &TestApp, organization: &str) -> Vec<(&'static str, i64)> {
    let mut rows = Vec::new();
    for table in [
        "organization",
        "member",
        "invitation",
        "project",
        "usage_event",
        "audit_log",
    ] {
        let column = if table == "organization" {
            "id"
        } else {
            "organization_id"
        };
        let sql = format!("select count(*) from {table} where {column} = $1");
        rows.push((table, count(app, &sql, organization).await));
    }
    rows
}

async fn record_usage(app: &TestApp, organization: &str) {
    let id = Uuid::parse_str(organization).unwrap();
    app.test
        .owner()
        .await
        .execute(
            "insert into usage_event (organization_id, model_id, input_tokens, output_tokens)
             values ($1, (select id from ai_model order by id limit 1), 10, 20)",
            &[&id],
        )
        .await
        .unwrap();
}

async fn expire(app: &TestApp, invitation: &str) {
    let id = Uuid::parse_str(invitation).unwrap();
    let changed = app
        .test
        .owner()
        .await
        .execute(
            "update invitation set expires_at = now() - interval '1 second' where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
}

async fn invitation_status(app: &TestApp, invitation: &str) -> String {
    let id = Uuid::parse_str(invitation).unwrap();
    app.test
        .owner()
        .await
        .query_one("select status from invitation where id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn owners_and_admins_update_the_organization_members_may_not_and_outsiders_see_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let admin = join(&app, &owner, "Adam", "adam@example.com", "admin").await;
    let member = join(&app, &owner, "Mia", "mia@example.com", "member").await;
    let (outsider, _) = app.owner_of("Otto", "otto@example.com", "otto").await;

    let updated = expect_status(
        post(
            &app,
            &owner.session,
            "update",
            json!({ "organizationId": org, "data": {
                "name": "Olga & Co", "slug": "olga-co", "logo": "https://img.example/o.png",
                "metadata": { "plan": "pro" } } }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["id"], org);
    assert_eq!(updated["name"], "Olga & Co");
    assert_eq!(updated["slug"], "olga-co");
    assert_eq!(updated["logo"], "https://img.example/o.png");
    assert_eq!(updated["metadata"], r#"{"plan":"pro"}"#);

    // An admin may too (the active organization by default); `null` clears
    // the logo and absent fields stay.
    let updated = expect_status(
        post(
            &app,
            &admin.session,
            "update",
            json!({ "data": { "name": "Renamed", "logo": null } }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["slug"], "olga-co");
    assert_eq!(updated["logo"], Value::Null);

    let refused = post(
        &app,
        &member.session,
        "update",
        json!({ "organizationId": org, "data": { "name": "Mine" } }),
    )
    .await;
    assert_eq!(
        expect_error(refused, 403).await,
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION"
    );
    let hidden = post(
        &app,
        &outsider.session,
        "update",
        json!({ "organizationId": org, "data": { "name": "Mine" } }),
    )
    .await;
    assert_eq!(expect_error(hidden, 404).await, "NOT_FOUND");
    assert_eq!(
        count(
            &app,
            "select count(*) from organization where id = $1 and name = 'Renamed'",
            &org
        )
        .await,
        1,
        "a refused update changed nothing"
    );

    for (data, field) in [
        (json!({ "slug": "Not A Slug" }), "slug"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "metadata": "a string" }), "metadata"),
        (json!({ "logo": "bad\u{7}logo" }), "logo"),
    ] {
        let response = post(&app, &owner.session, "update", json!({ "data": data })).await;
        let body = expect_status(response, 400).await;
        assert_eq!(body["code"], "INVALID_INPUT", "{data}");
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{data}: {body}"
        );
    }
    let malformed = post(
        &app,
        &owner.session,
        "update",
        json!({ "organizationId": "nope", "data": {} }),
    )
    .await;
    assert_eq!(expect_error(malformed, 400).await, "INVALID_INPUT");
    let no_data = post(&app, &owner.session, "update", json!({})).await;
    expect_error(no_data, 400).await;
    let taken = post(
        &app,
        &owner.session,
        "update",
        json!({ "data": { "slug": "otto" } }),
    )
    .await;
    assert_eq!(
        expect_error(taken, 409).await,
        "ORGANIZATION_ALREADY_EXISTS"
    );
}

#[tokio::test]
async fn deleting_an_organization_takes_every_tenant_row_and_only_its_own() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let admin = join(&app, &owner, "Adam", "adam@example.com", "admin").await;
    let member = join(&app, &owner, "Mia", "mia@example.com", "member").await;
    invite(&app, &owner, "later@example.com", "member").await;
    app.create_project(&owner.session, "Rocket").await;
    record_usage(&app, &org).await;
    let (other_owner, other) = app.owner_of("Otto", "otto@example.com", "otto").await;
    app.create_project(&other_owner.session, "Other rocket")
        .await;
    record_usage(&app, &other).await;
    invite(&app, &other_owner, "guest@example.com", "member").await;

    let before = tenant_rows(&app, &org).await;
    assert!(before.iter().all(|&(_, n)| n > 0), "{before:?}");
    let other_before = tenant_rows(&app, &other).await;

    for (who, status, code) in [
        (
            &admin,
            403,
            "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
        ),
        (
            &member,
            403,
            "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
        ),
        (&other_owner, 404, "NOT_FOUND"),
    ] {
        let response = post(
            &app,
            &who.session,
            "delete",
            json!({ "organizationId": org }),
        )
        .await;
        assert_eq!(expect_error(response, status).await, code, "{}", who.email);
    }
    let missing = post(&app, &owner.session, "delete", json!({})).await;
    let body = expect_status(missing, 400).await;
    assert!(body["message"].as_str().unwrap().contains("organizationId"));
    // Irreversible: the owner's personal access token is not enough.
    let owner_pat = app.create_pat(&owner.session, "ci").await;
    let by_token = post(&app, &owner_pat, "delete", json!({ "organizationId": org })).await;
    assert_eq!(expect_error(by_token, 403).await, "SESSION_REQUIRED");
    assert_eq!(
        tenant_rows(&app, &org).await,
        before,
        "refusals removed rows"
    );

    let deleted = expect_status(
        post(
            &app,
            &owner.session,
            "delete",
            json!({ "organizationId": org }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(deleted["id"], org);
    assert_eq!(deleted["slug"], "olga");
    let after = tenant_rows(&app, &org).await;
    assert!(after.iter().all(|&(_, n)| n == 0), "left behind: {after:?}");
    assert_eq!(tenant_rows(&app, &other).await, other_before);

    // Sessions that acted in it act in none, and it is gone for everyone.
    let active = app
        .test
        .owner()
        .await
        .query_one(
            "select count(*) from session where active_organization_id is not null
             and user_id in (select id from \"user\" where email = any($1))",
            &[&vec![
                owner.email.clone(),
                admin.email.clone(),
                member.email.clone(),
            ]],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(active, 0);
    let gone = get(
        &app,
        &owner.session,
        &format!("get-full-organization?organizationId={org}"),
    )
    .await;
    expect_error(gone, 404).await;
    let again = post(
        &app,
        &owner.session,
        "delete",
        json!({ "organizationId": org }),
    )
    .await;
    expect_error(again, 404).await;
}

#[tokio::test]
async fn leaving_keeps_an_owner_and_ends_the_sessions_activity_there() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let member = join(&app, &owner, "Mia", "mia@example.com", "member").await;
    let (outsider, _) = app.owner_of("Otto", "otto@example.com", "otto").await;

    let last = post(
        &app,
        &owner.session,
        "leave",
        json!({ "organizationId": org }),
    )
    .await;
    assert_eq!(
        expect_error(last, 400).await,
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER"
    );
    let hidden = post(
        &app,
        &outsider.session,
        "leave",
        json!({ "organizationId": org }),
    )
    .await;
    expect_error(hidden, 404).await;
    let missing = post(&app, &member.session, "leave", json!({})).await;
    expect_error(missing, 400).await;

    let left = expect_status(
        post(
            &app,
            &member.session,
            "leave",
            json!({ "organizationId": org }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(left["userId"], member.id);
    assert_eq!(left["role"], "member");
    assert_eq!(
        count(
            &app,
            "select count(*) from member where organization_id = $1",
            &org
        )
        .await,
        1
    );
    let active = count(
        &app,
        "select count(*) from session where user_id = $1 and active_organization_id is not null",
        &member.id,
    )
    .await;
    assert_eq!(
        active, 0,
        "the session still acts in the organization it left"
    );
    let again = post(
        &app,
        &member.session,
        "leave",
        json!({ "organizationId": org }),
    )
    .await;
    expect_error(again, 404).await;
}

#[tokio::test]
async fn check_slug_answers_as_better_auth_does() {
    let app = spawn_app().await;
    let (owner, _) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let free = post(
        &app,
        &owner.session,
        "check-slug",
        json!({ "slug": "free-one" }),
    )
    .await;
    assert_eq!(expect_status(free, 200).await, json!({ "status": true }));
    let taken = post(
        &app,
        &owner.session,
        "check-slug",
        json!({ "slug": "olga" }),
    )
    .await;
    assert_eq!(
        expect_error(taken, 400).await,
        "ORGANIZATION_SLUG_ALREADY_TAKEN"
    );
    let bad = post(
        &app,
        &owner.session,
        "check-slug",
        json!({ "slug": "Bad Slug" }),
    )
    .await;
    let body = expect_status(bad, 400).await;
    assert_eq!(body["code"], "INVALID_INPUT");
    assert!(body["message"].as_str().unwrap().contains("slug"));
    let missing = post(&app, &owner.session, "check-slug", json!({})).await;
    expect_error(missing, 400).await;
    let anonymous = app
        .http
        .post(app.url("/api/auth/organization/check-slug"))
        .json(&json!({ "slug": "olga" }))
        .send()
        .await
        .unwrap();
    expect_error(anonymous, 401).await;
}

#[tokio::test]
async fn list_members_pages_sorts_and_filters_for_any_member() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    join(&app, &owner, "Adam", "adam@example.com", "admin").await;
    join(&app, &owner, "Mia", "mia@example.com", "member").await;
    let last = join(&app, &owner, "Max", "max@example.com", "member").await;
    let (outsider, _) = app.owner_of("Otto", "otto@example.com", "otto").await;

    let all = expect_status(get(&app, &last.session, "list-members").await, 200).await;
    assert_eq!(all["total"], 4);
    let emails: Vec<&str> = all["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "olga@example.com",
            "adam@example.com",
            "mia@example.com",
            "max@example.com"
        ]
    );

    let page = expect_status(
        get(&app, &owner.session, "list-members?limit=2&offset=1").await,
        200,
    )
    .await;
    assert_eq!(page["total"], 4);
    let page: Vec<&str> = page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["adam@example.com", "mia@example.com"]);

    let newest = expect_status(
        get(
            &app,
            &owner.session,
            "list-members?sortBy=createdAt&sortDirection=desc&limit=1",
        )
        .await,
        200,
    )
    .await;
    assert_eq!(newest["members"][0]["user"]["email"], "max@example.com");

    for (query, total) in [
        ("filterField=role&filterValue=member", 2),
        ("filterField=role&filterValue=owner&filterOperator=ne", 3),
        (
            "filterField=role&filterValue=owner,admin&filterOperator=in",
            2,
        ),
        (
            &format!("filterField=userId&filterValue={}", owner.id) as &str,
            1,
        ),
    ] {
        let body = expect_status(
            get(&app, &owner.session, &format!("list-members?{query}")).await,
            200,
        )
        .await;
        assert_eq!(body["total"], total, "{query}");
        assert_eq!(body["members"].as_array().unwrap().len(), total, "{query}");
    }

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("sortBy=password", "sortBy"),
        ("sortDirection=up", "sortDirection"),
        ("filterField=email&filterValue=x", "filterField"),
        ("filterField=role", "filterValue"),
        ("filterField=role&filterValue=%00", "filterValue"),
        (
            "filterField=userId&filterValue=a,%00&filterOperator=in",
            "filterValue",
        ),
        (
            "filterField=role&filterValue=x&filterOperator=like",
            "filterOperator",
        ),
        ("organizationId=nope", "organizationId"),
    ] {
        let response = get(&app, &owner.session, &format!("list-members?{query}")).await;
        let body = expect_status(response, 400).await;
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{query}: {body}"
        );
    }
    let hidden = get(
        &app,
        &outsider.session,
        &format!("list-members?organizationId={org}"),
    )
    .await;
    expect_error(hidden, 404).await;
}

#[tokio::test]
async fn active_member_and_permissions_follow_the_plugins_default_roles() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let admin = join(&app, &owner, "Adam", "adam@example.com", "admin").await;
    let member = join(&app, &owner, "Mia", "mia@example.com", "member").await;
    let (outsider, _) = app.owner_of("Otto", "otto@example.com", "otto").await;
    let loner = app.sign_up("Lone", "lone@example.com").await;

    for (who, role) in [(&owner, "owner"), (&admin, "admin"), (&member, "member")] {
        let body = expect_status(get(&app, &who.session, "get-active-member").await, 200).await;
        assert_eq!(body["role"], role);
        assert_eq!(body["userId"], who.id);
        assert_eq!(body["organizationId"], org);
    }
    expect_error(get(&app, &loner.session, "get-active-member").await, 404).await;

    let asks = [
        (json!({ "organization": ["delete"] }), [true, false, false]),
        (json!({ "organization": ["update"] }), [true, true, false]),
        (
            json!({ "member": ["create", "delete"] }),
            [true, true, false],
        ),
        (json!({ "invitation": ["cancel"] }), [true, true, false]),
        (json!({ "ac": ["read"] }), [true, true, true]),
        (
            json!({ "organization": ["update"], "ac": ["read"] }),
            [true, true, false],
        ),
        (json!({ "spaceship": ["fly"] }), [false, false, false]),
        (json!({ "organization": [] }), [false, false, false]),
        (json!({}), [false, false, false]),
    ];
    for (permissions, expected) in asks {
        for (who, allowed) in [&owner, &admin, &member].into_iter().zip(expected) {
            let body = expect_status(
                post(
                    &app,
                    &who.session,
                    "has-permission",
                    json!({ "permissions": permissions, "organizationId": org }),
                )
                .await,
                200,
            )
            .await;
            assert_eq!(
                body,
                json!({ "error": null, "success": allowed }),
                "{} asking {permissions}",
                who.email
            );
        }
    }
    // Better Auth's older field name works alone; both or neither is a 400.
    let old = post(
        &app,
        &admin.session,
        "has-permission",
        json!({ "permission": { "organization": ["update"] } }),
    )
    .await;
    assert_eq!(expect_status(old, 200).await["success"], true);
    for body in [
        json!({}),
        json!({ "permission": {}, "permissions": {} }),
        json!({ "permissions": { "member": "create" } }),
    ] {
        expect_error(
            post(&app, &owner.session, "has-permission", body).await,
            400,
        )
        .await;
    }
    let hidden = post(
        &app,
        &outsider.session,
        "has-permission",
        json!({ "permissions": { "ac": ["read"] }, "organizationId": org }),
    )
    .await;
    expect_error(hidden, 404).await;
}

#[tokio::test]
async fn organization_invitations_are_listed_for_managers_and_owner_invitations_for_owners() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let admin = join(&app, &owner, "Adam", "adam@example.com", "admin").await;
    let member = join(&app, &owner, "Mia", "mia@example.com", "member").await;
    let (outsider, _) = app.owner_of("Otto", "otto@example.com", "otto").await;
    let as_owner = invite(&app, &owner, "co-owner@example.com", "owner").await;
    let as_member = invite(&app, &admin, "new@example.com", "member").await;

    let listed = |body: Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .filter(|i| i["status"] == "pending")
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_owner = expect_status(get(&app, &owner.session, "list-invitations").await, 200).await;
    assert_eq!(listed(by_owner), [as_member.clone(), as_owner.clone()]);
    let by_admin = expect_status(
        get(
            &app,
            &admin.session,
            &format!("list-invitations?organizationId={org}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed(by_admin), std::slice::from_ref(&as_member));
    // get-full-organization shows an admin the same invitations.
    let full = expect_status(
        get(
            &app,
            &admin.session,
            &format!("get-full-organization?organizationId={org}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        listed(full["invitations"].clone()),
        std::slice::from_ref(&as_member)
    );
    assert_eq!(
        expect_error(get(&app, &member.session, "list-invitations").await, 403).await,
        "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS"
    );
    let hidden = get(
        &app,
        &outsider.session,
        &format!("list-invitations?organizationId={org}"),
    )
    .await;
    expect_error(hidden, 404).await;
}

#[tokio::test]
async fn an_invitee_sees_their_live_invitations_across_organizations_and_no_one_elses() {
    let app = spawn_app().await;
    let (olga, _) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let (otto, _) = app.owner_of("Otto", "otto@example.com", "otto").await;
    let first = invite(&app, &olga, "nina@example.com", "admin").await;
    let second = invite(&app, &otto, "nina@example.com", "member").await;
    let expired = {
        let (ida, _) = app.owner_of("Ida", "ida@example.com", "ida").await;
        let id = invite(&app, &ida, "nina@example.com", "member").await;
        expire(&app, &id).await;
        id
    };
    invite(&app, &olga, "someone@example.com", "member").await;

    let nina = app.sign_up("Nina", "nina@example.com").await;
    let unverified = get(&app, &nina.session, "list-user-invitations").await;
    assert_eq!(
        expect_error(unverified, 403).await,
        "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION"
    );
    let unverified = get(&app, &nina.session, &format!("get-invitation?id={first}")).await;
    assert_eq!(
        expect_error(unverified, 403).await,
        "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION"
    );
    app.verify_email("nina@example.com").await;

    let mine = expect_status(get(&app, &nina.session, "list-user-invitations").await, 200).await;
    let mine = mine.as_array().unwrap();
    let ids: Vec<&str> = mine.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [second.as_str(), first.as_str()],
        "newest first, live only"
    );
    assert_eq!(mine[0]["organizationName"], "Otto's org");
    assert_eq!(mine[1]["organizationName"], "Olga's org");
    assert!(mine.iter().all(|i| i["email"] == "nina@example.com"));
    let spoofed = get(
        &app,
        &nina.session,
        "list-user-invitations?email=someone@example.com",
    )
    .await;
    expect_error(spoofed, 400).await;

    let view = expect_status(
        get(&app, &nina.session, &format!("get-invitation?id={first}")).await,
        200,
    )
    .await;
    assert_eq!(view["id"], first);
    assert_eq!(view["role"], "admin");
    assert_eq!(view["organizationName"], "Olga's org");
    assert_eq!(view["organizationSlug"], "olga");
    assert_eq!(view["inviterEmail"], "olga@example.com");
    let someone = verified(&app, "Sam", "sam@example.com").await;
    let someone_elses = get(
        &app,
        &someone.session,
        &format!("get-invitation?id={first}"),
    )
    .await;
    expect_error(someone_elses, 404).await;
    let stale = get(&app, &nina.session, &format!("get-invitation?id={expired}")).await;
    assert_eq!(expect_error(stale, 400).await, "INVITATION_NOT_PENDING");
    let stale = post(
        &app,
        &nina.session,
        "accept-invitation",
        json!({ "invitationId": expired }),
    )
    .await;
    assert_eq!(expect_error(stale, 400).await, "INVITATION_NOT_PENDING");
    // Better Auth's default validity: 48 hours from sending.
    let at =
        |field: &str| chrono::DateTime::parse_from_rfc3339(view[field].as_str().unwrap()).unwrap();
    let validity = at("expiresAt") - at("createdAt");
    assert!(
        (validity - chrono::Duration::hours(48)).num_seconds().abs() < 60,
        "{validity}"
    );
    for query in ["", "?id=", "?id=not-a-uuid"] {
        let response = get(&app, &nina.session, &format!("get-invitation{query}")).await;
        let body = expect_status(response, 400).await;
        assert!(
            body["message"].as_str().unwrap().starts_with("invalid id:"),
            "{query}: {body}"
        );
    }
    let unknown = get(
        &app,
        &nina.session,
        &format!("get-invitation?id={}", Uuid::new_v4()),
    )
    .await;
    expect_error(unknown, 404).await;
}

#[tokio::test]
async fn the_invitee_rejects_and_managers_cancel_each_invitation_once() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let admin = join(&app, &owner, "Adam", "adam@example.com", "admin").await;
    let member = join(&app, &owner, "Mia", "mia@example.com", "member").await;
    let (outsider, _) = app.owner_of("Otto", "otto@example.com", "otto").await;
    let to_nina = invite(&app, &owner, "nina@example.com", "member").await;
    let to_paul = invite(&app, &owner, "paul@example.com", "member").await;
    let stale = invite(&app, &owner, "stale@example.com", "member").await;
    expire(&app, &stale).await;
    let nina = verified(&app, "Nina", "nina@example.com").await;
    let stale_invitee = verified(&app, "Stale", "stale@example.com").await;

    let not_hers = post(
        &app,
        &nina.session,
        "reject-invitation",
        json!({ "invitationId": to_paul }),
    )
    .await;
    expect_error(not_hers, 404).await;
    let too_late = post(
        &app,
        &stale_invitee.session,
        "reject-invitation",
        json!({ "invitationId": stale }),
    )
    .await;
    assert_eq!(expect_error(too_late, 400).await, "INVITATION_NOT_PENDING");
    let rejected = expect_status(
        post(
            &app,
            &nina.session,
            "reject-invitation",
            json!({ "invitationId": to_nina }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rejected["invitation"]["id"], to_nina);
    assert_eq!(rejected["invitation"]["status"], "rejected");
    assert_eq!(rejected["member"], Value::Null);
    assert_eq!(invitation_status(&app, &to_nina).await, "rejected");
    let twice = post(
        &app,
        &nina.session,
        "reject-invitation",
        json!({ "invitationId": to_nina }),
    )
    .await;
    assert_eq!(expect_error(twice, 400).await, "INVITATION_NOT_PENDING");
    let accept = post(
        &app,
        &nina.session,
        "accept-invitation",
        json!({ "invitationId": to_nina }),
    )
    .await;
    assert_eq!(expect_error(accept, 400).await, "INVITATION_NOT_PENDING");
    assert_eq!(
        count(
            &app,
            "select count(*) from member where organization_id = $1",
            &org
        )
        .await,
        3
    );

    let by_member = post(
        &app,
        &member.session,
        "cancel-invitation",
        json!({ "invitationId": to_paul }),
    )
    .await;
    assert_eq!(
        expect_error(by_member, 403).await,
        "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION"
    );
    let by_outsider = post(
        &app,
        &outsider.session,
        "cancel-invitation",
        json!({ "invitationId": to_paul }),
    )
    .await;
    expect_error(by_outsider, 404).await;
    assert_eq!(invitation_status(&app, &to_paul).await, "pending");
    let canceled = expect_status(
        post(
            &app,
            &admin.session,
            "cancel-invitation",
            json!({ "invitationId": to_paul }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(invitation_status(&app, &to_paul).await, "canceled");
    let twice = post(
        &app,
        &owner.session,
        "cancel-invitation",
        json!({ "invitationId": to_paul }),
    )
    .await;
    assert_eq!(expect_error(twice, 400).await, "INVITATION_NOT_PENDING");
    let paul = verified(&app, "Paul", "paul@example.com").await;
    let accept = post(
        &app,
        &paul.session,
        "accept-invitation",
        json!({ "invitationId": to_paul }),
    )
    .await;
    assert_eq!(expect_error(accept, 400).await, "INVITATION_NOT_PENDING");

    for path in ["cancel-invitation", "reject-invitation"] {
        for body in [json!({}), json!({ "invitationId": "nope" })] {
            let response = post(&app, &owner.session, path, body.clone()).await;
            expect_error(response, 400).await;
        }
        let unknown = post(
            &app,
            &nina.session,
            path,
            json!({ "invitationId": Uuid::new_v4() }),
        )
        .await;
        expect_error(unknown, 404).await;
    }
}

#[tokio::test]
async fn a_reinvite_is_refused_unless_cancel_pending_invitations_on_reinvite_is_on() {
    let app = spawn_app().await;
    let (owner, _) = app.owner_of("Olga", "olga@example.com", "olga").await;
    invite(&app, &owner, "nina@example.com", "member").await;
    let again = post(
        &app,
        &owner.session,
        "invite-member",
        json!({ "email": "nina@example.com", "role": "admin" }),
    )
    .await;
    assert_eq!(expect_error(again, 409).await, "USER_IS_ALREADY_INVITED");

    let mut settings = AuthSettings::new(common::SECRET.to_vec());
    settings.cancel_pending_invitations_on_reinvite = true;
    let app = spawn_app_with(tenantry_testkit::TestDb::new().await, settings).await;
    let (owner, _) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let first = invite(&app, &owner, "nina@example.com", "member").await;
    let second = invite(&app, &owner, "nina@example.com", "admin").await;
    assert_ne!(first, second);
    assert_eq!(invitation_status(&app, &first).await, "canceled");
    assert_eq!(invitation_status(&app, &second).await, "pending");
    let nina = verified(&app, "Nina", "nina@example.com").await;
    let old = post(
        &app,
        &nina.session,
        "accept-invitation",
        json!({ "invitationId": first }),
    )
    .await;
    assert_eq!(expect_error(old, 400).await, "INVITATION_NOT_PENDING");
    let new = post(
        &app,
        &nina.session,
        "accept-invitation",
        json!({ "invitationId": second }),
    )
    .await;
    assert_eq!(expect_status(new, 200).await["member"]["role"], "admin");
}

#[tokio::test]
async fn organization_membership_and_invitation_limits_hold_even_under_concurrency() {
    let mut settings = AuthSettings::new(common::SECRET.to_vec());
    settings.organization_limit = Some(1);
    settings.membership_limit = 2;
    settings.invitation_limit = 3;
    let app = spawn_app_with(tenantry_testkit::TestDb::new().await, settings).await;
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;

    let second = app
        .post(
            "/api/auth/organization/create",
            &owner.session,
            json!({ "name": "Second", "slug": "second" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_error(second, 403).await,
        "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS"
    );

    let to_a = invite(&app, &owner, "a@example.com", "member").await;
    let to_b = invite(&app, &owner, "b@example.com", "member").await;
    let to_c = invite(&app, &owner, "c@example.com", "member").await;
    let fourth = post(
        &app,
        &owner.session,
        "invite-member",
        json!({ "email": "d@example.com", "role": "member" }),
    )
    .await;
    assert_eq!(expect_error(fourth, 403).await, "INVITATION_LIMIT_REACHED");
    // An expired invitation no longer counts against the limit.
    expire(&app, &to_c).await;
    invite(&app, &owner, "d@example.com", "member").await;

    // Two invitees race for the one free place: exactly one gets it.
    let a = verified(&app, "A", "a@example.com").await;
    let b = verified(&app, "B", "b@example.com").await;
    let (ra, rb) = tokio::join!(
        post(
            &app,
            &a.session,
            "accept-invitation",
            json!({ "invitationId": to_a })
        ),
        post(
            &app,
            &b.session,
            "accept-invitation",
            json!({ "invitationId": to_b })
        ),
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 403]);
    let refused = if ra.status() == 403 { ra } else { rb };
    assert_eq!(
        expect_error(refused, 403).await,
        "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from member where organization_id = $1",
            &org
        )
        .await,
        2
    );
    let pending = count(
        &app,
        "select count(*) from invitation where organization_id = $1 and status = 'pending'
         and email in ('a@example.com', 'b@example.com')",
        &org,
    )
    .await;
    assert_eq!(pending, 1, "the refused invitation stays pending");
}

#[tokio::test]
async fn deleting_an_account_needs_its_password_and_never_orphans_an_organization() {
    let app = spawn_app().await;
    let (user, alone) = app.owner_of("Ursula", "ursula@example.com", "ursula").await;
    app.create_project(&user.session, "Solo").await;
    record_usage(&app, &alone).await;
    let pat = app.create_pat(&user.session, "cli").await;
    invite(&app, &user, "someday@example.com", "member").await;
    // Ursula is the only owner of a shared organization...
    let shared = {
        let response = app
            .post(
                "/api/auth/organization/create",
                &user.session,
                json!({ "name": "Shared", "slug": "shared" }),
            )
            .send()
            .await
            .unwrap();
        let org = expect_status(response, 200).await;
        org["id"].as_str().unwrap().to_owned()
    };
    let colleague = join(&app, &user, "Carl", "carl@example.com", "member").await;
    // ...and a member of someone else's.
    let (vera, hers) = app.owner_of("Vera", "vera@example.com", "vera").await;
    let invitation = invite(&app, &vera, "ursula@example.com", "admin").await;
    app.verify_email("ursula@example.com").await;
    expect_status(
        post(
            &app,
            &user.session,
            "accept-invitation",
            json!({ "invitationId": invitation }),
        )
        .await,
        200,
    )
    .await;
    // A reset link is out when the account goes: it must go with it.
    let reset = app
        .http
        .post(app.url("/api/auth/request-password-reset"))
        .json(&json!({ "email": user.email }))
        .send()
        .await
        .unwrap();
    expect_status(reset, 200).await;
    app.next_mail_token(&user.email, "Reset", 0).await;
    let delete = |who: &str, body: Value| app.post("/api/auth/delete-user", who, body).send();

    let wrong = delete(&user.session, json!({ "password": "not it" }))
        .await
        .unwrap();
    assert_eq!(expect_error(wrong, 400).await, "INVALID_PASSWORD");
    let missing = delete(&user.session, json!({})).await.unwrap();
    let body = expect_status(missing, 400).await;
    assert!(body["message"].as_str().unwrap().contains("password"));
    // A token is refused before its password is checked, right or wrong:
    // otherwise the answers would tell a token holder when a guess is right.
    for password in ["correct horse battery", "a wrong guess"] {
        let by_token = delete(&pat, json!({ "password": password })).await.unwrap();
        assert_eq!(expect_error(by_token, 403).await, "SESSION_REQUIRED");
    }
    let orphaning = delete(
        &user.session,
        json!({ "password": "correct horse battery" }),
    )
    .await
    .unwrap();
    assert_eq!(
        expect_error(orphaning, 400).await,
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from \"user\" where id = $1",
            &user.id
        )
        .await,
        1,
        "a refused deletion deleted the user"
    );
    assert!(tenant_rows(&app, &alone).await.iter().all(|&(_, n)| n > 0));

    // Once Carl is an owner too, Ursula may go.
    let carl_member = count(
        &app,
        "select count(*) from member where organization_id = $1 and role = 'member'",
        &shared,
    )
    .await;
    assert_eq!(carl_member, 1);
    let owner = app.test.owner().await;
    owner
        .execute(
            "update member set role = 'owner' where user_id = $1",
            &[&Uuid::parse_str(&colleague.id).unwrap()],
        )
        .await
        .unwrap();
    let deleted = delete(
        &user.session,
        json!({ "password": "correct horse battery" }),
    )
    .await
    .unwrap();
    assert_eq!(
        expect_status(deleted, 200).await,
        json!({ "success": true, "message": "User deleted" })
    );

    assert_eq!(
        count(
            &app,
            "select count(*) from \"user\" where id = $1",
            &user.id
        )
        .await,
        0
    );
    let left = tenant_rows(&app, &alone).await;
    assert!(left.iter().all(|&(_, n)| n == 0), "left behind: {left:?}");
    for (org, members) in [(&shared, 1), (&hers, 1)] {
        assert_eq!(
            count(&app, "select count(*) from organization where id = $1", org).await,
            1
        );
        assert_eq!(
            count(
                &app,
                "select count(*) from member where organization_id = $1",
                org
            )
            .await,
            members
        );
    }
    // Her audit entries elsewhere stay, without her name.
    let unnamed = count(
        &app,
        "select count(*) from audit_log where organization_id = $1 and actor_user_id is null",
        &hers,
    )
    .await;
    assert!(unnamed > 0, "her acceptance's audit entry is gone");
    for table in ["session", "account", "personal_access_token"] {
        let sql = format!("select count(*) from {table} where user_id = $1");
        assert_eq!(count(&app, &sql, &user.id).await, 0, "{table}");
    }
    let links = count(
        &app,
        "select count(*) from verification where value = $1::uuid::text",
        &user.id,
    )
    .await;
    assert_eq!(links, 0, "a mailed link outlived the account");
    expect_error(app.get("/api/tokens", &pat).send().await.unwrap(), 401).await;
    expect_error(
        app.get("/api/auth/organization/list", &user.session)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let sign_in = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({ "email": user.email, "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    expect_error(sign_in, 401).await;
}

#[tokio::test]
async fn delete_user_is_not_served_when_disabled() {
    let mut settings = AuthSettings::new(common::SECRET.to_vec());
    settings.delete_user_enabled = false;
    let app = spawn_app_with(tenantry_testkit::TestDb::new().await, settings).await;
    let user = app.sign_up("Ursula", "ursula@example.com").await;
    let response = app
        .post(
            "/api/auth/delete-user",
            &user.session,
            json!({ "password": "correct horse battery" }),
        )
        .send()
        .await
        .unwrap();
    expect_error(response, 404).await;
    assert_eq!(
        count(
            &app,
            "select count(*) from \"user\" where id = $1",
            &user.id
        )
        .await,
        1
    );
}

/// Spawn `request` and check that it is still waiting after a while: held
/// up by the lock the caller holds.
async fn blocked(request: reqwest::RequestBuilder) -> tokio::task::JoinHandle<Response> {
    let mut handle = tokio::spawn(async move { request.send().await.unwrap() });
    let waited = tokio::time::timeout(std::time::Duration::from_millis(400), &mut handle).await;
    assert!(waited.is_err(), "the request did not wait for the lock");
    handle
}

/// Each limit is counted only once the lock that orders its writers is
/// held: a writer that committed meanwhile (here, the owner connection
/// holding that lock, as a concurrent request would) is counted, so two
/// concurrent requests cannot both take the last place.
#[tokio::test]
async fn limits_are_counted_under_a_lock_that_orders_concurrent_writers() {
    let mut settings = AuthSettings::new(common::SECRET.to_vec());
    settings.organization_limit = Some(1);
    settings.membership_limit = 2;
    settings.invitation_limit = 1;
    let app = spawn_app_with(tenantry_testkit::TestDb::new().await, settings).await;
    let owner_db = app.test.owner().await;

    // organizationLimit: the creator's advisory lock.
    let racer = app.sign_up("Rita", "rita@example.com").await;
    let racer_id = Uuid::parse_str(&racer.id).unwrap();
    owner_db.batch_execute("begin").await.unwrap();
    owner_db
        .execute(
            "select pg_advisory_xact_lock(hashtextextended('organization-limit:' || $1::uuid::text, 0))",
            &[&racer_id],
        )
        .await
        .unwrap();
    let create = blocked(app.post(
        "/api/auth/organization/create",
        &racer.session,
        json!({ "name": "Mine", "slug": "mine" }),
    ))
    .await;
    let other: Uuid = owner_db
        .query_one(
            "insert into organization (id, name, slug) values (gen_random_uuid(), 'Other', 'other')
             returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    owner_db
        .execute(
            "insert into member (organization_id, user_id, role) values ($1, $2, 'owner')",
            &[&other, &racer_id],
        )
        .await
        .unwrap();
    owner_db.batch_execute("commit").await.unwrap();
    assert_eq!(
        expect_error(create.await.unwrap(), 403).await,
        "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS"
    );

    // membershipLimit and invitationLimit: the organization's row.
    let (owner, org) = app.owner_of("Olga", "olga@example.com", "olga").await;
    let org_id = Uuid::parse_str(&org).unwrap();
    let to_a = invite(&app, &owner, "a@example.com", "member").await;
    let a = verified(&app, "A", "a@example.com").await;
    let b = app.sign_up("B", "b@example.com").await;
    owner_db.batch_execute("begin").await.unwrap();
    owner_db
        .execute(
            "select 1 from organization where id = $1 for no key update",
            &[&org_id],
        )
        .await
        .unwrap();
    let accept = blocked(app.post(
        "/api/auth/organization/accept-invitation",
        &a.session,
        json!({ "invitationId": to_a }),
    ))
    .await;
    owner_db
        .execute(
            "insert into member (organization_id, user_id, role) values ($1, $2, 'member')",
            &[&org_id, &Uuid::parse_str(&b.id).unwrap()],
        )
        .await
        .unwrap();
    owner_db.batch_execute("commit").await.unwrap();
    assert_eq!(
        expect_error(accept.await.unwrap(), 403).await,
        "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED"
    );
    assert_eq!(invitation_status(&app, &to_a).await, "pending");

    // The one pending invitation allowed is taken; cancel it, then race.
    let response = post(
        &app,
        &owner.session,
        "cancel-invitation",
        json!({ "invitationId": to_a }),
    )
    .await;
    expect_status(response, 200).await;
    owner_db.batch_execute("begin").await.unwrap();
    owner_db
        .execute(
            "select 1 from organization where id = $1 for no key update",
            &[&org_id],
        )
        .await
        .unwrap();
    let invitation = blocked(app.post(
        "/api/auth/organization/invite-member",
        &owner.session,
        json!({ "email": "c@example.com", "role": "member" }),
    ))
    .await;
    owner_db
        .execute(
            "insert into invitation (organization_id, email, role, expires_at, inviter_id)
             values ($1, 'd@example.com', 'member', now() + interval '1 day', $2)",
            &[&org_id, &Uuid::parse_str(&owner.id).unwrap()],
        )
        .await
        .unwrap();
    owner_db.batch_execute("commit").await.unwrap();
    assert_eq!(
        expect_error(invitation.await.unwrap(), 403).await,
        "INVITATION_LIMIT_REACHED"
    );
}

/// Deleting an account locks the organizations it decides about before
/// counting their members: someone joining meanwhile is counted, so an
/// organization that just gained a member is not deleted with its owner.
#[tokio::test]
async fn a_member_joining_during_an_account_deletion_is_counted() {
    let app = spawn_app().await;
    let (user, org) = app.owner_of("Ursula", "ursula@example.com", "ursula").await;
    let carl = app.sign_up("Carl", "carl@example.com").await;
    let owner_db = app.test.owner().await;
    owner_db.batch_execute("begin").await.unwrap();
    owner_db
        .execute(
            "insert into member (organization_id, user_id, role) values ($1, $2, 'member')",
            &[
                &Uuid::parse_str(&org).unwrap(),
                &Uuid::parse_str(&carl.id).unwrap(),
            ],
        )
        .await
        .unwrap();
    let deletion = blocked(app.post(
        "/api/auth/delete-user",
        &user.session,
        json!({ "password": "correct horse battery" }),
    ))
    .await;
    owner_db.batch_execute("commit").await.unwrap();
    assert_eq!(
        expect_error(deletion.await.unwrap(), 400).await,
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from member where organization_id = $1",
            &org
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from \"user\" where id = $1",
            &user.id
        )
        .await,
        1
    );
}
