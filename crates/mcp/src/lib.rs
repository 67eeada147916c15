//! # tenantry-mcp: the MCP server
//!
//! The seed's `packages/mcp`: AI agents work inside one organization's data
//! with a personal access token. The token is checked on every HTTP request
//! (or once, for stdio); `tenantry_app::App::resolve` picks the organization
//! unless the client names one (a tool's `organization` argument, or
//! `X-Organization-Id`) or, on protocol versions with sessions, switches with
//! the `switch_organization` tool. Protocol 2026-07-28 (no sessions) is served
//! beside 2025-11-25, 2025-06-18 and older ones; docs/mcp.md says what each
//! does. Every tool is a translation of a
//! `tenantry_app` call, the same the HTTP handlers make: no rule, no tenant
//! transaction and no SQL lives here.
//!
//! Served at `/mcp` (streamable HTTP) by `tenantry serve`, and over stdio by
//! `tenantry mcp --stdio` with `TENANTRY_TOKEN`. Over HTTP an MCP session
//! belongs to the token that opened it ([`sessions`]); any other credential
//! is told it does not exist.
//!
//! ```no_run
//! use tenantry_app::{App, Settings};
//! # fn example(db: tenantry_app::Database) -> axum::Router {
//! // `/mcp`, to merge beside the HTTP API (tenantry-server does).
//! tenantry_mcp::router(App::new(db, Settings::default()))
//! # }
//! ```

#![deny(missing_docs)]

pub mod caller;
pub mod jsonrpc;
pub mod server;
pub mod sessions;
pub mod tools;

use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tenantry_app::{App, Database, Settings};

pub use caller::{Refusal, Requested, authenticate};
pub use jsonrpc::MAX_REQUEST_BODY_BYTES;
pub use server::TenantryMcp;
pub use sessions::OwnedSessions;
pub use tools::{OrganizationTool, Tools};

/// The JSON Schema crate rmcp describes tool arguments with, for an
/// application's own tools: `use tenantry_mcp::schemars::{self, JsonSchema};`
/// then `#[derive(JsonSchema)]`, so both use one version of it.
pub use rmcp::schemars;

/// `/mcp`, with token authentication in front of the MCP service, then
/// [`jsonrpc::guard`], which answers malformed, oversized and wrongly shaped
/// JSON-RPC with a JSON-RPC error before rmcp reads it, then
/// [`sessions::require_owner`], which lets only the token that opened a
/// session into it.
///
/// # Examples
///
/// ```no_run
/// use tenantry_app::{App, Settings};
/// # fn example(db: tenantry_app::Database) -> axum::Router {
/// let app = App::new(db, Settings::default());
/// // Beside the HTTP API, pass its `AppState::app` instead.
/// tenantry_mcp::router(app)
/// # }
/// ```
pub fn router(app: App) -> axum::Router {
    router_with_sessions(app, Arc::default())
}

/// [`router`] keeping its sessions in `sessions`.
pub fn router_with_sessions(app: App, sessions: Arc<OwnedSessions>) -> axum::Router {
    router_with(app, sessions, Tools::new())
}

/// [`router`] keeping its sessions in `sessions` and serving an
/// application's `tools` beside tenantry's.
pub fn router_with(app: App, sessions: Arc<OwnedSessions>, tools: Tools) -> axum::Router {
    let handler_app = app.clone();
    let service = StreamableHttpService::new(
        move || Ok(TenantryMcp::for_http_with(handler_app.clone(), &tools)),
        sessions.clone(),
        // The default accepts only loopback Host headers (a guard against DNS
        // rebinding); a deployment behind a proxy configures its hosts.
        StreamableHttpServerConfig::default().with_max_request_body_bytes(MAX_REQUEST_BODY_BYTES),
    );
    axum::Router::new()
        .nest_service("/mcp", service)
        // Layers run bottom-up: the token is checked before the body is read.
        .layer(axum::middleware::from_fn_with_state(
            sessions,
            sessions::require_owner,
        ))
        .layer(axum::middleware::from_fn(jsonrpc::guard))
        .layer(axum::middleware::from_fn_with_state(
            app,
            caller::require_pat,
        ))
}

/// Serve one client over stdin/stdout as the owner of `token`.
///
/// # Examples
///
/// ```no_run
/// # async fn example(db: tenantry_app::Database) -> Result<(), tenantry_mcp::StdioError> {
/// let token = std::env::var("TENANTRY_TOKEN").expect("a personal access token");
/// tenantry_mcp::serve_stdio(db, &token).await
/// # }
/// ```
pub async fn serve_stdio(db: Database, token: &str) -> Result<(), StdioError> {
    serve_stdio_with(db, token, Tools::new()).await
}

/// [`serve_stdio`], with an application's `tools` beside tenantry's.
pub async fn serve_stdio_with(db: Database, token: &str, tools: Tools) -> Result<(), StdioError> {
    if let Some(name) = tools.clashing_name() {
        return Err(StdioError::Transport(format!(
            "the MCP tool name {name} is taken: give the application's tool another name"
        )));
    }
    let app = App::new(db, Settings::default());
    let actor = authenticate(&app, token)
        .await
        .map_err(StdioError::Refused)?;
    tracing::info!(user = %actor.user().email, "serving MCP over stdio");
    let running = TenantryMcp::for_stdio_with(app, actor, &tools)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| StdioError::Transport(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| StdioError::Transport(e.to_string()))?;
    Ok(())
}

/// Why the stdio server stopped.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The token was refused.
    #[error("TENANTRY_TOKEN refused: {0}")]
    Refused(Refusal),
    /// The transport failed.
    #[error("MCP transport: {0}")]
    Transport(String),
}
