//! Organization resolution: the seed's `resolve-org.ts`.
//!
//! Which organization a user acts in has to be known before a tenant
//! transaction can start, so these run on the bare client (reason
//! `OrganizationResolution`). They only read memberships and organizations;
//! they are the only way to obtain a [`Membership`], and so a request's
//! [`crate::Tenant`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Organization, organization_from};
use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::Result;
use crate::ids::{OrganizationId, UserId};
use crate::statements::Query;
use crate::tenant::{MemberRole, Membership};

/// The organization a user acts in when they name none: the active
/// organization of their latest live session if they are still a member of
/// it, else their oldest membership; `None` if they belong nowhere.
pub async fn resolve_organization_id(
    db: &Database,
    user_id: UserId,
) -> Result<Option<OrganizationId>> {
    Ok(resolve_default_membership(db, user_id)
        .await?
        .map(|membership| membership.organization_id()))
}

/// [`resolve_organization_id`]'s choice with the user's role in it, in one
/// query: what a request that names no organization needs.
async fn resolve_default_membership(db: &Database, user_id: UserId) -> Result<Option<Membership>> {
    let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let row = conn
        .query_opt(
            // The user's memberships, the latest session's organization
            // first: this runs on every PAT request that names no
            // organization (the earlier CTE with a UNION and three sorts ran
            // ~10 % fewer queries per second under pgbench).
            "select m.organization_id, m.role from member m
             where m.user_id = $1
             order by m.organization_id is distinct from (
                          select s.active_organization_id from session s
                          where s.user_id = $1 and s.expires_at > now()
                          order by s.updated_at desc, s.created_at desc, s.id desc
                          limit 1),
                      m.created_at, m.organization_id
             limit 1",
            &[&user_id],
        )
        .await?;
    row.map(|row| {
        let role = MemberRole::parse(row.get("role"))?;
        Ok(Membership::new(row.get("organization_id"), user_id, role))
    })
    .transpose()
}

/// The user's membership of `organization_id`, if they have one.
pub async fn find_membership(
    db: &Database,
    user_id: UserId,
    organization_id: OrganizationId,
) -> Result<Option<Membership>> {
    let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let row = conn
        .query_opt(
            "select role from member where organization_id = $1 and user_id = $2",
            &[&organization_id, &user_id],
        )
        .await?;
    row.map(|row| {
        let role = MemberRole::parse(row.get("role"))?;
        Ok(Membership::new(organization_id, user_id, role))
    })
    .transpose()
}

/// The membership a request acts under: the organization it asks for (checked
/// against membership), else [`resolve_organization_id`]'s choice. `None`
/// when the user is not a member of the requested organization, or of any.
pub async fn resolve_tenant(
    db: &Database,
    user_id: UserId,
    requested: Option<OrganizationId>,
) -> Result<Option<Membership>> {
    match requested {
        Some(organization_id) => find_membership(db, user_id, organization_id).await,
        None => resolve_default_membership(db, user_id).await,
    }
}

/// An organization a user belongs to, with their role in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserOrganization {
    /// The organization's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: OrganizationId,
    /// Its display name.
    pub name: String,
    /// Its unique slug.
    pub slug: String,
    /// The user's role in it.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: MemberRole,
    /// When the organization was created.
    pub created_at: DateTime<Utc>,
}

/// Every organization the user belongs to, oldest membership first.
pub async fn list_user_organizations(
    db: &Database,
    user_id: UserId,
) -> Result<Vec<UserOrganization>> {
    let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let rows = conn
        .query(
            "select o.id, o.name, o.slug, o.created_at, m.role
             from member m join organization o on o.id = m.organization_id
             where m.user_id = $1
             order by m.created_at, o.id",
            &[&user_id],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(UserOrganization {
                id: row.get("id"),
                name: row.get("name"),
                slug: row.get("slug"),
                role: MemberRole::parse(row.get("role"))?,
                created_at: row.get("created_at"),
            })
        })
        .collect()
}

/// The organization with this id or slug (bare; for set-active by slug).
pub async fn find_organization_by_slug(db: &Database, slug: &str) -> Result<Option<Organization>> {
    super::validate_slug(slug)?;
    let conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let row = conn
        .query_opt(
            "select id, name, slug, logo, metadata, created_at from organization where slug = $1",
            &[&slug],
        )
        .await?;
    Ok(row.as_ref().map(organization_from))
}
