//! The append-only audit log of a tenant.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::context::{TenantStatements, TenantTx};
use crate::error::Result;
use crate::ids::UserId;
use crate::page::{Page, cursor_of, paginate, parse_cursor};
use crate::statements::Query;

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The entry's id (random; order comes from `created_at`).
    pub id: Uuid,
    /// Who did it (the transaction's acting user).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub actor_user_id: Option<UserId>,
    /// What was done, e.g. `project.create`.
    pub action: String,
    /// The kind of thing it was done to.
    pub target_type: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// Anything else worth keeping.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Append an entry in the current tenant transaction; the actor is the
/// transaction's user.
pub async fn append_audit(
    tx: &TenantTx,
    action: &str,
    target_type: &str,
    target_id: &str,
    details: serde_json::Value,
) -> Result<()> {
    tx.execute(
        "insert into audit_log (action, target_type, target_id, details) values ($1, $2, $3, $4)",
        &[&action, &target_type, &target_id, &details],
    )
    .await?;
    Ok(())
}

/// Newest first. `cursor` is the `nextCursor` of the previous page.
pub async fn list_audit_log(
    tx: &impl TenantStatements,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<AuditEntry>> {
    const COLUMNS: &str = "id, actor_user_id, action, target_type, target_id, details, created_at";
    let rows = match cursor {
        None => {
            tx.query(
                &format!(
                    "select {COLUMNS} from audit_log order by created_at desc, id desc limit $1"
                ),
                &[&(limit + 1)],
            )
            .await?
        }
        Some(cursor) => {
            let (created_at, id) = parse_cursor(cursor)?;
            tx.query(
                &format!(
                    "select {COLUMNS} from audit_log where (created_at, id) < ($1, $2)
                     order by created_at desc, id desc limit $3"
                ),
                &[&created_at, &id, &(limit + 1)],
            )
            .await?
        }
    };
    let entries = rows
        .iter()
        .map(|row| AuditEntry {
            id: row.get("id"),
            actor_user_id: row.get("actor_user_id"),
            action: row.get("action"),
            target_type: row.get("target_type"),
            target_id: row.get("target_id"),
            details: row.get("details"),
            created_at: row.get("created_at"),
        })
        .collect();
    Ok(paginate(entries, limit, |e: &AuditEntry| {
        cursor_of(e.created_at, e.id)
    }))
}
