//! Creating an organization: its first rows, written in the context of the
//! id chosen for it, and the checks its name-like fields get first.

use serde_json::json;
use uuid::Uuid;

use super::{Organization, organization_from};
use crate::audit::append_audit;
use crate::client::{self, BypassReason};
use crate::context::with_tenant_context;
use crate::database::Database;
use crate::error::{DbError, Result};
use crate::ids::{OrganizationId, UserId};
use crate::statements::Query;
use crate::tenant::Tenant;
use tenantry_domain::BoundedName;

/// Create an organization with `creator` as its owner.
///
/// The organization, the owner's membership and the audit entry are one
/// tenant transaction in the context of the new organization's id, chosen
/// here (migration 0008 lets `authenticated` insert exactly that
/// organization): interrupted anywhere, nothing is committed, so no
/// organization is ever left without an owner. A taken slug is a conflict
/// on `organization_slug_key`.
pub async fn create_organization(
    db: &Database,
    creator: UserId,
    name: &BoundedName,
    slug: &str,
    logo: Option<&str>,
    metadata: Option<&str>,
) -> Result<Organization> {
    create_organization_within(db, creator, name, slug, logo, metadata, None).await
}

/// [`create_organization`], refused with 403
/// `YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS` when `creator`
/// already belongs to `organization_limit` organizations (Better Auth's
/// `organizationLimit`; `None`, its default, is no limit).
///
/// A user's memberships span tenants, so they are counted on the bare
/// client (reason `OrganizationResolution`), in a transaction holding an
/// advisory lock on the creator until the new organization is committed:
/// two concurrent creations by one user cannot both take the last place.
pub async fn create_organization_within(
    db: &Database,
    creator: UserId,
    name: &BoundedName,
    slug: &str,
    logo: Option<&str>,
    metadata: Option<&str>,
    organization_limit: Option<u32>,
) -> Result<Organization> {
    validate_slug(slug)?;
    let logo = logo.map(validate_logo).transpose()?;
    let Some(limit) = organization_limit else {
        return insert_organization(db, creator, name, slug, logo, metadata).await;
    };
    let mut conn = client::bare(db, BypassReason::OrganizationResolution).await?;
    let quota = conn.connection_mut().transaction().await?;
    quota
        .execute(
            "select pg_advisory_xact_lock(hashtextextended('organization-limit:' || $1::uuid::text, 0))",
            &[&creator],
        )
        .await?;
    let count: i64 = quota
        .query_one(
            "select count(*) from member where user_id = $1",
            &[&creator],
        )
        .await?
        .get(0);
    if count >= i64::from(limit) {
        return Err(DbError::Forbidden {
            code: "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS",
            message: "you have reached the maximum number of organizations",
        });
    }
    let organization = insert_organization(db, creator, name, slug, logo, metadata).await?;
    quota.commit().await?;
    Ok(organization)
}

async fn insert_organization(
    db: &Database,
    creator: UserId,
    name: &BoundedName,
    slug: &str,
    logo: Option<&str>,
    metadata: Option<&str>,
) -> Result<Organization> {
    let name = name.as_str();
    let id = OrganizationId::from_uuid(Uuid::new_v4());
    let tenant = Tenant::without_membership_check(id).acting_as(creator);
    with_tenant_context(db, tenant, async |tx| {
        let row = tx
            .query_one(
                "insert into organization (id, name, slug, logo, metadata)
                 values ($1, $2, $3, $4, $5)
                 returning id, name, slug, logo, metadata, created_at",
                &[&id, &name, &slug, &logo, &metadata],
            )
            .await?;
        let organization = organization_from(&row);
        tx.execute(
            "insert into member (user_id, role) values ($1, 'owner')",
            &[&creator],
        )
        .await?;
        append_audit(
            tx,
            "organization.create",
            "organization",
            &organization.id.to_string(),
            json!({ "name": name, "slug": slug }),
        )
        .await?;
        Ok(organization)
    })
    .await
}

/// Check an organization's logo (a URL, as Better Auth stores it): no
/// control characters. Its length is bounded by the request body limit.
pub fn validate_logo(logo: &str) -> Result<&str> {
    if logo.chars().any(char::is_control) {
        return Err(DbError::invalid(
            "logo",
            "must not contain control characters",
        ));
    }
    Ok(logo)
}

/// Check a slug: 1 to 64 lower-case ASCII letters, digits or dashes, not
/// starting or ending with a dash. Pure: run before any query.
pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(DbError::invalid(
            "slug",
            "must be 1 to 64 lower-case letters, digits or dashes, not starting or ending with a dash",
        ))
    }
}
