//! The help desk's MCP tools through rmcp's own client, beside tenantry's,
//! with a PAT: they act in the caller's organization, and bad arguments and
//! other organizations' tickets are tool errors.

mod common;

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

type Client = RunningService<RoleClient, ClientConfig>;

async fn connect(desk: &common::Helpdesk, token: &str) -> Client {
    let url = desk.server.mcp_url();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(token),
    );
    ClientConfig::default()
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
        .serve(transport)
        .await
        .expect("rmcp's client connects with a PAT")
}

async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .expect("a tool answer, not a protocol error")
}

fn ok(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    result
        .structured_content
        .clone()
        .expect("structured content")
}

fn error_text(result: &CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    format!("{:?}", result.content)
}

#[tokio::test]
async fn an_agent_works_on_its_organizations_tickets_and_no_one_elses() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let desk = common::start().await;
        let acme = desk.customer("acme").await;
        let globex = desk.customer("globex").await;
        let theirs = desk.open_ticket(&globex.pat, "Globex only").await;

        let agent = connect(&desk, &acme.pat).await;
        let tools: Vec<String> = agent
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.into_owned())
            .collect();
        for tool in [
            "list_tickets",
            "create_ticket",
            "comment_on_ticket",
            "whoami",
            "list_projects",
        ] {
            assert!(tools.iter().any(|t| t == tool), "{tool} not in {tools:?}");
        }

        let ticket = ok(&call(
            &agent,
            "create_ticket",
            json!({ "subject": "VPN down", "body": "Since 9am" }),
        )
        .await);
        assert_eq!(ticket["organizationId"], acme.organization_id.as_str());
        let id = ticket["id"].as_str().unwrap();
        let comment = ok(&call(
            &agent,
            "comment_on_ticket",
            json!({ "ticket_id": id, "body": "Rebooted" }),
        )
        .await);
        assert_eq!(comment["ticketId"], id);

        let listed = ok(&call(&agent, "list_tickets", json!({})).await);
        let subjects: Vec<&str> = listed["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap())
            .collect();
        assert_eq!(subjects, ["VPN down"], "only Acme's tickets");

        let foreign = call(
            &agent,
            "comment_on_ticket",
            json!({ "ticket_id": theirs, "body": "sneaky" }),
        )
        .await;
        assert!(error_text(&foreign).contains("not found"));
        let bad_id = call(
            &agent,
            "comment_on_ticket",
            json!({ "ticket_id": "nope", "body": "x" }),
        )
        .await;
        assert!(error_text(&bad_id).contains("ticketId"));
        let bad_args = call(&agent, "create_ticket", json!({ "subject": "x" })).await;
        assert!(error_text(&bad_args).contains("body"));
        let empty = call(
            &agent,
            "create_ticket",
            json!({ "subject": " ", "body": "x" }),
        )
        .await;
        assert!(error_text(&empty).contains("subject"));

        agent.cancel().await.unwrap();
        // Globex's ticket has no comment from Acme's agent.
        let comments = desk
            .get(&globex.pat, &format!("/api/tickets/{theirs}/comments"))
            .await;
        assert_eq!(comments.body, json!([]));
    })
    .await
    .expect("the test took too long");
}
