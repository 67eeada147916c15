//! Scoped personal access tokens through a real MCP client (rmcp's), on the
//! current protocol and on 2025-11-25.
//!
//! A read-only token is listed no tool that writes, and calling one anyway is
//! a tool error naming the missing `write` scope. The database refuses even
//! where a tool forgot to check: an application tool declared read-only that
//! inserts a project through `with_tenant_context` is answered with the same
//! tool error, and the owner connection sees no row. A token bound to one
//! organization acts there by default and nowhere else, named by argument,
//! header or `switch_organization`, even where its user is a member.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::client::{Client, discover, initialize, ok, refused, transport};
use common::{Server, start_with};
use reqwest::StatusCode;
use rmcp::model::ProtocolVersion;
use serde::Deserialize;
use serde_json::{Value, json};
use tenantry_app::{Actor, App, AppError, Membership};
use tenantry_db::pats::{self, NewPat};
use tenantry_db::prelude::*;
use tenantry_db::seed::demo;
use tenantry_db::{Database, OrganizationId, UserId, with_tenant_context};
use tenantry_domain::Scopes;
use tenantry_mcp::schemars::{self, JsonSchema};
use tenantry_server::{Extension, OrganizationTool, Tools};
use tenantry_testkit::TestDb;

const BUDGET: Duration = Duration::from_secs(40);

/// The tools that only read, tenantry's and the application's.
const READS: [&str; 9] = [
    "whoami",
    "list_organizations",
    "switch_organization",
    "list_projects",
    "get_project",
    "usage_report",
    "list_members",
    "recent_audit_log",
    "app_sneaky_write",
];

/// Arguments of the application's tool.
#[derive(Deserialize, JsonSchema)]
struct Named {
    /// The project's name.
    name: String,
}

/// Declared read-only, and yet it writes, without checking the scope: the
/// database is what refuses it to a read-only token.
async fn sneaky_write(app: App, actor: Actor<Membership>, args: Named) -> Result<Value, AppError> {
    with_tenant_context(app.database(), actor.tenant(), async |tx| {
        tx.query_one(
            "insert into project (name) values ($1) returning id",
            &[&args.name],
        )
        .await?;
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(json!({ "inserted": args.name }))
}

async fn server() -> (TestDb, Server) {
    start_with(|settings| {
        settings.extension(Extension {
            mcp_tools: Tools::new()
                .with(
                    OrganizationTool::new(
                        "app_sneaky_write",
                        "Declared read-only; writes anyway.",
                        sneaky_write,
                    )
                    .read_only(),
                )
                // Not declared read-only: counted as a write.
                .with(OrganizationTool::new(
                    "app_undeclared",
                    "Writes, by default.",
                    sneaky_write,
                )),
            ..Extension::default()
        })
    })
    .await
}

/// A token of `user` with `scopes`, bound to `organization` if given.
async fn scoped_pat(
    db: &Database,
    user: uuid::Uuid,
    scopes: Scopes,
    organization: Option<uuid::Uuid>,
) -> String {
    let minted = tenantry_auth::pat::mint_pat();
    pats::create_pat(
        db,
        NewPat {
            user_id: UserId::from_uuid(user),
            name: &tenantry_db::BoundedName::parse("name", "scoped", 100).unwrap(),
            token_prefix: &minted.lookup_prefix,
            token_hash: &minted.hash,
            expires_at: None,
            scopes,
            organization_id: organization.map(OrganizationId::from_uuid),
        },
    )
    .await
    .unwrap();
    minted.token
}

/// rmcp's client as the owner of `token`, on 2026-07-28 (`current`) or 2025-11-25.
async fn connect(server: &Server, token: &str, current: bool) -> Client {
    let config = transport(&server.url, token, None);
    if current {
        discover(config).await
    } else {
        initialize(config, ProtocolVersion::V_2025_11_25).await
    }
}

async fn listed(client: &Client) -> BTreeSet<String> {
    client
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect()
}

async fn projects_named(test: &TestDb, name: &str) -> i64 {
    test.owner()
        .await
        .query_one("select count(*) from project where name = $1", &[&name])
        .await
        .unwrap()
        .get(0)
}

async fn run(test: impl AsyncFnOnce(&TestDb, &Server)) {
    tokio::time::timeout(BUDGET, async {
        let (db, server) = server().await;
        test(&db, &server).await;
    })
    .await
    .expect("the test took too long");
}

#[tokio::test]
async fn a_read_only_token_sees_no_write_tools_and_the_database_refuses_what_a_tool_forgot() {
    run(async |test: &TestDb, server: &Server| {
        let reader = scoped_pat(&test.db, demo::ALICE, Scopes::READ_ONLY, None).await;
        for current in [true, false] {
            let client = connect(server, &reader, current).await;
            let mut expected: BTreeSet<String> = READS.iter().map(|s| s.to_string()).collect();
            if current {
                expected.remove("switch_organization");
            }
            assert_eq!(
                listed(&client).await,
                expected,
                "current protocol: {current}"
            );

            let me = ok(&client, "whoami", json!({})).await;
            assert_eq!(
                me["token"],
                json!({"scopes": ["read"], "organizationId": null}),
                "{me}"
            );
            ok(&client, "list_projects", json!({})).await;
            refused(
                &client,
                "create_project",
                json!({"name": "Not allowed"}),
                "write scope",
            )
            .await;
            refused(
                &client,
                "record_usage",
                json!({"model": "gpt-4o", "inputTokens": 1, "outputTokens": 1}),
                "write scope",
            )
            .await;
            assert_eq!(projects_named(test, "Not allowed").await, 0);

            refused(
                &client,
                "app_undeclared",
                json!({"name": "Undeclared"}),
                "write scope",
            )
            .await;
            assert_eq!(projects_named(test, "Undeclared").await, 0);

            let name = format!("Sneaked in ({current})");
            refused(
                &client,
                "app_sneaky_write",
                json!({"name": name}),
                "write scope",
            )
            .await;
            assert_eq!(
                projects_named(test, &name).await,
                0,
                "PostgreSQL refused the write the tool did not check"
            );
            client.cancel().await.unwrap();
        }

        // The same tool writes with a full token: the probe is a real one.
        let writer = connect(server, &server.token, true).await;
        let me = ok(&writer, "whoami", json!({})).await;
        assert_eq!(me["token"]["scopes"], json!(["read", "write"]), "{me}");
        let all = listed(&writer).await;
        assert!(
            all.contains("create_project") && all.contains("app_undeclared"),
            "{all:?}"
        );
        ok(&writer, "app_sneaky_write", json!({"name": "Written"})).await;
        assert_eq!(projects_named(test, "Written").await, 1);
        writer.cancel().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_bound_token_acts_only_in_its_organization_even_where_its_user_is_a_member() {
    run(async |test: &TestDb, server: &Server| {
        // Alice owns Acme (her default) and is a member of Globex.
        let bound = scoped_pat(&test.db, demo::ALICE, Scopes::ALL, Some(demo::GLOBEX)).await;
        for current in [true, false] {
            let client = connect(server, &bound, current).await;
            let me = ok(&client, "whoami", json!({})).await;
            assert_eq!(me["organization"]["slug"], "globex", "its default: {me}");
            assert_eq!(me["token"]["organizationId"], json!(demo::GLOBEX), "{me}");
            let orgs = ok(&client, "list_organizations", json!({})).await;
            let slugs: Vec<&str> = orgs["organizations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["slug"].as_str().unwrap())
                .collect();
            assert_eq!(slugs, ["globex"], "{orgs}");
            refused(
                &client,
                "whoami",
                json!({"organization": demo::ACME}),
                "bound to organization",
            )
            .await;
            refused(
                &client,
                "create_project",
                json!({"name": "Bound elsewhere", "organization": demo::ACME}),
                "bound to organization",
            )
            .await;
            if !current {
                refused(
                    &client,
                    "switch_organization",
                    json!({"organizationId": demo::ACME}),
                    "bound to organization",
                )
                .await;
                let me = ok(&client, "whoami", json!({})).await;
                assert_eq!(me["organization"]["slug"], "globex", "{me}");
            }
            let created = ok(
                &client,
                "create_project",
                json!({"name": format!("Bound {current}")}),
            )
            .await;
            assert_eq!(created["organizationId"], json!(demo::GLOBEX), "{created}");
            client.cancel().await.unwrap();
        }
        assert_eq!(projects_named(test, "Bound elsewhere").await, 0);

        // Named by header: refused before any MCP message is read.
        let answer = server
            .http
            .post(&server.url)
            .bearer_auth(&bound)
            .header("accept", common::ACCEPT)
            .header("content-type", "application/json")
            .header("x-organization-id", demo::ACME.to_string())
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}}})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    })
    .await;
}
