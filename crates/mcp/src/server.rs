//! The MCP handler: tools and resources over one organization's data.
//!
//! Each tool is a translation: parse the arguments (ids with the same typed
//! ids the HTTP API uses), resolve the caller's organization once, call the
//! same `tenantry_app` function the HTTP handler calls, and map the answer
//! ([`tool_error_of`], [`request_error_of`]). Bad input is a tool error
//! (`isError: true`) the agent can read and correct, never a protocol error
//! or a panic; an internal error's text stays in the log.
//!
//! Protocol 2026-07-28 has no sessions: rmcp serves each of its requests
//! with a handler made for that request alone, so nothing a call chooses
//! outlasts it. The organization then comes with each request: the
//! `organization` argument every organization tool takes ([`ORGANIZATION_ARGUMENT`]),
//! or the `X-Organization-Id` header. `switch_organization`, which lasts for
//! a session, is not listed there and refuses with a tool error that says so.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    Implementation, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, ResultType,
    ServerCapabilities, ServerConfig,
};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::json;
use tenantry_app::{
    Actor, App, AppError, InvalidInput, MAX_PAGE_SIZE, Membership, NewUsage, OrganizationId,
    ProjectId, Scope, UserId, page_size,
};

use crate::caller::Requested;

/// URI prefix of project resources.
pub const PROJECT_URI_PREFIX: &str = "tenantry://projects/";

type ToolResult = Result<CallToolResult, McpError>;

/// The argument that names the organization a tool call acts in, taken by
/// every tool that acts in one (tenantry's and an application's alike).
pub const ORGANIZATION_ARGUMENT: &str = "organization";

/// tenantry's tools that do not act in one organization, so take no
/// [`ORGANIZATION_ARGUMENT`].
const ACROSS_ORGANIZATIONS: [&str; 2] = ["list_organizations", "switch_organization"];

/// The tool that lasts for an MCP session, where there is one.
const SWITCH_ORGANIZATION: &str = "switch_organization";

/// What `switch_organization` answers where there is no session.
const NO_SESSION_TO_SWITCH: &str = "switch_organization lasts for an MCP session, and this \
    protocol version (2026-07-28) has none: name the organization with each request instead, \
    in the X-Organization-Id header or the `organization` argument of a tool";

/// The organization a tool call named in its [`ORGANIZATION_ARGUMENT`],
/// taken out of its arguments before the tool reads them.
#[derive(Clone, Copy, Debug)]
struct NamedOrganization(OrganizationId);

/// Whether `tool` only reads: its `readOnlyHint` says so. A tool without
/// annotations writes, so a read-only token neither sees nor runs it.
fn reads_only(tool: &rmcp::model::Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|annotations| annotations.read_only_hint)
        == Some(true)
}

/// Whether `ctx` is a request of a protocol version without sessions
/// (2026-07-28 on), over HTTP or stdio alike.
fn sessionless(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|version| !version.has_initialize())
}

/// `schema` with the optional [`ORGANIZATION_ARGUMENT`] among its properties.
fn with_organization_argument(schema: &rmcp::model::JsonObject) -> rmcp::model::JsonObject {
    let mut schema = schema.clone();
    let properties = schema
        .entry("properties")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(properties) = properties {
        properties.insert(
            ORGANIZATION_ARGUMENT.into(),
            json!({
                "type": "string",
                "format": "uuid",
                "description": "The id of the organization to act in (from list_organizations), \
                    for this call only; without it, the X-Organization-Id header's, else your default."
            }),
        );
    }
    schema
}

/// One handler per MCP session (over HTTP) or per process (over stdio).
#[derive(Clone)]
pub struct TenantryMcp {
    app: App,
    /// The caller over stdio, authenticated once at start; over HTTP the
    /// caller comes with every request instead.
    stdio_actor: Option<Actor>,
    /// The organization chosen with `switch_organization`, for this session
    /// only, remembered with the user who chose it.
    selected: Arc<Mutex<Option<(UserId, OrganizationId)>>>,
    /// tenantry's tools and the application's ([`crate::Tools`]).
    tool_router: ToolRouter<TenantryMcp>,
}

impl TenantryMcp {
    /// A handler for HTTP sessions.
    pub fn for_http(app: App) -> Self {
        Self::for_http_with(app, &crate::Tools::new())
    }

    /// A handler for HTTP sessions that also serves an application's `tools`.
    pub fn for_http_with(app: App, tools: &crate::Tools) -> Self {
        TenantryMcp {
            app,
            stdio_actor: None,
            selected: Arc::default(),
            tool_router: Self::all_tools(tools),
        }
    }

    /// A handler for one stdio client acting as `actor`.
    pub fn for_stdio(app: App, actor: Actor) -> Self {
        Self::for_stdio_with(app, actor, &crate::Tools::new())
    }

    /// A handler for one stdio client acting as `actor`, with an
    /// application's `tools`.
    pub fn for_stdio_with(app: App, actor: Actor, tools: &crate::Tools) -> Self {
        TenantryMcp {
            stdio_actor: Some(actor),
            ..Self::for_http_with(app, tools)
        }
    }

    /// tenantry's tools, then the application's; an application's tool
    /// never replaces one already there (whatever the entry point, a name
    /// taken keeps its first meaning; `Application::build` and
    /// `serve_stdio_with` refuse to start with one, see
    /// [`crate::Tools::clashing_name`]).
    fn all_tools(tools: &crate::Tools) -> ToolRouter<TenantryMcp> {
        let mut router = Self::tool_router();
        for route in tools.routes() {
            if router.has_route(route.name()) {
                tracing::error!(
                    tool = route.name(),
                    "an application's MCP tool reuses a name that is taken; it is not served"
                );
                continue;
            }
            router.add_route(route);
        }
        for (name, route) in router.map.iter_mut() {
            if !ACROSS_ORGANIZATIONS.contains(&name.as_ref()) {
                route.attr.input_schema =
                    Arc::new(with_organization_argument(&route.attr.input_schema));
            }
        }
        router
    }

    /// The names of tenantry's own tools.
    pub(crate) fn own_tool_names() -> Vec<String> {
        Self::tool_router()
            .list_all()
            .into_iter()
            .map(|tool| tool.name.into_owned())
            .collect()
    }

    fn parts(ctx: &RequestContext<RoleServer>) -> Option<&axum::http::request::Parts> {
        ctx.extensions.get::<axum::http::request::Parts>()
    }

    fn actor(&self, ctx: &RequestContext<RoleServer>) -> Option<Actor> {
        Self::parts(ctx)
            .and_then(|parts| parts.extensions.get::<Actor>())
            .or(self.stdio_actor.as_ref())
            .cloned()
    }

    fn selected_for(&self, user: UserId) -> Option<OrganizationId> {
        let selected = self.selected.lock().ok()?;
        selected.filter(|(who, _)| *who == user).map(|(_, org)| org)
    }

    /// The caller in the organization this call acts in: the one its
    /// `organization` argument names, else the session's choice, else the
    /// request's header (resolved by the middleware), else their default.
    /// Resolved once per call, always through `App::resolve`.
    async fn scoped(
        &self,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Actor<Membership>, CallToolResult> {
        let actor = self
            .actor(ctx)
            .ok_or_else(|| tool_error("not authenticated: send a personal access token"))?;
        let named = ctx
            .extensions
            .get::<NamedOrganization>()
            .map(|named| named.0);
        let selected = named.or_else(|| self.selected_for(actor.user().id));
        let requested = match (
            selected,
            Self::parts(ctx).and_then(|p| p.extensions.get::<Requested>()),
        ) {
            (None, Some(Requested(scoped))) => return Ok(scoped.clone()),
            (Some(selected), _) => Some(selected),
            (None, None) => None,
        };
        let bound = actor.bound_organization();
        match self.app.resolve(actor, requested).await {
            Ok(scoped) => Ok(scoped),
            Err(AppError::NotFound(_)) => Err(tool_error(no_organization(bound, requested))),
            Err(error) => Err(tool_error_of(error)),
        }
    }

    /// Run `work` as the caller in their organization and answer with its result as JSON.
    pub(crate) async fn in_organization<T: Serialize>(
        &self,
        ctx: &RequestContext<RoleServer>,
        work: impl AsyncFnOnce(&App, &Actor<Membership>) -> Result<T, AppError>,
    ) -> ToolResult {
        match self.scoped(ctx).await {
            Ok(actor) => respond(work(&self.app, &actor).await),
            Err(refusal) => Ok(refusal),
        }
    }
}

/// Why no organization could be resolved, in words that fit the caller: a
/// token bound to one organization is told so, not that its user is no
/// member of an organization they belong to.
fn no_organization(bound: Option<OrganizationId>, requested: Option<OrganizationId>) -> String {
    match (bound, requested) {
        (Some(bound), Some(requested)) if requested != bound => {
            format!("this token is bound to organization {bound} and acts only there")
        }
        (Some(bound), _) => format!(
            "this token is bound to organization {bound}, and you are no longer a member there"
        ),
        (None, Some(_)) => "you are not a member of that organization".into(),
        (None, None) => "you are not a member of any organization".into(),
    }
}

pub(crate) fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// What the client is told of an error: a client error verbatim; anything
/// else without detail, its cause logged here (Debug: escaped, so a cause
/// quoting input cannot forge a log line).
fn error_text(error: &AppError) -> String {
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

/// An error as a tool's answer (`isError: true`).
pub fn tool_error_of(error: AppError) -> CallToolResult {
    tool_error(error_text(&error))
}

/// An error as the JSON-RPC error of a request that is not a tool call.
pub fn request_error_of(error: AppError) -> McpError {
    let text = error_text(&error);
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

fn respond<T: Serialize>(result: Result<T, AppError>) -> ToolResult {
    match result {
        Ok(value) => serde_json::to_value(value)
            .map(CallToolResult::structured)
            .map_err(serialization_error),
        Err(error) => Ok(tool_error_of(error)),
    }
}

/// A typed id from the argument `field`, e.g. "id must be a UUID".
fn parse_id<T: FromStr<Err = InvalidInput>>(
    field: &'static str,
    text: &str,
) -> Result<T, CallToolResult> {
    text.parse()
        .map_err(|e: InvalidInput| tool_error(format!("{field} {}", e.reason)))
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
        annotations(read_only_hint = true),
        description = "Who you are: your user, the organization this call acts in, your role there, and what your token may do (its scopes and the organization it is bound to, if any)."
    )]
    async fn whoami(&self, ctx: RequestContext<RoleServer>) -> ToolResult {
        self.in_organization(&ctx, async |app, actor| {
            let organization = app.current_organization(actor).await?;
            let user = actor.user();
            Ok(json!({
                "user": { "id": user.id, "name": user.name, "email": user.email },
                "organization": { "id": organization.id, "name": organization.name, "slug": organization.slug },
                "role": actor.role(),
                "token": {
                    "scopes": actor.scopes(),
                    "organizationId": actor.bound_organization(),
                },
            }))
        })
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "The organizations you belong to, with your role in each."
    )]
    async fn list_organizations(&self, ctx: RequestContext<RoleServer>) -> ToolResult {
        let Some(actor) = self.actor(&ctx) else {
            return Ok(tool_error("not authenticated"));
        };
        let organizations = self.app.list_organizations(&actor).await;
        // Structured content is a JSON object, so lists come wrapped.
        respond(organizations.map(|organizations| json!({ "organizations": organizations })))
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "Act in another of your organizations for the rest of this MCP session (protocol versions with sessions only)."
    )]
    async fn switch_organization(
        &self,
        Parameters(args): Parameters<SwitchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        if sessionless(&ctx) {
            return Ok(tool_error(NO_SESSION_TO_SWITCH));
        }
        let Some(actor) = self.actor(&ctx) else {
            return Ok(tool_error("not authenticated"));
        };
        let Ok(organization) = OrganizationId::parse(&args.organization_id) else {
            return Ok(tool_error("organizationId must be a UUID"));
        };
        let user = actor.user().id;
        let bound = actor.bound_organization();
        match self.app.resolve(actor, Some(organization)).await {
            Ok(scoped) => {
                if let Ok(mut selected) = self.selected.lock() {
                    *selected = Some((user, organization));
                }
                respond(Ok(
                    json!({ "organizationId": organization, "role": scoped.role() }),
                ))
            }
            Err(AppError::NotFound(_)) => {
                Ok(tool_error(no_organization(bound, Some(organization))))
            }
            Err(error) => Ok(tool_error_of(error)),
        }
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "Projects of the current organization, oldest first, a page at a time."
    )]
    async fn list_projects(
        &self,
        Parameters(args): Parameters<ListArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        if let Err(error) = page_size(args.limit) {
            return Ok(tool_error_of(error));
        }
        self.in_organization(&ctx, async |app, actor| {
            app.list_projects(actor, args.limit, args.cursor.as_deref())
                .await
        })
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "One project of the current organization."
    )]
    async fn get_project(
        &self,
        Parameters(args): Parameters<ProjectIdArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let id: ProjectId = match parse_id("id", &args.id) {
            Ok(id) => id,
            Err(refusal) => return Ok(refusal),
        };
        self.in_organization(&ctx, async |app, actor| app.get_project(actor, id).await)
            .await
    }

    #[tool(
        annotations(read_only_hint = false),
        description = "Create a project in the current organization (recorded in the audit log)."
    )]
    async fn create_project(
        &self,
        Parameters(args): Parameters<CreateProjectArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        self.in_organization(&ctx, async |app, actor| {
            app.create_project(actor, &args.name, args.description.as_deref())
                .await
        })
        .await
    }

    #[tool(
        annotations(read_only_hint = false),
        description = "Rename a project or change its description (recorded in the audit log)."
    )]
    async fn update_project(
        &self,
        Parameters(args): Parameters<UpdateProjectArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        let id: ProjectId = match parse_id("id", &args.id) {
            Ok(id) => id,
            Err(refusal) => return Ok(refusal),
        };
        self.in_organization(&ctx, async |app, actor| {
            app.update_project(actor, id, args.name.as_deref(), args.description.as_deref())
                .await
        })
        .await
    }

    #[tool(
        annotations(read_only_hint = false),
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
            .map(|id| parse_id::<ProjectId>("projectId", id))
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
        self.in_organization(&ctx, async |app, actor| {
            let new = NewUsage {
                model: &args.model,
                project_id,
                input_tokens: args.input_tokens,
                output_tokens: args.output_tokens,
                occurred_at,
            };
            app.record_usage(actor, new).await
        })
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
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
        self.in_organization(&ctx, async |app, actor| {
            app.usage_report(actor, from, to).await
        })
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "Members of the current organization with their roles."
    )]
    async fn list_members(&self, ctx: RequestContext<RoleServer>) -> ToolResult {
        self.in_organization(&ctx, async |app, actor| {
            Ok(json!({ "members": app.list_members(actor).await? }))
        })
        .await
    }

    #[tool(
        annotations(read_only_hint = true),
        description = "The most recent entries of the current organization's audit log, newest first (owners and admins only)."
    )]
    async fn recent_audit_log(
        &self,
        Parameters(args): Parameters<AuditArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        if let Err(error) = page_size(args.limit) {
            return Ok(tool_error_of(error));
        }
        self.in_organization(&ctx, async |app, actor| {
            app.audit_log(actor, args.limit, None).await
        })
        .await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for TenantryMcp {
    /// Every version rmcp knows: 2026-07-28 (no sessions; the organization
    /// comes with each request) and the older ones, with sessions and
    /// `switch_organization`.
    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        ProtocolVersion::KNOWN_VERSIONS.into()
    }

    /// The router's tools, less `switch_organization` where there is no
    /// session for it to last in, and less every tool that writes for a
    /// token without the `write` scope.
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let sessionless = sessionless(&ctx);
        let can_write = self
            .actor(&ctx)
            .is_some_and(|actor| actor.scopes().can_write());
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|tool| !(sessionless && tool.name == SWITCH_ORGANIZATION))
            .filter(|tool| can_write || reads_only(tool))
            .collect();
        Ok(ListToolsResult {
            result_type: Some(ResultType::COMPLETE),
            tools,
            meta: None,
            next_cursor: None,
            // The list depends on the protocol version (and on the caller's
            // token): a hint for this client alone, not to be kept.
            ttl_ms: sessionless.then_some(0),
            cache_scope: sessionless.then_some(CacheScope::Private),
        })
    }

    /// Refuses a tool that writes to a token without the `write` scope
    /// (unlisted to it, but a client may call it anyway; and the database
    /// refuses what a tool declared read-only still tries to write), then
    /// takes the [`ORGANIZATION_ARGUMENT`] out of the arguments, for
    /// [`TenantryMcp::scoped`] to resolve, before the tool reads its own.
    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        mut ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if let (Some(tool), Some(actor)) = (self.tool_router.get(&request.name), self.actor(&ctx))
            && !reads_only(tool)
            && let Err(error) = actor.require(Scope::Write)
        {
            return tool_error_of(error).into_call_tool_result();
        }
        if !ACROSS_ORGANIZATIONS.contains(&request.name.as_ref())
            && let Some(named) = request
                .arguments
                .as_mut()
                .and_then(|arguments| arguments.remove(ORGANIZATION_ARGUMENT))
        {
            match named.as_str().map(OrganizationId::parse) {
                Some(Ok(organization)) => {
                    ctx.extensions.insert(NamedOrganization(organization));
                }
                _ if named.is_null() => {}
                _ => {
                    return tool_error(
                        "organization must be an organization id (a UUID, from list_organizations)",
                    )
                    .into_call_tool_result();
                }
            }
        }
        self.tool_router
            .call(ToolCallContext::new(self, request, ctx))
            .await
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
            "Work inside one organization's data. whoami says which; list_organizations lists \
                 yours. Every tool that acts in an organization takes an optional `organization` \
                 argument (an organization id) for that call; on protocol versions with sessions, \
                 switch_organization changes it for the session. Projects are also resources at \
                 tenantry://projects/{id}.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let actor = self
            .scoped(&ctx)
            .await
            .map_err(|_| McpError::invalid_request("no organization to list resources of", None))?;
        let page = self
            .app
            .list_projects(&actor, Some(MAX_PAGE_SIZE), None)
            .await
            .map_err(request_error_of)?;
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
            .and_then(|id| ProjectId::parse(id).ok())
            .ok_or_else(not_found)?;
        let actor = self.scoped(&ctx).await.map_err(|_| not_found())?;
        let project = self
            .app
            .get_project(&actor, id)
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => not_found(),
                other => request_error_of(other),
            })?;
        let text = serde_json::to_string(&project).map_err(serialization_error)?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri.clone()).with_mime_type("application/json"),
        ])
        .into())
    }
}
