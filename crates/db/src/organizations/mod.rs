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
use serde_json::json;

use crate::audit::append_audit;
use crate::context::{TenantStatements, TenantTx};
use crate::error::{DbError, Result};
use crate::ids::OrganizationId;
use crate::statements::Query;
use tenantry_domain::BoundedName;

mod acceptance;
mod account_deletion;
mod creation;
mod invitations;
mod invitee;
mod members;
mod resolution;

pub use acceptance::{
    InvitationView, accept_invitation, accept_invitation_within, check_invitee,
    invitation_organization, invitation_view, reject_invitation,
};
pub use account_deletion::{AccountDeletion, delete_user_account};
pub use creation::{create_organization, create_organization_within, validate_logo, validate_slug};
pub use invitations::{
    INVITATION_VALIDITY, Invitation, InvitePolicy, cancel_invitation, get_invitation,
    invite_member, invite_member_with, list_invitations,
};
pub use invitee::{UserInvitation, list_user_invitations};
pub use members::{
    Member, MemberFilter, MemberFilterField, MemberPage, MemberSort, MemberUser, MembersQuery,
    find_member_by_email, find_member_by_user, get_member, list_members, list_members_page,
    remove_member, update_member_role,
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

const ORGANIZATION_COLUMNS: &str = "id, name, slug, logo, metadata, created_at";

/// Lock the current organization's row against concurrent limit checks (a
/// new member, a new invitation): whoever counts second sees what the first
/// wrote. `no key update` leaves the key-share locks of foreign-key checks
/// (every insert into a tenant table takes one) unblocked.
pub(crate) async fn lock_current_organization(tx: &TenantTx) -> Result<()> {
    tx.query_opt("select 1 from organization for no key update", &[])
        .await?
        .ok_or(DbError::NotFound("organization"))?;
    Ok(())
}

/// What an update changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct OrganizationChanges<'a> {
    /// New display name.
    pub name: Option<&'a BoundedName>,
    /// New slug (checked here).
    pub slug: Option<&'a str>,
    /// New logo; `Some(None)` clears it.
    pub logo: Option<Option<&'a str>>,
    /// New metadata, as JSON text.
    pub metadata: Option<&'a str>,
}

/// Change the current organization's descriptive fields (migration 0009
/// lets `authenticated` update its own row only). A taken slug is a
/// conflict on `organization_slug_key`.
pub async fn update_organization(
    tx: &TenantTx,
    changes: &OrganizationChanges<'_>,
) -> Result<Organization> {
    if let Some(slug) = changes.slug {
        validate_slug(slug)?;
    }
    let logo = changes
        .logo
        .map(|logo| logo.map(validate_logo).transpose())
        .transpose()?;
    let name = changes.name.map(BoundedName::as_str);
    let row = tx
        .query_opt(
            &format!(
                "update organization set
                   name = coalesce($1, name),
                   slug = coalesce($2, slug),
                   logo = case when $3 then $4 else logo end,
                   metadata = coalesce($5, metadata)
                 returning {ORGANIZATION_COLUMNS}"
            ),
            &[
                &name,
                &changes.slug,
                &logo.is_some(),
                &logo.flatten(),
                &changes.metadata,
            ],
        )
        .await?
        .ok_or(DbError::NotFound("organization"))?;
    let organization = organization_from(&row);
    append_audit(
        tx,
        "organization.update",
        "organization",
        &organization.id.to_string(),
        json!({
            "name": name,
            "slug": changes.slug,
            "logo": logo.map(|l| l.is_some()),
            "metadata": changes.metadata.is_some(),
        }),
    )
    .await?;
    Ok(organization)
}

/// Delete the current organization (migration 0009 lets `authenticated`
/// delete its own row only). Every tenant row cascades with it, its audit
/// log included, and sessions acting in it act in none (`on delete set null`).
pub async fn delete_organization(tx: &TenantTx) -> Result<Organization> {
    let row = tx
        .query_opt(
            &format!("delete from organization returning {ORGANIZATION_COLUMNS}"),
            &[],
        )
        .await?
        .ok_or(DbError::NotFound("organization"))?;
    Ok(organization_from(&row))
}
