//! Tools an application built on tenantry adds to the MCP server.
//!
//! An [`OrganizationTool`] is tenantry's own tools' shape, for a function
//! of the application: its arguments are parsed from JSON (a bad argument
//! is a tool error the agent can read), the caller is authenticated and
//! resolved to one organization exactly as for `list_projects` (the
//! `organization` argument, else the session's `switch_organization`, else
//! `X-Organization-Id`, else their default, always checked against
//! membership), and the function's answer or [`AppError`] is mapped as
//! tenantry's own are. The `organization` argument is tenantry's: it is added
//! to the tool's advertised input schema and taken out of the arguments
//! before they are parsed into the application's type, which never declares it.
//!
//! ```
//! use tenantry_mcp::schemars::{self, JsonSchema};
//! use serde::Deserialize;
//! use tenantry_app::{Actor, App, AppError, Membership};
//! use tenantry_mcp::{OrganizationTool, Tools};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Echo {
//!     /// What to say back.
//!     text: String,
//! }
//!
//! async fn echo(_app: App, actor: Actor<Membership>, args: Echo) -> Result<String, AppError> {
//!     Ok(format!("{} in {}", args.text, actor.membership().organization_id()))
//! }
//!
//! let tools = Tools::new().with(OrganizationTool::new("echo", "Say it back.", echo));
//! assert_eq!(tools.names().collect::<Vec<_>>(), ["echo"]);
//! ```

use std::future::Future;

use futures_util::future::BoxFuture;
use rmcp::ErrorData as McpError;
use rmcp::handler::server::router::tool::ToolRoute;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext, schema_for_type};
use rmcp::model::{CallToolResponse, Tool};
use rmcp::schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenantry_app::{Actor, App, AppError, Membership};

use crate::server::{TenantryMcp, tool_error};

/// One tool of the application, acting in the caller's organization.
#[derive(Clone)]
pub struct OrganizationTool {
    route: ToolRoute<TenantryMcp>,
}

impl OrganizationTool {
    /// A tool `name` (described to the agent by `description`) whose
    /// arguments are an `A` (its JSON Schema is what `tools/list` shows,
    /// doc comments included) and whose work is `work`, given the service
    /// layer and the caller in their organization. Its `Ok` is the tool's
    /// structured result; its `Err` a tool error (an internal one says no
    /// more than that, its cause goes to the log).
    pub fn new<A, T, F, Fut>(name: &'static str, description: &'static str, work: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        T: Serialize,
        F: Fn(App, Actor<Membership>, A) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<T, AppError>> + Send,
    {
        let attr = Tool::new(name, description, schema_for_type::<A>());
        let call = higher_ranked(move |context| {
            let work = work.clone();
            Box::pin(async move {
                let arguments = context.arguments.unwrap_or_default();
                let args: A = match serde_json::from_value(serde_json::Value::Object(arguments)) {
                    Ok(args) => args,
                    Err(error) => {
                        return tool_error(format!("invalid arguments: {error}"))
                            .into_call_tool_result();
                    }
                };
                context
                    .service
                    .in_organization(&context.request_context, async |app, actor| {
                        work(app.clone(), actor.clone(), args).await
                    })
                    .await?
                    .into_call_tool_result()
            })
        });
        OrganizationTool {
            route: ToolRoute::new_dyn(attr, call),
        }
    }

    /// This tool only reads: a token without the `write` scope is shown it
    /// and may call it. Without this a tool counts as one that writes, hidden
    /// from such a token and refused to it. Declaring a tool that writes
    /// read-only does not let it write for such a token: its tenant work runs
    /// in a read-only transaction, which PostgreSQL refuses to write in.
    pub fn read_only(mut self) -> Self {
        let annotations = self
            .route
            .attr
            .annotations
            .take()
            .unwrap_or_default()
            .read_only(true);
        self.route.attr.annotations = Some(annotations);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        self.route.name()
    }
}

/// `call`, with its signature spelled out so the closure is inferred to
/// work for a context of any lifetime, as [`ToolRoute::new_dyn`] needs.
fn higher_ranked<C>(call: C) -> C
where
    C: for<'a> Fn(
        ToolCallContext<'a, TenantryMcp>,
    ) -> BoxFuture<'a, Result<CallToolResponse, McpError>>,
{
    call
}

/// The application's tools, served beside tenantry's own.
#[derive(Clone, Default)]
pub struct Tools {
    tools: Vec<OrganizationTool>,
}

impl Tools {
    /// No tools: tenantry's alone.
    pub fn new() -> Self {
        Tools::default()
    }

    /// These tools and `tool`.
    pub fn with(mut self, tool: OrganizationTool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Their names, in the order added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.iter().map(OrganizationTool::name)
    }

    /// A name given twice, or one of tenantry's own tools' names: a second
    /// route would silently replace the first.
    pub fn clashing_name(&self) -> Option<String> {
        let own = TenantryMcp::own_tool_names();
        let mut seen = std::collections::HashSet::new();
        self.names()
            .find(|name| own.iter().any(|o| o == name) || !seen.insert(*name))
            .map(str::to_owned)
    }

    pub(crate) fn routes(&self) -> impl Iterator<Item = ToolRoute<TenantryMcp>> + '_ {
        self.tools.iter().map(|tool| tool.route.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::schemars;

    #[derive(serde::Deserialize, JsonSchema)]
    struct Nothing {}

    async fn nothing(_: App, _: Actor<Membership>, _: Nothing) -> Result<(), AppError> {
        Ok(())
    }

    #[test]
    fn a_name_of_tenantrys_or_a_name_given_twice_clashes() {
        let tool = |name| OrganizationTool::new(name, "test", nothing);
        assert_eq!(Tools::new().with(tool("mine")).clashing_name(), None);
        assert_eq!(
            Tools::new().with(tool("whoami")).clashing_name().as_deref(),
            Some("whoami")
        );
        assert_eq!(
            Tools::new()
                .with(tool("mine"))
                .with(tool("mine"))
                .clashing_name()
                .as_deref(),
            Some("mine")
        );
    }
}
