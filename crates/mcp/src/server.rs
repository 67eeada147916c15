//! The MCP handler: tools and resources over one organization's data.
//!
//! Each tool is a thin wrapper: find the caller's membership, then call the
//! same `tenantry_db` functions the HTTP handlers call, inside
//! `with_tenant_context`. Bad input is a tool error (`isError: true`) the
//! agent can read and correct, never a protocol error or a panic.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, ServerCapabilities,
    ServerConfig,
};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenantry_db::page::page_size;
use tenantry_db::usage::NewUsage;
use tenantry_db::{
    Autocommit, Database, DbError, Membership, OrganizationId, UserId, audit, autocommit, members,
    projects, usage, with_tenant_context,
};
use uuid::Uuid;

use crate::caller::Caller;

/// URI prefix of project resources.
pub const PROJECT_URI_PREFIX: &str = "tenantry://projects/";

type ToolResult = Result<CallToolResult, McpError>;

/// One handler per MCP session (over HTTP) or per process (over stdio).
#[derive(Clone)]
pub struct TenantryMcp {
    db: Database,
    /// The caller over stdio, authenticated once at start; over HTTP the
    /// caller comes with every request instead.
    stdio_caller: Option<Caller>,
    /// The organization chosen with `switch_organization`, for this session
    /// only, remembered with the user who chose it.
    selected: Arc<Mutex<Option<(UserId, OrganizationId)>>>,
}

impl TenantryMcp {
    /// A handler for HTTP sessions.
    pub fn for_http(db: Database) -> Self {
        TenantryMcp {
            db,
            stdio_caller: None,
            selected: Arc::default(),
        }
    }

    /// A handler for one stdio client acting as `caller`.
    pub fn for_stdio(db: Database, caller: Caller) -> Self {
        TenantryMcp {
            db,
            stdio_caller: Some(caller),
            selected: Arc::default(),
        }
    }

    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Option<Caller> {
        ctx.extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .or(self.stdio_caller.as_ref())
            .cloned()
    }

    fn selected_for(&self, user: UserId) -> Option<OrganizationId> {
        let selected = self.selected.lock().ok()?;
        selected.filter(|(who, _)| *who == user).map(|(_, org)| org)
    }

    /// The caller's membership of the organization this call acts in: the
    /// session's choice, else the request's header, else their default.
    async fn membership(
        &self,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(Caller, Membership), CallToolResult> {
        let caller = self
            .caller(ctx)
            .ok_or_else(|| tool_error("not authenticated: send a personal access token"))?;
        let requested = self.selected_for(caller.user.id).or(caller.organization);
        match tenantry_db::resolve_tenant(&self.db, caller.user.id, requested).await {
            Ok(Some(membership)) => Ok((caller, membership)),
            Ok(None) if requested.is_some() => {
                Err(tool_error("you are not a member of that organization"))
            }
            Ok(None) => Err(tool_error("you are not a member of any organization")),
            Err(error) => Err(db_tool_error(error)),
        }
    }

    /// Run `work` in the caller's organization and answer with its result as JSON.
    async fn in_tenant<T: Serialize>(
        &self,
        ctx: &RequestContext<RoleServer>,
        work: impl AsyncFnOnce(&tenantry_db::TenantTx) -> Result<T, DbError>,
    ) -> ToolResult {
        match self.membership(ctx).await {
            Ok((_, membership)) => {
                respond(with_tenant_context(&self.db, membership.tenant(), work).await)
            }
            Err(refusal) => Ok(refusal),
        }
    }

    /// [`Self::in_tenant`] for a tool that runs one read: the statement goes
    /// out as an `autocommit` statement, one round trip instead of two.
    async fn read_in_tenant<T: Serialize>(
        &self,
        ctx: &RequestContext<RoleServer>,
        read: impl AsyncFnOnce(&Autocommit<'_>) -> Result<T, DbError>,
    ) -> ToolResult {
        match self.membership(ctx).await {
            Ok((_, membership)) => respond(read(&autocommit(&self.db, membership.tenant())).await),
            Err(refusal) => Ok(refusal),
        }
    }
}

fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// What the client is told of a database error: a client error verbatim;
/// anything else without detail, its cause logged here.
fn db_error_text(error: &DbError) -> String {
    if error.is_client_error() {
        error.to_string()
    } else if error.is_unavailable() {
        "the database is unavailable; try again shortly".into()
    } else {
        tracing::error!(?error, "MCP request failed");
        INTERNAL_ERROR.into()
    }
}

/// The message of every failure whose cause stays in the log.
const INTERNAL_ERROR: &str = "internal error";

fn db_tool_error(error: DbError) -> CallToolResult {
    tool_error(db_error_text(&error))
}

/// [`db_tool_error`] for requests that answer with a JSON-RPC error.
fn db_request_error(error: DbError) -> McpError {
    let text = db_error_text(&error);
    if error.is_client_error() {
        McpError::invalid_params(text, None)
    } else {
        McpError::internal_error(text, None)
    }
}

/// An answer that could not be serialized: logged, reported without detail.
fn serialization_error(error: serde_json::Error) -> McpError {
    tracing::error!(?error, "MCP answer could not be serialized");
    McpError::internal_error(INTERNAL_ERROR, None)
}

fn respond<T: Serialize>(result: Result<T, DbError>) -> ToolResult {
    match result {
        Ok(value) => serde_json::to_value(value)
            .map(CallToolResult::structured)
            .map_err(serialization_error),
        Err(error) => Ok(db_tool_error(error)),
    }
}

fn parse_uuid(field: &'static str, text: &str) -> Result<Uuid, CallToolResult> {
    Uuid::try_parse(text.trim()).map_err(|_| tool_error(format!("{field} must be a UUID")))
}

fn parse_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, CallToolResult> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            tool_error(format!(
                "{field} must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z"
            ))
        })
}

/// Arguments of `switch_organization`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchArgs {
    /// The organization to act in for the rest of this MCP session (from `list_organizations`).
    pub organization_id: String,
}

/// Arguments of `list_projects`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListArgs {
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Arguments naming one project.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProjectIdArgs {
    /// The project's id.
    pub id: String,
}

/// Arguments of `create_project`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateProjectArgs {
    /// 1 to 200 characters, unique in the organization.
    pub name: String,
    /// Up to 4000 characters.
    pub description: Option<String>,
}

/// Arguments of `update_project`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateProjectArgs {
    /// The project's id.
    pub id: String,
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
}

/// Arguments of `record_usage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordUsageArgs {
    /// A model name from the reference data (e.g. `gpt-4o`), or `provider/name`.
    pub model: String,
    /// A project of this organization.
    pub project_id: Option<String>,
    /// Prompt tokens, 0 to 100,000,000.
    pub input_tokens: i64,
    /// Completion tokens, 0 to 100,000,000.
    pub output_tokens: i64,
    /// When the model was called (RFC 3339); now if absent.
    pub occurred_at: Option<String>,
}

/// Arguments of `usage_report`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UsageReportArgs {
    /// Start, inclusive (RFC 3339).
    pub from: String,
    /// End, exclusive (RFC 3339); at most 366 days after `from`.
    pub to: String,
}

/// Arguments of `recent_audit_log`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AuditArgs {
    /// How many entries, 1 to 100 (default 20).
    pub limit: Option<i64>,
}

#[tool_router]
impl TenantryMcp {
    #[tool(
        description = "Who you are: your user, the organization this session acts in, and your role there."
    )]
    async fn whoami(&self, ctx: RequestContext<RoleServer>) -> ToolResult {
        let (caller, membership) = match self.membership(&ctx).await {
            Ok(found) => found,
            Err(refusal) => return Ok(refusal),
        };
        let organization = with_tenant_context(&self.db, membership.tenant(), async |tx| {
            members::current_organization(tx).await
        })
        .await;
        respond(organization.map(|organization| {
            json!({
                "user": { "id": caller.user.id, "name": caller.user.name, "email": caller.user.email },
                "organization": { "id": organization.id, "name": organization.name, "slug": organization.slug },
                "role": membership.role(),
            })
        }))
    }

    #[tool(description = "The organizations you belong to, with your role in each.")]
    async fn list_organizations(&self, ctx: RequestContext<RoleServer>) -> ToolResult {
        let Some(caller) = self.caller(&ctx) else {
            return Ok(tool_error("not authenticated"));
        };
        let organizations = tenantry_db::list_user_organizations(&self.db, caller.user.id).await;
        // Structured content is a JSON object, so lists come wrapped.
        respond(organizations.map(|organizations| json!({ "organizations": organizations })))
    }

    #[tool(description = "Act in another of your organizations for the rest of this MCP session.")]
    async fn switch_organization(
        &self,
        Parameters(args): Parameters<SwitchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let Some(caller) = self.caller(&ctx) else {
            return Ok(tool_error("not authenticated"));
        };
        let Ok(organization) = OrganizationId::parse(&args.organization_id) else {
            return Ok(tool_error("organizationId must be a UUID"));
        };
        match tenantry_db::find_membership(&self.db, caller.user.id, organization).await {
            Ok(Some(membership)) => {
                if let Ok(mut selected) = self.selected.lock() {
                    *selected = Some((caller.user.id, organization));
                }
                respond(Ok::<_, DbError>(
                    json!({ "organizationId": organization, "role": membership.role() }),
                ))
            }
            Ok(None) => Ok(tool_error("you are not a member of that organization")),
            Err(error) => Ok(db_tool_error(error)),
        }
    }

    #[tool(description = "Projects of the current organization, oldest first, a page at a time.")]
    async fn list_projects(
        &self,
        Parameters(args): Parameters<ListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let limit = match page_size(args.limit) {
            Ok(limit) => limit,
            Err(error) => return Ok(db_tool_error(error)),
        };
        self.read_in_tenant(&ctx, async |tenant| {
            projects::list_projects(tenant, limit, args.cursor.as_deref()).await
        })
        .await
    }

    #[tool(description = "One project of the current organization.")]
    async fn get_project(
        &self,
        Parameters(args): Parameters<ProjectIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let id = match parse_uuid("id", &args.id) {
            Ok(id) => id,
            Err(refusal) => return Ok(refusal),
        };
        self.read_in_tenant(&ctx, async |tenant| projects::get_project(tenant, id).await)
            .await
    }

    #[tool(
        description = "Create a project in the current organization (recorded in the audit log)."
    )]
    async fn create_project(
        &self,
        Parameters(args): Parameters<CreateProjectArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        self.in_tenant(&ctx, async |tx| {
            projects::create_project(tx, &args.name, args.description.as_deref()).await
        })
        .await
    }

    #[tool(description = "Rename a project or change its description (recorded in the audit log).")]
    async fn update_project(
        &self,
        Parameters(args): Parameters<UpdateProjectArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let id = match parse_uuid("id", &args.id) {
            Ok(id) => id,
            Err(refusal) => return Ok(refusal),
        };
        self.in_tenant(&ctx, async |tx| {
            projects::update_project(tx, id, args.name.as_deref(), args.description.as_deref())
                .await
        })
        .await
    }

    #[tool(
        description = "Record one AI model call: model, tokens in and out, optionally a project and a time."
    )]
    async fn record_usage(
        &self,
        Parameters(args): Parameters<RecordUsageArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let project_id = match args
            .project_id
            .as_deref()
            .map(|id| parse_uuid("projectId", id))
            .transpose()
        {
            Ok(id) => id,
            Err(refusal) => return Ok(refusal),
        };
        let occurred_at = match args
            .occurred_at
            .as_deref()
            .map(|t| parse_time("occurredAt", t))
            .transpose()
        {
            Ok(at) => at,
            Err(refusal) => return Ok(refusal),
        };
        self.in_tenant(&ctx, async |tx| {
            usage::record_usage(
                tx,
                NewUsage {
                    model: &args.model,
                    project_id,
                    input_tokens: args.input_tokens,
                    output_tokens: args.output_tokens,
                    occurred_at,
                },
            )
            .await
        })
        .await
    }

    #[tool(
        description = "Tokens and cost in US dollars per model and per day over [from, to), priced when each call happened."
    )]
    async fn usage_report(
        &self,
        Parameters(args): Parameters<UsageReportArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let (from, to) = match (parse_time("from", &args.from), parse_time("to", &args.to)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(refusal), _) | (_, Err(refusal)) => return Ok(refusal),
        };
        self.in_tenant(&ctx, async |tx| usage::usage_report(tx, from, to).await)
            .await
    }

    #[tool(description = "Members of the current organization with their roles.")]
    async fn list_members(&self, ctx: RequestContext<RoleServer>) -> ToolResult {
        self.in_tenant(&ctx, async |tx| {
            Ok(json!({ "members": members::list_members(tx).await? }))
        })
        .await
    }

    #[tool(
        description = "The most recent entries of the current organization's audit log, newest first (owners and admins only)."
    )]
    async fn recent_audit_log(
        &self,
        Parameters(args): Parameters<AuditArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let limit = match page_size(args.limit) {
            Ok(limit) => limit,
            Err(error) => return Ok(db_tool_error(error)),
        };
        let membership = match self.membership(&ctx).await {
            Ok((_, membership)) => membership,
            Err(refusal) => return Ok(refusal),
        };
        if let Err(refusal) = audit::require_audit_reader(membership.role()) {
            return Ok(db_tool_error(refusal));
        }
        respond(
            with_tenant_context(&self.db, membership.tenant(), async |tx| {
                audit::list_audit_log(tx, limit, None).await
            })
            .await,
        )
    }
}

#[tool_handler]
impl ServerHandler for TenantryMcp {
    /// Up to 2025-11-25: the versions with MCP sessions, which
    /// `switch_organization` needs ("for this session only"). Newer clients
    /// negotiate down to it.
    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25).into()
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("tenantry", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Work inside one organization's data. whoami says which; list_organizations and \
                 switch_organization change it for this session. Projects are also resources at \
                 tenantry://projects/{id}.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let membership = self
            .membership(&ctx)
            .await
            .map_err(|_| McpError::invalid_request("no organization to list resources of", None))?
            .1;
        let page = projects::list_projects(
            &autocommit(&self.db, membership.tenant()),
            tenantry_db::page::MAX_PAGE_SIZE,
            None,
        )
        .await
        .map_err(db_request_error)?;
        Ok(ListResourcesResult::with_all_items(
            page.items
                .iter()
                .map(|p| {
                    Resource::new(format!("{PROJECT_URI_PREFIX}{}", p.id), p.name.clone())
                        .with_mime_type("application/json")
                })
                .collect(),
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{PROJECT_URI_PREFIX}{{id}}"), "project")
                .with_description("A project of the current organization, as JSON")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let not_found = || {
            McpError::resource_not_found(
                format!("no such resource: {uri}"),
                Some(json!({ "uri": uri })),
            )
        };
        let id = uri
            .strip_prefix(PROJECT_URI_PREFIX)
            .and_then(|id| Uuid::try_parse(id).ok())
            .ok_or_else(not_found)?;
        let membership = self.membership(&ctx).await.map_err(|_| not_found())?.1;
        let project = projects::get_project(&autocommit(&self.db, membership.tenant()), id)
            .await
            .map_err(|e| match e {
                DbError::NotFound(_) => not_found(),
                other => db_request_error(other),
            })?;
        let text = serde_json::to_string(&project).map_err(serialization_error)?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri.clone()).with_mime_type("application/json"),
        ])
        .into())
    }
}
