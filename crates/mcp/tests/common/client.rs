//! rmcp's own client against the server, on either protocol lifecycle, and
//! the three ways a test reads a tool call's answer.

use std::collections::HashMap;

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::Value;

pub type Client = RunningService<RoleClient, ClientConfig>;

/// The transport to `url` with `token`, and `X-Organization-Id` if given.
pub fn transport(
    url: &str,
    token: &str,
    organization: Option<uuid::Uuid>,
) -> StreamableHttpClientTransportConfig {
    let mut headers = HashMap::new();
    if let Some(organization) = organization {
        headers.insert(
            "x-organization-id".parse().unwrap(),
            organization.to_string().parse().unwrap(),
        );
    }
    StreamableHttpClientTransportConfig::with_uri(url)
        .auth_header(token.to_owned())
        .custom_headers(headers)
}

/// On 2026-07-28: `server/discover`, then self-contained requests.
pub async fn discover(config: StreamableHttpClientTransportConfig) -> Client {
    ClientConfig::default()
        .serve_with_lifecycle(
            StreamableHttpClientTransport::from_config(config),
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("rmcp's client discovers the server on 2026-07-28")
}

/// On `version`, with `initialize` and a session.
pub async fn initialize(
    config: StreamableHttpClientTransportConfig,
    version: ProtocolVersion,
) -> Client {
    ClientConfig::default()
        .with_protocol_version(version)
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("rmcp's client initializes a session")
}

pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(arguments) = arguments {
        params = params.with_arguments(arguments);
    }
    client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// A successful call's structured answer.
pub async fn ok(client: &Client, tool: &str, arguments: Value) -> Value {
    let result = call(client, tool, arguments.clone()).await;
    assert_eq!(
        result.is_error,
        Some(false),
        "{tool} {arguments}: {result:?}"
    );
    result.structured_content.expect("structured content")
}

/// A tool error whose text names `needle`.
pub async fn refused(client: &Client, tool: &str, arguments: Value, needle: &str) {
    let result = call(client, tool, arguments.clone()).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} {arguments}: {result:?}"
    );
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.clone())
        .collect();
    assert!(
        text.contains(needle),
        "{tool} {arguments}: {text:?} does not name {needle:?}"
    );
}
