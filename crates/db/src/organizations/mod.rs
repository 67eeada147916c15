//! The organization aggregate: organizations, their members and
//! invitations, and which organization a request acts in.
//!
//! Most of it runs inside the current organization's tenant transaction.
//! Three things cannot: resolution ([`resolve_tenant`] and its kin) picks
//! the organization, and so the [`crate::Membership`], before any tenant
//! context exists; [`create_organization`] writes a tenant's first rows in
//! the context of an id it has just chosen; [`accept_invitation`] finds an
//! invitation across tenants before joining the organization that sent it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::context::TenantStatements;
use crate::error::{DbError, Result};
use crate::ids::OrganizationId;

mod acceptance;
mod creation;
mod invitations;
mod members;
mod resolution;

pub use acceptance::{accept_invitation, check_invitee};
pub use creation::{create_organization, validate_logo, validate_slug};
pub use invitations::{INVITATION_VALIDITY, Invitation, invite_member, list_invitations};
pub use members::{
    Member, MemberUser, find_member_by_email, get_member, list_members, remove_member,
    update_member_role,
};
pub use resolution::{
    UserOrganization, find_membership, find_organization_by_slug, list_user_organizations,
    resolve_organization_id, resolve_tenant,
};

/// An organization, as Better Auth's organization plugin returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The organization's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Unique, URL-friendly name.
    pub slug: String,
    /// Logo URL.
    pub logo: Option<String>,
    /// Free-form metadata (a JSON string, as Better Auth stores it).
    pub metadata: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The current organization's row.
pub async fn current_organization(tx: &impl TenantStatements) -> Result<Organization> {
    let row = tx
        .query_opt(
            "select id, name, slug, logo, metadata, created_at from organization",
            &[],
        )
        .await?;
    row.as_ref()
        .map(organization_from)
        .ok_or(DbError::NotFound("organization"))
}

fn organization_from(row: &tokio_postgres::Row) -> Organization {
    Organization {
        id: row.get("id"),
        name: row.get("name"),
        slug: row.get("slug"),
        logo: row.get("logo"),
        metadata: row.get("metadata"),
        created_at: row.get("created_at"),
    }
}
