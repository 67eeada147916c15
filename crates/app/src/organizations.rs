//! Organizations (Better Auth's organization plugin): create, list, set
//! active, read in full, invite, accept, remove or leave, change roles.
//!
//! Permissions follow the plugin's defaults: owners and admins invite,
//! remove members and change roles; only an owner grants, changes or removes
//! ownership; the last owner can neither leave nor be demoted (that rule
//! guards the rows, so it lives with them in `tenantry_db::organizations`).

use serde::Serialize;
use tenantry_auth::Email;
use tenantry_db::organizations::{self, Invitation, Member, Organization, UserOrganization};
use tenantry_db::{Membership, with_tenant_context};
use tenantry_domain::{BoundedName, InvitationId, MemberId, MemberRole, OrganizationId, name};

use crate::{Actor, App, AppError};

/// Largest accepted organization metadata, as JSON text.
pub const MAX_METADATA_BYTES: usize = 8192;

/// An organization with its members and, for those who manage members, its invitations.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FullOrganization {
    /// The organization.
    #[serde(flatten)]
    pub organization: Organization,
    /// Its members, oldest first.
    pub members: Vec<Member>,
    /// Its invitations, newest first; empty for a plain member.
    pub invitations: Vec<Invitation>,
}

/// A new organization.
#[derive(Clone, Debug)]
pub struct NewOrganization<'a> {
    /// Display name (checked here).
    pub name: &'a str,
    /// Unique slug.
    pub slug: &'a str,
    /// Logo URL.
    pub logo: Option<&'a str>,
    /// Stored as a JSON string, as Better Auth does.
    pub metadata: Option<serde_json::Value>,
    /// Keep the session's active organization instead of switching to the new one.
    pub keep_current_active: bool,
}

/// Which organization a session should act in.
#[derive(Clone, Debug)]
pub enum ActiveChoice<'a> {
    /// None.
    Clear,
    /// By id, as given (parsed once the caller is known to have a session).
    Id(&'a str),
    /// By slug.
    Slug(&'a str),
}

/// Whom a removal is about.
#[derive(Clone, Debug)]
pub enum MemberRef {
    /// A membership id.
    Id(MemberId),
    /// The member's email.
    Email(Email),
}

impl MemberRef {
    /// A membership id, or else an email.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match MemberId::parse(text) {
            Ok(id) => Ok(MemberRef::Id(id)),
            Err(_) => Ok(MemberRef::Email(Email::parse(text.trim())?)),
        }
    }
}

/// Owners and admins manage members; touching an owner takes an owner
/// ([`MemberRole::can_manage_role`]).
pub fn require_manager(membership: &Membership, subject: MemberRole) -> Result<(), AppError> {
    if membership.role().can_manage_role(subject) {
        Ok(())
    } else if membership.role().can_manage_members() {
        Err(AppError::forbidden(
            "only owners grant, change or remove ownership",
        ))
    } else {
        Err(AppError::forbidden("only owners and admins manage members"))
    }
}

impl App {
    /// Create an organization with `actor` as its owner; unless asked
    /// otherwise, it becomes the session's active organization.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        new: NewOrganization<'_>,
    ) -> Result<FullOrganization, AppError> {
        let name = BoundedName::parse("name", new.name, name::MAX_ORGANIZATION_NAME_CHARS)?;
        let metadata = new.metadata.map(|m| m.to_string());
        if metadata
            .as_ref()
            .is_some_and(|m| m.len() > MAX_METADATA_BYTES)
        {
            return Err(AppError::invalid("metadata", "must be at most 8 KiB"));
        }
        let organization = organizations::create_organization(
            &self.db,
            actor.user().id,
            &name,
            new.slug,
            new.logo,
            metadata.as_deref(),
        )
        .await?;
        if let Some(session) = actor.session()
            && !new.keep_current_active
        {
            tenantry_db::users::set_active_organization(
                &self.db,
                session.id,
                Some(organization.id),
            )
            .await?;
        }
        let actor = self
            .resolve(actor.unscoped(), Some(organization.id))
            .await?;
        self.full_organization(&actor).await
    }

    /// The organizations `actor` belongs to, with their role in each.
    pub async fn list_organizations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<UserOrganization>, AppError> {
        Ok(organizations::list_user_organizations(&self.db, actor.user().id).await?)
    }

    /// Choose the organization this session acts in; only a session has one.
    pub async fn set_active_organization(
        &self,
        actor: &Actor,
        choice: ActiveChoice<'_>,
    ) -> Result<Option<FullOrganization>, AppError> {
        let session = actor
            .session()
            .ok_or(AppError::forbidden(
                "only a session has an active organization",
            ))?
            .id;
        let requested = match choice {
            ActiveChoice::Id(id) => OrganizationId::parse(id)?,
            ActiveChoice::Slug(slug) => {
                organizations::find_organization_by_slug(&self.db, slug)
                    .await?
                    .ok_or(AppError::NotFound("organization"))?
                    .id
            }
            ActiveChoice::Clear => {
                tenantry_db::users::set_active_organization(&self.db, session, None).await?;
                return Ok(None);
            }
        };
        let actor = self.resolve(actor.unscoped(), Some(requested)).await?;
        tenantry_db::users::set_active_organization(&self.db, session, Some(requested)).await?;
        Ok(Some(self.full_organization(&actor).await?))
    }

    /// The organization with its members, and its invitations for those who manage members.
    pub async fn full_organization(
        &self,
        actor: &Actor<Membership>,
    ) -> Result<FullOrganization, AppError> {
        let show_invitations = actor.role().can_manage_members();
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            let organization = organizations::current_organization(tx).await?;
            let members = organizations::list_members(tx).await?;
            let invitations = if show_invitations {
                organizations::list_invitations(tx).await?
            } else {
                Vec::new()
            };
            Ok::<_, tenantry_db::DbError>(FullOrganization {
                organization,
                members,
                invitations,
            })
        })
        .await?)
    }

    /// The organization's own row.
    pub async fn current_organization(
        &self,
        actor: &Actor<Membership>,
    ) -> Result<Organization, AppError> {
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::current_organization(tx).await
        })
        .await?)
    }

    /// The organization's members.
    pub async fn list_members(&self, actor: &Actor<Membership>) -> Result<Vec<Member>, AppError> {
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::list_members(tx).await
        })
        .await?)
    }

    /// Invite `email` as `role` (owners and admins; owners for ownership).
    pub async fn invite_member(
        &self,
        actor: &Actor<Membership>,
        email: &Email,
        role: MemberRole,
    ) -> Result<Invitation, AppError> {
        require_manager(actor.membership(), role)?;
        let inviter = actor.user().id;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            organizations::invite_member(tx, email.as_str(), role, inviter).await
        })
        .await?)
    }

    /// Accept an invitation addressed to `actor`'s email (see
    /// `tenantry_db::organizations::accept_invitation`); a session then acts in
    /// the organization joined.
    pub async fn accept_invitation(
        &self,
        actor: &Actor,
        invitation: InvitationId,
    ) -> Result<(Invitation, Member), AppError> {
        let (invitation, member) = organizations::accept_invitation(
            &self.db,
            actor.user(),
            invitation,
            self.settings.require_email_verification_on_invitation,
        )
        .await?;
        if let Some(session) = actor.session() {
            tenantry_db::users::set_active_organization(
                &self.db,
                session.id,
                Some(invitation.organization_id),
            )
            .await?;
        }
        Ok((invitation, member))
    }

    /// Remove a member (owners and admins), or leave (anyone, for
    /// themselves). Their pending invitations are withdrawn in the same transaction.
    pub async fn remove_member(
        &self,
        actor: &Actor<Membership>,
        target: &MemberRef,
    ) -> Result<Member, AppError> {
        let caller = actor.user().id;
        let membership = *actor.membership();
        with_tenant_context(&self.db, actor.tenant(), async |tx| {
            let member = match target {
                MemberRef::Id(id) => organizations::get_member(tx, *id).await?,
                MemberRef::Email(email) => {
                    organizations::find_member_by_email(tx, email.as_str()).await?
                }
            };
            if member.user_id != caller {
                require_manager(&membership, member.role)?;
            }
            Ok::<_, AppError>(
                organizations::remove_member(tx, MemberId::from_uuid(member.id)).await?,
            )
        })
        .await
    }

    /// Change a member's role (owners and admins; only owners grant or take
    /// ownership). Their pending invitations the new role could not make are
    /// withdrawn in the same transaction.
    pub async fn update_member_role(
        &self,
        actor: &Actor<Membership>,
        member: MemberId,
        role: MemberRole,
    ) -> Result<Member, AppError> {
        let membership = *actor.membership();
        require_manager(&membership, role)?;
        with_tenant_context(&self.db, actor.tenant(), async |tx| {
            let current = organizations::get_member(tx, member).await?;
            require_manager(&membership, current.role)?;
            Ok::<_, AppError>(organizations::update_member_role(tx, member, role).await?)
        })
        .await
    }
}
