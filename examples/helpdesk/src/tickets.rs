//! Tickets and comments: the help desk's service functions and their SQL.
//!
//! Every function takes the caller in their organization (an
//! `Actor<Membership>`, which only tenantry's resolution makes) and runs in
//! that organization's tenant context, so row-level security applies to
//! every statement: a ticket of another organization is simply not there.
//! The functions that write ask for the `write` scope first, so a read-only
//! token is told before any work; were one to forget, the read-only
//! transaction tenantry gives such a token would refuse the write anyway.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenantry_app::{Actor, App, AppError, InvalidInput, Membership, Scope, UserId};
use tenantry_db::prelude::*;
use tenantry_db::{DbError, Row, autocommit, with_tenant_context};
use tenantry_mcp::schemars::{self, JsonSchema};
use uuid::Uuid;

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest ticket or comment body, in characters.
pub const MAX_BODY_CHARS: usize = 10_000;

/// A ticket's id, parsed at the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub Uuid);

impl std::str::FromStr for TicketId {
    type Err = InvalidInput;

    fn from_str(text: &str) -> Result<Self, InvalidInput> {
        Uuid::try_parse(text.trim())
            .map(TicketId)
            .map_err(|_| InvalidInput::new("ticketId", "must be a UUID"))
    }
}

/// Where a ticket stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for the support team.
    Open,
    /// Waiting for the customer.
    Pending,
    /// Done.
    Closed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Closed => "closed",
        }
    }

    fn from_column(text: &str) -> Status {
        match text {
            "pending" => Status::Pending,
            "closed" => Status::Closed,
            // The column's check constraint allows nothing else.
            _ => Status::Open,
        }
    }
}

/// A ticket of the caller's organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub organization_id: Uuid,
    /// One line.
    pub subject: String,
    /// What the customer wrote.
    pub body: String,
    /// Where it stands.
    pub status: Status,
    /// Who opened it (none once that user is deleted).
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A comment on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Its id.
    pub id: Uuid,
    /// The ticket it is on.
    pub ticket_id: Uuid,
    /// What was said.
    pub body: String,
    /// Who said it (none once that user is deleted).
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

const TICKET_COLUMNS: &str =
    "id, organization_id, subject, body, status, created_by, created_at, updated_at";
const COMMENT_COLUMNS: &str = "id, ticket_id, body, created_by, created_at";

fn ticket_from(row: &Row) -> Ticket {
    Ticket {
        id: row.get("id"),
        organization_id: row.get("organization_id"),
        subject: row.get("subject"),
        body: row.get("body"),
        status: Status::from_column(row.get("status")),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

fn comment_from(row: &Row) -> Comment {
    Comment {
        id: row.get("id"),
        ticket_id: row.get("ticket_id"),
        body: row.get("body"),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
    }
}

/// `text`, trimmed, with 1 to `max` characters and no control characters
/// other than line breaks and tabs; the error names `field`.
fn bounded_text(field: &'static str, text: &str, max: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(InvalidInput::new(field, "must not be empty").into());
    }
    if text.chars().count() > max {
        return Err(InvalidInput::new(field, format!("must be at most {max} characters")).into());
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(InvalidInput::new(field, "must not contain control characters").into());
    }
    Ok(text.to_owned())
}

fn user_uuid(actor: &Actor<Membership>) -> Uuid {
    let user: UserId = actor.membership().user_id();
    user.as_uuid()
}

/// The organization's tickets, newest first, optionally only those with
/// `status`.
pub async fn list_tickets(
    app: &App,
    actor: &Actor<Membership>,
    status: Option<Status>,
    requested_limit: Option<i64>,
) -> Result<Vec<Ticket>, AppError> {
    // tenantry's page size: 1 to 100, 20 when absent.
    let limit = tenantry_app::page_size(requested_limit)?;
    let tenant = autocommit(app.database(), actor.tenant());
    let status = status.map(Status::as_str);
    let rows = tenant
        .query(
            &format!(
                "select {TICKET_COLUMNS} from ticket
                 where ($1::text is null or status = $1)
                 order by created_at desc, id limit $2"
            ),
            &[&status, &limit],
        )
        .await?;
    Ok(rows.iter().map(ticket_from).collect())
}

/// One ticket of the organization.
pub async fn get_ticket(
    app: &App,
    actor: &Actor<Membership>,
    id: TicketId,
) -> Result<Ticket, AppError> {
    let tenant = autocommit(app.database(), actor.tenant());
    let row = tenant
        .query_opt(
            &format!("select {TICKET_COLUMNS} from ticket where id = $1"),
            &[&id.0],
        )
        .await?
        .ok_or(AppError::NotFound("ticket"))?;
    Ok(ticket_from(&row))
}

/// Open a ticket in the organization.
pub async fn create_ticket(
    app: &App,
    actor: &Actor<Membership>,
    subject: &str,
    body: &str,
) -> Result<Ticket, AppError> {
    actor.require(Scope::Write)?;
    let subject = bounded_text("subject", subject, MAX_SUBJECT_CHARS)?;
    let body = bounded_text("body", body, MAX_BODY_CHARS)?;
    let author = user_uuid(actor);
    let row = with_tenant_context(app.database(), actor.tenant(), async |tx| {
        tx.query_one(
            &format!(
                "insert into ticket (subject, body, created_by) values ($1, $2, $3)
                 returning {TICKET_COLUMNS}"
            ),
            &[&subject, &body, &author],
        )
        .await
    })
    .await?;
    Ok(ticket_from(&row))
}

/// Move a ticket to `status`.
pub async fn set_status(
    app: &App,
    actor: &Actor<Membership>,
    id: TicketId,
    status: Status,
) -> Result<Ticket, AppError> {
    actor.require(Scope::Write)?;
    let row = with_tenant_context(app.database(), actor.tenant(), async |tx| {
        tx.query_opt(
            &format!(
                "update ticket set status = $2, updated_at = now() where id = $1
                 returning {TICKET_COLUMNS}"
            ),
            &[&id.0, &status.as_str()],
        )
        .await
    })
    .await?
    .ok_or(AppError::NotFound("ticket"))?;
    Ok(ticket_from(&row))
}

/// The comments on one of the organization's tickets, oldest first.
pub async fn list_comments(
    app: &App,
    actor: &Actor<Membership>,
    ticket: TicketId,
) -> Result<Vec<Comment>, AppError> {
    let rows = with_tenant_context(app.database(), actor.tenant(), async |tx| {
        if tx
            .query_opt("select 1 from ticket where id = $1", &[&ticket.0])
            .await?
            .is_none()
        {
            return Err(DbError::NotFound("ticket"));
        }
        tx.query(
            &format!(
                "select {COMMENT_COLUMNS} from ticket_comment where ticket_id = $1
                 order by created_at, id"
            ),
            &[&ticket.0],
        )
        .await
    })
    .await?;
    Ok(rows.iter().map(comment_from).collect())
}

/// Comment on one of the organization's tickets. A ticket of another
/// organization is "not found", exactly like one that does not exist: the
/// composite foreign key refuses it, and the refusal is the same.
pub async fn add_comment(
    app: &App,
    actor: &Actor<Membership>,
    ticket: TicketId,
    body: &str,
) -> Result<Comment, AppError> {
    actor.require(Scope::Write)?;
    let body = bounded_text("body", body, MAX_BODY_CHARS)?;
    let author = user_uuid(actor);
    let inserted = with_tenant_context(app.database(), actor.tenant(), async |tx| {
        tx.query_one(
            &format!(
                "insert into ticket_comment (ticket_id, body, created_by) values ($1, $2, $3)
                 returning {COMMENT_COLUMNS}"
            ),
            &[&ticket.0, &body, &author],
        )
        .await
    })
    .await;
    match inserted {
        Ok(row) => Ok(comment_from(&row)),
        Err(DbError::MissingReference { constraint }) if constraint.ends_with("ticket_id_fkey") => {
            Err(AppError::NotFound("ticket"))
        }
        Err(other) => Err(other.into()),
    }
}
