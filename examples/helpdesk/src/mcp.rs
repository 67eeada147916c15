//! The help desk's MCP tools, beside tenantry's at `/mcp`: each acts in the
//! caller's organization, chosen and checked as for tenantry's own tools.

use serde::{Deserialize, Serialize};
use tenantry_app::{Actor, App, AppError, Membership};
use tenantry_mcp::schemars::{self, JsonSchema};
use tenantry_mcp::{OrganizationTool, Tools};

use crate::tickets::{self, Comment, Status, Ticket, TicketId};

/// The tools, for [`crate::extension`].
pub fn tools() -> Tools {
    Tools::new()
        // It only reads: a read-only token is shown it (tools that write are not).
        .with(
            OrganizationTool::new(
                "list_tickets",
                "Tickets of the current organization, newest first.",
                list_tickets,
            )
            .read_only(),
        )
        .with(OrganizationTool::new(
            "create_ticket",
            "Open a ticket in the current organization.",
            create_ticket,
        ))
        .with(OrganizationTool::new(
            "comment_on_ticket",
            "Add a comment to a ticket of the current organization.",
            comment_on_ticket,
        ))
}

/// Arguments of `list_tickets`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListTickets {
    /// Only tickets in this status: open, pending or closed.
    status: Option<Status>,
    /// 1 to 100 (default 20).
    limit: Option<i64>,
}

/// What `list_tickets` answers: an object, as MCP's structured content is.
#[derive(Serialize)]
struct TicketList {
    tickets: Vec<Ticket>,
}

async fn list_tickets(
    app: App,
    actor: Actor<Membership>,
    args: ListTickets,
) -> Result<TicketList, AppError> {
    let tickets = tickets::list_tickets(&app, &actor, args.status, args.limit).await?;
    Ok(TicketList { tickets })
}

/// Arguments of `create_ticket`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateTicket {
    /// One line, 1 to 200 characters.
    subject: String,
    /// What the customer wrote, 1 to 10,000 characters.
    body: String,
}

async fn create_ticket(
    app: App,
    actor: Actor<Membership>,
    args: CreateTicket,
) -> Result<Ticket, AppError> {
    tickets::create_ticket(&app, &actor, &args.subject, &args.body).await
}

/// Arguments of `comment_on_ticket`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CommentOnTicket {
    /// The ticket's id (a UUID).
    ticket_id: String,
    /// The comment, 1 to 10,000 characters.
    body: String,
}

async fn comment_on_ticket(
    app: App,
    actor: Actor<Membership>,
    args: CommentOnTicket,
) -> Result<Comment, AppError> {
    let ticket: TicketId = args.ticket_id.parse()?;
    tickets::add_comment(&app, &actor, ticket, &args.body).await
}
