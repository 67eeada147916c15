//! Projects: the example tenant resource, with every write audited.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::append_audit;
use crate::context::{TenantStatements, TenantTx};
use crate::error::{DbError, Result};
use crate::ids::{OrganizationId, ProjectId, UserId};
use crate::page::{Page, cursor_of, paginate, parse_cursor};
use crate::statements::Query;
use tenantry_domain::BoundedName;

/// Longest project description.
pub const MAX_PROJECT_DESCRIPTION_CHARS: usize = 4000;

/// A project of the current organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// The project's id.
    pub id: Uuid,
    /// Its organization.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub organization_id: OrganizationId,
    /// Unique within the organization.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Who created it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

const PROJECT_COLUMNS: &str =
    "id, organization_id, name, description, created_by, created_at, updated_at";

fn project_from(row: &tokio_postgres::Row) -> Project {
    Project {
        id: row.get("id"),
        organization_id: row.get("organization_id"),
        name: row.get("name"),
        description: row.get("description"),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// Oldest first, `limit` at a time.
pub async fn list_projects(
    tx: &impl TenantStatements,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<Project>> {
    let rows = match cursor {
        None => {
            tx.query(
                &format!("select {PROJECT_COLUMNS} from project order by created_at, id limit $1"),
                &[&(limit + 1)],
            )
            .await?
        }
        Some(cursor) => {
            let (created_at, id) = parse_cursor(cursor)?;
            tx.query(
                &format!(
                    "select {PROJECT_COLUMNS} from project where (created_at, id) > ($1, $2)
                     order by created_at, id limit $3"
                ),
                &[&created_at, &id, &(limit + 1)],
            )
            .await?
        }
    };
    let projects = rows.iter().map(project_from).collect();
    Ok(paginate(projects, limit, |p: &Project| {
        cursor_of(p.created_at, p.id)
    }))
}

/// One project, if the current organization has it.
pub async fn get_project(tx: &impl TenantStatements, id: ProjectId) -> Result<Project> {
    let row = tx
        .query_opt(
            &format!("select {PROJECT_COLUMNS} from project where id = $1"),
            &[&id],
        )
        .await?;
    row.as_ref()
        .map(project_from)
        .ok_or(DbError::NotFound("project"))
}

/// Create a project; a name taken in this organization is a conflict.
pub async fn create_project(
    tx: &TenantTx,
    name: &BoundedName,
    description: Option<&str>,
) -> Result<Project> {
    let name = name.as_str();
    let description = validate_description(description.unwrap_or(""))?;
    let row = tx
        .query_one(
            &format!("insert into project (name, description) values ($1, $2) returning {PROJECT_COLUMNS}"),
            &[&name, &description],
        )
        .await?;
    let project = project_from(&row);
    append_audit(
        tx,
        "project.create",
        "project",
        &project.id.to_string(),
        json!({ "name": name }),
    )
    .await?;
    Ok(project)
}

/// Change a project's name and/or description.
pub async fn update_project(
    tx: &TenantTx,
    id: ProjectId,
    name: Option<&BoundedName>,
    description: Option<&str>,
) -> Result<Project> {
    let name = name.map(BoundedName::as_str);
    let description = description.map(validate_description).transpose()?;
    let row = tx
        .query_opt(
            &format!(
                "update project set name = coalesce($2, name), description = coalesce($3, description),
                 updated_at = now() where id = $1 returning {PROJECT_COLUMNS}"
            ),
            &[&id, &name, &description],
        )
        .await?;
    let project = row
        .as_ref()
        .map(project_from)
        .ok_or(DbError::NotFound("project"))?;
    append_audit(
        tx,
        "project.update",
        "project",
        &id.to_string(),
        json!({ "name": name, "descriptionChanged": description.is_some() }),
    )
    .await?;
    Ok(project)
}

/// Delete a project.
pub async fn delete_project(tx: &TenantTx, id: ProjectId) -> Result<()> {
    let row = tx
        .query_opt("delete from project where id = $1 returning name", &[&id])
        .await?;
    let name: String = row.ok_or(DbError::NotFound("project"))?.get(0);
    append_audit(
        tx,
        "project.delete",
        "project",
        &id.to_string(),
        json!({ "name": name }),
    )
    .await
}

/// Check a project description: at most [`MAX_PROJECT_DESCRIPTION_CHARS`]
/// characters and no NUL, which PostgreSQL text cannot hold (line breaks and
/// tabs are fine). Pure: run before any query.
pub fn validate_description(description: &str) -> Result<&str> {
    if description.chars().count() > MAX_PROJECT_DESCRIPTION_CHARS {
        return Err(DbError::invalid(
            "description",
            format!("must be at most {MAX_PROJECT_DESCRIPTION_CHARS} characters"),
        ));
    }
    if description.contains('\0') {
        return Err(DbError::invalid(
            "description",
            "must not contain NUL characters",
        ));
    }
    Ok(description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_bounded_and_hold_no_nul() {
        assert!(validate_description(&"x".repeat(4001)).is_err());
        assert_eq!(
            validate_description("two\nlines\t").unwrap(),
            "two\nlines\t"
        );
        assert!(validate_description("a\0b").is_err());
    }
}
