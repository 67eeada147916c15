//! The protocol versions the server speaks, each with rmcp's own client over
//! streamable HTTP: 2026-07-28 (`server/discover`, no sessions; the
//! organization comes with each request) beside 2025-11-25 and 2025-06-18
//! (`initialize`, sessions, `switch_organization`).
//!
//! On 2026-07-28 the organization is the `organization` argument's, else the
//! `X-Organization-Id` header's, else the default; both are checked against
//! membership. On the older versions the session's `switch_organization`
//! choice comes between the argument and the header. An application's tool
//! takes the same argument without declaring it.

mod common;

use std::time::Duration;

use common::client::{Client, discover, initialize, ok, refused, transport};
use common::{Server, start_with};
use rmcp::model::ProtocolVersion;
use serde::Deserialize;
use serde_json::{Value, json};
use tenantry_app::{Actor, App, AppError, Membership};
use tenantry_db::seed::demo;
use tenantry_mcp::schemars::{self, JsonSchema};
use tenantry_server::{Extension, OrganizationTool, Tools};

/// One test, server start included, stays within this.
const BUDGET: Duration = Duration::from_secs(40);

/// Arguments of the application's tool: none of them names an organization.
#[derive(Deserialize, JsonSchema)]
struct Echo {
    /// Said back.
    text: String,
}

/// An application's tool: where it acted.
async fn echo(_app: App, actor: Actor<Membership>, args: Echo) -> Result<Value, AppError> {
    Ok(json!({ "text": args.text, "organizationId": actor.membership().organization_id() }))
}

async fn server() -> (tenantry_testkit::TestDb, Server) {
    start_with(|settings| {
        settings.extension(Extension {
            mcp_tools: Tools::new().with(OrganizationTool::new(
                "app_echo",
                "Say it back, from the organization it runs in.",
                echo,
            )),
            ..Extension::default()
        })
    })
    .await
}

/// rmcp's client as Alice on 2026-07-28, with the header if given.
async fn current(server: &Server, organization: Option<uuid::Uuid>) -> Client {
    discover(transport(&server.url, &server.token, organization)).await
}

/// rmcp's client as Alice on `version`, with a session.
async fn legacy(
    server: &Server,
    version: ProtocolVersion,
    organization: Option<uuid::Uuid>,
) -> Client {
    initialize(transport(&server.url, &server.token, organization), version).await
}

fn negotiated(client: &Client) -> String {
    client
        .peer_info()
        .expect("the server's answer")
        .protocol_version
        .to_string()
}

async fn slug(client: &Client, arguments: Value) -> String {
    ok(client, "whoami", arguments).await["organization"]["slug"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn tool_names(client: &Client) -> Vec<String> {
    client
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect()
}

async fn run(test: impl AsyncFnOnce(&Server)) {
    tokio::time::timeout(BUDGET, async {
        let (_test, server) = server().await;
        test(&server).await;
    })
    .await
    .expect("the test took too long");
}

#[tokio::test]
async fn the_current_protocol_is_served_without_sessions_and_the_organization_comes_per_request() {
    run(async |server: &Server| {
        let client = current(server, None).await;
        assert_eq!(negotiated(&client), "2026-07-28");

        let names = tool_names(&client).await;
        assert!(
            !names.iter().any(|n| n == "switch_organization"),
            "no session for switch_organization to last in: {names:?}"
        );
        assert!(names.iter().any(|n| n == "app_echo"), "{names:?}");
        let tools = client.list_all_tools().await.unwrap();
        for tool in &tools {
            let has = tool.input_schema["properties"]
                .get("organization")
                .is_some();
            assert_eq!(
                has,
                tool.name != "list_organizations",
                "{}: {:?}",
                tool.name,
                tool.input_schema
            );
        }

        assert_eq!(slug(&client, json!({})).await, "acme", "the default");
        assert_eq!(
            slug(&client, json!({"organization": demo::GLOBEX})).await,
            "globex"
        );
        // Nothing a call chose outlasts it.
        assert_eq!(slug(&client, json!({})).await, "acme");
        let created = ok(
            &client,
            "create_project",
            json!({"name": "Per request", "organization": demo::GLOBEX}),
        )
        .await;
        assert_eq!(created["organizationId"], json!(demo::GLOBEX), "{created}");
        let echoed = ok(
            &client,
            "app_echo",
            json!({"text": "hi", "organization": demo::GLOBEX}),
        )
        .await;
        assert_eq!(
            echoed,
            json!({"text": "hi", "organizationId": demo::GLOBEX})
        );

        refused(
            &client,
            "whoami",
            json!({"organization": demo::INITECH}),
            "not a member of that organization",
        )
        .await;
        refused(
            &client,
            "app_echo",
            json!({"text": "hi", "organization": demo::INITECH}),
            "not a member of that organization",
        )
        .await;
        refused(
            &client,
            "list_projects",
            json!({"organization": "acme"}),
            "organization must be",
        )
        .await;
        refused(
            &client,
            "list_projects",
            json!({"organization": 7}),
            "organization must be",
        )
        .await;
        // Called anyway, it says what to do instead, and changes nothing.
        refused(
            &client,
            "switch_organization",
            json!({"organizationId": demo::GLOBEX}),
            "X-Organization-Id",
        )
        .await;
        assert_eq!(slug(&client, json!({})).await, "acme");
        client.cancel().await.unwrap();

        // The header picks the organization; the argument beats it.
        let in_globex = current(server, Some(demo::GLOBEX)).await;
        assert_eq!(slug(&in_globex, json!({})).await, "globex");
        assert_eq!(
            slug(&in_globex, json!({"organization": demo::ACME})).await,
            "acme"
        );
        in_globex.cancel().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn the_older_protocols_keep_sessions_and_switch_organization() {
    run(async |server: &Server| {
        for version in [ProtocolVersion::V_2025_11_25, ProtocolVersion::V_2025_06_18] {
            let client = legacy(server, version.clone(), Some(demo::GLOBEX)).await;
            assert_eq!(negotiated(&client), version.to_string());
            let names = tool_names(&client).await;
            assert!(
                names.iter().any(|n| n == "switch_organization"),
                "{version}: {names:?}"
            );
            assert_eq!(slug(&client, json!({})).await, "globex", "the header");
            ok(
                &client,
                "switch_organization",
                json!({"organizationId": demo::ACME}),
            )
            .await;
            assert_eq!(
                slug(&client, json!({})).await,
                "acme",
                "{version}: the session's choice beats the header"
            );
            assert_eq!(
                slug(&client, json!({"organization": demo::GLOBEX})).await,
                "globex",
                "{version}: the argument beats the session's choice"
            );
            assert_eq!(
                slug(&client, json!({})).await,
                "acme",
                "{version}: for that call only"
            );
            refused(
                &client,
                "app_echo",
                json!({"text": "x", "organization": "nope"}),
                "organization must be",
            )
            .await;
            client.cancel().await.unwrap();
        }
    })
    .await;
}
